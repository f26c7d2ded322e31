"""Leading eigenvectors of a square distributed operator by SLEPc's EPS, as real vectors.

EPS (Krylov-Schur) sees the operator through ``as_petsc_mat()`` and only multiplies by it.
A Krylov space grown from one start vector holds one vector of each eigenspace (in exact
arithmetic; rounding lets a second copy in late or never), so a repeated eigenvalue (a
separable 2-D blur has lambda_i lambda_j = lambda_j lambda_i) loses all but one member.
``eigenvectors`` therefore checks what it found (symmetric operators): it deflates the leading
vectors and asks EPS, from a new start, for the largest eigenvalue left; one that beats the
k-th is a missed member, taken in before the check repeats.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...core.errors import RuntimeFailure
from ...core.mpi import same_on_every_rank
from ...core.petsc_env import initialize_slepc
from ..random import fill_normal

OPTIONS_PREFIX = "hpcinv_recycle_eps_"
WHICH = {"largest_magnitude": "LARGEST_MAGNITUDE", "largest_real": "LARGEST_REAL"}
COMPLEX_PAIRS = ("span", "drop")


@dataclass
class _Eigenpair:
    """A real eigenvalue and its vector, or a complex pair's lambda and (v_re, v_im)."""
    value: complex
    vectors: list = field(default_factory=list)


def eigenvectors(operator, k: int, which: str = "largest_magnitude", tol: float = 1e-8,
                 symmetric: bool | None = None, complex_pairs: str = "span",
                 max_it: int | None = None, seed: int = 0, prefix: str = OPTIONS_PREFIX):
    """Real vectors spanning the ``k`` dominant eigenvectors of a square operator, by SLEPc,
    counting every eigenvalue as often as it repeats.

    EPS (Krylov-Schur) sees the operator through ``as_petsc_mat()`` and only multiplies by
    it.  ``symmetric`` (default: the operator's ``symmetric`` attribute, else False) selects
    the Hermitian problem type, whose eigenvectors come back orthonormal.  Otherwise
    (non-Hermitian, real arithmetic) a complex-conjugate pair lambda, conj(lambda) comes back
    as the real and imaginary parts (v_re, v_im) of one eigenvector; the real plane they span
    is A-invariant, A [v_re v_im] = [v_re v_im] [[a, b], [-b, a]] with lambda = a + i b.
    ``complex_pairs``:

    * ``"span"`` keeps both parts, so each pair contributes 2 real vectors and counts 2
      towards ``k``.  A pair is never split: if the k-th vector is a pair's real part, its
      imaginary part is returned too, so k + 1 vectors come back.
    * ``"drop"`` discards every complex pair among the k dominant eigenvalues (as the paper
      did with its ``eigs`` output: 200 asked, 198 kept), so fewer than k may come back.

    Completeness (symmetric problems): after the first solve, EPS is run again with the
    leading vectors as its deflation space, for the largest eigenvalue left; while that
    beats the k-th one (by more than 10 tol of its size) it joins the set (a member of a
    repeated eigenvalue the Krylov space missed), and the check repeats.  Each check costs
    one EPS solve for one eigenpair.  An eigenvalue tied with the k-th is not taken: any k
    of its members are as dominant as the others.  Non-Hermitian problems are not checked:
    there a deflated solve returns w with (I - P P^T) A w = lambda w, not an eigenvector,
    and a set that dropped its weakest pair for it would no longer be A-invariant.

    Only converged eigenpairs are read.  Fewer than k converged raises RuntimeFailure.  The
    start vectors are Gaussian from (``seed``, global index), so 1 and P ranks start alike.
    PETSc options with ``prefix`` (e.g. ``-hpcinv_recycle_eps_eps_ncv 60``) override these.
    """
    SLEPc = initialize_slepc()
    m, n = operator.shape
    if m != n:
        raise ValueError(f"operator must be square for an eigenbasis, got shape {operator.shape}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer in [1, n={n}], got {k!r}")
    if which not in WHICH:
        raise ValueError(f"unknown which {which!r} (known: {', '.join(WHICH)})")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    if complex_pairs not in COMPLEX_PAIRS:
        raise ValueError(f"unknown complex_pairs {complex_pairs!r} "
                         f"(known: {', '.join(COMPLEX_PAIRS)})")
    if symmetric is None:
        symmetric = operator.symmetric
    solve = _Solver(SLEPc, operator.as_petsc_mat(), operator.comm, which, tol, symmetric,
                    max_it, prefix)
    # One more than k so that a pair straddling the k-th position converges whole.
    leading = _leading(solve(min(k + 1, n) if not symmetric else k, k, [], seed), k, which)
    mpi = operator.comm.tompi4py()
    for check in range(1, n - _count(leading) + 1 if symmetric else 1):
        deflation = [vec for pair in leading for vec in pair.vectors]
        left = solve(1, 0, deflation, seed + check)
        kth = _strength(leading[-1].value, which)
        # Nothing converged on the complement (an operator of rank k: what is left is
        # round-off) means nothing beats the k-th.  Rank 0 decides for all: a rank that
        # alone went on would wait in the next EPS solve for the others.
        missed = bool(left) and _strength(left[0].value, which) > kth + 10 * tol * abs(kth)
        if not same_on_every_rank(mpi, missed):
            break
        leading = _leading(leading + left[:1], k, which)
    return [vec for pair in leading
            if complex_pairs == "span" or pair.value.imag == 0 for vec in pair.vectors]


def _strength(value: complex, which: str) -> float:
    return abs(value) if which == "largest_magnitude" else value.real


def _count(pairs: list) -> int:
    return sum(len(pair.vectors) for pair in pairs)


def _leading(pairs: list, k: int, which: str) -> list:
    """The strongest eigenpairs that hold k vectors (a pair that reaches past k whole)."""
    ordered = sorted(pairs, key=lambda pair: -_strength(pair.value, which))
    kept = []
    while ordered and _count(kept) < k:
        kept.append(ordered.pop(0))
    return kept


class _Solver:
    """EPS solves of one operator: ``(nev, need, deflation, seed)`` -> the converged
    eigenpairs, each complex pair once (RuntimeFailure when fewer than ``need`` vectors)."""

    def __init__(self, SLEPc, mat, comm, which, tol, symmetric, max_it, prefix):
        self.SLEPc, self.mat, self.comm, self.prefix = SLEPc, mat, comm, prefix
        self.which, self.tol, self.symmetric, self.max_it = which, tol, symmetric, max_it

    def __call__(self, nev: int, need: int, deflation: list, seed: int) -> list:
        SLEPc = self.SLEPc
        eps = SLEPc.EPS().create(comm=self.comm)
        try:
            eps.setOptionsPrefix(self.prefix)
            eps.setOperators(self.mat)
            eps.setProblemType(SLEPc.EPS.ProblemType.HEP if self.symmetric
                               else SLEPc.EPS.ProblemType.NHEP)
            eps.setWhichEigenpairs(getattr(SLEPc.EPS.Which, WHICH[self.which]))
            eps.setDimensions(nev=nev)
            eps.setTolerances(tol=self.tol, max_it=self.max_it)
            if deflation:
                eps.setDeflationSpace(deflation)
            start, _ = self.mat.createVecs()
            eps.setInitialSpace(fill_normal(start, seed))
            from ...core.petsc_options import petsc_input_errors

            with petsc_input_errors():   # a bad option value is bad input
                eps.setFromOptions()
            eps.solve()
            converged = eps.getConverged()
            if converged < need:
                raise RuntimeFailure(
                    f"SLEPc EPS converged {converged} of {need} eigenpairs in "
                    f"{eps.getIterationNumber()} iterations (reason "
                    f"{eps.getConvergedReason()}); raise max_it, tol or -{self.prefix}eps_ncv")
            return self._pairs(eps, converged)
        finally:
            eps.destroy()

    def _pairs(self, eps, converged: int) -> list:
        pairs, index = [], 0
        while index < converged:
            real, imag = self.mat.createVecs()
            value = complex(eps.getEigenpair(index, real, imag))
            if value.imag == 0:
                pairs.append(_Eigenpair(value, [real]))
                index += 1
            else:
                # SLEPc (real scalars) stores the pair at index, index + 1: skip the
                # conjugate.
                pairs.append(_Eigenpair(value, [real, imag]))
                index += 2
        return pairs

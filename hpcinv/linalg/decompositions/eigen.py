"""Leading eigenvectors of a square distributed operator by SLEPc's EPS, as real vectors.

EPS (Krylov-Schur) sees the operator through ``as_petsc_mat()`` and only multiplies by it.
"""
from __future__ import annotations

from ...core.errors import RuntimeFailure
from ...core.petsc_env import initialize_slepc
from ..random import fill_normal

OPTIONS_PREFIX = "hpcinv_recycle_eps_"
WHICH = {"largest_magnitude": "LARGEST_MAGNITUDE", "largest_real": "LARGEST_REAL"}
COMPLEX_PAIRS = ("span", "drop")


def eigenvectors(operator, k: int, which: str = "largest_magnitude", tol: float = 1e-8,
                 symmetric: bool | None = None, complex_pairs: str = "span",
                 max_it: int | None = None, seed: int = 0, prefix: str = OPTIONS_PREFIX):
    """Real vectors spanning the ``k`` dominant eigenvectors of a square operator, by SLEPc.

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

    Only converged eigenpairs are read.  Fewer than k converged raises RuntimeFailure.  The
    start vector is Gaussian from (``seed``, global index), so 1 and P ranks start alike.
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
    mat = operator.as_petsc_mat()
    eps = SLEPc.EPS().create(comm=operator.comm)
    try:
        eps.setOptionsPrefix(prefix)
        eps.setOperators(mat)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP if symmetric else SLEPc.EPS.ProblemType.NHEP)
        eps.setWhichEigenpairs(getattr(SLEPc.EPS.Which, WHICH[which]))
        # One more than k so that a pair straddling the k-th position converges whole.
        eps.setDimensions(nev=min(k + 1, n) if not symmetric else k)
        eps.setTolerances(tol=tol, max_it=max_it)
        start, _ = mat.createVecs()
        eps.setInitialSpace(fill_normal(start, seed))
        from ...core.petsc_options import petsc_input_errors

        with petsc_input_errors():   # a bad option value is bad input
            eps.setFromOptions()
        eps.solve()
        converged = eps.getConverged()
        if converged < k:
            raise RuntimeFailure(
                f"SLEPc EPS converged {converged} of {k} eigenpairs in "
                f"{eps.getIterationNumber()} iterations (reason {eps.getConvergedReason()}); "
                f"raise max_it, tol or -{prefix}eps_ncv")
        return _real_basis(eps, mat, k, converged, complex_pairs)
    finally:
        eps.destroy()


def _real_basis(eps, mat, k: int, converged: int, complex_pairs: str) -> list:
    """Real vectors of the leading converged eigenpairs (see ``eigenvectors``)."""
    out, index, seen = [], 0, 0
    while seen < k and index < converged:
        real, imag = mat.createVecs()
        value = complex(eps.getEigenpair(index, real, imag))
        if value.imag == 0:
            out.append(real)
            index, seen = index + 1, seen + 1
            continue
        # SLEPc (real scalars) stores the pair at index, index + 1: skip the conjugate.
        if complex_pairs == "span":
            out.extend([real, imag])
        index, seen = index + 2, seen + 2
    return out

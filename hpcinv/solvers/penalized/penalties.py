"""Penalties R(f) of a penalised likelihood Q(f) = L(f) + mu R(f) (Pichon & Thiebaut 1997,
sec. 2.2): negentropy with a uniform prior, negentropy with Horne's floating prior p = S f,
and the quadratic roughness ||D f||^2.

Each penalty has ``value(f)``, ``value_and_gradient(f, gradient)``, ``gradient(f, out)``,
``hessian_mult(f, e, out)`` (out = Hessian of R at f times e; ``out`` must be neither f nor e),
``quadratic`` (True when that Hessian does not depend on f) and ``name`` (its job-spec
name, one of ``PENALTIES``).  Every method is collective over the Vec's ranks.  The unknown
f is a Vec of prod(grid.shape) entries in C order, split in PETSc's default layout.

The negentropies take log f and divide by f: callers keep f >= a positive floor.
"""
from __future__ import annotations

import math
from functools import reduce

import numpy as np
from scipy import sparse

from ...core.errors import ArgumentError, check_number
from ...linalg.dense import aij_matrix
from ...linalg.layout import Layout
from ...linalg.operator import MatOperator

PENALTIES = ("entropy-floating", "entropy", "roughness")


class Negentropy:
    """R(f) = sum f log(f / p) - f + p with a uniform prior p > 0: zero at f = p and
    positive elsewhere; gradient log(f / p), Hessian diag(1 / f)."""

    name = "entropy"
    quadratic = False

    def __init__(self, layout_or_template_vec, prior: float):
        self.prior = check_number("prior", prior, positive=True)
        self.layout = (layout_or_template_vec if isinstance(layout_or_template_vec, Layout)
                       else Layout.of_vec(layout_or_template_vec))

    def value(self, f) -> float:
        return self.layout.mpi.allreduce(_negentropy_terms(f.getArray(readonly=True),
                                                           self.prior))

    def value_and_gradient(self, f, gradient) -> float:
        self.gradient(f, gradient)
        return self.value(f)

    def gradient(self, f, out) -> None:
        out.getArray()[:] = np.log(f.getArray(readonly=True) / self.prior)

    def hessian_mult(self, f, e, out) -> None:
        out.getArray()[:] = e.getArray(readonly=True) / f.getArray(readonly=True)


class FloatingNegentropy:
    """R(f) = sum f log(f / p) - f + p with the floating prior p = S f (Horne 1985), S the
    tensor product over the grid's axes of the 1-D smoothing

        p_1 = (1 - gamma) f_1 + gamma f_2,
        p_i = gamma f_{i-1} + (1 - 2 gamma) f_i + gamma f_{i+1},
        p_n = (1 - gamma) f_n + gamma f_{n-1},

    applied to each piece the grid's cuts split an axis into.  S is symmetric with unit
    column sums, so sum p = sum f, and S maps constants to themselves, so R = 0 at a
    constant f on a grid without cuts.  The prior is differentiated (it floats):

        grad R = log(f / p) + 1 - S^T (f / p),
        Hess R e = e / f - (S e) / p - S^T (e / p) + S^T (f (S e) / p^2).
    """

    name = "entropy-floating"
    quadratic = False

    def __init__(self, template_vec, grid, gamma: float = 0.25):
        gamma = check_number("gamma", gamma)
        if gamma > 0.5:
            raise ArgumentError("gamma", f"must be in [0, 1/2], got {gamma!r}")
        self.gamma = gamma
        self.layout = _default_layout(template_vec, grid)
        factors = [_piecewise_smoothing(length, axis, grid.cuts, gamma)
                   for axis, length in enumerate(grid.shape)]
        self.smoothing_operator = MatOperator(_distributed(self.layout, [factors]))
        self._smoothing = self.smoothing_operator.mat
        self._prior = template_vec.duplicate()
        self._smoothed = template_vec.duplicate()
        self._work = template_vec.duplicate()

    def value(self, f) -> float:
        self._smoothing.mult(f, self._prior)
        return self._value(f)

    def value_and_gradient(self, f, gradient) -> float:
        self._smoothing.mult(f, self._prior)
        local_f = f.getArray(readonly=True)
        ratio = local_f / self._prior.getArray(readonly=True)
        self._work.getArray()[:] = ratio
        self._smoothing.multTranspose(self._work, gradient)
        gradient.getArray()[:] = np.log(ratio) + 1.0 - gradient.getArray(readonly=True)
        return self._value(f)

    def gradient(self, f, out) -> None:
        self.value_and_gradient(f, out)

    def hessian_mult(self, f, e, out) -> None:
        self._smoothing.mult(f, self._prior)
        self._smoothing.mult(e, self._smoothed)
        local_f, local_e = f.getArray(readonly=True), e.getArray(readonly=True)
        prior = self._prior.getArray(readonly=True)
        smoothed = self._smoothed.getArray(readonly=True)
        # The two S^T terms share one product: S^T (e / p - f (S e) / p^2).
        self._work.getArray()[:] = local_e / prior - local_f * smoothed / prior ** 2
        self._smoothing.multTranspose(self._work, out)
        out.getArray()[:] = local_e / local_f - smoothed / prior - out.getArray(readonly=True)

    def _value(self, f) -> float:
        """R(f) with the prior already in ``self._prior``."""
        terms = _negentropy_terms(f.getArray(readonly=True), self._prior.getArray(readonly=True))
        return self.layout.mpi.allreduce(terms)


class Roughness:
    """R(f) = ||D f||^2, the roughness penalty of order n = 1: D stacks the first differences
    along each axis, divided by that axis's spacing and multiplied by sqrt(prod(spacing)),
    so that R approximates the integral of |grad f|^2 over the grid (each squared difference
    quotient weighted by the cell volume).  Differences across a cut are left out.  Gradient
    2 D^T D f, Hessian 2 D^T D; ``difference_operator`` is D, for direct solvers forming
    A^T A + mu D^T D."""

    name = "roughness"
    quadratic = True

    def __init__(self, template_vec, grid):
        self.layout = _default_layout(template_vec, grid)
        weight = math.sqrt(math.prod(grid.spacing))
        blocks = [_along_axis(_piecewise_difference(length, axis, grid.cuts)
                              * (weight / grid.spacing[axis]), axis, grid.shape)
                  for axis, length in enumerate(grid.shape)]
        if sum(_rows(block) for block in blocks) == 0:
            raise ArgumentError("grid", f"has no neighbouring entries to difference: shape "
                                        f"{grid.shape}, cuts {grid.cuts}")
        self.difference_operator = MatOperator(_distributed(self.layout, blocks))
        self._differences = self.difference_operator.mat
        self._image = self._differences.createVecLeft()

    def value(self, f) -> float:
        self._differences.mult(f, self._image)
        return self._image.dot(self._image)

    def value_and_gradient(self, f, gradient) -> float:
        self._differences.mult(f, self._image)
        self._differences.multTranspose(self._image, gradient)
        gradient.scale(2.0)
        return self._image.dot(self._image)

    def gradient(self, f, out) -> None:
        self.value_and_gradient(f, out)

    def hessian_mult(self, f, e, out) -> None:
        """out = 2 D^T D e (f is not used: the Hessian is constant)."""
        self._differences.mult(e, self._image)
        self._differences.multTranspose(self._image, out)
        out.scale(2.0)


def make_penalty(name: str, template_vec, grid, *, gamma: float = 0.25, prior=None):
    """The penalty a job names: "entropy" (uniform ``prior``, required > 0),
    "entropy-floating" (smoothing weight ``gamma``) or "roughness"."""
    if name == "entropy":
        if prior is None:
            raise ArgumentError("prior", 'is required (> 0) for penalty = "entropy"')
        return Negentropy(template_vec, prior)
    if name == "entropy-floating":
        return FloatingNegentropy(template_vec, grid, gamma)
    if name == "roughness":
        return Roughness(template_vec, grid)
    raise ArgumentError("penalty", f"unknown {name!r}; choose one of {PENALTIES}")


def _negentropy_terms(f, prior) -> float:
    return float(np.sum(f * np.log(f / prior) - f + prior))


def _default_layout(template_vec, grid) -> Layout:
    """The template's layout, checked: grid-sized and PETSc's default split, the split of the
    AIJ matrices built here."""
    layout = Layout.of_vec(template_vec)
    if layout.size != math.prod(grid.shape):
        raise ArgumentError("grid", f"shape {grid.shape} has {math.prod(grid.shape)} entries, "
                                    f"the vector {layout.size}")
    if layout != Layout.default(layout.comm, layout.size):
        raise ArgumentError("template_vec", f"must be split in PETSc's default layout, "
                                            f"got {layout}")
    return layout


def _distributed(layout, blocks):
    """The AIJ Mat stacking ``blocks`` (each a list of Kronecker factors, C order) with its
    rows split in PETSc's default layout and its columns following ``layout``.  Each rank
    forms only its own rows: at 10^6 unknowns the whole S or D would be 10^7 entries on
    every rank."""
    total = sum(_rows(block) for block in blocks)
    rows = Layout.default(layout.comm, total)
    pieces, offset = [], 0
    for block in blocks:
        count = _rows(block)
        low, high = max(rows.start - offset, 0), min(rows.stop - offset, count)
        if low < high:
            pieces.append(_kronecker_rows(block, low, high))
        offset += count
    local = (sparse.vstack(pieces).tocsr() if pieces
             else sparse.csr_matrix((0, layout.size)))
    return aij_matrix(layout.comm, (total, layout.size), local)


def _rows(factors) -> int:
    return math.prod(factor.shape[0] for factor in factors)


def _kronecker_rows(factors, start: int, stop: int):
    """Rows [start, stop) of the Kronecker product of ``factors``: the first factor's rows
    that reach them, times the (smaller) product of the others."""
    first = sparse.csr_matrix(factors[0])
    if len(factors) == 1:
        return first[start:stop]
    rest = reduce(sparse.kron, factors[1:]).tocsr()
    height = rest.shape[0]
    low, high = start // height, -(-stop // height)
    return sparse.kron(first[low:high], rest, format="csr")[start - low * height:
                                                           stop - low * height]


def _piece_lengths(length: int, axis: int, cuts) -> np.ndarray:
    """The lengths of the pieces the cuts on ``axis`` split it into."""
    bounds = sorted({0, length, *(index for cut_axis, index in cuts if cut_axis == axis)})
    return np.diff(bounds)


def _piecewise_smoothing(length: int, axis: int, cuts, gamma: float):
    """The 1-D smoothing along one axis, each piece with its own end rows."""
    pieces = _piece_lengths(length, axis, cuts)
    return sparse.block_diag([_smoothing(int(n), gamma) for n in pieces])


def _smoothing(n: int, gamma: float):
    if n == 1:
        return sparse.identity(1)
    diagonal = np.full(n, 1.0 - 2.0 * gamma)
    diagonal[[0, -1]] = 1.0 - gamma
    neighbours = np.full(n - 1, gamma)
    return sparse.diags([neighbours, diagonal, neighbours], [-1, 0, 1])


def _piecewise_difference(length: int, axis: int, cuts):
    """Rows f_{i+1} - f_i along one axis, less those joining the two sides of a cut."""
    differences = sparse.diags([-np.ones(length - 1), np.ones(length - 1)], [0, 1],
                               shape=(length - 1, length), format="csr")
    across = {index - 1 for cut_axis, index in cuts if cut_axis == axis}
    return differences[[row for row in range(length - 1) if row not in across]]


def _along_axis(operator, axis: int, shape) -> list:
    """The Kronecker factors of the 1-D ``operator`` acting along ``axis`` of a C-ordered
    array of ``shape``."""
    return [operator if index == axis else sparse.identity(n, format="csr")
            for index, n in enumerate(shape)]

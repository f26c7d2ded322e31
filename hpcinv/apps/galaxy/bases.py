"""One-dimensional bases on a node grid and their Gram matrices: piecewise constants on the
cells between nodes (s = 0) and hat functions at the nodes (s = 1).  Tensor products of
these give the spatial and Theta bases of the galaxy problem."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Basis1D:
    nodes: np.ndarray     # ascending
    order: int            # 0: cells between nodes, 1: hats at nodes

    @property
    def size(self) -> int:
        return self.nodes.size - 1 if self.order == 0 else self.nodes.size

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.nodes)

    @property
    def points(self) -> np.ndarray:
        """Where each basis function is centred: cell midpoints or nodes."""
        return 0.5 * (self.nodes[1:] + self.nodes[:-1]) if self.order == 0 else self.nodes

    def mass(self) -> sp.csr_matrix:
        """L2 Gram matrix (<phi_i, phi_j>)."""
        h = self.widths
        if self.order == 0:
            return sp.diags(h, format="csr")
        diagonal = np.zeros(self.size)
        diagonal[:-1] += h / 3
        diagonal[1:] += h / 3
        return sp.diags([h / 6, diagonal, h / 6], [-1, 0, 1], format="csr")

    def stiffness(self) -> sp.csr_matrix:
        """(<phi_i', phi_j'>); zero for piecewise constants."""
        if self.order == 0:
            return sp.csr_matrix((self.size, self.size))
        inverse = 1.0 / self.widths
        diagonal = np.zeros(self.size)
        diagonal[:-1] += inverse
        diagonal[1:] += inverse
        return sp.diags([-inverse, diagonal, -inverse], [-1, 0, 1], format="csr")

    def overlap_with_hats(self, hat_nodes: np.ndarray) -> np.ndarray:
        """W[b, i] = int phi_b h_i for the hat functions h_i of ``hat_nodes`` (which must be
        these nodes): the exact weights that carry a function known by its nodal values."""
        if not np.array_equal(hat_nodes, self.nodes):
            raise ValueError("overlaps are implemented for hats on the same nodes")
        if self.order == 1:
            return self.mass().toarray()
        weights = np.zeros((self.size, self.nodes.size))
        rows = np.arange(self.size)
        weights[rows, rows] = self.widths / 2
        weights[rows, rows + 1] = self.widths / 2
        return weights

    def quadrature(self, points_per_interval: int) -> tuple[np.ndarray, np.ndarray]:
        """(points, weights) of Gauss-Legendre rules in every interval between nodes."""
        unit, weights = np.polynomial.legendre.leggauss(points_per_interval)
        left, width = self.nodes[:-1, None], self.widths[:, None]
        return (left + width * (unit + 1) / 2).ravel(), (width / 2 * weights).ravel()

    def averaging(self, points_per_interval: int) -> tuple[np.ndarray, np.ndarray]:
        """(points, W): the quadrature points and weights W (size, points) with rows summing
        to one, so W @ f(points) are the averages of f weighted by each basis function."""
        points, weights = self.quadrature(points_per_interval)
        averaging = self.evaluate(points) * weights
        return points, averaging / averaging.sum(axis=1, keepdims=True)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Values phi_b(x) for all b, shape (size, len(x))."""
        values = np.zeros((self.size, np.size(x)))
        x = np.asarray(x)
        if self.order == 0:
            cell = np.clip(np.searchsorted(self.nodes, x, side="right") - 1, 0, self.size - 1)
            inside = (x >= self.nodes[0]) & (x <= self.nodes[-1])
            values[cell[inside], np.flatnonzero(inside)] = 1.0
            return values
        for b in range(self.size):
            left = self.nodes[b - 1] if b > 0 else self.nodes[b]
            right = self.nodes[b + 1] if b < self.size - 1 else self.nodes[b]
            rising = (x >= left) & (x <= self.nodes[b]) & (self.nodes[b] > left)
            falling = (x >= self.nodes[b]) & (x <= right) & (right > self.nodes[b])
            values[b, rising] = (x[rising] - left) / (self.nodes[b] - left)
            values[b, falling] = (right - x[falling]) / (right - self.nodes[b])
            values[b, x == self.nodes[b]] = 1.0
        return values


def sobolev_gram(bases: list[Basis1D], beta: float) -> sp.csr_matrix:
    """Gram matrix of the tensor basis in <f,g> + beta sum_a <d_a f, d_a g> (C order: the
    last basis varies fastest)."""
    masses = [b.mass() for b in bases]
    gram = masses[0]
    for mass in masses[1:]:
        gram = sp.kron(gram, mass, format="csr")
    if beta == 0 or all(b.order == 0 for b in bases):
        return gram.tocsr()
    for axis, basis in enumerate(bases):
        factors = [basis.stiffness() if k == axis else masses[k] for k in range(len(bases))]
        term = factors[0]
        for factor in factors[1:]:
            term = sp.kron(term, factor, format="csr")
        gram = gram + beta * term
    return gram.tocsr()

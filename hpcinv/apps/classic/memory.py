"""Memory estimates of the classic problem kinds (``core.memory``), counting what their
construction stores: arithmetic on the job's values, nothing allocated.

The synthetic kinds (gravity, crosswell, parallel-beam) give their operator's part here;
``synthetic.problems.synthetic_memory`` adds the truth, data and noise vectors and L.
"""
from __future__ import annotations

import math

from ...core.errors import InputError
from ...core.memory import (DOUBLE, MemoryEstimate, assembled_sparse, band_nonzeros,
                            vectors)
from .grid import load_grid
from .parallel_beam import default_detectors

# linalg.dense computes dense rows this many entries at a time; a block and the
# temporaries of its formula (about 3 of its size) are alive at once.
_DENSE_BLOCK_ENTRIES = 1 << 22
_DENSE_BLOCK_TEMPORARIES = 3
# operators.rays traces rays in chunks of about this many crossings, with about 10 arrays
# of that size alive, and keeps (ray, cell, length) of every piece twice (the chunks' lists
# and their concatenation, 48 bytes) before the scipy matrix is made.
_RAY_CHUNK_ENTRIES = 1 << 20
_RAY_CHUNK_ARRAYS = 10
_RAY_PIECE_BYTES = 48


def dense_memory(rows: int, columns: int, keys: tuple) -> MemoryEstimate:
    """A dense rows x columns matrix (distributed by rows), and per rank the columns'
    points and one block of rows being computed (``linalg.dense.dense_operator``)."""
    block = min(rows * columns, max(1, _DENSE_BLOCK_ENTRIES // columns) * columns)
    return MemoryEstimate(distributed_bytes=vectors(rows, columns),
                          replicated_bytes=vectors(1, columns)
                          + vectors(_DENSE_BLOCK_TEMPORARIES, block),
                          keys=keys, rows=rows, columns=columns)


def gravity_memory(values: dict) -> MemoryEstimate:
    return dense_memory(values["n"], values["n"], ("problem.n",))


def sparse_example_memory(values: dict) -> MemoryEstimate:
    """The thesis' small examples: an n x n Toeplitz or an m x n Gaussian matrix, whose
    whole copy each rank draws first (compressed sensing)."""
    rows = values.get("m", values["n"])
    estimate = dense_memory(rows, values["n"], ("problem.n", "problem.m"))
    if "m" not in values:
        return estimate
    return estimate.combined(MemoryEstimate(replicated_bytes=vectors(rows, values["n"])))


def _ray_memory(rays: int, cells: int, nonzeros: int, longest: int, keys: tuple,
                segment_bytes: int) -> MemoryEstimate:
    """A ray matrix (``operators.rays.ray_operator``): ``rays`` x ``cells`` with
    ``nonzeros`` entries, rays crossing at most ``longest`` grid lines; the segments'
    end points are on every rank."""
    chunk = min(_RAY_CHUNK_ENTRIES, rays * (longest + 4))
    return MemoryEstimate(
        distributed_bytes=assembled_sparse(rays, nonzeros) + _RAY_PIECE_BYTES * nonzeros
        + vectors(6, cells),                  # the truth's coordinates and temporaries
        replicated_bytes=segment_bytes * rays + vectors(_RAY_CHUNK_ARRAYS, chunk),
        keys=keys, rows=rays, columns=cells)


def crosswell_memory(values: dict) -> MemoryEstimate:
    """The sources x receivers ray matrix on the n x n grid.  A ray from depth z_s to z_r
    crosses n columns and about n |z_s - z_r| rows of cells, 4n/3 on average."""
    n, rays = values["n"], values["sources"] * values["receivers"]
    nonzeros = rays * min(n * n, (4 * n) // 3 + 2)
    # the (rays, 2, 2) segments and the depths they are made from
    return _ray_memory(rays, n * n, nonzeros, 2 * n,
                       ("problem.n", "problem.sources", "problem.receivers"), 6 * DOUBLE)


def parallel_beam_nonzeros(n: int, angles, detectors: int) -> int:
    """Entries of the parallel-beam matrix: at angle theta the rays, one pixel apart, cross
    n^2 (|cos theta| + |sin theta|) cells together when they cover the square, and each
    at most n (|cos theta| + |sin theta|) + 1."""
    total = 0
    for angle in angles:
        theta = math.radians(angle)
        crossing = abs(math.cos(theta)) + abs(math.sin(theta))
        total += min(math.ceil(n * n * crossing), detectors * (math.ceil(n * crossing) + 1))
    return total


def parallel_beam_memory(values: dict) -> MemoryEstimate:
    n, angles = values["n"], values["angles"]
    detectors = values["detectors"] or default_detectors(n)
    rays = len(angles) * detectors
    # the segments and the per-ray arrays they are made from (about 12 doubles a ray)
    return _ray_memory(rays, n * n, parallel_beam_nonzeros(n, angles, detectors), 2 * n,
                       ("problem.n", "problem.angles", "problem.detectors"), 12 * DOUBLE)


def deconvolution_memory(values: dict) -> MemoryEstimate | None:
    """The Kronecker product of the 1-D Gaussian bands on the mesh's grid (AIJ, distributed;
    its 1-D factors are on every rank), the truth, data and noise vectors with their
    temporaries, and a data file read whole on every rank.  None when the mesh cannot be
    read (validation reports it)."""
    try:
        grid = load_grid(values["mesh"], "problem.mesh")
    except InputError:
        return None
    size, nonzeros, factors = 1, 1, 0
    for n, h in zip(grid.shape, grid.spacing):
        bandwidth = math.floor(min(n - 1, values["truncate"] * values["sigma"] / h))
        band = band_nonzeros(n, bandwidth)
        size, nonzeros, factors = size * n, nonzeros * band, factors + band
    files = 0
    if values["data"]:
        files = 2 * (2 if values["truth_dataset"] else 1)   # read, then a flattened copy
    return MemoryEstimate(
        distributed_bytes=assembled_sparse(size, nonzeros) + vectors(10, size),
        replicated_bytes=assembled_sparse(sum(grid.shape), factors) + vectors(files, size),
        keys=("problem.mesh", "problem.sigma", "problem.truncate"), rows=size, columns=size)

"""How a distributed vector, or the rows of a distributed array, are split across ranks.

Every distributed object in hpcinv is split into contiguous blocks in rank order, as PETSc
splits a Vec: rank r owns entries [start, stop).  A ``Layout`` names that split once, with
every rank's count, so operators, problems and solvers share one vocabulary for "my rows",
"gather the whole array" and "take my part of a replicated array" instead of each computing
its own offsets.  A layout is replicated: every rank holds the same counts, so decisions
taken from it are the same on every rank.
"""
from __future__ import annotations

import numpy as np


def default_counts(size: int, ranks: int) -> tuple[int, ...]:
    """PETSc's default split of ``size`` entries over ``ranks`` (PetscSplitOwnership):
    size // ranks each, one more on the first size % ranks ranks."""
    base, extra = divmod(int(size), int(ranks))
    return tuple(base + (rank < extra) for rank in range(ranks))


class Layout:
    """The split of ``size = sum(counts)`` entries over the ranks of ``comm`` (a PETSc
    communicator): rank r owns ``counts[r]`` consecutive entries."""

    def __init__(self, comm, counts):
        self.comm = comm
        self.counts = tuple(int(count) for count in counts)
        self._mpi = mpi = comm.tompi4py()
        if len(self.counts) != mpi.size or min(self.counts, default=0) < 0:
            raise ValueError(f"counts: need one non-negative count per rank ({mpi.size}), "
                             f"got {self.counts}")
        self.rank = mpi.rank
        self.size = sum(self.counts)
        self.start = sum(self.counts[:self.rank])
        self.stop = self.start + self.counts[self.rank]
        # mpi4py reads a tuple as (counts, displacements): the counts go as an array.
        self._count_array = np.array(self.counts, dtype=np.int64)

    @classmethod
    def default(cls, comm, size: int) -> "Layout":
        """PETSc's default split (the layout of a Vec created with PETSC_DECIDE)."""
        if int(size) != size or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}")
        return cls(comm, default_counts(size, comm.tompi4py().size))

    @classmethod
    def from_local(cls, comm, local: int) -> "Layout":
        """The layout in which this rank owns ``local`` entries (collective)."""
        return cls(comm, comm.tompi4py().allgather(int(local)))

    @classmethod
    def from_ranges(cls, comm, ranges) -> "Layout":
        """From PETSc ownership ranges (the P + 1 offsets ``getOwnershipRanges`` returns)."""
        return cls(comm, np.diff(np.asarray(ranges)))

    @classmethod
    def of_vec(cls, vec) -> "Layout":
        return cls.from_ranges(vec.getComm(), vec.getOwnershipRanges())

    @property
    def mpi(self):
        """The mpi4py communicator."""
        return self._mpi

    @property
    def local_size(self) -> int:
        return self.stop - self.start

    @property
    def local_slice(self) -> slice:
        return slice(self.start, self.stop)

    def __eq__(self, other) -> bool:
        return isinstance(other, Layout) and self.counts == other.counts

    def __hash__(self) -> int:
        return hash(self.counts)

    def __repr__(self) -> str:
        return f"Layout(size={self.size}, counts={self.counts})"

    def rows_of(self, width: int) -> "Layout":
        """The layout of a (size x width) array flattened in C order and split by rows."""
        return Layout(self.comm, [count * int(width) for count in self.counts])

    def create_vec(self):
        """A zeroed PETSc Vec with this layout."""
        from petsc4py import PETSc

        vec = PETSc.Vec().createMPI((self.local_size, self.size), comm=self.comm)
        vec.zeroEntries()
        return vec

    def local_part(self, whole):
        """This rank's entries (or rows) of an array every rank holds whole."""
        whole = np.asarray(whole)
        if whole.shape[:1] != (self.size,):
            raise ValueError(f"expected {self.size} entries (rows), got shape {whole.shape}")
        return whole[self.start:self.stop]

    def vec_from(self, whole, out=None):
        """A Vec of this layout (``out`` when given) holding this rank's part of ``whole``,
        a flat array every rank holds."""
        vec = out if out is not None else self.create_vec()
        vec.getArray()[:] = self.local_part(np.asarray(whole).ravel())
        return vec

    def gather(self, local) -> np.ndarray:
        """The whole array on every rank from each rank's entries (1-D) or rows (2-D).
        Collective; the shape is checked on each rank before the collective, so a caller
        must pass every rank's part of the same array (Kaczmarz sweeps call this once per
        equation: the 1-D path does no more than one allocation and the Allgatherv)."""
        local = np.ascontiguousarray(local, dtype=float)
        if local.shape[:1] != (self.local_size,):
            raise ValueError(f"expected this rank's {self.local_size} entries (rows), got "
                             f"shape {local.shape}")
        if local.ndim == 1:
            whole = np.empty(self.size)
            self._mpi.Allgatherv(local, [whole, self._count_array])
            return whole
        width = int(np.prod(local.shape[1:]))
        whole = np.empty((self.size, *local.shape[1:]))
        self._mpi.Allgatherv(local, [whole, self._count_array * width])
        return whole


def gathered(vec) -> np.ndarray:
    """The whole Vec on every rank (collective; small Vecs: figures, tables)."""
    return Layout.of_vec(vec).gather(vec.getArray(readonly=True))

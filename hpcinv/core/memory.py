"""How much memory a job needs per rank, estimated from its keys before anything is built.

Every problem kind counts what its construction stores (``ProblemKind.memory_estimate``:
dense or sparse matrices, FFT work arrays, the truth, data and noise vectors, the
regularization operator) and every solver kind what it adds (``SolverKind.memory_estimate``:
Krylov vectors, bases, dense factorisations, recycle spaces).  Each part is either split
over the ranks (``distributed_bytes``) or held by every rank (``replicated_bytes``), so the
estimate per rank on P ranks is replicated + distributed / P, plus the interpreter and its
libraries (``RUNTIME_BYTES``).  Estimates aim at the peak within a factor of about 2; they
are arithmetic on Python ints (no allocation, no PETSc), so a job with n = 1e9 is refused
at once with its size instead of dying later in a MemoryError.

``check_memory`` compares the estimate with the limit per rank: the environment variable
HPCINV_MAX_MEMORY_PER_RANK (e.g. ``8G``) when set, else the node's memory (or the cgroup's
limit, when smaller) divided by the ranks on the node.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from .errors import InputError

LIMIT_VARIABLE = "HPCINV_MAX_MEMORY_PER_RANK"

DOUBLE = 8          # bytes of a float64
COMPLEX = 16        # bytes of a complex128
INDEX = 4           # bytes of a PetscInt (32-bit indices, as Debian's PETSc)

# Python, numpy, scipy, PETSc, SLEPc, MPI and h5py loaded: the peak RSS of a run of a tiny
# job (jobs/deconvolution-lsqr.toml: 185 MiB on one rank).
RUNTIME_BYTES = 180 << 20

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50,
          "E": 1 << 60}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?(?:e[+-]?\d+)?)\s*([KMGTPE]?)(?:i?B)?\s*$",
                   re.IGNORECASE)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a job (or a part of it) needs: ``distributed_bytes`` split over the ranks,
    ``replicated_bytes`` on every rank; ``keys`` the job keys that drive them (most
    important first).  A problem's estimate also gives the operator's shape (``rows`` x
    ``columns``) and ``facts`` a solver kind's estimate may use (e.g. ``regularization``,
    ``grid_shape``, ``auxiliary_operators``, ``block_rows``)."""
    distributed_bytes: int = 0
    replicated_bytes: int = 0
    keys: tuple = ()
    rows: int | None = None
    columns: int | None = None
    facts: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        # Estimates are whole bytes; float arithmetic in a kind's formula is rounded up here.
        object.__setattr__(self, "distributed_bytes", _whole(self.distributed_bytes))
        object.__setattr__(self, "replicated_bytes", _whole(self.replicated_bytes))
        object.__setattr__(self, "keys", tuple(self.keys))

    def per_rank(self, ranks: int = 1) -> int:
        """Bytes on each of ``ranks`` ranks (the distributed part rounded up)."""
        ranks = max(1, int(ranks))
        return self.replicated_bytes + -(-self.distributed_bytes // ranks)

    @property
    def total_bytes(self) -> int:
        """Bytes on one rank."""
        return self.per_rank(1)

    def combined(self, other: "MemoryEstimate | None") -> "MemoryEstimate":
        """This estimate plus ``other``'s bytes (a solver's share); keys of both, this
        estimate's shape and facts first."""
        if other is None:
            return self
        return MemoryEstimate(
            self.distributed_bytes + other.distributed_bytes,
            self.replicated_bytes + other.replicated_bytes,
            tuple(dict.fromkeys(self.keys + other.keys)),
            self.rows if self.rows is not None else other.rows,
            self.columns if self.columns is not None else other.columns,
            {**other.facts, **self.facts})

    __add__ = combined

    def __radd__(self, other):
        # sum() starts from 0
        return self if other == 0 else NotImplemented


def _whole(value) -> int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"memory estimate must be finite, got {value}")
        return max(0, math.ceil(value))
    return max(0, int(value))


# Building blocks of the kinds' estimates --------------------------------------------------

def vectors(count, length) -> int:
    """Bytes of ``count`` float64 vectors of ``length`` entries."""
    return DOUBLE * int(count) * int(length)


def aij_bytes(rows, nonzeros) -> int:
    """Bytes of an assembled PETSc AIJ matrix: a value and a column index per nonzero and a
    row pointer per row."""
    return (DOUBLE + INDEX) * int(nonzeros) + INDEX * (int(rows) + 1)


# Assembling a distributed sparse matrix from scipy rows (``linalg.dense.aij_matrix``) holds
# the scipy CSR and its 32-bit index copies next to PETSc's copy: about this many bytes per
# nonzero at the peak beyond the assembled matrix (measured: a 2-D blur with 28 million
# nonzeros peaked at about 30 bytes per nonzero in all).
SPARSE_ASSEMBLY_BYTES = 20


def assembled_sparse(rows, nonzeros) -> int:
    """Peak bytes of building and holding an AIJ matrix from scipy rows."""
    return aij_bytes(rows, nonzeros) + SPARSE_ASSEMBLY_BYTES * int(nonzeros)


def band_nonzeros(n, bandwidth) -> int:
    """Nonzeros of an n x n banded matrix with ``bandwidth`` diagonals on each side."""
    n, b = int(n), min(int(bandwidth), int(n) - 1)
    return n * (2 * b + 1) - b * (b + 1)


def sparse_factor_nonzeros(size, dimensions: int) -> int:
    """Nonzeros of a sparse direct factorisation (L and U, nested-dissection ordering) of a
    grid operator with ``size`` unknowns: O(n) on a 1-D grid, about 8 n log2 n in 2-D
    (George), n^(4/3) growth in 3-D."""
    size = int(size)
    if dimensions <= 1:
        return 6 * size
    if dimensions == 2:
        return 8 * size * max(1, size.bit_length())
    return 8 * size * max(1, round(size ** (1 / 3)))


# Sizes: parsing and printing --------------------------------------------------------------

def parse_size(text, name: str = LIMIT_VARIABLE) -> int:
    """Bytes from ``8G``, ``512M``, ``1.5T``, ``1000000`` (K/M/G/T/P/E are powers of 1024; a
    ``B`` or ``iB`` may follow); InputError naming ``name`` otherwise."""
    raw = str(text)
    match = _SIZE.match(raw)
    amount = float(match.group(1)) if match else 0.0
    if not (math.isfinite(amount) and amount > 0):
        raise InputError((name, f"expected a positive size such as 8G, 512M or 1000000 "
                                f"(bytes; K, M, G, T are powers of 1024), got {raw!r}"))
    return max(1, int(amount * _UNITS[match.group(2).upper()]))


def format_bytes(count) -> str:
    """``8.0 TiB``, ``11.7 GiB``, ``512 B``."""
    count = int(count)
    for unit in ("EiB", "PiB", "TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if count >= scale:
            value = count / scale
            return f"{value:.0f} {unit}" if value >= 1000 else f"{value:.1f} {unit}"
    return f"{count} B"


# The limit per rank -------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    bytes: int
    source: str     # how it was found, for messages

    def __str__(self) -> str:
        return f"{format_bytes(self.bytes)}: {self.source}"


def node_memory() -> int | None:
    """Bytes of memory of this node, or of this process's cgroup when that is smaller."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        memory = None
    for path in ("/sys/fs/cgroup/memory.max",                       # cgroup v2
                 "/sys/fs/cgroup/memory/memory.limit_in_bytes"):    # cgroup v1
        try:
            with open(path) as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            memory = int(text) if memory is None else min(memory, int(text))
    return memory if memory and memory > 0 else None


def local_rank_count() -> int:
    """Ranks on this node, from the launcher's environment (Open MPI, MPICH/Hydra, SLURM);
    1 when none says."""
    for variable in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE",
                     "SLURM_TASKS_PER_NODE"):
        text = os.environ.get(variable, "")
        # SLURM_TASKS_PER_NODE reads like "4(x2),3": the largest count is the safe one.
        counts = [int(part.split("(")[0]) for part in text.split(",")
                  if part.split("(")[0].strip().isdigit()]
        if counts and max(counts) > 0:
            return max(counts)
    return 1


def limit_per_rank(local_ranks: int | None = None) -> Limit:
    """HPCINV_MAX_MEMORY_PER_RANK when set, else the node's memory divided by the ranks on
    the node (``local_ranks``, default from the launcher's environment); no limit when
    neither is known."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if text:
        return Limit(parse_size(text), LIMIT_VARIABLE)
    ranks = max(1, int(local_ranks if local_ranks is not None else local_rank_count()))
    memory = node_memory()
    if memory is None:
        return Limit(1 << 62, "the node's memory is unknown")
    per_rank = f" / {ranks} ranks on the node" if ranks > 1 else ""
    return Limit(memory // ranks, f"the node's {format_bytes(memory)}{per_rank}; set "
                                  f"{LIMIT_VARIABLE} to change it")


# Reporting ----------------------------------------------------------------------------------

def ranks(count: int) -> str:
    return f"{count} rank{'s' * (count != 1)}"


def describe(job: MemoryEstimate, count: int, limit: Limit) -> str:
    """``about 1.2 GiB per rank on 2 ranks (limit 11.7 GiB: ...)``."""
    return (f"about {format_bytes(job.per_rank(count))} per rank on {ranks(count)} "
            f"(limit {limit})")


def advice(job: MemoryEstimate, limit: Limit) -> str:
    keys = ", ".join(job.keys) or "the problem's size"
    them = "them" if len(job.keys) > 1 else "it"
    room = limit.bytes - job.replicated_bytes
    if job.distributed_bytes and room > 0:
        needed = -(-job.distributed_bytes // room)
        return f"it grows with {keys}: reduce {them} or run on at least {ranks(needed)}"
    return (f"it grows with {keys}: reduce {them} ({format_bytes(job.replicated_bytes)} of "
            f"the job is on every rank, so more ranks do not help)")

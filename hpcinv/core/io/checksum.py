"""Checksums of datasets that do not depend on how a vector is split over ranks.

A checkpoint written on 4 ranks may be resumed on 2, so the checksum of a distributed
vector must come out the same from any split: it is the sum (mod 2^64) of a hash of each
(position, value) pair, which each rank sums over its own part and one allreduce adds up.
No library offers such a split-invariant digest (hashlib's digests depend on the order the
bytes arrive in).  It detects corruption (flipped bytes, truncation, values moved between
positions); it is no defence against someone who rewrites the checksums too.
"""
from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MODULUS = 1 << 64
_CHUNK = 1 << 20


def _words(array) -> np.ndarray:
    """The values as 64-bit words (floats by their IEEE bits, integers as int64)."""
    array = np.ascontiguousarray(array).ravel()
    if array.dtype.itemsize != 8:
        array = array.astype(np.float64 if array.dtype.kind == "f" else np.int64)
    return array.view(np.uint64)


def _partial_sum(array, offset: int) -> int:
    """sum over i of splitmix64(word_i + golden * (offset + i + 1)), mod 2^64."""
    total = 0
    words = _words(array)
    with np.errstate(over="ignore"):
        for begin in range(0, words.size, _CHUNK):
            chunk = words[begin:begin + _CHUNK]
            positions = np.arange(offset + begin + 1, offset + begin + 1 + chunk.size,
                                  dtype=np.uint64)
            z = chunk + positions * _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            z ^= z >> np.uint64(31)
            total += int(z.sum(dtype=np.uint64))
    return total % _MODULUS


def _format(total: int, size: int) -> str:
    return f"{size}:{total % _MODULUS:016x}"


def array_checksum(array) -> str:
    """The checksum of a whole array (serial)."""
    array = np.asarray(array)
    return _format(_partial_sum(array, 0), array.size)


def local_sum(vec, ranges=None) -> int:
    """This rank's share of a distributed Vec's checksum (no communication); ``ranges``:
    where its entries lie in the stored order (``local_ranges``)."""
    values = vec.getArray(readonly=True)
    return sum(_partial_sum(values[begin:end], start)
               for (start, _), (begin, end) in local_ranges(vec, ranges)) % _MODULUS


def local_ranges(vec, ranges=None) -> list:
    """[((start, stop) in the stored order, (begin, end) in this rank's array)]: the Vec's
    ownership range, or ``ranges`` for a Vec whose global order depends on the number of
    ranks (an operator's ``natural_row_ranges``), so that what is stored does not."""
    if ranges is None:
        ranges = [vec.getOwnershipRange()]
    pieces, begin = [], 0
    for start, stop in ranges:
        pieces.append(((start, stop), (begin, begin + stop - start)))
        begin += stop - start
    if begin != vec.getLocalSize():
        raise ValueError(f"ranges: cover {begin} entries, this rank holds "
                         f"{vec.getLocalSize()}")
    return pieces


def combine(local_sums, size: int) -> str:
    """The checksum of a Vec of ``size`` entries from every rank's ``local_sum``."""
    return _format(sum(local_sums), size)


def vec_checksum(vec, comm, ranges=None) -> str:
    """The checksum of a distributed PETSc Vec (collective over ``comm``); equal to
    ``array_checksum`` of the gathered values (in the order of ``ranges``, ``local_ranges``)."""
    return combine([comm.allreduce(local_sum(vec, ranges))], vec.getSize())


def dataset_checksum(dataset) -> str:
    """The checksum of an HDF5 dataset, read in chunks (serial)."""
    total = 0
    flat = dataset.size
    if dataset.ndim == 1:
        for begin in range(0, flat, _CHUNK):
            total += _partial_sum(dataset[begin:begin + _CHUNK], begin)
    else:
        total = _partial_sum(dataset[()], 0)
    return _format(total, flat)

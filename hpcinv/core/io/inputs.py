"""Reading user-provided input files (TOML text, HDF5 datasets, FITS files) so that every
way the file can be wrong (unreadable, not UTF-8, not TOML, not HDF5 or FITS, truncated, no
such dataset, a group, strings, records or complex numbers where real numbers belong) is an
InputError under the job key that named the file, and the message names the file."""
from __future__ import annotations

import tomllib
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import InputError


def _subject(path, key: str, what: str) -> str:
    """``what path``, or ``what`` alone when the key already is the path (the job file)."""
    return what if key == str(path) else f"{what} {path}"


def read_text_file(path, key: str, what: str = "file") -> str:
    """A UTF-8 text file's contents; errors are InputErrors under ``key``."""
    subject = _subject(path, key, what)
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError((key, f"{subject} is a directory, not a file")) from None
    except OSError as error:
        raise InputError((key, f"cannot read {subject}: {error.strerror or error}")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError((key, f"{subject} is not a UTF-8 text file (byte "
                               f"0x{data[error.start]:02x} at offset {error.start})")) from None


def read_toml_file(path, key: str, what: str = "mesh") -> dict:
    """A TOML file as a dict; errors (unreadable, not UTF-8, not TOML) are InputErrors under
    ``key`` naming the file."""
    text = read_text_file(path, key, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError((key, f"{_subject(path, key, what)} is not valid TOML: "
                               f"{error}")) from None


def _not_real(dtype: np.dtype, allow_complex: bool) -> str | None:
    """What values of ``dtype`` hold when they are not real numbers (None when they are, or
    complex numbers that are allowed)."""
    metadata = dtype.metadata or {}
    if "enum" in metadata:
        return f"enumerated labels ({', '.join(metadata['enum'])})"
    if "ref" in metadata:
        return "object references"
    if "vlen" in metadata:
        return "strings" if metadata["vlen"] in (str, bytes) else "variable-length sequences"
    if dtype.names:
        return f"compound records (fields {', '.join(dtype.names)})"
    if dtype.subdtype is not None:
        return f"arrays of shape {dtype.subdtype[1]} per element"
    if dtype.kind in "iuf" or (allow_complex and dtype.kind == "c"):
        return None
    return {"b": "booleans", "S": "strings", "U": "strings", "O": "Python objects",
            "V": "opaque bytes", "c": "complex numbers", "M": "dates",
            "m": "time intervals"}.get(dtype.kind, f"values of type {dtype}")


def _check_dtype(dtype: np.dtype, where: str, key: str, allow_complex: bool) -> None:
    problem = _not_real(dtype, allow_complex)
    if problem is not None:
        detail = f" ({dtype})" if dtype.kind in "cSU" else ""
        raise InputError((key, f"{where} holds {problem}{detail}, not real numbers"))


def check_real(array, where: str, key: str, *, allow_complex: bool = False) -> np.ndarray:
    """``array`` as float64 (complex128 when complex and allowed); anything else (strings,
    records, booleans, complex numbers that would lose their imaginary part) is an
    InputError under ``key`` naming ``where``."""
    array = np.asarray(array)
    _check_dtype(array.dtype, where, key, allow_complex)
    return array.astype(np.complex128 if array.dtype.kind == "c" else np.float64, copy=False)


def first_line(error: Exception) -> str:
    """The first line of an error's message (HDF5's and segyio's can span several), or the
    error's type when the message is empty."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _datasets(handle, limit: int = 12) -> str:
    names: list = []

    def visit(name, item):
        import h5py

        if isinstance(item, h5py.Dataset):
            names.append(name)
        return True if len(names) > limit else None

    try:
        handle.visititems(visit)
    except (OSError, RuntimeError, KeyError, ValueError):
        pass
    shown = ", ".join(names[:limit]) or "none"
    return shown + (", ..." if len(names) > limit else "")


def read_hdf5_array(path, name: str, key: str, *, allow_complex: bool = False,
                    finite: bool = True) -> np.ndarray:
    """Dataset ``name`` of HDF5 file ``path``, whole, as float64 (complex128 when complex and
    ``allow_complex``).  Every failure (not HDF5, truncated, no such dataset, a group, values
    that are not real numbers, unreadable values, non-finite values when ``finite``) is an
    InputError under ``key`` naming the file."""
    import h5py

    where = f"dataset {name!r} in {path}"
    if Path(path).is_dir():
        raise InputError((key, f"{path} is a directory, not an HDF5 file"))
    try:
        with h5py.File(path, "r") as handle:
            try:
                item = handle.get(name)
            except (KeyError, ValueError, OSError, RuntimeError, TypeError) as error:
                raise InputError((key, f"cannot open {where}: {first_line(error)}")) from None
            if item is None:
                if name in handle:
                    raise InputError((key, f"{name!r} in {path} is a broken link"))
                raise InputError((key, f"{path} has no dataset {name!r} (datasets: "
                                       f"{_datasets(handle)})"))
            if isinstance(item, h5py.Group):
                raise InputError((key, f"{name!r} in {path} is a group, not a dataset "
                                       f"(members: {', '.join(list(item)[:12]) or 'none'})"))
            if not isinstance(item, h5py.Dataset):
                raise InputError((key, f"{name!r} in {path} is a {type(item).__name__}, not a "
                                       f"dataset"))
            _check_dtype(item.dtype, where, key, allow_complex)
            if item.shape is None:
                raise InputError((key, f"{where} is empty (null dataspace)"))
            try:
                values = item[()]
            except (OSError, ValueError, TypeError, RuntimeError) as error:
                raise InputError((key, f"cannot read {where}: {first_line(error)}")) from None
    except OSError as error:
        raise InputError((key, f"cannot read HDF5 file {path}: {first_line(error)}")) from None
    array = check_real(values, where, key, allow_complex=allow_complex)
    if finite:
        bad = np.flatnonzero(~np.isfinite(array.ravel()))
        if bad.size:
            raise InputError((key, f"{where} has {bad.size} non-finite values (first at flat "
                                   f"index {bad[0]})"))
    return array


# What astropy raises on a corrupt or truncated FITS file, often only when a header past
# the first or an HDU's data is touched.
FITS_ERRORS = (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError)


def _fits_problem(error: Exception) -> str:
    text = first_line(error)
    if text.startswith("No SIMPLE card found"):
        return "not a FITS file (no SIMPLE card)"
    if isinstance(error, OSError) and text:
        return text
    return f"corrupt or unsupported FITS ({type(error).__name__}: {text})"


def _damage(caught) -> str:
    """astropy's warning that the file is truncated or corrupt, on one line ('' if none)."""
    for warning in caught:
        text = str(warning.message)
        if "truncated" in text or "corrupt" in text:
            text = text.replace(" (note: Astropy uses zero-based indexing)", "")
            return " ".join(line.strip() for line in text.splitlines())
    return ""


@contextmanager
def reading_fits(path, key: str):
    """``fits.open(path)`` for a ``with`` block whose astropy failures (not FITS, truncated,
    header values of the wrong type) become InputErrors under ``key`` naming the file.  The
    block should do all its reading of the file (data included) inside: astropy reads
    headers past the first, and the data, only when they are used."""
    from astropy.io import fits
    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstropyUserWarning)
        try:
            with fits.open(path) as hdus:
                yield hdus
        except FITS_ERRORS as error:
            raise InputError((key, f"cannot read FITS file {path}: "
                                   f"{_damage(caught) or _fits_problem(error)}")) from None
        except InputError:
            if _damage(caught):     # e.g. "no DATA extension" as the file ends early
                raise InputError((key, f"cannot read FITS file {path}: "
                                       f"{_damage(caught)}")) from None
            raise
    for warning in caught:      # a file that could be read keeps its warnings
        warnings.showwarning(warning.message, warning.category, warning.filename,
                             warning.lineno)

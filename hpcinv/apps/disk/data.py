"""Measured azimuthal velocity profiles F_phi(R_i, v_j), their variances and which of them
were observed, read from HDF5 or FITS; every defect (missing datasets or HDUs, shapes,
non-finite values, variances <= 0, axes out of order) is an InputError naming the key, the
file and the dataset or HDU."""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import InputError
from ...core.io.inputs import check_real, read_hdf5_array, reading_fits

_ARRAYS = ("radii", "velocities", "profiles", "variances")
_FITS_SIGNATURE = b"SIMPLE"   # the first keyword of every FITS file


@dataclass(frozen=True)
class MeasuredProfiles:
    """profiles[i, j] = F_phi(radii[i], velocities[j]) with its variance; ``mask`` is True
    where observed.  Masked-out values are as read (possibly NaN): use them only through
    the mask."""

    radii: np.ndarray
    velocities: np.ndarray
    profiles: np.ndarray
    variances: np.ndarray
    mask: np.ndarray


def read_profiles(path, key: str = "problem.data") -> MeasuredProfiles:
    """Profiles from an HDF5 file (datasets radii, velocities, profiles, variances and an
    optional mask, nonzero where observed) or a FITS file (image HDUs PROFILES, primary or
    extension, n_R x n_v so that NAXIS1 is velocity, VARIANCE and an optional MASK; the axes
    as 1-D image HDUs RADII and VELOCITIES or else from the linear WCS of PROFILES:
    CRVAL1/CDELT1/CRPIX1 for velocity, CRVAL2/CDELT2/CRPIX2 for radius)."""
    path = str(path)
    arrays, mask, origins = (_read_hdf5 if _is_hdf5(path, key) else _read_fits)(path, key)
    return _validated(arrays, mask, origins, key)


def write_profiles(path, profiles: MeasuredProfiles) -> None:
    """Write the HDF5 layout ``read_profiles`` reads, through a temporary file in the same
    directory so that a failure never leaves a half-written file at ``path``."""
    import h5py

    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        with h5py.File(partial, "w") as handle:
            for name in _ARRAYS:
                handle.create_dataset(name, data=np.asarray(getattr(profiles, name), float))
            handle.create_dataset("mask", data=np.asarray(profiles.mask, dtype=np.uint8))
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _is_hdf5(path: str, key: str) -> bool:
    """True for HDF5, False for FITS, from the file's signature."""
    import h5py

    try:
        with open(path, "rb") as handle:
            start = handle.read(len(_FITS_SIGNATURE))
    except OSError as error:
        raise InputError((key, f"cannot read {path}: {error.strerror or error}")) from None
    if h5py.is_hdf5(path):
        return True
    if start == _FITS_SIGNATURE:
        return False
    raise InputError((key, f"{path} is neither an HDF5 nor a FITS file"))


def _read_hdf5(path: str, key: str):
    import h5py

    arrays = {name: read_hdf5_array(path, name, key, finite=False) for name in _ARRAYS}
    origins = {name: f"dataset {name!r} in {path}" for name in (*_ARRAYS, "mask")}
    with h5py.File(path, "r") as handle:   # readable: its other datasets were just read
        if "mask" not in handle:
            return arrays, None, origins
        item = handle["mask"]
        if isinstance(item, h5py.Dataset) and item.dtype.kind == "b":   # h5py's booleans
            return arrays, item[()], origins
    return arrays, _nonzero(read_hdf5_array(path, "mask", key, finite=False),
                            origins["mask"], key), origins


def _read_fits(path: str, key: str):
    with reading_fits(path, key) as hdus:
        profiles_hdu = _profiles_hdu(hdus, path, key)
        origins = {"profiles": _where(path, hdus, profiles_hdu)}
        arrays = {"profiles": _image(profiles_hdu, origins["profiles"], key)}
        if arrays["profiles"].ndim != 2:    # its axes may come from its WCS
            raise InputError((key, f"{origins['profiles']}: need a 2-D image (n_R x n_v), "
                                   f"got shape {arrays['profiles'].shape}"))
        origins["variances"] = f"{path}[VARIANCE]"
        arrays["variances"] = _image(_required_hdu(hdus, "VARIANCE", path, key),
                                     origins["variances"], key)
        mask = None
        if "MASK" in hdus:
            origins["mask"] = f"{path}[MASK]"
            mask = _nonzero(_image(hdus["MASK"], origins["mask"], key), origins["mask"], key)
        for name, axis in (("velocities", 1), ("radii", 2)):
            if name.upper() in hdus:
                origins[name] = f"{path}[{name.upper()}]"
                arrays[name] = _image(hdus[name.upper()], origins[name], key)
            else:
                origins[name] = f"{origins['profiles']} WCS axis {axis}"
                arrays[name] = _linear_axis(profiles_hdu.header, axis, name,
                                            arrays["profiles"].shape[-axis], origins[name], key)
    return arrays, mask, origins


def _where(path: str, hdus, hdu) -> str:
    return f"{path}[{hdu.name or hdus.index_of(hdu)}]"


def _profiles_hdu(hdus, path: str, key: str):
    if "PROFILES" in hdus:
        return hdus["PROFILES"]
    if hdus[0].header.get("NAXIS", 0) > 0:
        return hdus[0]
    raise InputError((key, f"{path}: no PROFILES image HDU and no image in the primary HDU"))


def _required_hdu(hdus, name: str, path: str, key: str):
    if name not in hdus:
        raise InputError((key, f"{path}: no {name} image HDU (HDUs: "
                               f"{', '.join(hdu.name or '?' for hdu in hdus)})"))
    return hdus[name]


def _image(hdu, where: str, key: str) -> np.ndarray:
    """An image HDU's pixels as float64 (inside ``reading_fits``: reading them may find the
    file truncated)."""
    if not hdu.is_image:
        raise InputError((key, f"{where}: not an image but a {type(hdu).__name__}"))
    if hdu.data is None:
        raise InputError((key, f"{where}: no pixels"))
    return check_real(hdu.data, where, key)


def _linear_axis(header, axis: int, name: str, count: int, where: str, key: str
                 ) -> np.ndarray:
    """CRVAL + CDELT (p - CRPIX) at the 1-based pixels p of FITS axis ``axis``."""
    cards = [f"{card}{axis}" for card in ("CRVAL", "CDELT", "CRPIX")]
    missing = [card for card in cards if card not in header]
    if missing:
        raise InputError((key, f"{where}: no {name.upper()} HDU and no linear WCS for the "
                               f"{name} (missing {', '.join(missing)})"))
    values = [header[card] for card in cards]
    if not all(isinstance(value, numbers.Real) and not isinstance(value, bool)
               for value in values):
        raise InputError((key, f"{where}: {'/'.join(cards)} must be numbers, got {values}"))
    crval, cdelt, crpix = map(float, values)
    return crval + cdelt * (np.arange(1, count + 1) - crpix)


def _nonzero(values: np.ndarray, where: str, key: str) -> np.ndarray:
    """A mask's values as booleans, True where nonzero; NaN or inf are no answer."""
    _refuse(~np.isfinite(values), where, key, "NaN or infinite values")
    return values != 0


def _validated(arrays: dict, mask, origins: dict, key: str) -> MeasuredProfiles:
    radii, velocities = arrays["radii"], arrays["velocities"]
    for name in ("radii", "velocities"):
        if arrays[name].ndim != 1 or arrays[name].size == 0:
            raise InputError((key, f"{origins[name]}: need a non-empty 1-D array, got shape "
                                   f"{arrays[name].shape}"))
        _refuse(~np.isfinite(arrays[name]), origins[name], key, "NaN or infinite values")
    shape = (radii.size, velocities.size)
    for name, values in (("profiles", arrays["profiles"]), ("variances", arrays["variances"]),
                         ("mask", mask)):
        if values is not None and values.shape != shape:
            raise InputError((key, f"{origins[name]}: shape {values.shape}, but there are "
                                   f"{shape[0]} radii and {shape[1]} velocities: need "
                                   f"(n_R, n_v) = {shape}"))
    mask = np.ones(shape, bool) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        raise InputError((key, f"{origins['mask']}: no point is observed (all zero)"))
    _refuse(radii < 0, origins["radii"], key, "negative radii")
    for name in ("radii", "velocities"):
        _refuse_disorder(arrays[name], name, origins[name], key)
    for name in ("profiles", "variances"):
        _refuse(mask & ~np.isfinite(arrays[name]), origins[name], key,
                "NaN or infinite values at observed points")
    _refuse(mask & (arrays["variances"] <= 0), origins["variances"], key,
            "variances <= 0 at observed points")
    return MeasuredProfiles(radii, velocities, arrays["profiles"], arrays["variances"], mask)


def _refuse_disorder(values: np.ndarray, name: str, where: str, key: str) -> None:
    steps = np.flatnonzero(np.diff(values) <= 0)
    if steps.size:
        i = steps[0]
        raise InputError((key, f"{where}: {name} must increase strictly (steps <= 0: "
                               f"{steps.size}, first {name}[{i}] = {values[i]:.6g} then "
                               f"{name}[{i + 1}] = {values[i + 1]:.6g})"))


def _refuse(bad: np.ndarray, where: str, key: str, what: str) -> None:
    """An InputError counting the ``bad`` entries and naming the first, if any."""
    if bad.any():
        first = tuple(int(index) for index in np.argwhere(bad)[0])
        shown = first[0] if len(first) == 1 else first
        raise InputError((key, f"{where}: {int(bad.sum())} {what} (first at index {shown})"))

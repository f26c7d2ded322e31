"""Measured velocity profiles of the disk app from HDF5 and FITS: round trips, and every bad
input refused as an InputError naming the key, the file and the dataset or HDU."""
import re

import h5py
import numpy as np
import pytest
from astropy.io import fits

from hpcinv.apps.disk.data import MeasuredProfiles, read_profiles, write_profiles
from hpcinv.core.errors import InputError

KEY = "problem.data"


def _measured(n_r=4, n_v=5) -> MeasuredProfiles:
    rng = np.random.default_rng(1)
    mask = np.ones((n_r, n_v), bool)
    mask[1, 2] = mask[3, 0] = False
    profiles, variances = rng.random((n_r, n_v)), 0.1 + rng.random((n_r, n_v))
    profiles[1, 2] = variances[3, 0] = np.nan     # not observed: allowed
    return MeasuredProfiles(radii=0.5 + 1.5 * np.arange(n_r),
                            velocities=-1.0 + 0.5 * np.arange(n_v),
                            profiles=profiles, variances=variances, mask=mask)


def _assert_same(read: MeasuredProfiles, expected: MeasuredProfiles) -> None:
    for name in ("radii", "velocities", "profiles", "variances", "mask"):
        np.testing.assert_array_equal(getattr(read, name), getattr(expected, name))
    assert read.mask.dtype == bool


def _write_hdf5(path, **arrays) -> None:
    """The HDF5 layout with each of ``arrays`` (name -> values, None to leave it out)."""
    with h5py.File(path, "w") as handle:
        for name, values in arrays.items():
            if values is not None:
                handle.create_dataset(name, data=values)


def _hdf5_arrays(measured: MeasuredProfiles) -> dict:
    return {name: getattr(measured, name) for name in ("radii", "velocities", "profiles",
                                                       "variances", "mask")}


def _write_fits(path, measured: MeasuredProfiles, *, wcs=False, drop=(), **replace) -> None:
    """PROFILES as the primary image, VARIANCE and MASK extensions, the axes as RADII and
    VELOCITIES HDUs or (``wcs``) as the linear WCS of PROFILES (in an extension)."""
    images = {"PROFILES": measured.profiles, "VARIANCE": measured.variances,
              "MASK": measured.mask.astype(np.uint8)}
    if not wcs:
        images |= {"RADII": measured.radii, "VELOCITIES": measured.velocities}
    images |= replace
    hdus = [fits.PrimaryHDU(images.pop("PROFILES"))] if not wcs else [fits.PrimaryHDU()]
    if wcs:
        header = fits.Header()
        for axis, values in ((1, measured.velocities), (2, measured.radii)):
            header[f"CRVAL{axis}"], header[f"CDELT{axis}"] = values[1], values[1] - values[0]
            header[f"CRPIX{axis}"] = 2.0
        hdus.append(fits.ImageHDU(images.pop("PROFILES"), header=header, name="PROFILES"))
    hdus += [fits.ImageHDU(values, name=name) for name, values in images.items()
             if name not in drop]
    fits.HDUList(hdus).writeto(path)


# Round trips ---------------------------------------------------------------------------------

def test_hdf5_round_trip(tmp_path):
    measured = _measured()
    path = tmp_path / "profiles.h5"
    write_profiles(path, measured)
    _assert_same(read_profiles(path), measured)
    assert [p.name for p in tmp_path.iterdir()] == ["profiles.h5"]


def test_hdf5_without_a_mask_observes_everything_and_boolean_masks_are_read(tmp_path):
    measured = _measured()
    arrays = _hdf5_arrays(measured) | {"profiles": np.ones((4, 5)),
                                       "variances": np.ones((4, 5)), "mask": None}
    _write_hdf5(tmp_path / "a.h5", **arrays)
    assert read_profiles(tmp_path / "a.h5").mask.all()
    _write_hdf5(tmp_path / "b.h5", **_hdf5_arrays(measured))     # a boolean dataset
    np.testing.assert_array_equal(read_profiles(tmp_path / "b.h5").mask, measured.mask)


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "profiles.h5"
    write_profiles(path, _measured())
    broken = MeasuredProfiles(*[np.array(["text"])] * 5)
    with pytest.raises(ValueError):
        write_profiles(path, broken)
    _assert_same(read_profiles(path), _measured())
    assert [p.name for p in tmp_path.iterdir()] == ["profiles.h5"]


@pytest.mark.parametrize("wcs", [False, True], ids=["axis-hdus", "wcs"])
def test_fits_round_trip(tmp_path, wcs):
    measured = _measured()
    path = tmp_path / "profiles.fits"
    _write_fits(path, measured, wcs=wcs)
    read = read_profiles(path, KEY)
    _assert_same(MeasuredProfiles(np.round(read.radii, 12), np.round(read.velocities, 12),
                                  read.profiles, read.variances, read.mask), measured)


def test_fits_without_a_mask_observes_everything(tmp_path):
    measured = _measured()
    measured = MeasuredProfiles(measured.radii, measured.velocities, np.ones((4, 5)),
                                np.ones((4, 5)), measured.mask)
    _write_fits(tmp_path / "p.fits", measured, drop=("MASK",))
    assert read_profiles(tmp_path / "p.fits").mask.all()


# Bad input -----------------------------------------------------------------------------------

def _hdf5_error(tmp_path, **changes) -> str:
    path = tmp_path / "bad.h5"
    _write_hdf5(path, **(_hdf5_arrays(_measured()) | changes))
    with pytest.raises(InputError) as caught:
        read_profiles(path, KEY)
    message = str(caught.value)
    assert KEY in message and str(path) in message
    return message


def _fits_error(tmp_path, **options) -> str:
    path = tmp_path / "bad.fits"
    _write_fits(path, _measured(), **options)
    with pytest.raises(InputError) as caught:
        read_profiles(path, KEY)
    message = str(caught.value)
    assert KEY in message and str(path) in message
    return message


def _with(name, index, value) -> np.ndarray:
    array = getattr(_measured(), name).astype(float)
    array[index] = value
    return array


@pytest.mark.parametrize("changes, expected", [
    ({"variances": None}, r"no dataset 'variances'"),
    ({"radii": None}, r"no dataset 'radii'"),
    ({"profiles": np.ones((4, 4))}, r"'profiles'.*shape \(4, 4\).*\(4, 5\)"),
    ({"variances": np.ones((5, 4))}, r"'variances'.*shape \(5, 4\)"),
    ({"mask": np.ones(20)}, r"'mask'.*shape \(20,\)"),
    ({"radii": np.ones((2, 2))}, r"'radii'.*1-D array, got shape \(2, 2\)"),
    ({"profiles": _with("profiles", (0, 1), np.inf)},
     r"'profiles'.*: 1 NaN or infinite values at observed points \(first at index \(0, 1\)\)"),
    ({"variances": _with("variances", (2, 3), np.nan)},
     r"'variances'.*: 1 NaN or infinite values at observed points \(first at index \(2, 3\)\)"),
    ({"radii": _with("radii", [1, 2], np.nan)},
     r"'radii'.*: 2 NaN or infinite values \(first at index 1\)"),
    ({"velocities": _with("velocities", 4, -np.inf)},
     r"'velocities'.*: 1 NaN or infinite values \(first at index 4\)"),
    ({"variances": _with("variances", ((0, 3, 2), (3, 0, 4)), [0.0, -1.0, 0.0])},
     r"'variances'.*: 2 variances <= 0 at observed points \(first at index \(0, 3\)\)"),
    ({"radii": _with("radii", 0, -0.5)}, r"'radii'.*: 1 negative radii \(first at index 0\)"),
    ({"radii": _with("radii", 2, 2.0)},
     r"'radii'.*increase strictly \(steps <= 0: 1, first radii\[1\] = 2 then radii\[2\] = 2\)"),
    ({"velocities": _with("velocities", [1, 3], -1.0)},
     r"'velocities'.*increase strictly \(steps <= 0: 2, first velocities\[0\] = -1 then "
     r"velocities\[1\] = -1\)"),
    ({"mask": np.zeros((4, 5))}, r"'mask'.*no point is observed"),
    ({"mask": _with("mask", (0, 0), np.nan)}, r"'mask'.*1 NaN or infinite values"),
])
def test_bad_hdf5_is_refused_naming_key_file_and_dataset(tmp_path, changes, expected):
    message = _hdf5_error(tmp_path, **changes)
    assert re.search(expected, message), message


@pytest.mark.parametrize("options, expected", [
    ({"drop": ("VARIANCE",)}, r"no VARIANCE image HDU"),
    ({"VARIANCE": np.ones((3, 5))}, r"\[VARIANCE\]: shape \(3, 5\)"),
    ({"RADII": np.array([0.5, 0.4, 3.0, 4.0])}, r"\[RADII\]: radii must increase strictly"),
    ({"VELOCITIES": _with("velocities", 1, np.nan)}, r"\[VELOCITIES\]: 1 NaN or infinite"),
    ({"VARIANCE": _with("variances", (1, 1), 0.0)},
     r"\[VARIANCE\]: 1 variances <= 0 at observed points \(first at index \(1, 1\)\)"),
    ({"MASK": np.zeros((4, 5), np.uint8)}, r"\[MASK\]: no point is observed"),
])
def test_bad_fits_is_refused_naming_key_file_and_hdu(tmp_path, options, expected):
    message = _fits_error(tmp_path, **options)
    assert re.search(expected, message), message


def test_fits_without_axes_or_wcs_is_refused(tmp_path):
    message = _fits_error(tmp_path, drop=("RADII",))
    assert "[PRIMARY] WCS axis 2" in message and "no RADII HDU" in message
    assert "missing CRVAL2, CDELT2, CRPIX2" in message


def test_fits_wcs_cards_must_be_numbers(tmp_path):
    measured = _measured()
    path = tmp_path / "bad.fits"
    primary = fits.PrimaryHDU(measured.profiles)
    primary.header.update(CRVAL1="fast", CDELT1=0.5, CRPIX1=1.0)
    fits.HDUList([primary, fits.ImageHDU(measured.variances, name="VARIANCE"),
                  fits.ImageHDU(measured.mask.astype(np.uint8), name="MASK"),
                  fits.ImageHDU(measured.radii, name="RADII")]).writeto(path)
    with pytest.raises(InputError, match=r"problem.data: .*bad.fits\[PRIMARY\] WCS axis 1: "
                                         r"CRVAL1/CDELT1/CRPIX1 must be numbers"):
        read_profiles(path, KEY)


def test_a_file_neither_hdf5_nor_fits_or_missing_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("radii, velocities")
    with pytest.raises(InputError, match=r"problem.data: .*notes.txt is neither an HDF5 nor"):
        read_profiles(tmp_path / "notes.txt", KEY)
    with pytest.raises(InputError, match=r"problem.data: cannot read .*missing.h5"):
        read_profiles(tmp_path / "missing.h5", KEY)

"""SSP template libraries: MILES spectra from pPXF's source distribution, user MILES/E-MILES
directories, and a small synthetic set for fast tests.

pPXF's licence forbids redistributing it, so hpcinv never ships its files: ``fetch_miles``
asks pip for the ``ppxf==7.4.5`` source distribution at set-up time, checks its SHA-256,
and extracts only the 150 MILES SSP spectra (25 ages 0.063-15.85 Gyr x 6 [M/H] -1.71..+0.22,
3540.5-7409.6 A in 0.9 A steps, FWHM 2.51 A) into the data directory.
"""
from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import InputError, RuntimeFailure
from ...core.io.inputs import check_real, reading_fits

PPXF_VERSION = "7.4.5"
PPXF_SDIST_SHA256 = "3b82b5d4e1e1ff9d57eeec9c07486ccc1a0d3e83b72d9dd1c5642c4681e34858"
MILES_PATTERN = "Mun1.30Z*T*_iPp0.00_baseFe_linear_FWHM_2.51.fits"
MILES_DIRECTORY = f"miles-ppxf-{PPXF_VERSION}"
MILES_COUNT = 150
SPEED_OF_LIGHT = 299792.458  # km/s

# MILES and E-MILES file names carry the metallicity and age: ...Z[mp]1.71T00.0631...
_NAME = re.compile(r"Z([mp])(\d+\.\d+)T(\d+\.\d+)")


@dataclass
class TemplateLibrary:
    """SSP spectra on a common linear wavelength grid.

    ``spectra[i, j]`` is the spectrum of metallicity ``metallicities[i]`` ([M/H], ascending)
    and age ``ages[j]`` (Gyr, ascending), in the library's flux units per unit mass.
    """
    wavelength: np.ndarray      # Angstrom, uniform
    spectra: np.ndarray         # (n_metallicity, n_age, n_wavelength)
    metallicities: np.ndarray
    ages: np.ndarray
    fwhm: float                 # instrumental resolution of the library, Angstrom
    source: str


def data_dir() -> Path:
    """Where downloaded data lives: $HPCINV_DATA, else ~/.cache/hpcinv."""
    return Path(os.environ.get("HPCINV_DATA") or Path.home() / ".cache" / "hpcinv")


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _manifest_ok(directory: Path) -> bool:
    manifest = directory / "MANIFEST.json"
    if not manifest.is_file():
        return False
    expected = json.loads(manifest.read_text())
    return len(expected) == MILES_COUNT and all(
        (directory / name).is_file() and _sha256(directory / name) == digest
        for name, digest in expected.items())


def fetch_miles(root: Path | None = None, quiet: bool = False) -> Path:
    """Make the MILES templates available under ``root`` (default ``data_dir()``); return
    their directory.  Does nothing when they are there and intact."""
    directory = (root or data_dir()) / MILES_DIRECTORY
    if _manifest_ok(directory):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", ":all:", f"ppxf=={PPXF_VERSION}", "-d", download]
        if not quiet:
            print(f"hpcinv: downloading ppxf=={PPXF_VERSION} (source) for its MILES templates",
                  file=sys.stderr)
        result = subprocess.run(command, capture_output=True, text=True)
        archives = glob.glob(os.path.join(download, f"ppxf-{PPXF_VERSION}.tar.gz"))
        if result.returncode != 0 or not archives:
            raise RuntimeFailure(f"pip could not download ppxf=={PPXF_VERSION}: "
                                 f"{result.stderr.strip()[-500:]}")
        if _sha256(Path(archives[0])) != PPXF_SDIST_SHA256:
            raise RuntimeFailure(f"{archives[0]}: SHA-256 differs from ppxf {PPXF_VERSION}'s")
        manifest = {}
        with tarfile.open(archives[0]) as archive:
            for member in archive.getmembers():
                name = os.path.basename(member.name)
                if member.isfile() and "/miles_models/" in member.name and \
                        fnmatch.fnmatch(name, MILES_PATTERN):
                    data = archive.extractfile(member).read()
                    (directory / name).write_bytes(data)
                    manifest[name] = hashlib.sha256(data).hexdigest()
    if len(manifest) != MILES_COUNT:
        raise RuntimeFailure(f"ppxf {PPXF_VERSION} held {len(manifest)} MILES spectra, "
                             f"expected {MILES_COUNT}")
    load_library(directory)   # the grid must be complete and consistent
    (directory / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return directory


def installed_miles(key: str = "templates") -> Path:
    """The directory of already fetched MILES templates.  Runs use this, never
    ``fetch_miles``: no rank downloads or re-verifies anything at start-up."""
    directory = data_dir() / MILES_DIRECTORY
    if not (directory / "MANIFEST.json").is_file():
        raise InputError((key, f"the MILES templates are not in {data_dir()}: run "
                               f"`hpcinv templates fetch` (make setup does)"))
    return directory


def _linear_wavelength(header, path: str, key: str) -> np.ndarray:
    try:
        start, step = float(header["CRVAL1"]), float(header["CDELT1"])
        reference = float(header.get("CRPIX1", 1.0))
        size = int(header["NAXIS1"])
    except KeyError as missing:
        raise InputError((key, f"{path}: FITS header lacks {missing} (need a linear "
                               f"wavelength axis)")) from None
    return start + (np.arange(size) + 1 - reference) * step


def load_library(directory, key: str = "templates") -> TemplateLibrary:
    """Read a directory of MILES/E-MILES SSP FITS spectra (one file per [M/H] and age)."""
    paths = sorted(glob.glob(os.path.join(str(directory), "*.fits")))
    entries = {}
    for path in paths:
        match = _NAME.search(os.path.basename(path))
        if match:
            sign, metal, age = match.groups()
            entries[(float(metal) * (-1 if sign == "m" else 1), float(age))] = path
    if not entries:
        raise InputError((key, f"no MILES/E-MILES SSP FITS files (names with Z[mp]#.##T##.####) "
                               f"in {directory}"))
    metallicities = np.array(sorted({m for m, _ in entries}))
    ages = np.array(sorted({a for _, a in entries}))
    missing = [(m, a) for m in metallicities for a in ages if (m, a) not in entries]
    if missing:
        raise InputError((key, f"{directory}: the [M/H] x age grid is incomplete, e.g. no "
                               f"spectrum for [M/H] = {missing[0][0]}, age = {missing[0][1]} Gyr"))
    wavelength = None
    spectra = None
    for i, metal in enumerate(metallicities):
        for j, age in enumerate(ages):
            path = entries[(metal, age)]
            with reading_fits(path, key) as hdus:
                if hdus[0].data is None:
                    raise InputError((key, f"{path}: no spectrum in the primary HDU"))
                data = check_real(hdus[0].data, f"{path}[PRIMARY]", key)
                grid = _linear_wavelength(hdus[0].header, path, key)
            if wavelength is None:
                wavelength = grid
                spectra = np.empty((len(metallicities), len(ages), grid.size))
            elif grid.size != wavelength.size or not np.allclose(grid, wavelength):
                raise InputError((key, f"{path}: wavelength axis differs from the other files"))
            if data.shape != grid.shape or not np.all(np.isfinite(data)):
                raise InputError((key, f"{path}: expected {grid.size} finite values"))
            spectra[i, j] = data
    fwhm = 2.51 if "FWHM_2.51" in os.path.basename(paths[0]) else float("nan")
    return TemplateLibrary(wavelength, spectra, metallicities, ages, fwhm, str(directory))


# FWHM = 2 sqrt(2 ln 2) sigma for a Gaussian line-spread function.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def at_resolution(library: TemplateLibrary, fwhm: float, key: str = "problem.instrumental_fwhm"
                  ) -> TemplateLibrary:
    """The library convolved to a coarser instrumental resolution ``fwhm`` (Angstrom, in the
    library's rest frame): a Gaussian of FWHM sqrt(fwhm^2 - library.fwhm^2), since Gaussian
    line-spread functions add in quadrature (as pPXF's examples match templates to data).
    ``fwhm`` equal to the library's returns it unchanged; a finer one cannot be reached."""
    if abs(fwhm - library.fwhm) <= 1e-9 * fwhm:   # fwhm (1 + z) / (1 + z) may round off
        return library
    if not np.isfinite(library.fwhm):
        raise InputError((key, f"the templates {library.source} do not state their resolution "
                               f"(MILES file names carry FWHM_2.51): a {fwhm} A data "
                               f"resolution cannot be matched"))
    if fwhm < library.fwhm:
        raise InputError((key, f"{fwhm} A is finer than the templates' {library.fwhm} A "
                               f"({library.source}): they cannot be sharpened; give the data's "
                               f"FWHM only where it is coarser"))
    step = library.wavelength[1] - library.wavelength[0]
    sigma_pixels = np.sqrt(fwhm ** 2 - library.fwhm ** 2) / FWHM_PER_SIGMA / step
    return TemplateLibrary(library.wavelength, _gaussian_smoothed(library.spectra, sigma_pixels),
                           library.metallicities, library.ages, float(fwhm), library.source)


def _gaussian_smoothed(spectra: np.ndarray, sigma_pixels: float) -> np.ndarray:
    """Spectra (last axis) convolved with a Gaussian of ``sigma_pixels``, by its analytic
    Fourier transform exp(-2 pi^2 sigma^2 f^2): exact also below a pixel, where a sampled
    kernel (scipy.ndimage.gaussian_filter1d) broadens too little (pPXF's varsmooth does the
    same).  The ends are padded with their own values, so no dark or bright rim appears."""
    pad = int(np.ceil(5 * sigma_pixels)) + 1
    padded = np.pad(spectra, [(0, 0)] * (spectra.ndim - 1) + [(pad, pad)], mode="edge")
    frequencies = np.fft.rfftfreq(padded.shape[-1])
    transfer = np.exp(-2.0 * (np.pi * sigma_pixels * frequencies) ** 2)
    smoothed = np.fft.irfft(np.fft.rfft(padded, axis=-1) * transfer, n=padded.shape[-1],
                            axis=-1)
    return smoothed[..., pad:pad + spectra.shape[-1]]


def log_grid(lam_min: float, lam_max: float, velscale: float) -> np.ndarray:
    """Pixel centres uniform in ln(lambda) with spacing velscale/c from lam_min; the pixel
    count is ln(lam_max/lam_min) c / velscale rounded, as the paper counts 687 pixels."""
    step = velscale / SPEED_OF_LIGHT
    count = int(round(np.log(lam_max / lam_min) / step))
    return lam_min * np.exp((np.arange(count) + 0.5) * step)


def log_rebin(wavelength: np.ndarray, flux: np.ndarray, log_centres: np.ndarray) -> np.ndarray:
    """Flux-conserving rebinning of spectra (last axis) from a uniform linear grid onto
    pixels uniform in ln(lambda), returning the mean flux density in each new pixel.

    Written here because pPXF's log_rebin may not be redistributed and specutils' resampler
    would pull in gwcs/asdf versions that do not match Debian's numpy.  The cumulative
    integral of the piecewise-constant input is interpolated at the new pixel edges.
    """
    step = wavelength[1] - wavelength[0]
    edges_in = np.concatenate([[wavelength[0] - step / 2], wavelength + step / 2])
    ratio = np.sqrt(log_centres[1] / log_centres[0])
    edges_out = np.concatenate([log_centres / ratio, [log_centres[-1] * ratio]])
    if edges_out[0] < edges_in[0] or edges_out[-1] > edges_in[-1]:
        raise InputError(("templates", f"log-rebinning to {edges_out[0]:.1f}-{edges_out[-1]:.1f} A "
                                       f"needs wavelengths outside the library's "
                                       f"{edges_in[0]:.1f}-{edges_in[-1]:.1f} A"))
    from scipy.interpolate import interp1d

    cumulative = np.concatenate([np.zeros(flux.shape[:-1] + (1,)),
                                 np.cumsum(flux * step, axis=-1)], axis=-1)
    at_edges = interp1d(edges_in, cumulative, axis=-1, assume_sorted=True)(edges_out)
    return np.diff(at_edges, axis=-1) / np.diff(edges_out)


def synthetic_library(n_metallicity: int = 3, n_age: int = 4,
                      wavelength=(4600.0, 5900.0), step: float = 0.9) -> TemplateLibrary:
    """Smooth analytic SSP-like spectra for fast tests: a continuum whose slope reddens with
    age and absorption lines (H-beta, Mg b, Fe) whose depths depend on age and [M/H]."""
    grid = np.arange(wavelength[0], wavelength[1], step)
    metallicities = np.linspace(-1.5, 0.2, n_metallicity)
    ages = np.geomspace(0.1, 12.0, n_age)
    lines = [(4861.3, 3.0, "age"), (5175.0, 4.0, "metal"), (5270.0, 2.5, "metal"),
             (5335.0, 2.0, "metal"), (5015.0, 2.0, "age"), (5528.0, 3.0, "metal")]
    spectra = np.empty((n_metallicity, n_age, grid.size))
    x = (grid - grid.mean()) / np.ptp(grid)
    for i, metal in enumerate(metallicities):
        for j, age in enumerate(ages):
            log_age = np.log10(age)
            spectrum = 1.0 + (0.3 * log_age) * x
            for centre, width, driver in lines:
                depth = 0.25 * (1 - log_age / 2) if driver == "age" else 0.1 * (2 + metal)
                spectrum *= 1 - np.clip(depth, 0.02, 0.6) * np.exp(-0.5 * ((grid - centre) / width) ** 2)
            spectra[i, j] = spectrum / (1 + 0.5 * log_age)   # older: less light per mass
    return TemplateLibrary(grid, spectra, metallicities, ages, 2.51, "synthetic")

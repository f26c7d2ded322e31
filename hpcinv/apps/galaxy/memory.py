"""Memory estimate of the galaxy problem kind (``core.memory``) from its mesh file, which is
small and read here; the template library and a datacube are only counted (file names and
sizes), not read.

With N sky basis functions, L Theta basis functions and R wavelengths: the kernel K (R x L)
and what builds it are on every rank, and so are the sky and Theta Gram matrices (sparse)
and, for the mock galaxy, its noise gathered whole for delta_r (N x R, twice); the unknown U
(N x L) and the cube (N x R) are split over the ranks by sky rows.
"""
from __future__ import annotations

import glob
import math
import os

from ...core.errors import InputError
from ...core.memory import MemoryEstimate, vectors
from .mesh import GalaxyMesh, load_galaxy_mesh
from .templates import _NAME, SPEED_OF_LIGHT

# (metallicities, ages, wavelengths) of the libraries the mesh can name without a directory
_LIBRARIES = {"miles": (6, 25, 4300), "synthetic": (3, 4, 1445)}
_SPARSE_BYTES = 40      # per nonzero of a scipy Gram matrix with its Kronecker temporaries


def _library_grid(mesh: GalaxyMesh) -> tuple[int, int, int]:
    """(metallicities, ages, wavelengths) of the mesh's library, from file names."""
    if mesh.library in _LIBRARIES:
        return _LIBRARIES[mesh.library]
    entries = {match.groups() for path in glob.glob(os.path.join(mesh.library, "*.fits"))
               if (match := _NAME.search(os.path.basename(path)))}
    metals = len({(sign, metal) for sign, metal, _ in entries})
    ages = len({age for _, _, age in entries})
    return max(1, metals), max(1, ages), _LIBRARIES["miles"][2]


def _strided(count: int, stride: int) -> int:
    """How many of ``count`` nodes ``kernel._strided`` keeps."""
    return -(-count // stride) + (1 if (count - 1) % stride else 0)


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def galaxy_memory(values: dict) -> MemoryEstimate | None:
    """None when the mesh cannot be read (validation reports it)."""
    try:
        mesh = load_galaxy_mesh(values["mesh"])
    except InputError:
        return None
    less = 1 if values["order"] == 0 else 0      # piecewise constants live on cells
    sky = [max(1, nodes - less) for nodes in mesh.omega_nodes]
    spatial = sky[0] * sky[1]
    metals, ages, library_wavelengths = _library_grid(mesh)
    kept = (_strided(metals, mesh.metallicity_stride), _strided(ages, mesh.age_stride))
    theta_shape = (max(1, mesh.velocity_nodes - less), *(max(1, k - less) for k in kept))
    thetas = math.prod(theta_shape)
    step = mesh.velscale / SPEED_OF_LIGHT
    low, high = mesh.wavelength_range
    equations = max(1, round(math.log(high / low) / step))
    # templates log-rebinned at half the velocity scale over the range widened by the
    # velocity range
    template_pixels = 2 * equations + math.ceil(
        2 * (mesh.velocity_range[1] - mesh.velocity_range[0]) / mesh.velscale) + 16
    templates = kept[0] * kept[1]
    replicated = (
        vectors(metals * ages + templates, library_wavelengths)        # library, strided copy
        + vectors(2 * templates, template_pixels)                      # rebinned, scaled
        + vectors(templates * theta_shape[0] + 3 * thetas, equations)  # per template, K
        + _SPARSE_BYTES * (2 * 9 * spatial + 27 * thetas))             # Gram matrices
    distributed = vectors(2, spatial * equations)                      # data, noise-free
    if values["cube"]:
        # the cube and its variance read whole, then rebinned onto the problem's grids
        files = _file_size(values["cube"]) + _file_size(values["variance"])
        replicated += 3 * files + vectors(2, spatial * equations)
        distributed += vectors(1, spatial * thetas)
    else:
        # the mock's three components, their sum and the truth; its noise, gathered whole
        # on every rank for delta_r
        replicated += vectors(3, spatial * equations)
        distributed += vectors(6, spatial * thetas) + vectors(2, spatial * equations)
    return MemoryEstimate(distributed, replicated, keys=("problem.mesh", "problem.order"),
                          rows=spatial * equations, columns=spatial * thetas,
                          facts={"block_rows": (spatial, equations, thetas),
                                 "grid_shape": (*sky, *theta_shape)})

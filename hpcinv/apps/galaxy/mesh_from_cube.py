"""``hpcinv mesh from-cube``: a galaxy mesh laid on a datacube's own pixels.

A mesh's wavelength pixels are uniform in ln(lambda) from the lower edge ``[wavelength]
range[0]``, velscale/c wide, round(ln(range[1]/range[0]) c / velscale) of them
(``templates.log_grid``).  A cube whose pixels are uniform in ln(lambda) fits such a grid
exactly when range[0] is one of its pixel edges and velscale its step; reading it then moves
no flux between pixels (``datacube.onto_problem_grid``), and the noise of neighbouring
pixels stays independent.  Working that out by hand is error-prone (a near miss rebins
silently), hence this command.  A cube linear in lambda (as MUSE writes) cannot be aligned:
its mesh keeps its pixel count over its range (pPXF's choice) and is rebinned.

The sky nodes are the spaxels (order 1: one node per spaxel, the s = 1 bases); the range
is the templates' usable range, the cube's wavelengths less what a Doppler shift within the
velocity range would take beyond the templates.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np

from ...core.errors import InputError
from .datacube import CubeGrid, in_rest_frame, read_cube_grid
from .kernel import library_for, template_margin
from .mesh import GalaxyMesh, load_galaxy_mesh
from .templates import SPEED_OF_LIGHT, log_grid

# Pixels whose ln(lambda) widths agree to this fraction are uniform in ln(lambda) (a WCS
# written in single precision, or as CDELT3 of a WAVE-LOG axis, is exact to about 1e-7).
_UNIFORM = 1e-6


def _log_uniform_step(edges: np.ndarray) -> float | None:
    widths = np.diff(np.log(edges))
    step = float(np.mean(widths))
    return step if np.max(np.abs(widths / step - 1)) < _UNIFORM else None


def usable_range(library_wavelengths: np.ndarray, velocity_range: tuple, velscale: float
                 ) -> tuple[float, float]:
    """The observed wavelengths whose Doppler-shifted templates, within the velocity range,
    the library covers (``kernel.build_kernel`` reaches that far)."""
    margin = template_margin(velscale)
    low = library_wavelengths[0] * (1 + velocity_range[1] / SPEED_OF_LIGHT) * margin
    high = library_wavelengths[-1] * (1 + velocity_range[0] / SPEED_OF_LIGHT) / margin
    return float(low), float(high)


def aligned_wavelengths(edges: np.ndarray, usable: tuple[float, float], origin: tuple,
                        log_step: float | None) -> tuple[tuple[float, float], float, bool]:
    """((range low, range high), velscale, aligned) of a mesh on the cube's pixel ``edges``
    within ``usable``: the cube's own pixels when they are uniform in ln(lambda), of width
    ``log_step`` (None: they are not)."""
    inside = edges[(edges >= usable[0]) & (edges <= usable[1])]
    if inside.size < 2:
        key, where = origin
        raise InputError((key, f"{where}: its wavelengths {edges[0]:.2f}-{edges[-1]:.2f} A "
                               f"hold no pixel within {usable[0]:.2f}-{usable[1]:.2f} A, where "
                               f"the templates cover every velocity of the range"))
    if log_step is not None:
        return (float(inside[0]), float(inside[-1])), log_step * SPEED_OF_LIGHT, True
    # Linear pixels: as many ln(lambda) pixels over the same range (pPXF's log_rebin).
    velscale = np.log(inside[-1] / inside[0]) / (inside.size - 1) * SPEED_OF_LIGHT
    return (float(inside[0]), float(inside[-1])), float(velscale), False


def mesh_for_cube(cube: CubeGrid, base: GalaxyMesh) -> tuple[GalaxyMesh, bool]:
    """``base`` (velocity and population keys) with the cube's sky nodes and wavelength
    pixels; whether the wavelengths line up with the cube's pixels."""
    library = library_for(base, "--library")
    # The velscale is the cube's: find it first, then the range its templates reach.
    log_step = _log_uniform_step(cube.edges)
    velscale = SPEED_OF_LIGHT * (log_step if log_step is not None else
                                 np.log(cube.edges[-1] / cube.edges[0]) / cube.wavelengths.size)
    # A linear cube's velscale depends on the range kept, and the templates' margin on the
    # velscale: trim again until the range was trimmed for a velscale at least as large.
    for _ in range(10):
        usable = usable_range(library.wavelength, base.velocity_range, velscale)
        (low, high), new_velscale, aligned = aligned_wavelengths(cube.edges, usable,
                                                                 cube.origin, log_step)
        if new_velscale <= velscale:
            break
        velscale = new_velscale
    velscale = new_velscale
    mesh = replace(base, omega_nodes=cube.spaxels, wavelength_range=(low, high),
                   velscale=velscale, source=cube.origin[1])
    if aligned:   # the mesh's own rule must give back exactly these pixels
        centres = log_grid(low, high, velscale)
        first = int(np.argmin(np.abs(cube.edges - low)))
        expected = cube.wavelengths[first:first + centres.size]
        aligned = expected.size == centres.size and np.allclose(centres, expected, rtol=1e-9)
    return mesh, aligned


def mesh_toml(mesh: GalaxyMesh, aligned: bool, cube_path: str) -> str:
    """The mesh as a commented TOML file (``load_galaxy_mesh`` reads it back)."""
    count = log_grid(*mesh.wavelength_range, mesh.velscale).size
    note = ("on the cube's own pixels: reading the cube rebins nothing" if aligned else
            "the cube's pixels are not uniform in ln(lambda): its spectra are rebinned "
            "(flux-conserving), which correlates neighbouring pixels' noise")
    return "\n".join([
        f"# Written by hpcinv mesh from-cube {cube_path}",
        f"# {mesh.omega_nodes[0]} x {mesh.omega_nodes[1]} spaxels, {count} wavelength pixels "
        f"{note}.",
        "",
        "[omega]",
        "# one sky node per spaxel (s = 1 bases; s = 0 needs one more per axis)",
        f"nodes = [{mesh.omega_nodes[0]}, {mesh.omega_nodes[1]}]",
        f"range = [{mesh.omega_range[0]!r}, {mesh.omega_range[1]!r}]",
        "",
        "[velocity]",
        "# nodes of the LOSVD basis over range (km/s)",
        f"nodes = {mesh.velocity_nodes}",
        f"range = [{mesh.velocity_range[0]!r}, {mesh.velocity_range[1]!r}]",
        "",
        "[populations]",
        f"library = {json.dumps(mesh.library)}",   # a TOML basic string
        f"metallicity_stride = {mesh.metallicity_stride}",
        f"age_stride = {mesh.age_stride}",
        "",
        "[wavelength]",
        "# range[0]: lower edge of the first pixel (A); pixels uniform in ln(lambda),",
        "# velscale / c wide, round(ln(range[1] / range[0]) c / velscale) of them",
        f"range = [{mesh.wavelength_range[0]!r}, {mesh.wavelength_range[1]!r}]",
        f"velscale = {mesh.velscale!r}",
        "",
        "[quadrature]",
        f"velocity_points = {mesh.velocity_points}",
        ""])


def write_mesh_for_cube(cube_path: str, out: str, base: GalaxyMesh, redshift: float = 0.0
                        ) -> tuple[GalaxyMesh, bool]:
    """Read the cube's header, write its mesh (in the rest frame of ``redshift``, the job's
    problem.redshift) to ``out``: whole and loadable, or not at all (a cube with one spaxel
    along an axis has no s = 1 mesh, and is refused here)."""
    grid = in_rest_frame(read_cube_grid(cube_path, "cube"), redshift)
    mesh, aligned = mesh_for_cube(grid, base)
    text = mesh_toml(mesh, aligned, cube_path)
    partial = f"{out}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        load_galaxy_mesh(partial, key="cube")
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    os.replace(partial, out)
    return mesh, aligned

"""The galaxy app's commands: ``hpcinv mock`` (a job's mock galaxy as a FITS datacube),
``hpcinv mesh from-cube`` (a mesh on a datacube's own pixels) and ``hpcinv templates`` (the
MILES SSP library)."""
from __future__ import annotations

from pathlib import Path

from ...core.errors import EXIT_OK


def add_commands(commands) -> dict:
    """Add the subcommands to the ``hpcinv`` parser's subparsers; {name: handler(args)}."""
    templates = commands.add_parser("templates", help="SSP template libraries (MILES)")
    templates.add_argument("action", choices=("fetch", "info"),
                           help="fetch: download and verify MILES (idempotent); info: describe")
    templates.add_argument("--dir", help="a MILES/E-MILES directory (info), or where to fetch "
                           "to (default $HPCINV_DATA or ~/.cache/hpcinv)")

    mock = commands.add_parser("mock", help="write a galaxy job's mock galaxy as a FITS "
                               "datacube (DATA, STAT, NOISEFREE; 1 rank or under mpirun)")
    mock.add_argument("job", help="job spec (TOML) of a galaxy mock")
    mock.add_argument("--out", required=True, help="FITS file to write")

    mesh = commands.add_parser("mesh", help="write a galaxy mesh for a datacube: its spaxels "
                               "as sky nodes, its own wavelength pixels (no rebinning)")
    mesh.add_argument("action", choices=("from-cube",), help="from-cube: read CUBE's header")
    mesh.add_argument("cube", help="FITS datacube (NAXIS3 = wavelength, CUNIT3 set)")
    mesh.add_argument("--out", required=True, help="mesh file (TOML) to write")
    mesh.add_argument("--velocity-nodes", type=int, default=21,
                      help="LOSVD basis nodes (default 21)")
    mesh.add_argument("--velocity-range", default="-1000,1000", metavar="LOW,HIGH",
                      help="LOSVD range in km/s (default -1000,1000; write it as "
                           "--velocity-range=-500,500)")
    mesh.add_argument("--library", default="miles",
                      help="miles, synthetic, or a directory of FITS templates (default miles)")
    mesh.add_argument("--metallicity-stride", type=int, default=1,
                      help="every n-th [M/H] of the library (default 1)")
    mesh.add_argument("--age-stride", type=int, default=1,
                      help="every n-th age of the library (default 1)")
    mesh.add_argument("--redshift", type=float, default=0.0,
                      help="the cube's redshift z (the job's problem.redshift): the mesh is "
                           "in the rest frame, wavelengths / (1 + z) (default 0)")
    return {"templates": _templates, "mock": _mock, "mesh": _mesh}


def _mesh(args) -> int:
    from ...core.errors import InputError
    from .mesh import base_mesh
    from .mesh_from_cube import write_mesh_for_cube

    try:
        low, high = (float(part) for part in args.velocity_range.split(","))
    except ValueError:
        raise InputError(("--velocity-range", f"expected LOW,HIGH in km/s, got "
                                              f"{args.velocity_range!r}")) from None
    base = base_mesh(velocity_nodes=args.velocity_nodes, velocity_range=(low, high),
                     library=args.library, metallicity_stride=args.metallicity_stride,
                     age_stride=args.age_stride)
    if not args.redshift > -0.5:
        raise InputError(("--redshift", f"must be > -0.5, got {args.redshift}"))
    mesh, aligned = write_mesh_for_cube(args.cube, args.out, base, args.redshift)
    pixels = "its own wavelength pixels" if aligned else \
        "wavelength pixels uniform in ln(lambda); the cube's are not, and will be rebinned"
    print(f"hpcinv: wrote {args.out}: {mesh.omega_nodes[0]} x {mesh.omega_nodes[1]} spaxels, "
          f"{mesh.wavelength_range[0]:.4f}-{mesh.wavelength_range[1]:.4f} A at "
          f"{mesh.velscale:.6g} km/s, {pixels}")
    return EXIT_OK


def _mock(args) -> int:
    from ...core.jobspec import load_spec
    from ...core.mpi import agree, report_and_exit, world
    from .mockcube import write_mock_cube

    comm = world()
    try:
        path = write_mock_cube(agree(comm, load_spec, args.job), args.out)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm)
    if comm.rank == 0:
        print(f"hpcinv: wrote {path}")
    return EXIT_OK


def _templates(args) -> int:
    from . import templates

    if args.action == "fetch":
        directory = templates.fetch_miles(Path(args.dir) if args.dir else None)
        print(f"hpcinv: MILES templates in {directory}")
        return EXIT_OK
    directory = args.dir or templates.fetch_miles()
    library = templates.load_library(directory, key="--dir")
    print(f"library        {library.source}")
    print(f"spectra        {library.spectra.shape[0]} [M/H] x {library.spectra.shape[1]} ages")
    print(f"[M/H]          {', '.join(f'{m:+.2f}' for m in library.metallicities)}")
    print(f"ages (Gyr)     {library.ages[0]:.4g} .. {library.ages[-1]:.4g}")
    print(f"wavelength     {library.wavelength[0]:.1f} .. {library.wavelength[-1]:.1f} A, "
          f"step {library.wavelength[1] - library.wavelength[0]:.2f} A, FWHM {library.fwhm} A")
    return EXIT_OK

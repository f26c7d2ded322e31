"""The galaxy app's commands: ``hpcinv mock`` (a job's mock galaxy as a FITS datacube) and
``hpcinv templates`` (the MILES SSP library)."""
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
    return {"templates": _templates, "mock": _mock}


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

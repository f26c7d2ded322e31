"""The seismic app's command ``hpcinv seismic-mock``: a synthetic mdd job's fields as SEG-Y,
HDF5 and NPZ files (``mock.py``)."""
from __future__ import annotations

from ...core.errors import EXIT_OK


def add_commands(commands) -> dict:
    """Add the subcommands to the ``hpcinv`` parser's subparsers; {name: handler(args)}."""
    mock = commands.add_parser("seismic-mock", help="write a synthetic mdd job's fields q, p "
                               "and g as SEG-Y, HDF5 and NPZ files (1 rank or under mpirun)")
    mock.add_argument("job", help="job spec (TOML) of a synthetic mdd problem")
    mock.add_argument("--out", required=True, help="directory to write the files to")
    return {"seismic-mock": _mock}


def _mock(args) -> int:
    from ...core.jobspec import load_spec
    from ...core.mpi import agree, report_and_exit, world
    from .mock import write_mock_fields

    comm = world()
    try:
        paths = write_mock_fields(agree(comm, load_spec, args.job), args.out)
    except Exception as error:  # noqa: BLE001 - every failure ends all ranks, printed once
        report_and_exit(error, comm)
    if comm.rank == 0:
        for path in paths:
            print(f"hpcinv: wrote {path}")
    return EXIT_OK

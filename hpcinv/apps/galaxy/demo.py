"""The built-in demo job (``demo.toml`` beside this module), with the overrides ``hpcinv demo`` and the
experiments that run it accept."""
from __future__ import annotations

from pathlib import Path

from ...core.errors import InputError


# The second solver's section for the demo's problem: the discrepancy at tau = 1 (the
# misfit of the whole cube, not PNKR's per-equation test, so no margin is needed).
TIKHONOV_SOLVER = {"kind": "tensor-tikhonov", "tau": 1.0}
TIKHONOV_OUTPUT = "results/galaxy-demo-tikhonov.h5"


def demo_spec(max_iterations: int | None = None, mesh: str | None = None,
              mock: str | None = None, solver: str | None = None):
    """The demo's JobSpec; ``mesh`` a galaxy mesh name or file, ``max_iterations`` a cap on
    the solver's iterations, ``mock`` another mock galaxy, ``solver`` "tensor-tikhonov" for
    the second solver on the same problem (default "pnkr", the demo's)."""
    import tomllib

    from ...core.jobspec import parse_spec
    from ...core.jobspec.spec import spec_from_mapping
    from ...core.paths import resolve_galaxy_mesh

    text = (Path(__file__).parent / "demo.toml").read_text()
    if mesh is None and mock is None and solver in (None, "pnkr") and max_iterations is None:
        return parse_spec(text, source="<demo>")     # the demo's own text, comments kept
    job = tomllib.loads(text)
    if solver not in (None, "pnkr"):
        if solver != TIKHONOV_SOLVER["kind"]:
            raise InputError(("--solver", f"the demo runs pnkr or tensor-tikhonov, not "
                                          f"{solver!r}"))
        job["solver"] = dict(TIKHONOV_SOLVER)
        job["output"]["path"] = TIKHONOV_OUTPUT
    if mesh is not None:
        job["problem"]["mesh"] = resolve_galaxy_mesh(mesh, "--mesh")
    if mock is not None:
        job["problem"]["mock"] = mock
    if max_iterations is not None:
        if max_iterations < 1:
            raise InputError(("--max-iterations", f"must be >= 1, got {max_iterations}"))
        job["solver"]["max_iterations"] = max_iterations
    # Built as TOML text, so the result's stored job spec holds every override.
    return spec_from_mapping(job, source="<demo>")

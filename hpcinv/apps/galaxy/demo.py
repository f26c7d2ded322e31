"""The built-in demo job (``demo.toml`` beside this module), with the overrides ``hpcinv demo`` and the
experiments that run it accept."""
from __future__ import annotations

from pathlib import Path

from ...core.errors import InputError


def demo_spec(max_iterations: int | None = None, mesh: str | None = None):
    """The demo's JobSpec; ``mesh`` a galaxy mesh name or file, ``max_iterations`` a loop cap."""
    from ...core.jobspec import parse_spec
    from ...core.paths import resolve_galaxy_mesh

    spec = parse_spec((Path(__file__).parent / "demo.toml").read_text(), source="<demo>")
    if mesh is not None:
        spec.problem["mesh"] = resolve_galaxy_mesh(mesh, "--mesh")
    if max_iterations is not None:
        if max_iterations < 1:
            raise InputError(("--max-iterations", f"must be >= 1, got {max_iterations}"))
        spec.solver["max_iterations"] = max_iterations
    return spec

"""Job specs: schema, validation with key paths, and the problem/solver registries."""
from .registry import PROBLEMS, SOLVERS
from .schema import Field
from .spec import JobSpec, load_spec, parse_spec

__all__ = ["PROBLEMS", "SOLVERS", "Field", "JobSpec", "load_spec", "parse_spec"]

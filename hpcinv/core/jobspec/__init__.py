"""Job specs: schema, validation with key paths, the problem/solver kind protocols and their
registries."""
from .kinds import ProblemKind, SolverKind
from .registry import PROBLEMS, SOLVERS
from .schema import Field
from .spec import JobSpec, load_spec, parse_spec, spec_from_mapping

__all__ = ["PROBLEMS", "SOLVERS", "Field", "JobSpec", "ProblemKind", "SolverKind", "load_spec",
           "parse_spec", "spec_from_mapping"]

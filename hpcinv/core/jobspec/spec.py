"""Job specs: TOML with the tables [problem], [solver], [output] and [petsc]."""
from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import resolve_input
from ..errors import InputError
from ..problem import missing_capability_message
from .registry import PROBLEMS, SOLVERS
from .schema import Field, validate_table
from .toml_text import toml_text

TABLES = ("problem", "solver", "output", "petsc")

# Solver keys that decide when a run stops, not what it computes: a checkpoint stays valid
# when they change (e.g. a longer max_iterations for a resumed run).
RUN_CONTROL_KEYS = ("max_iterations", "wall_time")

OUTPUT_SCHEMA = {
    "path": Field(str, None, "result file (HDF5); default: the job file's name with .h5, "
                  "in the working directory", check=lambda p: None if p.endswith(".h5")
                  else "must end with .h5"),
    "checkpoint_every": Field(int, 0, "write a checkpoint every N iterations (0: never)",
                              minimum=0),
    "checkpoint_seconds": Field(float, 0.0, "write a checkpoint every T seconds (0: never)",
                                minimum=0),
    "progress_seconds": Field(float, None, "seconds between progress lines on rank 0 "
                              "(default: 2 on a terminal, 10 when stderr is a file)",
                              minimum=0, exclusive_minimum=True),
    "store_data": Field(bool, True, "also store the data (and the truth when known)"),
    "overwrite": Field(bool, False, "replace an existing file at path that is not this "
                       "job's result (another job's result, or not a result at all)"),
}

_PETSC_KEY = re.compile(r"^-?[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class JobSpec:
    """A validated job.  ``problem``/``solver`` hold checked values with paths resolved."""
    text: str
    source: str
    problem: dict
    solver: dict
    output: dict
    petsc: dict = field(default_factory=dict)
    input_files: tuple = ()     # (table, key) of every input-file value

    def fingerprint(self) -> str:
        """Identifies the computation, so a checkpoint or result of a different one is never
        taken for this job's: problem and solver values with input files by their contents
        (a moved checkout or a container mount keeps it), without the run-control keys,
        output settings and PETSc options, which may change between restarts."""
        tables = {"problem": dict(self.problem),
                  "solver": {k: v for k, v in self.solver.items() if k not in RUN_CONTROL_KEYS}}
        for table, key in self.input_files:
            with open(tables[table][key], "rb") as handle:
                tables[table][key] = hashlib.file_digest(handle, "sha256").hexdigest()
        blob = json.dumps(tables, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def _validate_kind(table: dict, name: str, registry, resolve, problems: list,
                   input_files: list):
    """(kind class, checked values) of a [problem] or [solver] table; (None, {}) when its
    kind is missing or unknown."""
    kind = table.get("kind")
    if kind is None:
        problems.append((f"{name}.kind", f"missing required key (one of: "
                                         f"{', '.join(registry.names())})"))
        return None, {}
    if not isinstance(kind, str):
        problems.append((f"{name}.kind", f"expected string, got {kind!r}"))
        return None, {}
    try:
        cls = registry.get(kind, f"{name}.kind")
    except InputError as error:
        problems.extend(error.problems)
        return None, {}
    values, table_problems = validate_table(table, cls.parameters, name, resolve,
                                            ignore=("kind",))
    problems.extend(table_problems)
    values["kind"] = kind
    input_files += [(name, key) for key, spec in cls.parameters.items()
                    if spec.file and values.get(key)]
    if not table_problems:
        problems.extend(cls.check_parameters(values))
    return cls, values


def _capability_problems(problem_kind, problem: dict, solver_kind, solver: dict) -> list:
    """[(key, message)] for every capability the solver needs and the problem lacks."""
    offered = tuple(problem_kind.capabilities(problem))
    return [(key, missing_capability_message(needed, f"solver {solver['kind']!r}",
                                             problem["kind"]))
            for needed, key in solver_kind.requirements(solver).items()
            if not any(issubclass(capability, needed) for capability in offered)]


def _validate_petsc(table: dict, problems: list) -> dict:
    from .. import sandbox
    from ..petsc_options import check_petsc_options

    scalars = {}
    for key, value in table.items():
        if not _PETSC_KEY.match(key):
            problems.append((f"petsc.{key}", "not a PETSc option name"))
        elif isinstance(value, (dict, list)):
            problems.append((f"petsc.{key}", "expected a string, number or boolean"))
        else:
            scalars[key] = value
    # Known options typed; in service mode options naming files or programs refused.
    problems.extend(check_petsc_options(scalars, sandbox=sandbox.active()))
    return dict(table)


def _petsc_problems_of_solver(solver_kind, petsc: dict) -> list:
    """[(key, message)] for [petsc] options the solver kind would ignore (its
    ``check_petsc_options``; a kind without one takes every option)."""
    check = getattr(solver_kind, "check_petsc_options", None)
    return [(f"petsc.{key}", message) for key, message in check(petsc)] if check else []


def parse_spec(text: str, source: str = "<string>") -> JobSpec:
    """Validate a job spec; raise InputError listing every problem with its key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError((source, f"not valid TOML: {error}")) from None
    problems: list = []
    for key, value in data.items():
        if key not in TABLES:
            problems.append((key, f"unknown table (known tables: {', '.join(TABLES)})"))
        elif not isinstance(value, dict):
            problems.append((key, "expected a table"))
    for required in ("problem", "solver"):
        if not isinstance(data.get(required), dict):
            problems.append((required, "missing required table"))
    spec_dir = Path(source).resolve().parent if _names_a_file(source) else None

    def resolve(name):
        return resolve_input(name, spec_dir)

    tables = {name: data.get(name) if isinstance(data.get(name), dict) else {} for name in TABLES}
    input_files: list = []
    problem_kind, problem = _validate_kind(tables["problem"], "problem", PROBLEMS, resolve,
                                           problems, input_files) \
        if "problem" in data else (None, {})
    solver_kind, solver = _validate_kind(tables["solver"], "solver", SOLVERS, resolve,
                                         problems, input_files) \
        if "solver" in data else (None, {})
    if problem_kind is not None and solver_kind is not None and not problems:
        problems.extend(_capability_problems(problem_kind, problem, solver_kind, solver))
    output, output_problems = validate_table(tables["output"], OUTPUT_SCHEMA, "output")
    problems.extend(output_problems)
    petsc = _validate_petsc(tables["petsc"], problems)
    problems.extend(_petsc_problems_of_solver(solver_kind, petsc))
    if problems:
        raise InputError(problems)
    if output["path"] is None:
        stem = Path(source).stem if _names_a_file(source) else "result"
        output["path"] = f"{stem}.h5"
    return JobSpec(text=text, source=source, problem=problem, solver=solver, output=output,
                   petsc=petsc, input_files=tuple(input_files))


def _names_a_file(source: str) -> bool:
    """False for the placeholders of jobs that come from no file ("<string>", "<dict>")."""
    return not (source.startswith("<") and source.endswith(">"))


def spec_from_mapping(mapping, source: str = "<dict>") -> JobSpec:
    """Validate a job given as Python mappings ({"problem": {...}, "solver": {...}, ...}):
    the JobSpec of the equivalent TOML text (same values, same fingerprint), whose ``text``
    is that TOML; InputError with key paths as ``parse_spec`` gives."""
    return parse_spec(toml_text(mapping), source=source)


def load_spec(path: str) -> JobSpec:
    """The job file ``path``, validated; an unreadable file, a directory or one that is not
    UTF-8 text (binary garbage) is an InputError naming the file."""
    from .. import sandbox
    from ..io.inputs import read_text_file

    if not os.path.exists(path):
        # The bundled jobs (``jobs/...``) of an installed hpcinv, from any directory.
        path = resolve_input(str(path)) or path
    refusal = sandbox.input_refusal(str(path))
    if refusal:
        raise InputError((str(path), refusal))
    text = read_text_file(path, str(path), "job file")
    return parse_spec(text, source=str(path))

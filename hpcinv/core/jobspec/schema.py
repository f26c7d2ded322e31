"""Declarative parameter schemas: every problem/solver kind states its keys once, and one
validator turns a TOML table into checked values or a list of ``(key path, message)``."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from .. import sandbox

REQUIRED = object()

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "table"}


@dataclass(frozen=True)
class Field:
    """One key of a table.

    ``kind`` is the Python type (a float field accepts integers); ``items`` the element type
    of an array; ``length`` the allowed array lengths; ``file`` marks an input path that must
    exist when not empty (resolved by the caller's ``resolve``); ``check`` an extra predicate
    returning an error message or None; ``applies`` = (other key, its values[, why]) for a
    key that only means something when the other key has one of those values: given
    otherwise, it would be silently ignored, so it is refused (with ``why`` as the reason).
    """
    kind: type
    default: Any = REQUIRED
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple | None = None
    items: type | None = None
    length: tuple | None = None
    file: bool = False
    check: Callable[[Any], str | None] | None = None
    applies: tuple | None = None   # (key, values) or (key, values, why)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _type_name(kind: type) -> str:
    return _TYPE_NAMES.get(kind, kind.__name__)


def _conforms(value, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_number(key, value, field: Field, problems) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        problems.append((key, f"must be a finite number, got {value}"))
        return
    if field.minimum is not None:
        if field.exclusive_minimum and value <= field.minimum:
            problems.append((key, f"must be > {field.minimum}, got {value}"))
        elif value < field.minimum:
            problems.append((key, f"must be >= {field.minimum}, got {value}"))
    if field.maximum is not None and value > field.maximum:
        problems.append((key, f"must be <= {field.maximum}, got {value}"))


def check_value(key: str, value, field: Field, resolve=None) -> tuple[Any, list]:
    """Check one value; return it (paths resolved) and a list of problems."""
    problems: list = []
    if not _conforms(value, field.kind):
        return value, [(key, f"expected {_type_name(field.kind)}, got "
                             f"{_type_name(type(value))} {value!r}")]
    if field.kind in (int, float):
        _check_number(key, value, field, problems)
        value = float(value) if field.kind is float else value
    if field.kind is list:
        if field.length is not None and len(value) not in field.length:
            allowed = " or ".join(str(n) for n in field.length)
            problems.append((key, f"expected {allowed} entries, got {len(value)}"))
        for index, item in enumerate(value):
            if field.items is not None:
                item_field = Field(field.items, minimum=field.minimum, maximum=field.maximum,
                                   exclusive_minimum=field.exclusive_minimum)
                _, item_problems = check_value(f"{key}[{index}]", item, item_field)
                problems.extend(item_problems)
    if field.choices is not None and value not in field.choices:
        problems.append((key, f"must be one of {', '.join(map(repr, field.choices))}, "
                              f"got {value!r}"))
    if field.file and value and not problems:
        refusal = sandbox.input_refusal(value) if os.path.isabs(value) else None
        resolved = resolve(value) if resolve else value
        if refusal:
            problems.append((key, refusal))
        elif resolved is None:
            problems.append((key, f"file not found: {value}"))
        else:
            value = resolved
    if field.check is not None and not problems:
        message = field.check(value)
        if message:
            problems.append((key, message))
    return value, problems


def validate_table(table: dict, schema: dict[str, Field], prefix: str,
                   resolve=None, ignore=()) -> tuple[dict, list]:
    """Validate ``table`` against ``schema``; unknown keys and every bad value are reported."""
    values: dict = {}
    problems: list = []
    for key in table:
        if key not in schema and key not in ignore:
            known = ", ".join(sorted(schema)) or "none"
            problems.append((f"{prefix}.{key}", f"unknown key (known keys: {known})"))
    for key, field in schema.items():
        path = f"{prefix}.{key}"
        if key not in table:
            if field.required:
                problems.append((path, f"missing required key ({field.help or _type_name(field.kind)})"))
            else:
                values[key] = field.default
            continue
        values[key], value_problems = check_value(path, table[key], field, resolve)
        problems.extend(value_problems)
    refused = {path for path, _ in problems}
    for key, field in schema.items():
        # A controlling key that is itself wrong is reported alone.
        if key in table and field.applies and f"{prefix}.{field.applies[0]}" not in refused \
                and values.get(field.applies[0]) not in field.applies[1]:
            other, meaningful, *why = field.applies
            when = why[0] if why else f"only used when {prefix}.{other} is " + \
                " or ".join(map(repr, meaningful))
            problems.append((f"{prefix}.{key}", f"{when}; here {prefix}.{other} = "
                                                f"{values.get(other)!r}: remove it"))
    return values, problems


def describe(schema: dict[str, Field]) -> list[tuple[str, str, str, str]]:
    """Rows (key, type, default, help) for documentation and ``hpcinv kinds``."""
    rows = []
    for key, field in schema.items():
        default = "required" if field.required else repr(field.default)
        rows.append((key, _type_name(field.kind), default, field.help))
    return rows


def validate_tables(data: dict, schemas: dict[str, dict]) -> tuple[dict, list]:
    """Validate a file of several tables (a mesh): ``{table: values}`` of the tables without
    problems (a missing one gets its defaults) and every problem, unknown tables included."""
    problems = [(table, f"unknown table (known: {', '.join(schemas)})")
                for table in data if table not in schemas]
    values = {}
    for table, schema in schemas.items():
        content = data.get(table, {})
        if not isinstance(content, dict):
            problems.append((table, "expected a table"))
            continue
        table_values, table_problems = validate_table(content, schema, table)
        problems += table_problems
        if not table_problems:
            values[table] = table_values
    return values, problems

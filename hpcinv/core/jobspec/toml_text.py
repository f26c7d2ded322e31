"""A job given as nested Python mappings, written as TOML text.

A job built in Python goes through the same validation as a job file by being written as
the TOML it stands for: the result file's ``job_spec`` attribute is then TOML like every
other (``hpcinv inspect`` and the reproductions parse it back).  Only what a job can hold
is written: tables of strings, booleans, numbers, arrays and inline tables; anything else
(None, objects) is reported under its key path.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping

import numpy as np

from ..errors import InputError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_text(mapping) -> str:
    """TOML text of ``mapping`` ({table: {key: value}}); InputError naming the key path of
    every value TOML cannot hold."""
    if not isinstance(mapping, Mapping):
        raise InputError(("spec", f"expected a mapping of tables, got "
                                  f"{type(mapping).__name__}"))
    problems: list = []
    # TOML puts top-level keys before the first table header; validation then reports them.
    scalars = [f"{_key(name, name, problems)} = {_value(value, name, problems)}"
               for name, value in mapping.items() if not isinstance(value, Mapping)]
    lines = list(scalars)
    for name, table in mapping.items():
        if isinstance(table, Mapping):
            lines.append(f"[{_key(name, name, problems)}]")
            lines += [f"{_key(key, f'{name}.{key}', problems)} = "
                      f"{_value(value, f'{name}.{key}', problems)}"
                      for key, value in table.items()]
    if problems:
        raise InputError(problems)
    return "\n".join(lines) + "\n"


def _key(key, path: str, problems: list) -> str:
    if not isinstance(key, str):
        problems.append((str(path), f"keys must be strings, got {type(key).__name__} {key!r}"))
        return '""'
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value, path: str, problems: list) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (str, os.PathLike)):
        return _string(os.fspath(value))
    if isinstance(value, (list, tuple)):
        items = [_value(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
        return f"[{', '.join(items)}]"
    if isinstance(value, Mapping):
        pairs = [f"{_key(key, f'{path}.{key}', problems)} = "
                 f"{_value(item, f'{path}.{key}', problems)}" for key, item in value.items()]
        return "{" + ", ".join(pairs) + "}"
    if value is None:
        problems.append((path, "no value (TOML has no null): leave the key out for its "
                               "default"))
    else:
        problems.append((path, f"a {type(value).__name__} cannot be a job value (strings, "
                               f"booleans, numbers, arrays and tables can)"))
    return '""'

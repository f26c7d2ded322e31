"""PETSc options on hpcinv's command line: ``hpcinv run job.toml -log_view -ksp_monitor``.

As in any PETSc program, an option is a single dash and a name (``-ksp_max_it``), followed by
its value unless the next word is another option.  hpcinv's own options have two dashes
(``--resume``), so the two never clash; ``-h`` stays hpcinv's help and ``-help`` is PETSc's
(PETSc prints its options as it starts, then hpcinv prints the command's help).  The options are checked like a job's
``[petsc]`` table (``core.petsc_options``: types of known options, and in service mode the
refusals of options that name files), and reach PETSc's options database after the job's
own, so the command line wins.
"""
from __future__ import annotations

import re

from .errors import InputError

# A PETSc option word: one dash, then a letter ("-5" and "-1e-3" are values).
_OPTION = re.compile(r"^-[A-Za-z]\w*$")
# Commands that start PETSc for a job and take its options after their own arguments.
COMMANDS_WITH_PETSC_OPTIONS = ("run", "demo", "info")


def _is_option(word: str) -> bool:
    return bool(_OPTION.match(word)) and word != "-h"


def command_index(argv: list[str]) -> int:
    """Where the command is (``len(argv)`` when there is none)."""
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] == "--sandbox" else 1
    return min(index, len(argv))


def _first_option(words: list[str], command: str) -> int:
    """Where PETSc's options begin in the words after ``command``: after ``run``'s job file
    (PETSc's options follow the program's arguments), right away for the other commands."""
    if command != "run":
        return 0
    takes_value = {"--output", "--sandbox"}
    index = 0
    while index < len(words):
        word = words[index]
        if word in takes_value:
            index += 2
            continue
        if not word.startswith("-"):
            return index + 1          # the job file
        if word == "-help":
            return index              # ``hpcinv run -help``: help without a job
        index += 1
    return len(words)


def split(argv: list[str]) -> tuple[list[str], dict]:
    """(hpcinv's arguments, PETSc's options as {name: value or True}) of a command line."""
    command_at = command_index(argv)
    # ``hpcinv -help``: hpcinv's help, as ``hpcinv --help``.
    argv = [("--help" if word == "-help" else word) for word in argv[:command_at]] + \
        list(argv[command_at:])
    if command_at == len(argv) or argv[command_at] not in COMMANDS_WITH_PETSC_OPTIONS:
        return argv, {}
    head, words = argv[:command_at + 1], argv[command_at + 1:]
    start = _first_option(words, argv[command_at])
    ours, options = head + words[:start], {}
    index = start
    while index < len(words):
        word = words[index]
        if not _is_option(word):
            ours.append(word)
            index += 1
            continue
        value = True
        if index + 1 < len(words) and not _is_option(words[index + 1]) \
                and not words[index + 1].startswith("--"):
            value = words[index + 1]
            index += 1
        options[word[1:]] = value
        index += 1
    return ours, options


def _raise(problems: list) -> None:
    if problems:
        raise InputError([(f"command line -{key.removeprefix('petsc.')}", message)
                          for key, message in problems])


def check(options: dict, sandbox: bool) -> None:
    """Raise InputError naming each command-line option of the wrong type or refused in
    service mode (the same checks as a job's ``[petsc]`` table)."""
    from .petsc_options import check_petsc_options

    _raise(check_petsc_options(options, sandbox))


def check_for_solver(options: dict, solver_kind: str) -> None:
    """Raise InputError naming each command-line option the job's solver kind would ignore
    (its ``check_petsc_options``, as for the job's ``[petsc]`` table)."""
    from .jobspec import SOLVERS

    check_kind = getattr(SOLVERS.get(solver_kind, "solver.kind"), "check_petsc_options", None)
    _raise(check_kind(options) if check_kind else [])

"""Exit statuses and the two kinds of failure every entry point distinguishes."""
import math
import numbers
from contextlib import contextmanager

EXIT_OK = 0
EXIT_RUNTIME_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: checkpoint written, run again with --resume


class InputError(Exception):
    """Bad job spec or input data.  ``problems`` lists ``(key_path, message)`` pairs."""

    def __init__(self, problems):
        if isinstance(problems, tuple):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(f"  {key}: {message}" if key else f"  {message}"
                         for key, message in self.problems)


class RuntimeFailure(Exception):
    """A failure that is not the user's input: missing library, I/O error, numerical breakdown."""


class ArgumentError(ValueError):
    """A bad keyword argument of a library class or function.  ``argument`` names it, so a
    job kind that passed a job value there reports the job's key instead
    (``job_keys`` below)."""

    def __init__(self, argument: str, message: str):
        self.argument, self.message = argument, message
        super().__init__(f"{argument}: {message}")


def check_count(argument: str, value, minimum: int = 0) -> int:
    """``value`` as an int when it is an integer (Python or numpy, not a bool) >= ``minimum``,
    else an ArgumentError naming ``argument``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ArgumentError(argument, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(argument: str, value, *, positive: bool = False) -> float:
    """``value`` as a float when it is a finite real number (Python or numpy, not a bool)
    >= 0, or > 0 with ``positive``, else an ArgumentError naming ``argument``."""
    valid = (isinstance(value, numbers.Real) and not isinstance(value, bool)
             and math.isfinite(value) and (value > 0 if positive else value >= 0))
    if not valid:
        raise ArgumentError(argument, f"must be a finite number {'> 0' if positive else '>= 0'}"
                                      f", got {value!r}")
    return float(value)


@contextmanager
def job_keys(table: str):
    """Report an ArgumentError of code called with a job's values as bad input under the
    job's key ``table.argument`` (kinds pass job values under the keys' names)."""
    try:
        yield
    except ArgumentError as error:
        raise InputError((f"{table}.{error.argument}", error.message)) from None

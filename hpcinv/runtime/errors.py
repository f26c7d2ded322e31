"""Exit statuses and the two kinds of failure every entry point distinguishes."""

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

"""Errors every stage raises, each with the exit code the CLI returns for it.

A stage raises one of these with a message that names the file, line and field involved; the CLI
prints the message (no stack trace) and exits with the code.
"""

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


class ChatAnalyticsError(Exception):
    """A failure the user can act on. ``exit_code`` is what the command line returns."""

    exit_code = EXIT_USAGE


class UsageError(ChatAnalyticsError):
    """Bad arguments or configuration (a missing path, an unknown source, a bad variable)."""

    exit_code = EXIT_USAGE


class DatabaseLocked(ChatAnalyticsError):
    """Another process holds the DuckDB file; nothing was changed."""

    exit_code = EXIT_LOCKED

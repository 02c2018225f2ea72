"""``python -m chat_analytics.dbt_main ARGS``: dbt's own command line, ``dbt ARGS``, ended early.

dbt's command line runs as it does from the ``dbt`` script, then the process ends the way every
Python process ends, exit handlers included (dbt-duckdb closes its connections there, which
checkpoints the database and removes its write-ahead log; multiprocessing removes the semaphores
dbt made), but without the interpreter's teardown of every module dbt imported, which takes
about 0.4 s after each dbt command and does nothing a finished command needs (DECISIONLOG D56).
The exit code is dbt's. The Jinja templates dbt compiles are kept between commands
(:mod:`chat_analytics.template_cache`, DECISIONLOG D58).
"""

from __future__ import annotations

import atexit
import os
import sys


def exit_code(exc: SystemExit) -> int:
    """The process exit code Python gives a ``SystemExit`` (a message is printed, exit 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def main() -> None:
    from dbt.cli.main import cli

    from chat_analytics import template_cache

    sys.argv[0] = "dbt"  # dbt's messages name the command as the user would type it
    with template_cache.installed(template_cache.cache_dir()):
        try:
            cli()
            code = 0
        except SystemExit as exc:
            code = exit_code(exc)
    atexit._run_exitfuncs()  # what interpreter shutdown would run first
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

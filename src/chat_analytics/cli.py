"""The `chat-analytics` command line: a thin layer over one module per pipeline stage.

Each stage module exposes ``add_arguments(parser)`` and ``run(args) -> int``; this file only
wires them up and turns :class:`ChatAnalyticsError` into a message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from chat_analytics import __version__
from chat_analytics.errors import ChatAnalyticsError

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("chat_analytics.generate", "write a synthetic world of SDK export files"),
    "land": ("chat_analytics.land", "land export files into the raw schema"),
    "publish": ("chat_analytics.publish", "publish the marts to BI if the last build passed"),
    "nightly": ("chat_analytics.nightly", "land, check freshness, build, publish if green, report"),
    "compact": (
        "chat_analytics.compact",
        "merge the row groups that landing and builds left partly filled",
    ),
    "report": ("chat_analytics.report", "write the shareable HTML report of the published marts"),
    "dashboard": (
        "chat_analytics.dashboard",
        "serve the interactive dashboard of the published marts",
    ),
    "demo": ("chat_analytics.demo", "generate a sample and run the whole pipeline on it"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line. With ``command``, only that command's module is imported (the others
    are listed by name), so a command does not pay for loading every other stage."""
    parser = argparse.ArgumentParser(
        prog="chat-analytics",
        description="Chatbot conversation analytics on dbt + DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        stage = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(stage)
        stage.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    named = [word for word in argv if not word.startswith("-")][:1]
    parser = build_parser(named[0] if named and named[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except ChatAnalyticsError as exc:
        print(f"chat-analytics {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"chat-analytics {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

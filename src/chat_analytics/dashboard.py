"""Serve the interactive dashboard over the published file (Streamlit).

`chat-analytics dashboard` checks that the published file (``CHAT_ANALYTICS_PUBLISHED``, default
``warehouse/published/chat_analytics.duckdb``) holds the marts, then runs the Streamlit app
``chat_analytics/serving/app.py`` on http://127.0.0.1:8501 until interrupted. The app opens the
file read-only for each query, so a nightly run that publishes while the dashboard is up is
shown on the next click. The event-health page reads the last nightly verdict from the audit
history (``--audit-dir``, else ``CHAT_ANALYTICS_AUDIT_DIR``, else ``audit/`` beside the build
database), since the published file holds marts only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chat_analytics import audit, config
from chat_analytics.errors import UsageError
from chat_analytics.serving import queries

APP = Path(__file__).resolve().parent / "serving" / "app.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 to share on the network)",
    )
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument(
        "--published",
        metavar="PATH",
        help="the published file (default: $CHAT_ANALYTICS_PUBLISHED, else"
        f" {config.DEFAULT_PUBLISHED})",
    )
    parser.add_argument(
        "--audit-dir",
        metavar="DIR",
        help="audit folder of the nightly job, for the last verdict (default:"
        " $CHAT_ANALYTICS_AUDIT_DIR, else audit/ beside the build database)",
    )


def command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The Streamlit command line and environment that serve the app (after checking the file)."""
    published = Path(args.published) if args.published else config.published_path()
    queries.Published(published).bounds()  # names the file and what to do when it is unusable
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: not a port number (1-65535)")
    audit_dir = Path(args.audit_dir) if args.audit_dir else audit.audit_dir()
    env = dict(os.environ)
    env["CHAT_ANALYTICS_PUBLISHED"] = str(published)  # the app runs in this same folder
    env["CHAT_ANALYTICS_AUDIT_DIR"] = str(audit_dir)
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        args.address,
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "minimal",
    ]
    return argv, env


def run(args: argparse.Namespace) -> int:
    argv, env = command(args)
    print(
        f"dashboard: serving {env['CHAT_ANALYTICS_PUBLISHED']} on"
        f" http://{args.address}:{args.port} (Ctrl-C stops it)",
        flush=True,
    )
    # Become the Streamlit server, so that signals (Ctrl-C, a service manager's SIGTERM) reach
    # it directly and no server outlives this command.
    os.execve(argv[0], argv, env)
    return 0  # not reached

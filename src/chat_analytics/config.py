"""Where things live: every path comes from an environment variable with a documented default.

| variable                    | default                                      |
|-----------------------------|----------------------------------------------|
| CHAT_ANALYTICS_DB           | warehouse/chat_analytics.duckdb              |
| CHAT_ANALYTICS_PUBLISHED    | warehouse/published/chat_analytics.duckdb    |
| CHAT_ANALYTICS_PII_SALT     | a development-only salt (never use in prod)  |

Relative paths are relative to the current directory, like dbt's own profile.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The repository root, which is also the dbt project directory."""

DEFAULT_DB = "warehouse/chat_analytics.duckdb"
DEFAULT_PUBLISHED = "warehouse/published/chat_analytics.duckdb"


def db_path() -> Path:
    """The build database that `land` writes and dbt builds in."""
    return Path(os.environ.get("CHAT_ANALYTICS_DB") or DEFAULT_DB)


def published_path() -> Path:
    """The read-only copy of the marts that BI tools read."""
    return Path(os.environ.get("CHAT_ANALYTICS_PUBLISHED") or DEFAULT_PUBLISHED)

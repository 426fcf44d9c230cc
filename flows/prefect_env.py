"""Where fiduflow's Prefect lives, decided before Prefect is imported.

Embedded default: Prefect's home is DATA_DIR/prefect, and `fiduflow serve` starts
Prefect's local server and records its address in DATA_DIR/prefect/api-url, so that
other `fiduflow` commands on the same machine report to the same server (their runs
show in the same UI). An explicit PREFECT_API_URL always wins.
"""

import os
import urllib.request
from pathlib import Path

from domain.settings import get_settings


def prefect_home() -> Path:
    return (get_settings().data_dir / "prefect").resolve()


def recorded_api_url_file() -> Path:
    return prefect_home() / "api-url"


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


def configure() -> str | None:
    """Set PREFECT_HOME (and PREFECT_API_URL when a local server runs); return the URL."""
    os.environ.setdefault("PREFECT_HOME", str(prefect_home()))
    # No network here, and no phoning home in a fiduciary's office either.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    recorded = recorded_api_url_file()
    if recorded.exists():
        url = recorded.read_text().strip()
        if url and healthy(url):
            os.environ["PREFECT_API_URL"] = url
            return url
    return None

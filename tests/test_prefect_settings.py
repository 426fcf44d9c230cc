"""What fiduflow asks of Prefect's server (flows/prefect_env.SERVER_SETTINGS) reaches it.

A misspelt PREFECT_* variable is ignored without a word, so each is read back through
Prefect's own settings model, as the server reads it at start.
"""

import os
import subprocess
import sys

from flows import prefect_env


def _server_settings_in_child(env: dict[str, str]) -> dict[str, str]:
    """The task-run recorder's settings as a fresh Prefect process (the server) sees them."""
    code = (
        "from prefect.settings import get_current_settings as s; "
        "r = s().server.services.task_run_recorder; "
        "print(r.batch_size, r.flush_interval, s().server.analytics_enabled)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return {"batch_size": out[0], "flush_interval": out[1], "analytics": out[2]}


def test_the_server_records_task_runs_in_batches_and_does_not_phone_home(tmp_path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    clean["PREFECT_HOME"] = str(tmp_path)
    seen = _server_settings_in_child(prefect_env.server_env(clean))
    assert seen == {"batch_size": "100", "flush_interval": "1.0", "analytics": "False"}
    # Without them, Prefect records every event on its own: the settings are not moot.
    assert _server_settings_in_child(clean)["batch_size"] == "1"


def test_an_explicit_setting_wins_over_fiduflows() -> None:
    env = prefect_env.server_env({"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "7"})
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "7"
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"] == "1"

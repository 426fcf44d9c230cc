"""What a command says about its data, and what it refuses to make: run as an operator runs
them (real `fiduflow` processes, from a folder of their own).

- every command that works on fiduflow's data names the data folder it uses (stderr);
- run from a folder without fiduflow data, it refuses (exit 1, naming FIDUFLOW_DATA_DIR and
  `fiduflow setup`) and makes nothing — no empty database that it then reports on;
- `setup load` makes a new data folder; with `--if-empty` (how ./run loads its demo) it
  loads only into a database without clients and leaves what people changed alone.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIDUFLOW = str(Path(sys.executable).with_name("fiduflow"))
DEMO = ROOT / "examples" / "demo.yaml"


def _fiduflow(*args: str, cwd: Path, data: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIDUFLOW_", "PREFECT_"))}
    if data is not None:
        env["FIDUFLOW_DATA_DIR"] = str(data)
    return subprocess.run(
        [FIDUFLOW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["users", "list"],
        ["check", "--json"],
        ["policy", "show", "C01"],
        ["process", "nothing.pdf", "--client", "C01"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_command_run_elsewhere_names_the_folder_and_makes_no_database(tmp_path, command):
    (tmp_path / "nothing.pdf").write_bytes(b"%PDF-1.7\n")
    result = _fiduflow(*command, cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    said = _flat(result.stderr)
    assert f"data: {tmp_path / 'data'} (FIDUFLOW_DATA_DIR)" in said
    assert f"there is no fiduflow database {tmp_path / 'data' / 'fiduflow.db'} yet" in said
    assert "FIDUFLOW_DATA_DIR" in said.split("yet", 1)[1] and "fiduflow setup load" in said
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing made: no folder, no database
    assert result.stdout == ""


def test_demo_is_loaded_into_a_new_database_only(tmp_path):
    data = tmp_path / "data"
    first = _fiduflow("setup", "load", "--if-empty", str(DEMO), cwd=tmp_path, data=data)
    assert first.returncode == 0, first.stderr
    assert "loaded 4 clients" in first.stdout
    assert f"data: {data} (FIDUFLOW_DATA_DIR)" in _flat(first.stderr)  # setup makes it
    assert (data / "fiduflow.db").exists()

    # An operator changes what the demo set up.
    changed = _fiduflow("users", "disable", "hans", cwd=tmp_path, data=data)
    assert changed.returncode == 0 and "hans: disabled" in changed.stdout, changed.stderr
    assert f"data: {data} (FIDUFLOW_DATA_DIR)" in _flat(changed.stderr)

    again = _fiduflow("setup", "load", "--if-empty", str(DEMO), cwd=tmp_path, data=data)

    assert again.returncode == 0, again.stderr
    assert "not loaded, the database has 4 client(s) already" in _flat(again.stdout)
    listing = _fiduflow("users", "list", cwd=tmp_path, data=data)
    [hans] = [line for line in listing.stdout.splitlines() if "hans" in line]
    assert " by " in hans, listing.stdout  # still disabled: the reload did not undo it
    # A plain load still loads over them.
    plain = _fiduflow("setup", "load", str(DEMO), cwd=tmp_path, data=data)
    assert plain.returncode == 0 and "loaded 4 clients" in plain.stdout, plain.stderr


def test_run_loads_the_demo_only_into_a_new_database():
    script = (ROOT / "run").read_text()
    assert "fiduflow setup load --if-empty examples/demo.yaml" in script
    assert "exec .venv/bin/fiduflow serve" in script


@pytest.mark.ocr
def test_extract_makes_no_data_folder(tmp_path):
    """`extract` needs no data; it caches OCR results in the data folder only if there is one."""
    from tests.factories import scan_png

    (tmp_path / "quittung.png").write_bytes(scan_png())
    result = _fiduflow("extract", "quittung.png", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"text_source": "ocr"' in result.stdout
    assert not (tmp_path / "data").exists()

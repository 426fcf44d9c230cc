"""What the atheris fuzz tests share: loading a target file, and one short libFuzzer run
seeded with a corpus and a dictionary of the format's tokens."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType


def load_target(path: Path) -> ModuleType:
    """The fuzz target as a module, to call its `check_one_input` under hypothesis."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dictionary_line(token: str) -> str:
    """One libFuzzer dictionary entry: printable ASCII as is, everything else as \\xNN."""
    escaped = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\' else f"\\x{ord(ch):02x}" for ch in token
    )
    return f'"{escaped}"'


def run_atheris(
    target: Path,
    tmp_path: Path,
    *,
    seeds: list[bytes],
    tokens: list[str],
    seconds: int,
    runs: int,
    max_len: int,
    rss_limit_mb: int,
) -> subprocess.CompletedProcess[str]:
    """Run `target` under libFuzzer for at most `seconds` / `runs`; crash and timeout
    inputs are written into `tmp_path` as `crash-*` / `timeout-*`."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(seeds):
        (corpus / f"seed-{index:03d}").write_bytes(seed)
    dictionary = tmp_path / f"{target.stem}.dict"
    dictionary.write_text("\n".join(dictionary_line(t) for t in tokens) + "\n")
    return subprocess.run(
        [
            sys.executable,
            str(target),
            f"-max_total_time={seconds}",
            f"-runs={runs}",
            f"-max_len={max_len}",
            "-timeout=10",  # seconds for one input: a hang is a finding
            f"-rss_limit_mb={rss_limit_mb}",
            f"-dict={dictionary}",
            f"-artifact_prefix={tmp_path}/",
            "-print_final_stats=1",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=seconds + 60,
        cwd=tmp_path,
    )

"""The PDF/image torture corpus (tests/test_hostile_system.py) file by file against the
reader, each in a fresh process so that its peak memory (ru_maxrss) and its time are its
own: every file ends in a result — a reading or a clear error kind — within a bound, and
without the process growing beyond `MEMORY_MB`.

Cases the reader does not yet bound are marked `xfail(strict=True)` with what was measured:
the bug is reported to the reader's owners (extractors/ is theirs), and a fix turns the
case into an unexpected pass that fails this test until the mark is removed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_hostile_system import KNOWN_READER_MEMORY_BUGS, torture_files

pytestmark = [pytest.mark.ocr, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
MEMORY_MB = 500  # a fresh reader process is ~210 MB; one document may add ~300 MB
TIME_S = 90

# Peak memory from /proc (VmHWM): ru_maxrss survives exec, so a child started by a big
# pytest worker would report the worker's peak instead of its own.
READ_ONE = r"""
import json, sys, time
import extractors

def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
extraction = extractors.extract(data, sys.argv[1])
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "maxrss_mb": peak_mb(),
    "error": extraction.error.kind.value if extraction.error else None,
}))
"""

FILES = torture_files()
EXPECTED_ERRORS = {
    "encrypted.pdf": "encrypted",
    "truncated.pdf": "corrupt",
    "header-only.pdf": "corrupt",
    "recursive-pages.pdf": "corrupt",
    "self-referencing-object.pdf": "corrupt",
    "5000-pages.pdf": "too_large",
    "png-bomb-20000px.png": "too_large",
    "png-bomb-9000px.png": "too_large",
    "jpeg-65500px-truncated.jpg": "too_large",
    "tiff-150-frames.tif": "too_large",
    "empty.pdf": "empty",
}


def _case(name: str):  # type: ignore[no-untyped-def]
    reason = KNOWN_READER_MEMORY_BUGS.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_case(n) for n in FILES])
def test_each_torture_file_is_read_within_time_and_memory(name: str, tmp_path: Path):
    path = tmp_path / name
    path.write_bytes(FILES[name])
    result = subprocess.run(
        [sys.executable, "-c", READ_ONE, str(path)],
        capture_output=True,
        text=True,
        timeout=TIME_S + 60,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "FIDUFLOW_DATA_DIR": str(tmp_path / "data"),
            "FIDUFLOW_PARSE_TIMEOUT_S": "10",
            "FIDUFLOW_OCR_PAGE_TIMEOUT_S": "20",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["seconds"] < TIME_S, figures
    if name in EXPECTED_ERRORS:
        assert figures["error"] == EXPECTED_ERRORS[name], figures
    assert figures["maxrss_mb"] < MEMORY_MB, figures

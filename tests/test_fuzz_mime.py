"""Fuzzing `parse_mail`: a short atheris run per test run, and the same target in-process
under hypothesis (which also covers machines where atheris has no wheel)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_helpers import load_target, run_atheris
from tests.mime_corpus import CASES

FUZZ_TARGET = Path(__file__).parent / "fuzz" / "fuzz_mime.py"
FUZZ_SECONDS = 8
SEED_MAX_BYTES = 8192

# Tokens that let libFuzzer build MIME structure instead of guessing it byte by byte.
DICTIONARY = [
    "Content-Type: ",
    "Content-Transfer-Encoding: ",
    "Content-Disposition: ",
    "Content-ID: ",
    "MIME-Version: 1.0",
    "multipart/mixed",
    "multipart/alternative",
    "multipart/related",
    "message/rfc822",
    "application/pdf",
    "application/zip",
    "image/png",
    "text/html",
    "boundary=",
    'boundary="',
    "filename=",
    "filename*=UTF-8''",
    "filename*0*=",
    "name=",
    "charset=",
    "base64",
    "quoted-printable",
    "attachment",
    "inline",
    "=?UTF-8?B?",
    "=?ISO-8859-1?Q?",
    "?=",
    "cid:",
    "--",
    "\r\n\r\n",
    "%PDF-",
    "JVBERi0",
    "PK\x03\x04",
    "\x89PNG\r\n\x1a\n",
    "\xff\xd8\xff",
]


TARGET = load_target(FUZZ_TARGET)
SEEDS = [raw for raw in (case.build() for case in CASES[:60]) if len(raw) <= SEED_MAX_BYTES]


def test_atheris_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        # No wheel for this platform: the hypothesis tests below run the same target.
        pytest.skip("atheris is not installed")
    result = run_atheris(
        FUZZ_TARGET,
        tmp_path,
        seeds=SEEDS,
        tokens=DICTIONARY,
        seconds=FUZZ_SECONDS,
        runs=5000,
        max_len=SEED_MAX_BYTES,
        rss_limit_mb=2048,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", result.stderr)
    assert runs is not None, result.stderr[-2000:]
    assert int(runs.group(1)) >= 200, result.stderr[-2000:]  # it ran (slow under load)
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_target_holds_on_random_bytes(data: bytes) -> None:
    TARGET.check_one_input(data)


@st.composite
def _mutated_mail(draw: st.DrawFn) -> bytes:
    """A corpus mail with a few byte ranges replaced: structure, then damage."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 64)))
        data[start:end] = draw(
            st.one_of(
                st.binary(max_size=16),
                st.sampled_from([t.encode("latin-1") for t in DICTIONARY]),
            )
        )
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_mail())
def test_target_holds_on_mutated_mails(data: bytes) -> None:
    TARGET.check_one_input(data)

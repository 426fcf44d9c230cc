"""Fuzzing the QR-bill payload parser: a short atheris run per test run (seeded with real
payloads made by `qrbill`, and a dictionary of the format's tokens), and the same target
in-process under hypothesis (which also covers machines where atheris has no wheel)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.extract_helpers import IBAN, QR_IBAN, qr_payload
from tests.fuzz_helpers import load_target, run_atheris

FUZZ_TARGET = Path(__file__).parent / "fuzz" / "fuzz_qrbill.py"
FUZZ_SECONDS = 8

# Tokens that let libFuzzer build payload structure instead of guessing it byte by byte.
DICTIONARY = [
    "SPC",
    "0200",
    "0230",
    "\n1\n",
    "\r\n",
    "\nS\n",
    "\nK\n",
    "CH",
    "LI",
    "CH4431999123000889012",
    "CH9300762011623852957",
    "CHF",
    "EUR",
    "QRR",
    "SCOR",
    "NON",
    "RF18539007547034",
    "210000000003139471430009017",
    "EPD",
    "//S1/",
    "/10/",
    "/11/",
    "/30/",
    "/31/",
    "/32/",
    "/33/",
    "/40/",
    "\\/",
    "0:30",
    "8.1:100;2.6:50",
    "eBill/B/",
    "1949.75",
    "999999999.99",
]


TARGET = load_target(FUZZ_TARGET)
SEEDS = [
    qr_payload(),
    qr_payload(amount=None),
    qr_payload(debtor=False, billing=""),
    qr_payload(account=IBAN, reference="RF18539007547034"),
    qr_payload(account=IBAN, reference=None, currency="EUR"),
    qr_payload(billing="//S1/10/X\\/1/32/8.1:100;2.6:50/40/2:10;0:30"),
    qr_payload().replace("\r\n", "\n") + "\n",
]


def test_seeds_are_valid_payloads() -> None:
    # A seed the parser refuses would only teach the fuzzer the refusal path.
    assert QR_IBAN != IBAN
    for seed in SEEDS:
        TARGET.check_bill(TARGET.parse_qr_payload(seed))


def test_atheris_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        # No wheel for this platform: the hypothesis tests below run the same target.
        pytest.skip("atheris is not installed")
    result = run_atheris(
        FUZZ_TARGET,
        tmp_path,
        seeds=[seed.encode() for seed in SEEDS],
        tokens=DICTIONARY,
        seconds=FUZZ_SECONDS,
        runs=200000,
        max_len=2048,
        # libFuzzer reads ru_maxrss, which a child inherits from the process that
        # started it (an xdist worker may already be past 1 GB): a generous limit.
        rss_limit_mb=4096,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", result.stderr)
    assert runs is not None, result.stderr[-2000:]
    assert int(runs.group(1)) >= 1000, result.stderr[-2000:]  # it ran (slow under load)
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024))
def test_target_holds_on_random_bytes(data: bytes) -> None:
    TARGET.check_one_input(data)


@st.composite
def _mutated_payload(draw: st.DrawFn) -> bytes:
    """A real payload with a few byte ranges replaced: structure, then damage."""
    data = bytearray(draw(st.sampled_from(SEEDS)).encode())
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 24)))
        data[start:end] = draw(
            st.one_of(st.binary(max_size=8), st.sampled_from([t.encode() for t in DICTIONARY]))
        )
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_payload())
def test_target_holds_on_mutated_payloads(data: bytes) -> None:
    TARGET.check_one_input(data)

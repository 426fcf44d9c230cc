"""The pause after failed web logins and wrong API tokens (ingest/login_throttle.py), on a
clock of our own; and a failed password check that costs the same for every name."""

import hashlib

import pytest

from ingest.login_throttle import LoginThrottle, TokenThrottle
from storage.db import Database
from storage.masterdata import user_for_password
from tests.factories import load, master_data


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_in_the_window_pause_the_pair_until_the_oldest_leaves_it() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, window_s=900, clock=clock)
    for _ in range(4):
        throttle.failed("Hans", "10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("hans", "10.0.0.1") is None  # four are allowed
    throttle.failed(" HANS ", "10.0.0.1")  # the same name, however typed
    assert throttle.retry_after("hans", "10.0.0.1") == 900 - 40
    assert throttle.retry_after("hans", "10.0.0.2") is None  # other address
    assert throttle.retry_after("fritz", "10.0.0.1") is None  # other name
    clock.now += 900 - 40  # the first failure leaves the window
    assert throttle.retry_after("hans", "10.0.0.1") is None


def test_a_successful_login_clears_the_pair() -> None:
    throttle = LoginThrottle(max_failures=2, clock=Clock())
    throttle.failed("hans", "a")
    throttle.succeeded("hans", "a")
    throttle.failed("hans", "a")
    assert throttle.retry_after("hans", "a") is None


def test_cycling_through_names_and_addresses_keeps_memory_bounded() -> None:
    throttle = LoginThrottle(max_pairs=100, clock=Clock())
    for n in range(1000):
        throttle.failed(f"user{n}", f"10.0.{n // 200}.{n % 200}")
    assert throttle.kept() == (100, 100)
    for n in range(1000):  # from one address: it pauses long before memory is at stake
        throttle.failed(f"junk{n}", "10.9.9.9")
    pairs, addresses = throttle.kept()
    assert pairs <= 100 and addresses <= 100


def test_junk_names_from_one_address_do_not_reset_a_real_users_counter() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)  # the defaults: 5 per pair, 50 per address
    for _ in range(4):
        throttle.failed("hans", "10.0.0.1")
        clock.now += 1
    for n in range(10_000):  # a caller that records them all, paused or not
        throttle.failed(f"junk{n}", "10.0.0.1")
        clock.now += 0.01
    throttle.failed("hans", "10.0.0.1")
    assert throttle.retry_after("hans", "10.0.0.1") is not None
    assert throttle.kept()[0] <= 50  # the junk took no more than the address's share
    # The other users from another address are not held up by it.
    assert throttle.retry_after("hans", "10.0.0.2") is None


def test_many_names_from_one_address_pause_the_whole_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, max_per_address=50, window_s=900, clock=clock)
    for n in range(49):
        throttle.failed(f"name{n}", "10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("hans", "10.0.0.1") is None  # 49 are allowed
    throttle.failed("name49", "10.0.0.1")
    assert throttle.retry_after("hans", "10.0.0.1") == 900 - 49  # any name, even unused
    assert throttle.retry_after("name3", "10.0.0.1") == 900 - 49
    assert throttle.retry_after("hans", "10.0.0.2") is None  # other address
    throttle.succeeded("hans", "10.0.0.1")  # logging in to one's own account clears nothing
    assert throttle.retry_after("name7", "10.0.0.1") == 900 - 49
    clock.now += 900 - 49  # the first failure leaves the window
    assert throttle.retry_after("hans", "10.0.0.1") is None


def test_an_ipv6_address_counts_with_its_64_network() -> None:
    throttle = LoginThrottle(max_failures=5, clock=Clock())
    for n in range(1, 6):  # a new address in the same /64 for every guess
        throttle.failed("hans", f"2001:db8:0:7::{n:x}")
    assert throttle.retry_after("hans", "2001:db8:0:7:ffff::1") is not None
    assert throttle.retry_after("hans", "2001:db8:0:8::1") is None  # the next /64
    for _ in range(5):  # an IPv4 address, written as IPv4-mapped IPv6 or not
        throttle.failed("fritz", "::ffff:192.0.2.1")
    assert throttle.retry_after("fritz", "192.0.2.1") is not None
    assert throttle.retry_after("fritz", "192.0.2.2") is None


def test_wrong_tokens_pause_the_address_after_twenty() -> None:
    clock = Clock()
    tokens = TokenThrottle(max_failures=20, window_s=900, clock=clock)
    for _ in range(19):
        tokens.failed("10.0.0.1")
        clock.now += 1
    assert tokens.retry_after("10.0.0.1") is None
    tokens.failed("10.0.0.1")
    assert tokens.retry_after("10.0.0.1") == 900 - 19
    assert tokens.retry_after("10.0.0.2") is None
    for _ in range(100):  # refused ones are not recorded: the pause does not grow
        tokens.failed("10.0.0.1")
    clock.now += 900 - 19
    assert tokens.retry_after("10.0.0.1") is None


# --- timing: an unknown name costs the same scrypt as a known one ----------------------


@pytest.fixture
def firm(sqlite_db: Database) -> Database:
    load(sqlite_db, master_data())  # lea and fritz have no password, hans and anna do
    return sqlite_db


@pytest.mark.parametrize(
    "username",
    ["hans", "anna", "lea", "nobody"],  # user, staff, user without password, no such name
)
def test_every_failed_password_check_runs_scrypt_once(
    firm: Database, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    with firm.session() as session:
        assert user_for_password(session, username, "a wrong guess") is None
    assert len(calls) == 1
    calls.clear()
    with firm.session() as session:  # and the right password still works
        assert user_for_password(session, "hans", "hans-pw-123456") is not None
    assert len(calls) == 1

"""The pause after failed web logins (ingest/login_throttle.py), on a clock of our own."""

from ingest.login_throttle import LoginThrottle


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


def test_cycling_through_names_keeps_memory_bounded() -> None:
    throttle = LoginThrottle(max_pairs=100, clock=Clock())
    for n in range(1000):
        throttle.failed(f"user{n}", "a")
    assert len(throttle._failures) == 100

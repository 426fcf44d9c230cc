"""Failed web logins: after a few for one user name from one address, a pause.

Guessing passwords at `/login` is the one attack on the web pages that needs no stolen
secret. After `max_failures` wrong passwords for a user name from one client address
within `window_s`, that pair is refused (HTTP 429 with Retry-After) until the oldest
failure leaves the window, even with the right password, so the guess that would succeed
teaches nothing. Keyed by name *and* address, so someone guessing cannot lock the real
user out from everywhere else. A successful login clears its pair.

Kept in the memory of one `fiduflow api` (or `serve`) process: behind a load balancer each
process counts for itself, and the address is the balancer's unless it passes the
client's on. The number of pairs kept is bounded, so cycling through names cannot grow
memory without limit.
"""

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 900.0,
        max_pairs: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_pairs = max_pairs
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until this pair may try again, or None if it may now."""
        key = _key(username, address)
        with self._lock:
            times = self._recent(key)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_s - self._clock()))

    def failed(self, username: str, address: str) -> None:
        key = _key(username, address)
        with self._lock:
            times = self._recent(key) or deque(maxlen=self.max_failures)
            times.append(self._clock())
            self._failures[key] = times
            self._failures.move_to_end(key)
            while len(self._failures) > self.max_pairs:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(_key(username, address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float] | None:
        """The pair's failures still inside the window (older ones dropped)."""
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


def _key(username: str, address: str) -> tuple[str, str]:
    return username.strip().casefold(), address

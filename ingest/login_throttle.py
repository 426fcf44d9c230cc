"""Failed logins and wrong API tokens: after a few from one address, a pause.

Guessing passwords at `/login` is the one attack on the web pages that needs no stolen
secret, and API tokens are written into the master data by people, so they can be
guessed too. Three counters, each a sliding window of `window_s` (15 minutes):

- per user name *and* client address (`LoginThrottle`, `max_failures`, 5): after five
  wrong passwords for one name from one address, that pair is refused (HTTP 429 with
  Retry-After) until the oldest failure leaves the window, even with the right password,
  so the guess that would succeed teaches nothing. Keyed by name and address, so someone
  guessing cannot lock the real user out from everywhere else. A successful login
  clears its pair.
- per client address, for any names (`LoginThrottle`, `max_per_address`, 50): trying
  many names from one address (or one name spelt many ways) pauses the whole address.
  A successful login does not clear it (else logging in to one's own account between
  guesses would reset it). While an address is paused its failures are not recorded, so
  one address can add at most 50 name–address pairs per window.
- per client address for wrong `Authorization: Bearer` tokens (`TokenThrottle`, 20):
  after that, every bearer request from the address answers 429 until the window frees
  a place, whether its token is right or not.

The address is the TCP peer's, or the one a trusted proxy passes on in
`X-Forwarded-For` (`FIDUFLOW_TRUSTED_PROXIES`; by default no proxy is trusted and the
header is ignored). An IPv6 address counts with its /64 network, the block one
subscriber usually holds, so rotating through it does not buy new guesses.

Kept in the memory of one `fiduflow api` (or `serve`) process: behind several processes
each counts for itself. Memory is bounded: at most `max_pairs` pairs and as many
addresses, the least recently failed going first. To evict a pair or an address still
in its window, a guesser needs that many other addresses failing after it, which give
more fresh guesses than the eviction does: junk names from one address never push out
that address's own counters.
"""

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable


class FailureWindow:
    """Failures per key in a sliding window; at most `max_keys` keys are kept.

    Not locked: the callers below hold their own lock.
    """

    def __init__(
        self, limit: int, window_s: float, max_keys: int, clock: Callable[[], float]
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def count(self, key: Hashable) -> int:
        times = self._recent(key)
        return 0 if times is None else len(times)

    def retry_after(self, key: Hashable) -> int | None:
        """Seconds until `key` may try again, or None if it may now."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window_s - self._clock()))

    def failed(self, key: Hashable) -> None:
        times = self._recent(key) or deque(maxlen=self.limit)
        times.append(self._clock())
        self._failures[key] = times
        self._failures.move_to_end(key)  # ordered by last failure: the stalest go first
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def clear(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: Hashable) -> deque[float] | None:
        """The key's failures still inside the window (older ones dropped)."""
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


class LoginThrottle:
    """Wrong passwords at `/login`, per (name, address) pair and per address."""

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 900.0,
        max_pairs: int = 10_000,
        max_per_address: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_per_address = max_per_address
        self.window_s = window_s
        self._lock = threading.Lock()
        self._pairs = FailureWindow(max_failures, window_s, max_pairs, clock)
        self._addresses = FailureWindow(max_per_address, window_s, max_pairs, clock)

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until this name may try again from this address, or None if it may now."""
        place = address_key(address)
        with self._lock:
            waits = [
                self._pairs.retry_after((_name(username), place)),
                self._addresses.retry_after(place),
            ]
        return max((wait for wait in waits if wait is not None), default=None)

    def failed(self, username: str, address: str) -> None:
        place = address_key(address)
        with self._lock:
            if self._addresses.retry_after(place) is not None:
                return  # paused as a whole: more junk names would only take memory
            self._addresses.failed(place)
            self._pairs.failed((_name(username), place))

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._pairs.clear((_name(username), address_key(address)))

    def kept(self) -> tuple[int, int]:
        """(pairs, addresses) held in memory."""
        with self._lock:
            return len(self._pairs), len(self._addresses)


class TokenThrottle:
    """Wrong API tokens per address (any token, any user)."""

    def __init__(
        self,
        max_failures: int = 20,
        window_s: float = 900.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self._lock = threading.Lock()
        self._addresses = FailureWindow(max_failures, window_s, max_addresses, clock)

    def retry_after(self, address: str) -> int | None:
        with self._lock:
            return self._addresses.retry_after(address_key(address))

    def failed(self, address: str) -> None:
        place = address_key(address)
        with self._lock:
            if self._addresses.retry_after(place) is None:
                self._addresses.failed(place)


def address_key(address: str) -> str:
    """What an address counts as: itself, an IPv6 address its /64 (IPv4-mapped: the IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP ("testclient", a Unix socket, "?"): as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _name(username: str) -> str:
    return username.strip().casefold()

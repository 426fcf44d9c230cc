"""Bounds per peer, shared by the intake channels (SMTP, HTTP).

One sender must not be able to take what every sender needs: connections are counted per
peer address, and refusals a peer causes (unknown recipients) are counted per peer in a
sliding window. A peer is an IPv4 address, or an IPv6 /64 — one subscriber's network, so
that walking through the addresses of one's own prefix does not multiply the allowance.

Both classes are used from one event loop (the SMTP server's, uvicorn's) and take no locks.
"""

import ipaddress
import time
from collections import deque
from collections.abc import Iterable


def peer_key(host: str | None) -> str:
    """The address a bound is counted for: IPv4 as is, IPv6 by its /64 network."""
    if not host:
        return "?"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host  # a Unix socket path or the like: one peer
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _networks(
    items: Iterable[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in items]


class PeerConnections:
    """Open connections per peer: at most `per_peer` each, none of them counted for
    `exempt` networks (trusted reverse proxies, which carry many clients' connections)."""

    def __init__(self, per_peer: int, exempt: Iterable[str] = ()) -> None:
        self.per_peer = per_peer
        self._exempt = _networks(exempt)
        self._open: dict[str, int] = {}

    def _is_exempt(self, host: str | None) -> bool:
        if not self._exempt or not host:
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return any(address in network for network in self._exempt)

    def admit(self, host: str | None) -> str | None:
        """The peer's key if one more connection of it is allowed (counted until
        `release(key)`), "" if it is exempt (nothing to release), None if it is over."""
        if self._is_exempt(host):
            return ""
        key = peer_key(host)
        count = self._open.get(key, 0)
        if count >= self.per_peer:
            return None
        self._open[key] = count + 1
        return key

    def release(self, key: str | None) -> None:
        if not key:
            return
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)

    def open(self, host: str | None) -> int:
        return self._open.get(peer_key(host), 0)


class PeerWindow:
    """Events per peer within the last `window_s` seconds; a peer with `limit` of them
    is over until the oldest ages out. Memory: at most `limit` timestamps per peer, and
    peers whose events have all aged out are forgotten."""

    def __init__(self, limit: int, window_s: float, *, prune_at: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self._prune_at = prune_at
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def over(self, host: str | None, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        events = self._recent(peer_key(host), now)
        return events is not None and len(events) >= self.limit

    def add(self, host: str | None, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        key = peer_key(host)
        events = self._recent(key, now)
        if events is None:
            if len(self._events) >= self._prune_at:
                self._prune(now)
            events = self._events[key] = deque(maxlen=self.limit)
        events.append(now)

    def _prune(self, now: float) -> None:
        for key in list(self._events):
            self._recent(key, now)


class LogLimiter:
    """At most one log line per `interval_s` for a recurring event (a flood must not
    flood the log too); `due()` says whether to log now and how many went unlogged."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_s = interval_s
        self._last = float("-inf")
        self._skipped = 0

    def due(self) -> tuple[bool, int]:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._skipped += 1
            return False, 0
        skipped, self._skipped, self._last = self._skipped, 0, now
        return True, skipped

"""Connection bounds of the HTTP intake that an ASGI app cannot set: uvicorn's protocol.

A slow client that never completes its request (slowloris) never reaches the app, yet
holds a connection; uvicorn has no time limit for the headers of a request (its keep-alive
timeout runs only between requests, and stops at the first byte of the next one) and
answers every route 503 once `limit_concurrency` connections are open — whoever opened
them. So the protocol here, uvicorn's h11 protocol with two bounds added:

- at most `per_peer` open connections per peer address (IPv4, or IPv6 /64); more are
  answered `503` with Retry-After and closed at once. Trusted reverse proxies are exempt
  (their connections carry many clients; the proxy bounds those).
- a connection must complete a request's headers within `header_timeout_s` of opening, or
  of the first byte of its next request; otherwise it is closed.

uvicorn's global `limit_concurrency` stays as the last bound; set it well above `per_peer`
so that no single peer can reach it.
"""

import asyncio
import json
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ingest.peers import LogLimiter, PeerConnections

log = logging.getLogger("fiduflow.api")


def _busy_response(retry_after_s: int) -> bytes:
    body = json.dumps(
        {"detail": "too many connections from your address at once; please retry shortly"}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"retry-after: {retry_after_s}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    return head + body


def guarded_protocol(
    per_peer: int, header_timeout_s: float, exempt: list[str] | tuple[str, ...] = ()
) -> type[H11Protocol]:
    """An h11 protocol class for `uvicorn.Config(http=...)` with the bounds above; its
    connection counts are shared by the connections of one server."""
    peers = PeerConnections(per_peer, exempt)
    busy = _busy_response(max(1, round(header_timeout_s)))
    refusals = LogLimiter()

    class GuardedH11Protocol(H11Protocol):
        _peer_key: str | None = None
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else None
            self._peer_key = peers.admit(host)
            if self._peer_key is None:
                due, since = refusals.due()
                if due:
                    log.warning(
                        "HTTP connection refused: over %d open from one peer (%d more since "
                        "the last such line)",
                        per_peer,
                        since,
                    )
                transport.write(busy)
                transport.close()
                return
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            peers.release(self._peer_key)
            self._peer_key = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and self.conn.their_state is h11.IDLE:
                self._arm_header_timer()  # the first byte of the next request on this one
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm_header_timer()  # the headers are complete

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._header_timer = self.loop.call_later(header_timeout_s, self._header_timeout)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol

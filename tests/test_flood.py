"""Floods do not starve a normal client (DESIGN.md, "Rules of the house"): bounds per peer,
over real loopback sockets.

Every test peer is on loopback, so the flooding peer is 127.0.0.1 and the normal client
binds its socket to 127.0.0.2 (Linux routes all of 127.0.0.0/8 to `lo`). Floods are bounded
in count and time and stop by themselves; "a normal client is still served within 2 s" is
the acceptance.
"""

import select
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from domain.settings import Settings
from ingest.api import create_app, run_http_in_thread
from ingest.peers import PeerConnections, PeerWindow, peer_key
from ingest.smtp import SmtpLimits, SmtpServer, start_smtp
from storage.db import Database
from storage.objects import FilesystemObjectStore
from tests.factories import C01_ADDRESS, firm_with_passwords, load
from tests.intake_helpers import mail, pdf_bytes, wire

pytestmark = [pytest.mark.timeout(120)]

OTHER_PEER = "127.0.0.2"


# --- the per-peer counters ------------------------------------------------------------


def test_peer_keys_count_an_ipv6_subscriber_network_as_one_peer():
    assert peer_key("192.0.2.7") == "192.0.2.7"
    assert peer_key("2001:db8:1:2::1") == peer_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert peer_key("2001:db8:1:3::1") != peer_key("2001:db8:1:2::1")
    assert peer_key("::ffff:192.0.2.7") == "192.0.2.7"

    connections = PeerConnections(2, exempt=["10.0.0.0/24"])
    first, second = connections.admit("192.0.2.7"), connections.admit("192.0.2.7")
    assert first and second and connections.admit("192.0.2.7") is None
    assert connections.admit("192.0.2.8")  # another peer has its own share
    assert all(connections.admit("10.0.0.5") == "" for _ in range(10))  # a trusted proxy
    connections.release(first)
    assert connections.admit("192.0.2.7")

    window = PeerWindow(3, 600)
    for t in (0, 1, 2):
        assert not window.over("192.0.2.7", now=t)
        window.add("192.0.2.7", now=t)
    assert window.over("192.0.2.7", now=3) and not window.over("192.0.2.8", now=3)
    assert not window.over("192.0.2.7", now=601)  # the oldest aged out


# --- HTTP -----------------------------------------------------------------------------


@pytest.fixture
def http_server(sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings):
    handles = []

    def start(**changes: object) -> str:
        changed = settings.model_copy(update={"http_port": 0, **changes})
        ready = threading.Event()
        handle = run_http_in_thread(create_app(sqlite_db, fs_store, changed, None), changed, ready)
        handles.append(handle)
        assert ready.wait(30), "uvicorn did not start"
        return f"127.0.0.1:{handle.port}"

    yield start
    for handle in handles:
        handle.stop()


def _partial_request(address: str, source: str = "127.0.0.1") -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: fiduflow\r\n")  # headers never finished
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before it closed the connection, or None if it is still open
    after `seconds`."""
    sock.settimeout(seconds)
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                return received
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        return received
    return None


def _closed_among(
    socks: list[socket.socket], expected: int, within: float
) -> dict[socket.socket, bytes]:
    """The sockets the server closed (with what it sent first), waiting until `expected`
    of them are closed or `within` seconds have passed."""
    answers: dict[socket.socket, bytes] = {}
    closed: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + within
    while len(closed) < expected and time.monotonic() < deadline:
        waiting = [sock for sock in socks if sock not in closed]
        readable, _, _ = select.select(waiting, [], [], 0.1)
        for sock in readable:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                answers[sock] = answers.get(sock, b"") + chunk
            else:
                closed[sock] = answers.get(sock, b"")
    time.sleep(0.2)  # and no more than that
    for sock in [s for s in socks if s not in closed]:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable and not sock.recv(4096, socket.MSG_PEEK):
            closed[sock] = answers.get(sock, b"")
    return closed


def _healthz_from(address: str, source: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=2.0) as client:
        return client.get(f"http://{address}/healthz")


def test_a_slowloris_flood_from_one_peer_does_not_take_the_service_from_others(http_server):
    per_peer = 20
    address = http_server(http_connections_per_peer=per_peer, http_header_timeout_s=60.0)
    with ExitStack() as stack:
        flood = [stack.enter_context(_partial_request(address)) for _ in range(200)]
        # Beyond its share, the flooding peer's connections are answered 503 and closed.
        refused = _closed_among(flood, expected=200 - per_peer, within=5.0)
        assert len(refused) == 200 - per_peer
        assert all(answer.startswith(b"HTTP/1.1 503 ") for answer in refused.values())
        still_open = [sock for sock in flood if sock not in refused]
        # With the flood held open, another client is served at once.
        started = time.monotonic()
        response = _healthz_from(address, OTHER_PEER)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 2.0
        # The flooding peer's held connections are still open (nothing else was cut).
        assert all(_closed_within(sock, 0.01) is None for sock in still_open)


def test_a_request_whose_headers_do_not_arrive_in_time_is_closed(http_server):
    address = http_server(http_header_timeout_s=1.0)
    silent = _partial_request(address)
    dripping = _partial_request(address)
    started = time.monotonic()
    # One byte every 0.2 s: moving, but never a complete request.
    cut_at = None
    while time.monotonic() - started < 6:
        try:
            dripping.sendall(b"X")
        except OSError:
            cut_at = time.monotonic() - started
            break
        if _closed_within(dripping, 0.2) is not None:
            cut_at = time.monotonic() - started
            break
    assert cut_at is not None and cut_at < 4, cut_at
    assert _closed_within(silent, 3) is not None
    silent.close()
    dripping.close()
    # An ordinary client, keep-alive included, is not affected.
    with httpx.Client(base_url=f"http://{address}", timeout=5) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(1.5)  # longer than the header timeout, shorter than keep-alive
        assert client.get("/healthz").status_code == 200


# --- SMTP -----------------------------------------------------------------------------


@pytest.fixture
def smtp_rig(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[tuple[SmtpServer, Database]]:
    load(sqlite_db, firm_with_passwords())
    servers: list[SmtpServer] = []

    def start(**limits: object) -> SmtpServer:
        server = start_smtp(
            sqlite_db,
            fs_store,
            settings.model_copy(update={"smtp_port": 0}),
            None,
            limits=SmtpLimits(parse_processes=0, **limits),  # type: ignore[arg-type]
        )
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.stop()


def _smtp(server: SmtpServer, source: str = "127.0.0.1", timeout: float = 5) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=timeout, source_address=(source, 0))
    client.ehlo("sender.example")
    return client


def _deliver(client: smtplib.SMTP, recipient: str = C01_ADDRESS) -> tuple[int, bytes]:
    raw = wire(mail(attachments=[("r.pdf", pdf_bytes(uuid.uuid4().hex), "application/pdf")]))
    code, reply = client.mail("bounce@gloor-elektro.example")
    assert code == 250, reply
    code, reply = client.rcpt(recipient)
    if code != 250:
        return code, reply
    return client.data(raw)


def _try_connect(server: SmtpServer) -> smtplib.SMTP | int:
    try:
        return smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    except smtplib.SMTPConnectError as refused:
        return refused.smtp_code


def test_idle_connections_of_one_peer_do_not_lock_out_other_senders(smtp_rig):
    server = smtp_rig(connections_per_peer=10)
    with ExitStack() as stack:
        attempts = [_try_connect(server) for _ in range(64)]
        held = [stack.enter_context(a) for a in attempts if isinstance(a, smtplib.SMTP)]
        refused = [a for a in attempts if not isinstance(a, smtplib.SMTP)]
        assert len(held) == 10 and refused == [421] * 54
        started = time.monotonic()
        other = _smtp(server, OTHER_PEER)
        assert _deliver(other)[0] == 250
        other.quit()
        assert time.monotonic() - started < 2.0
    time.sleep(0.2)  # the closed ones are counted out: the first peer is welcome again
    again = _smtp(server)
    assert again.noop()[0] == 250
    again.quit()


def test_rset_and_refused_commands_without_a_mail_are_cut_off(smtp_rig):
    server = smtp_rig(unproductive_commands=50)
    client = _smtp(server)
    codes = []
    for _ in range(1000):
        try:
            codes.append(client.rset()[0])
        except smtplib.SMTPServerDisconnected:
            break
    assert codes[:50] == [250] * 50
    assert codes[-1] == 421 and len(codes) <= 52
    # A sender that delivers mail in between may reset as often as it sends mail.
    client = _smtp(server)
    for _ in range(3):
        for _ in range(40):
            assert client.rset()[0] == 250
        assert _deliver(client)[0] == 250
    client.quit()
    # Errors count too: a loop of bad commands ends the same way.
    client = _smtp(server)
    replies = []
    for _ in range(200):
        try:
            replies.append(client.docmd("MAIL", "FROM:<not an address")[0])
        except smtplib.SMTPServerDisconnected:
            break
    assert replies[-1] == 421 and len(replies) <= 52


def test_unknown_recipients_are_throttled_per_peer_and_others_still_deliver(smtp_rig):
    server = smtp_rig(unknown_recipients_per_peer=5, unknown_recipients_window_s=600)
    client = _smtp(server)
    codes = []
    for i in range(200):
        try:
            client.rset()
            client.mail("probe@example.net")
            codes.append(client.rcpt(f"muster-{i:06x}@in.treuhand.example")[0])
        except smtplib.SMTPServerDisconnected:
            break
        if codes[-1] == 421:
            break
    assert codes[:5] == [550] * 5  # a few typos are answered as such
    assert codes[-1] == 421 and len(codes) <= 6  # then the peer is told to come back later
    # The same peer on a new connection: still throttled, even for a known address, so
    # the answer does not tell which addresses exist.
    again = _smtp(server)
    again.mail("probe@example.net")
    assert again.rcpt(C01_ADDRESS)[0] == 421
    # Another peer delivers, and its typo is still answered as a typo.
    other = _smtp(server, OTHER_PEER)
    assert _deliver(other)[0] == 250
    other.mail("bounce@gloor-elektro.example")
    assert other.rcpt("muster-7f3a9d@in.treuhand.example")[0] == 550
    other.quit()


def test_smtp_bounds_come_from_the_settings_and_an_idle_connection_is_closed(
    smtp_rig, settings: Settings
):
    limits = SmtpLimits.from_settings(
        settings.model_copy(update={"smtp_connections_per_peer": 3, "smtp_idle_timeout_s": 42})
    )
    assert (limits.connections_per_peer, limits.idle_timeout_s) == (3, 42)
    assert limits.max_connections >= 10 * limits.connections_per_peer
    server = smtp_rig(idle_timeout_s=1.0)
    idle = _smtp(server)
    time.sleep(2.0)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        idle.noop()

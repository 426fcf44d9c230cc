"""Inbound email: an SMTP server (aiosmtpd) that turns every mail into documents.

The promise is the intake's: a `250` means the raw mail and every document in it are in
the object store (verified) and their rows are committed; if either store is down the
answer is `451 4.3.0` and the sender's MTA retries later. The client is decided by the
envelope recipient (one inbound address per client), never by the `From:` header.

Codes, by the stage at which they are given:

- `MAIL` with `SIZE=` over the limit → `552` (aiosmtpd's check, worded by us)
- `RCPT` to an unknown address → `550 5.1.1`; address lookup impossible → `451 4.3.0`;
  more distinct clients than `max_recipients` in one transaction → `452 4.5.3`
- `DATA` over the size limit → `552 5.3.4` (the data is read and dropped; the session
  stays usable); storage unavailable → `451 4.3.0`; otherwise `250 2.0.0`.
- more than `max_connections` at once, or more than `connections_per_peer` from one peer
  (IPv4 address, IPv6 /64) → `421 4.3.2` at the greeting, and the connection is closed.
- a peer that sent `unknown_recipients_per_peer` unknown recipients within
  `unknown_recipients_window_s` → `421 4.7.1` at every `RCPT` (known addresses too, so
  the answer tells nothing) until they age out: the inbound address is a client's secret.
- more than `unproductive_commands` RSETs and refused commands (5xx) on one connection
  without a mail delivered in between → `421 4.7.0`, closed; a delivered mail starts
  the count again, so an MTA that resets between its mails is never cut off.
- no command for `idle_timeout_s` → the connection is closed.
- with FIDUFLOW_SMTP_REQUIRE_TLS, any mail command before `STARTTLS` → `530`.

STARTTLS is offered when FIDUFLOW_SMTP_TLS_CERT and _KEY name the certificate and key
(TLS 1.2 or newer); mail between servers encrypts when both sides can, so a sender that
does not ask for it is still accepted unless TLS is required.

Several recipients (clients) in one transaction: each client gets its own documents, all
recorded in one database transaction. Nothing blocking runs on the event loop: storing
(hashing, object store, database) runs on bounded thread pools, MIME parsing in worker
processes (CPU-bound Python would otherwise hold the GIL), and the raw mail is written
while it is parsed. Processing is asked for on a background queue *after* the `250`, so
a slow Prefect API never delays it. Memory is bounded by `max_transfers` × the size
limit: at most that many mails are received at once (a DATA beyond waits for a slot, then
`451 4.3.2`), each connection holding at most the one mail it is delivering.
"""

import asyncio
import logging
import multiprocessing
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from domain.enums import RefusalKind
from domain.settings import Settings
from ingest.intake import (
    IntakeRefused,
    MailFile,
    MailRecorded,
    MailSubmission,
    ProcessingQueue,
    RequestProcessing,
    StorageUnavailable,
    intake_mail,
    store_original,
    to_process,
)
from ingest.mime import ParsedMail, parse_mail
from ingest.peers import LogLimiter, PeerConnections, PeerWindow
from storage.db import Database
from storage.masterdata import client_for_address, inbound_addresses
from storage.objects import ObjectStore

log = logging.getLogger("fiduflow.smtp")

RETRY_LATER = "451 4.3.0 Temporary storage failure; please try again later"


def _default_call_limits() -> dict[str, int]:
    # Per connection. Generous for MAIL/RCPT/DATA (MTAs reuse connections for many
    # mails), tight for everything else: a session that loops on NOOP or VRFY is not
    # delivering mail.
    return {"MAIL": 1000, "RCPT": 5000, "DATA": 1000, "RSET": 1000, "NOOP": 50, "*": 20}


@dataclass(frozen=True)
class SmtpLimits:
    max_recipients: int = 20  # distinct clients per mail transaction
    # Connections at once: far more than one peer may hold, so no one peer can fill them.
    max_connections: int = 512
    connections_per_peer: int = 10  # FIDUFLOW_SMTP_CONNECTIONS_PER_PEER
    max_transfers: int = 64  # mails received at once, each ≤ max_message_bytes in memory
    transfer_wait_s: float = 30.0  # a DATA waits this long for a free slot, then 451
    idle_timeout_s: float = 300.0  # RFC 5321 §4.5.3.2: a server waits at least 5 minutes
    unproductive_commands: int = 50  # RSETs + refused commands between two delivered mails
    unknown_recipients_per_peer: int = 10  # a few typos are fine; enumeration is not
    unknown_recipients_window_s: float = 600.0
    throttle_delay_s: float = 1.0  # a throttled peer waits this long for its 421
    delivery_timeout_s: float = 120.0  # storing one mail; past it → 451 (retry is safe)
    workers: int = 4  # threads that store (I/O bound: fsync, database)
    # Processes that parse MIME (CPU bound); 0: parse in the storing thread.
    parse_processes: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    address_ttl_s: float = 60.0  # how long a cached address→client entry is trusted
    command_call_limit: dict[str, int] = field(default_factory=_default_call_limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpLimits":
        return cls(
            connections_per_peer=settings.smtp_connections_per_peer,
            idle_timeout_s=settings.smtp_idle_timeout_s,
        )


# --- recipients ----------------------------------------------------------------------


class AddressBook:
    """Inbound address → client id, cached; a miss asks the database.

    So a client added to master data receives mail at once, without a restart. A
    flood of unknown recipients costs one primary-key lookup each; full reloads (which
    also pick up removed or reassigned addresses) happen at most every `ttl` seconds.
    """

    def __init__(self, db: Database, *, domain_override: str | None, ttl: float):
        self._db = db
        self._override = domain_override.lower() if domain_override else None
        self._ttl = ttl
        self._map: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def cached(self, address: str) -> str | None:
        """A fresh cache hit without blocking (safe on the event loop), else None."""
        if time.monotonic() - self._loaded_at > self._ttl:
            return None
        with self._lock:
            return self._map.get(address.strip().lower())

    def lookup(self, address: str) -> str | None:
        """The client for `address`, or None. Blocking; StorageUnavailable on DB failure."""
        key = address.strip().lower()
        if time.monotonic() - self._loaded_at > self._ttl:
            self.reload()
        with self._lock:
            client_id = self._map.get(key)
        if client_id is not None:
            return client_id
        client_id = self._lookup_one(key)
        if client_id is None and self._override and key.endswith("@" + self._override):
            # The local part is the client's secret; the domain may be deployment-specific.
            self.reload()
            with self._lock:
                client_id = self._map.get(key)
        return client_id

    def reload(self) -> None:
        try:
            with self._db.session() as session:
                addresses = inbound_addresses(session)
        except Exception as exc:
            raise StorageUnavailable(f"address lookup failed: {exc.__class__.__name__}") from exc
        mapping = dict(addresses)
        if self._override:
            for address, client_id in addresses.items():
                mapping.setdefault(address.rsplit("@", 1)[0] + "@" + self._override, client_id)
        with self._lock:
            self._map = mapping
            self._loaded_at = time.monotonic()

    def _lookup_one(self, key: str) -> str | None:
        try:
            with self._db.session() as session:
                client_id = client_for_address(session, key)
        except Exception as exc:
            raise StorageUnavailable(f"address lookup failed: {exc.__class__.__name__}") from exc
        if client_id is not None:
            with self._lock:
                self._map[key] = client_id
        return client_id


def _envelope_clients(envelope: Envelope) -> dict[str, str]:
    """Recipient address → client id of this transaction (a new Envelope after each mail)."""
    clients = getattr(envelope, "fiduflow_clients", None)
    if clients is None:
        clients = {}
        envelope.fiduflow_clients = clients  # type: ignore[attr-defined]
    return clients


# --- parsing ---------------------------------------------------------------------------


class MailParsers:
    """`parse_mail` in worker processes (processes=0: in the calling thread).

    MIME parsing is pure-Python CPU work (~10 ms for a 270 KB mail). In threads it
    holds the GIL that the event loop and the storing need, and one process could not
    pass ~40 mails/s on this machine; in worker processes it uses the other cores.
    Workers come from a forkserver: a process that runs threads is never forked. If the
    pool fails (a worker killed, a pool that cannot start), mails are parsed in-process
    for a minute and then the pool is tried again: slower, never refused.
    """

    RETRY_POOL_AFTER_S = 60.0

    def __init__(self, processes: int):
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failed_at = float("-inf")

    def parse(self, raw: bytes) -> ParsedMail:
        pool = self._get_pool()
        if pool is None:
            return parse_mail(raw)
        try:
            return pool.submit(parse_mail, raw).result()
        except (BrokenProcessPool, RuntimeError) as exc:
            log.error(
                "MIME parser processes failed (%s); parsing in-process for now",
                exc.__class__.__name__,
            )
            self._discard(pool)
            return parse_mail(raw)

    def warm_up(self) -> None:
        """Start the workers now, so the first mails do not wait for them."""
        pool = self._get_pool()
        if pool is None:
            return
        try:
            for future in [pool.submit(parse_mail, b"") for _ in range(self._processes)]:
                future.result(timeout=60)
        except Exception as exc:
            log.error("MIME parser processes did not start (%s)", exc.__class__.__name__)
            self._discard(pool)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._processes <= 0 or self._closed:
                return None
            if time.monotonic() - self._failed_at < self.RETRY_POOL_AFTER_S:
                return None
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["ingest.mime"])
                self._pool = ProcessPoolExecutor(self._processes, mp_context=context)
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            self._failed_at = time.monotonic()
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- the handler ---------------------------------------------------------------------


class IntakeHandler:
    """aiosmtpd hooks: recipients by master data, mails through `intake_mail`."""

    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        settings: Settings,
        processing: Callable[[int], None],
        executor: ThreadPoolExecutor,
        limits: SmtpLimits,
        parsers: MailParsers | None = None,
    ):
        self.parsers = parsers or MailParsers(0)
        # Object-store writes run here, beside parsing; never the caller's own pool.
        self.io = ThreadPoolExecutor(limits.workers * 2, thread_name_prefix="smtp-store")
        self.db = db
        self.store = store
        self.settings = settings
        self.processing = processing
        self.executor = executor
        self.limits = limits
        self.addresses = AddressBook(
            db, domain_override=settings.inbound_domain, ttl=limits.address_ttl_s
        )
        # Unknown recipients per peer (used on the event loop only).
        self.unknown_recipients = PeerWindow(
            limits.unknown_recipients_per_peer, limits.unknown_recipients_window_s
        )
        self._throttled_log = LogLimiter()

    async def _blocking(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        peer = session.peer[0] if isinstance(session.peer, tuple) else None
        if self.unknown_recipients.over(peer):
            # No lookup at all: the answer must not tell which addresses exist.
            due, since = self._throttled_log.due()
            if due:
                log.warning(
                    "recipient refused: too many unknown recipients from one peer (%d more "
                    "since the last such line)",
                    since,
                )
            await asyncio.sleep(self.limits.throttle_delay_s)
            return "421 4.7.1 Too many unknown recipients from your address; try again later"
        try:
            client_id = self.addresses.cached(address) or await self._blocking(
                self.addresses.lookup, address
            )
        except StorageUnavailable:
            log.warning("recipient lookup failed; answered 451")
            return "451 4.3.0 Temporary lookup failure; please try again later"
        if client_id is None:
            log.info("unknown recipient refused")
            self.unknown_recipients.add(peer)
            return "550 5.1.1 No such mailbox here; check the address your fiduciary gave you"
        clients = _envelope_clients(envelope)
        if client_id not in clients.values() and len(set(clients.values())) >= (
            self.limits.max_recipients
        ):
            return "452 4.5.3 Too many recipients; send the rest in another mail"
        clients[address] = client_id
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        client_ids = list(dict.fromkeys(_envelope_clients(envelope).values()))
        if not client_ids:  # aiosmtpd checks for RCPT; this is belt and braces
            return "503 5.5.1 Need a valid recipient first"
        try:
            results: list[MailRecorded] = await asyncio.wait_for(
                self._blocking(self._deliver, raw, client_ids, envelope.mail_from),
                self.limits.delivery_timeout_s,
            )
        except StorageUnavailable as exc:
            log.warning("mail not accepted, storage unavailable: %s", exc)
            return RETRY_LATER
        except IntakeRefused as exc:
            return f"552 5.3.4 {exc.reason}"
        except TimeoutError:
            # The delivery may still finish in its thread; the sender's retry is then
            # recognised as a duplicate delivery, so nothing is recorded twice.
            log.warning(
                "mail delivery took over %.0f s; answered 451", self.limits.delivery_timeout_s
            )
            return RETRY_LATER
        for document_id in to_process(results):
            self.processing(document_id)
        documents = sum(len(r.documents) for r in results)
        if results and all(r.duplicate_delivery for r in results):
            return "250 2.0.0 OK: already received"
        return f"250 2.0.0 OK: {documents} document(s) received"

    async def handle_exception(self, error: Exception) -> str:
        # Never tell a stranger our internals; a temporary failure makes MTAs retry.
        log.error("SMTP session error: %s", error.__class__.__name__, exc_info=error)
        return "451 4.3.0 Temporary failure; please try again later"

    def _deliver(
        self, raw: bytes, client_ids: list[str], envelope_from: str | None
    ) -> list[MailRecorded]:
        if len(raw) > self.settings.max_message_bytes:  # DATA enforces it; belt and braces
            raise IntakeRefused(RefusalKind.TOO_LARGE, "the mail is over the size limit")
        # The raw mail is written while it is parsed: disk in a thread, CPU in a process.
        raw_stored = self.io.submit(store_original, self.store, raw)
        try:
            parsed = self.parsers.parse(raw)
        finally:
            raw_sha256 = raw_stored.result()  # StorageUnavailable → 451
        return intake_mail(
            self.db,
            self.store,
            mail_submission(parsed, raw, client_ids, envelope_from),
            max_bytes=self.settings.max_message_bytes,
            raw_sha256=raw_sha256,
            io=self.io,
        )


def mail_submission(
    parsed: ParsedMail, raw: bytes, client_ids: list[str], envelope_from: str | None
) -> MailSubmission:
    skipped = [f"{s.filename or s.declared_type} ({s.reason})" for s in parsed.skipped]
    return MailSubmission(
        raw=raw,
        client_ids=client_ids,
        files=[
            MailFile(filename=a.filename, data=a.data, media_type=a.media_type, origin=a.origin)
            for a in parsed.attachments
        ],
        message_id=parsed.message_id,
        sender=parsed.sender,
        subject=parsed.subject,
        envelope_from=envelope_from or None,
        skipped=skipped,
        meta={
            "date": parsed.date,
            "authentication_results": parsed.authentication_results,
            "skipped": skipped[:50],
            "defects": parsed.defects[:20],
            # The fiduciary reads it in the "mail without document" case; it stays in
            # the database, never in logs.
            "body_excerpt": parsed.body_text[:1000],
        },
    )


# --- the server ----------------------------------------------------------------------


_END_OF_DATA = b"\r\n.\r\n"
_DATA_CHUNK = 256 * 1024


class _IntakeSMTP(SMTP):
    """aiosmtpd's SMTP with bounds per peer and per connection (the module's docstring),
    our wording of size errors, and a faster DATA.

    aiosmtpd reads DATA line by line through a StreamReader whose limit is one line
    (1001 bytes), pausing the socket every 2 KB: ~7 ms of event-loop time for a 270 KB
    mail, most of what one core can give at 50 mails/s. Here DATA is read in chunks and
    the end (exactly CRLF.CRLF: no bare LF, which closed the SMTP-smuggling hole,
    CVE-2024-27305) is searched in the bytes. Lines longer than 1000 bytes are accepted
    (RFC 5321 allows it; the MIME parser bounds its own work); the idle timeout restarts
    with every chunk, so a slow but moving upload is not cut off.
    """

    def __init__(self, handler: IntakeHandler, server: "SmtpServer", **kwargs: Any):
        super().__init__(handler, **kwargs)
        self._server = server
        self._refusal: str | None = None  # the 421 of a connection over a limit
        self._peer_key: str | None = None  # set while the connection is counted
        self._unproductive = 0  # RSETs and refused commands since the last delivered mail

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Called again, with the encrypted transport, after STARTTLS: one connection still.
        if self.transport is None:
            peer = transport.get_extra_info("peername")
            host = peer[0] if isinstance(peer, tuple) else None
            self._peer_key, self._refusal = self._server.admit(host)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._peer_key is not None:
            self._server.release(self._peer_key)
            self._peer_key = None
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._refusal is not None:
            await self.push(self._refusal)  # a 421: push closes the connection
            return
        await super()._handle_client()

    def _too_big(self) -> str:
        return f"552 5.3.4 Message too big; the limit is {self.data_size_limit or 0:,} bytes"

    def _unproductive_over(self) -> bool:
        """Count one RSET or refused command; True once there were too many of them."""
        self._unproductive += 1
        return self._unproductive > self._server.limits.unproductive_commands

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            # aiosmtpd says "552 Error: ..." when MAIL announces SIZE= over the limit.
            if status.startswith("552 Error"):
                status = self._too_big()
            if status.startswith("5") and self._unproductive_over():
                status = "421 4.7.0 Too many refused commands; closing the connection"
        await super().push(status)
        # RFC 5321 §3.8: 421 closes the transmission channel.
        if isinstance(status, str) and status.startswith("421") and self.transport is not None:
            self.transport.close()

    @syntax("RSET")
    async def smtp_RSET(self, arg: str) -> None:  # noqa: N802 - aiosmtpd name
        if self._unproductive_over():
            await self.push("421 4.7.0 Too many RSET without a mail; closing the connection")
            return
        await super().smtp_RSET(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd name
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        slots = self._server.transfers
        try:
            await asyncio.wait_for(slots.acquire(), self._server.limits.transfer_wait_s)
        except TimeoutError:
            await self.push("451 4.3.2 Too many mails arriving at once; please try again later")
            return
        try:
            await self._receive_mail()
        finally:
            slots.release()

    async def _receive_mail(self) -> None:
        assert self.envelope is not None
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if content is None:  # connection gone, or over the limit
            if self.transport is not None:
                self._set_post_data_state()
                await self.push(self._too_big())
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        status = "250 OK" if status is MISSING else status
        if status.startswith("250"):
            self._unproductive = 0  # a delivered mail: resets between mails are fine
        await self.push(status)

    async def _read_data(self) -> bytes | None:
        return await read_data(self._reader, self.data_size_limit or 0, self._reset_timeout)


async def read_data(
    reader: asyncio.StreamReader, limit: int, on_progress: Callable[[], None]
) -> bytes | None:
    """The mail up to CRLF.CRLF, dot-unstuffed; None if over `limit` or cut off.

    Over the limit, reading goes on (keeping only the last bytes, to find the end) so
    that the session stays usable for the next mail (RFC 5321 §4.2.5).
    """
    # The CRLF that ended the DATA command: lets an empty mail (".\r\n") match too.
    buffer = bytearray(b"\r\n")
    dropped = 0  # bytes discarded once over the limit
    scan_from = 0
    while True:
        chunk = await reader.read(_DATA_CHUNK)
        if not chunk:
            return None  # EOF in the middle of DATA
        on_progress()
        buffer += chunk
        end = buffer.find(_END_OF_DATA, scan_from)
        if end >= 0:
            _unread(reader, bytes(buffer[end + len(_END_OF_DATA) :]))
            if dropped or (limit and end > limit):
                return None
            del buffer[end + 2 :]
            # RFC 5321 §4.5.2: a line starting with "." had one more "." put in front.
            if b"\r\n." in buffer:
                buffer = buffer.replace(b"\r\n.", b"\r\n")
            return bytes(memoryview(buffer)[2:])
        if dropped or (limit and len(buffer) - 2 > limit):
            dropped += len(buffer) - 4
            del buffer[:-4]  # enough to find an end marker that spans two chunks
        scan_from = max(0, len(buffer) - len(_END_OF_DATA) + 1)


def _unread(reader: asyncio.StreamReader, extra: bytes) -> None:
    """Bytes after the end of DATA (a client pipelining without PIPELINING): put them back
    for the command loop instead of losing the client's next command."""
    if not extra:
        return
    buffer = getattr(reader, "_buffer", None)
    if isinstance(buffer, bytearray):
        buffer[:0] = extra
    else:  # pragma: no cover - a future asyncio without the attribute
        log.warning("dropped %d bytes sent after the end of DATA", len(extra))


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The STARTTLS context of FIDUFLOW_SMTP_TLS_CERT/_KEY, or None (STARTTLS not offered).

    Mail between servers encrypts opportunistically: a sender that does not ask for
    STARTTLS is still accepted unless FIDUFLOW_SMTP_REQUIRE_TLS is set."""
    if settings.smtp_tls_cert is None or settings.smtp_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise SmtpConfigError(
            f"cannot use FIDUFLOW_SMTP_TLS_CERT={settings.smtp_tls_cert} with "
            f"FIDUFLOW_SMTP_TLS_KEY={settings.smtp_tls_key}: {exc}; both must be readable PEM "
            "files, the key matching the certificate"
        ) from exc
    return context


class SmtpConfigError(ValueError):
    """The SMTP intake cannot start as configured; the message says what to change."""


class SmtpServer:
    """The SMTP intake on its own event loop in a daemon thread. `stop()` ends it."""

    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        settings: Settings,
        request_processing: RequestProcessing | None,
        limits: SmtpLimits | None = None,
    ):
        self._tls = tls_context(settings)  # first: a bad certificate stops us before anything
        self.settings = settings
        self.limits = limits or SmtpLimits.from_settings(settings)
        self.executor = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="smtp-intake")
        self.processing = ProcessingQueue(request_processing, name="smtp-processing")
        self.parsers = MailParsers(self.limits.parse_processes)
        self.handler = IntakeHandler(
            db, store, settings, self.processing, self.executor, self.limits, self.parsers
        )
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._connections = 0
        self._peers = PeerConnections(self.limits.connections_per_peer)
        self._refused_log = LogLimiter()
        self.transfers = asyncio.Semaphore(self.limits.max_transfers)
        self._hostname = settings.inbound_domain or socket.gethostname() or "fiduflow"

    # connection accounting (called on the loop thread only)
    def admit(self, host: str | None) -> tuple[str | None, str | None]:
        """(the peer's key, to release when it closes; None) if the connection may stay,
        (None, the 421 to answer) if it is over a limit."""
        if self._connections >= self.limits.max_connections:
            return None, "421 4.3.2 Too many connections; please try again later"
        key = self._peers.admit(host)
        if key is None:
            due, since = self._refused_log.due()
            if due:
                log.warning(
                    "SMTP connection refused: over %d from one peer (%d more since the last "
                    "such line)",
                    self._peers.per_peer,
                    since,
                )
            return None, "421 4.3.2 Too many connections from your address; try again later"
        self._connections += 1
        return key, None

    def release(self, key: str) -> None:
        self._connections -= 1
        self._peers.release(key)

    def _protocol(self) -> _IntakeSMTP:
        return _IntakeSMTP(
            self.handler,
            self,
            data_size_limit=self.settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self._hostname,
            ident="fiduflow ESMTP",
            timeout=self.limits.idle_timeout_s,
            command_call_limit=self.limits.command_call_limit,
            loop=self._loop,
            tls_context=self._tls,
            require_starttls=self.settings.smtp_require_tls,
        )

    def start(self, ready_timeout: float = 10.0) -> "SmtpServer":
        try:
            # Fill the address cache now; if the database is down, the first RCPT retries.
            self.handler.addresses.reload()
        except StorageUnavailable:
            log.warning("database unavailable at start; recipients are looked up later")
        self.parsers.warm_up()
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, errors), name="smtp-intake-loop", daemon=True
        )
        self._thread.start()
        if not ready.wait(ready_timeout):
            raise RuntimeError("the SMTP server did not start in time")
        if errors:
            raise errors[0]
        log.info("SMTP intake listening on %s:%s", self.host, self.port)
        return self

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                self._loop.create_server(self._protocol, host=self.host, port=self.port)
            )
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._shutdown())
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._thread = None
        # Deliveries already running finish (their mails may be recorded; the sender saw
        # no 250 and retries, which is then a duplicate delivery — nothing is lost).
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.handler.io.shutdown(wait=True)
        self.parsers.close()
        self.processing.stop()
        log.info("SMTP intake stopped")


def start_smtp(
    db: Database,
    store: ObjectStore,
    settings: Settings,
    request_processing: RequestProcessing | None,
    *,
    limits: SmtpLimits | None = None,
) -> SmtpServer:
    """Start the SMTP intake on settings.smtp_host:smtp_port (0: any free port → `.port`)."""
    # aiosmtpd logs every command line at INFO and mail content at DEBUG; mail content
    # never goes to our logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return SmtpServer(db, store, settings, request_processing, limits).start()

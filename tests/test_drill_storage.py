"""Fault drill: the object store and the database go away, one after the other and then
together, while mail (SMTP) and app uploads (HTTP API) keep coming; senders behave like a
real MTA (retry on 4xx with backoff) and a well-behaved app (retry on 503 after
Retry-After, with the same Idempotency-Key). Real services, really cut: moto's S3 server
and PostgreSQL, each behind a TCP proxy that drops every connection and refuses new ones.

While a store is down the answers are `451 4.3.0` and `503` with `Retry-After` — never an
acknowledgement without storage, never a 500. After recovery every delivery completes,
exactly once: one message and one document per mail, one document per upload, every
acknowledged document with its row and its object; processed afterwards, one booking per
document.
"""

import smtplib
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from hashlib import sha256

import httpx
import pytest
from sqlalchemy import func, select

from domain.settings import Settings
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from ingest.api import create_app, run_http_in_thread
from ingest.smtp import start_smtp
from storage.objects import S3ObjectStore
from storage.tables import BookingRow, DocumentRow, MessageRow
from tests.conftest import POSTGRES_URL
from tests.factories import C02_ADDRESS, firm_with_passwords, invoice_pdf, load
from tests.intake_helpers import TcpProxy, mail, postgres_behind_proxy, wire

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow, pytest.mark.timeout(300)]

PER_CHANNEL = 16
SENDERS = 2  # per channel
PACE_S = 0.12  # between one sender's deliveries: the traffic spans the outages
FRITZ = {"Authorization": "Bearer token-fritz"}  # C02 (offline): app upload allowed


@dataclass
class Delivery:
    kind: str  # smtp | api
    data: bytes
    raw: bytes = b""
    key: str = ""
    replies: list[str] = field(default_factory=list)
    acked_at: float | None = None
    document_id: int | None = None


@dataclass
class Outage:
    """When each store was down (monotonic seconds), for the record of the drill."""

    windows: list[tuple[str, float, float]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_down(self) -> bool:
        with self.lock:
            return bool(self.down)


def _mta(port: int, deliveries: list[Delivery], deadline: float) -> None:
    """Like a real MTA: a 4xx (or a dropped connection) means try again later, with
    backoff; a 2xx means the server has it; a 5xx is a bounce."""
    for delivery in deliveries:
        backoff = 0.2
        while delivery.acked_at is None and time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                    client.sendmail("bounce@gloor-elektro.example", [C02_ADDRESS], delivery.raw)
                delivery.replies.append("250")
                delivery.acked_at = time.monotonic()
            except smtplib.SMTPResponseException as exc:
                delivery.replies.append(f"{exc.smtp_code} {exc.smtp_error.decode()[:60]}")
                if exc.smtp_code >= 500:
                    break
            except smtplib.SMTPRecipientsRefused as exc:
                [(code, message)] = exc.recipients.values()
                delivery.replies.append(f"{code} {message.decode()[:60]}")
                if code >= 500:
                    break
            except (OSError, smtplib.SMTPException) as exc:
                delivery.replies.append(f"connection: {exc.__class__.__name__}")
            if delivery.acked_at is None:
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
        time.sleep(PACE_S)


def _app(base: str, deliveries: list[Delivery], deadline: float) -> None:
    """Like the mobile app: on 503 wait as Retry-After says (scaled down: the drill has no
    30 s to spare) and send the same file with the same Idempotency-Key."""
    with httpx.Client(base_url=base, timeout=60) as http:
        for delivery in deliveries:
            while delivery.acked_at is None and time.monotonic() < deadline:
                response = http.post(
                    "/api/v1/documents",
                    headers={**FRITZ, "Idempotency-Key": delivery.key},
                    files={"file": ("rechnung.pdf", delivery.data, "application/pdf")},
                )
                reply = str(response.status_code)
                if response.status_code == 503:
                    reply += f" retry-after={response.headers.get('retry-after')}"
                delivery.replies.append(reply)
                if response.status_code == 201:
                    delivery.acked_at = time.monotonic()
                    delivery.document_id = response.json()["id"]
                elif response.status_code == 503:
                    time.sleep(0.3)
                else:
                    break
            time.sleep(PACE_S)


def test_outages_during_intake_then_every_retried_delivery_completes_once(
    settings: Settings, moto_server: str
):
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured")
    host, port = moto_server.split(":")
    s3_proxy = TcpProxy(host, int(port)).up()
    try:
        _drill(settings, s3_proxy)
    finally:
        s3_proxy.down()


def _drill(settings: Settings, s3_proxy: TcpProxy) -> None:
    store = S3ObjectStore(
        f"127.0.0.1:{s3_proxy.port}", f"drill-{uuid.uuid4().hex[:8]}", "testing", "testing"
    )
    outage = Outage()
    with postgres_behind_proxy(POSTGRES_URL) as (db, db_proxy):
        load(db, firm_with_passwords())
        settings = settings.model_copy(update={"smtp_port": 0, "http_port": 0})
        smtp = start_smtp(db, store, settings, None)
        ready = threading.Event()
        http = run_http_in_thread(create_app(db, store, settings, None), settings, ready)
        assert ready.wait(30)
        try:
            documents = [invoice_pdf("C02", number=n, seed=93)[0] for n in range(2 * PER_CHANNEL)]
            deliveries = [
                Delivery(
                    "smtp",
                    data,
                    raw=wire(
                        mail(
                            to=C02_ADDRESS,
                            attachments=[(f"rechnung-{n}.pdf", data, "application/pdf")],
                        )
                    ),
                )
                for n, data in enumerate(documents[:PER_CHANNEL])
            ] + [
                Delivery("api", data, key=f"upload-{uuid.uuid4().hex}")
                for data in documents[PER_CHANNEL:]
            ]
            deadline = time.monotonic() + 150
            mails = [d for d in deliveries if d.kind == "smtp"]
            uploads = [d for d in deliveries if d.kind == "api"]
            senders = [
                threading.Thread(target=_mta, args=(smtp.port, mails[i::SENDERS], deadline))
                for i in range(SENDERS)
            ] + [
                threading.Thread(
                    target=_app,
                    args=(f"http://127.0.0.1:{http.port}", uploads[i::SENDERS], deadline),
                )
                for i in range(SENDERS)
            ]
            for sender in senders:
                sender.start()

            def acked() -> int:
                return sum(1 for d in deliveries if d.acked_at is not None)

            def cut(names: list[str], seconds: float, after: int) -> None:
                while acked() < after and time.monotonic() < deadline:
                    time.sleep(0.02)
                started = time.monotonic()
                with outage.lock:
                    outage.down.update(names)
                for name in names:
                    (s3_proxy if name == "s3" else db_proxy).down()
                time.sleep(seconds)
                for name in names:
                    (s3_proxy if name == "s3" else db_proxy).up()
                with outage.lock:
                    outage.down.difference_update(names)
                for name in names:
                    outage.windows.append((name, started, time.monotonic()))

            cut(["s3"], 2.0, after=4)
            cut(["db"], 2.0, after=12)
            cut(["s3", "db"], 1.5, after=20)
            for sender in senders:
                sender.join()
        finally:
            http.stop()
            smtp.stop()

        # --- what the senders saw ---------------------------------------------------
        replies = Counter(r.split(" ")[0] for d in deliveries for r in d.replies)
        assert all(d.acked_at is not None for d in deliveries), [
            (d.kind, d.replies) for d in deliveries if d.acked_at is None
        ]
        assert set(replies) <= {"250", "451", "201", "503", "connection:"}, replies
        assert replies["451"] >= 1 and replies["503"] >= 1, replies  # the outages hit
        retry_after = [r for d in deliveries for r in d.replies if r.startswith("503")]
        assert all("retry-after=30" in r for r in retry_after), retry_after
        smtp_451 = [r for d in mails for r in d.replies if r.startswith("451")]
        assert all("4.3.0" in r for r in smtp_451), smtp_451
        # No acknowledgement while a store was down (the ack is the last reply).
        for d in deliveries:
            for name, start, end in outage.windows:
                assert not (start + 0.5 < (d.acked_at or 0) < end - 0.05), (d.kind, name)

        # --- what is stored: exactly once, nothing without its object ----------------
        with db.session() as session:
            rows = list(session.scalars(select(DocumentRow)))
            messages = session.scalar(select(func.count()).select_from(MessageRow))
        by_sha = Counter(r.sha256 for r in rows)
        assert len(rows) == len(deliveries), Counter(r.state for r in rows)
        assert set(by_sha) == {sha256(d.data).hexdigest() for d in deliveries}
        assert max(by_sha.values()) == 1  # no delivery recorded twice
        assert messages == PER_CHANNEL  # one message per mail, retries added nothing
        assert all(store.has_original(r.sha256) for r in rows)
        api_ids = {d.document_id for d in uploads}
        assert api_ids == {r.id for r in rows if r.channel == "app"}

        # --- processed after recovery: one booking per document ----------------------
        runtime = Runtime(settings=settings, db=db, store=store)
        set_runtime(runtime)
        try:
            outcomes = [process_one(r.id, step_runs=False) for r in rows]
        finally:
            set_runtime(None)
        assert {o.state.value for o in outcomes} == {"routed"}, [o.error for o in outcomes]
        with db.session() as session:
            bookings = Counter(session.scalars(select(BookingRow.document_id)))
        assert set(bookings) == {r.id for r in rows} and set(bookings.values()) == {1}
    print(  # the drill's record (pytest -s)
        f"storage drill: replies {dict(replies)}; outages "
        f"{[(n, round(e - s, 1)) for n, s, e in outage.windows]}; {len(rows)} documents, "
        f"{messages} mails, {sum(bookings.values())} bookings"
    )

"""All settings, from the environment (prefix `FIDUFLOW_`). `fiduflow settings` prints them."""

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.enums import DispatchMode, StepRuns


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIDUFLOW_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="The embedded default's folder: SQLite file, objects, exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. "
        "Empty: SQLite file DATA_DIR/fiduflow.db.",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="host:port of MinIO/S3. Empty: objects are files under DATA_DIR/objects.",
    )
    s3_bucket: str = Field(default="fiduflow", description="Bucket for originals and exports.")
    s3_access_key: str | None = Field(default=None, description="S3 access key.")
    s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret key.")
    s3_secure: bool = Field(default=False, description="Use HTTPS to reach S3.")
    s3_region: str = Field(default="us-east-1", description="S3 region name.")

    smtp_host: str = Field(default="127.0.0.1", description="Address the SMTP intake binds.")
    smtp_port: int = Field(default=2525, description="Port of the SMTP intake.")
    smtp_tls_cert: Path | None = Field(
        default=None,
        description="PEM certificate (with its chain) the SMTP intake offers STARTTLS with. "
        "Empty: no STARTTLS (e.g. behind a relay that ends TLS).",
    )
    smtp_tls_key: Path | None = Field(default=None, description="PEM private key of SMTP_TLS_CERT.")
    smtp_require_tls: bool = Field(
        default=False,
        description="Refuse mail sent without STARTTLS (530); needs SMTP_TLS_CERT.",
    )
    smtp_connections_per_peer: int = Field(
        default=10,
        ge=1,
        description="Open SMTP connections one peer (IPv4 address, IPv6 /64) may hold; more "
        "are answered 421 and closed.",
    )
    smtp_idle_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="An SMTP connection that sends no command for this long is closed "
        "(RFC 5321: at least 5 minutes).",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP intake binds.")
    http_port: int = Field(default=8000, description="Port of the HTTP API and web pages.")
    http_connections_per_peer: int = Field(
        default=50,
        ge=1,
        description="Open HTTP connections one peer (IPv4 address, IPv6 /64; trusted proxies "
        "exempt) may hold; more are answered 503 and closed.",
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open HTTP connections and requests in progress per process; beyond "
        "it every request is answered 503. Keep it well above HTTP_CONNECTIONS_PER_PEER.",
    )
    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a request's headers, from connecting (or "
        "the first byte of its next request); then the connection is closed.",
    )
    prefect_port: int = Field(
        default=4200,
        description="Port of Prefect's local server that `fiduflow serve` starts when "
        "PREFECT_API_URL is not set.",
    )
    inbound_domain: str | None = Field(
        default=None, description="Mail domain of the inbound addresses (overrides master data)."
    )
    max_message_bytes: int = Field(
        default=25 * 1024 * 1024, description="Largest mail or upload accepted, in bytes."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs web sessions. Empty: a random key kept in DATA_DIR.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL users reach the web pages at (links in output, e.g. a "
        "booking's document_url). Empty: those links are relative (/api/v1/documents/7), "
        "never taken from a request's Host header.",
    )
    # Outbound mail (digests, reminders, requests): flows/notify.py sends the outbox.
    mail_relay_host: str | None = Field(
        default=None,
        description="SMTP relay outbound mail (digests, reminders, requests) is handed to. "
        "Empty: nothing is sent; each mail is marked logged and the log says what would "
        "have been sent (recipient, subject, Message-ID).",
    )
    mail_relay_port: int = Field(
        default=587, ge=1, le=65535, description="Port of MAIL_RELAY_HOST (587: submission)."
    )
    mail_relay_user: str | None = Field(
        default=None, description="Login at the relay. Empty: no login."
    )
    mail_relay_password: SecretStr | None = Field(
        default=None, description="Password of MAIL_RELAY_USER."
    )
    mail_relay_tls: Literal["auto", "starttls", "ssl", "none"] = Field(
        default="auto",
        description="TLS to the relay: auto (STARTTLS when the relay offers it; required "
        "when logging in), starttls (always required), ssl (TLS from the first byte, "
        "e.g. port 465), none (plain; not with a login).",
    )
    mail_from: str | None = Field(
        default=None,
        description="Sender of outbound mail, e.g. Treuhand Muster AG "
        "<noreply@treuhand.example>. Empty: the firm's name <noreply@ its inbound domain>.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses (or networks, e.g. 10.0.0.0/24) of reverse "
        "proxies whose X-Forwarded-For is believed: for requests from them, the client "
        "address (login and token throttling, logs) is the one they pass on. Empty: none; "
        "the TCP peer's address is used and the header ignored.",
    )

    ocr_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Parallel OCR processes (one tesseract thread each). Default: all cores.",
    )
    ocr_page_timeout_s: float = Field(default=60.0, description="Time limit per OCR page.")
    ocr_max_pages: int = Field(
        default=50,
        ge=1,
        description="Pages without a text layer OCR'd per document; a document with more "
        "is read as far as this and goes to a person (too_large).",
    )
    ocr_document_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="OCR time one document may use: its pages' time in the OCR workers, "
        "added up (waiting for a free worker does not count). Past it the workers reading "
        "it are stopped and the document goes to a person (timeout).",
    )
    ocr_cache_days: float = Field(
        default=30.0,
        gt=0,
        description="Days a page's OCR result stays in DATA_DIR/cache/ocr after it was last "
        "used (it holds document text; older entries are deleted as new pages are read).",
    )
    parse_timeout_s: float = Field(
        default=30.0, description="Time limit for parsing one PDF's text layer."
    )
    lease_seconds: int = Field(
        default=40,
        ge=3,
        description="How long a claimed document stays a worker's without a renewal (a live "
        "worker renews every third of it); a dead worker's documents are taken up again "
        "within about 1.25 times this.",
    )
    max_attempts: int = Field(
        default=3, description="Processing attempts before a document becomes failed."
    )
    inbox_concurrency: int = Field(
        default=4, description="Documents processed at once by one process-inbox run."
    )
    dispatch: DispatchMode = Field(
        default=DispatchMode.AUTO,
        description="What intake does with a recorded document: auto (nothing but wake the "
        "feeder of `fiduflow serve`; the feeders of serve and of every worker take due "
        "documents from the database), inline (the flow in the intake process, no worker "
        "needed), or none (serve runs no feeder: the process-inbox sweep only).",
    )
    document_runs: int = Field(
        default=2,
        ge=0,
        description="Per-document process-document runs one feeder (serve, each worker) "
        "keeps at once while quiet; with more documents due it runs them in one "
        "process-backlog batch.",
    )
    step_runs: StepRuns = Field(
        default=StepRuns.OCR,
        description="Which steps of a document's run are task runs of their own: `ocr` "
        "(only a reading that needs OCR, under the `ocr` limit; the other steps are plain "
        "calls with the same retries, the run's log has the outcome), `all` (every step: "
        "their timings in the UI, ~0.5 s more of Prefect's CPU per document), `none`.",
    )
    worker_runs: int = Field(
        default=4,
        ge=1,
        description="Deployment runs one `fiduflow worker` executes at once (schedules, "
        "sweeps, runs started or retried from the UI); its feeder's document runs come on "
        "top (DOCUMENT_RUNS, or one batch). Reading is bounded by OCR_PROCESSES and the "
        "`ocr` limit.",
    )
    batch_poll_s: float = Field(
        default=0.5,
        gt=0,
        description="How often the feeder of serve and of each worker looks for due "
        "documents (new, retries, expired leases) when nothing wakes it.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            value = [str(item).strip() for item in value if str(item).strip()]
            for item in value:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f"FIDUFLOW_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                        "(give the proxies' addresses, comma-separated)"
                    ) from None
        return value

    @model_validator(mode="after")
    def _tls_settings_go_together(self) -> "Settings":
        if (self.smtp_tls_cert is None) != (self.smtp_tls_key is None):
            raise ValueError(
                "FIDUFLOW_SMTP_TLS_CERT and FIDUFLOW_SMTP_TLS_KEY go together: set both "
                "(STARTTLS offered) or neither"
            )
        if self.smtp_require_tls and self.smtp_tls_cert is None:
            raise ValueError(
                "FIDUFLOW_SMTP_REQUIRE_TLS needs FIDUFLOW_SMTP_TLS_CERT and _KEY: without a "
                "certificate no sender could deliver"
            )
        return self

    @model_validator(mode="after")
    def _mail_login_settings_go_together(self) -> "Settings":
        if (self.mail_relay_user is None) != (self.mail_relay_password is None):
            raise ValueError(
                "FIDUFLOW_MAIL_RELAY_USER and FIDUFLOW_MAIL_RELAY_PASSWORD go together: set "
                "both (the relay asks for a login) or neither"
            )
        if self.mail_relay_user is not None and self.mail_relay_tls == "none":
            raise ValueError(
                "FIDUFLOW_MAIL_RELAY_TLS=none with FIDUFLOW_MAIL_RELAY_USER would send the "
                "relay password in clear; use auto, starttls or ssl"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fiduflow.db').resolve()}"

    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""All settings, from the environment (prefix `FIDUFLOW_`). `fiduflow settings` prints them."""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP intake binds.")
    http_port: int = Field(default=8000, description="Port of the HTTP API and web pages.")
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
        default=None, description="Base URL users reach the web pages at (links in output)."
    )

    ocr_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Parallel OCR processes (one tesseract thread each). Default: all cores.",
    )
    ocr_page_timeout_s: float = Field(default=60.0, description="Time limit per OCR page.")
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
        default=600, description="How long a worker owns a claimed document before reclaim."
    )
    max_attempts: int = Field(
        default=3, description="Processing attempts before a document becomes failed."
    )
    inbox_concurrency: int = Field(
        default=4, description="Documents processed at once by one process-inbox run."
    )
    dispatch: str = Field(
        default="auto",
        description="How intake asks for processing: auto (in `fiduflow serve`: hybrid; "
        "elsewhere: deployment when a Prefect server is reachable, else inline), hybrid "
        "(serve: a process-document run per document while at most DOCUMENT_RUNS are in "
        "flight and the batch worker is idle, otherwise the in-process batch worker), "
        "batch (serve: always the batch worker), deployment (a run per document), inline "
        "(in-process flow), or none (sweep only).",
    )
    document_runs: int = Field(
        default=2,
        ge=0,
        description="Per-document process-document runs at once in hybrid dispatch; "
        "`fiduflow serve` runs at most this many plus 3 (for the schedules) flow runs at once.",
    )
    batch_poll_s: float = Field(
        default=0.5,
        gt=0,
        description="How often the batch worker of `fiduflow serve` looks for due documents "
        "(retries, expired leases) besides those handed to it.",
    )

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

"""What the HTTP API and the web upload page share: the services they run on, and taking
one uploaded file through the intake with the right HTTP answer for every refusal."""

from dataclasses import dataclass, field
from typing import NoReturn

from fastapi import HTTPException, Request, UploadFile

from domain.enums import MediaType, RefusalKind
from domain.filetype import looks_like_pdf, sniff
from domain.records import Client, User
from domain.settings import Settings
from ingest.auth import SessionCodec
from ingest.filenames import safe_filename
from ingest.intake import IntakeRefused, ProcessingQueue, Submission, intake
from ingest.login_throttle import LoginThrottle, TokenThrottle
from storage.db import Database
from storage.documents import IdempotencyConflict, Recorded
from storage.masterdata import get_client
from storage.objects import ObjectStore

# Multipart framing around the file (boundaries, part headers, the small form fields).
MULTIPART_OVERHEAD = 256 * 1024

_REFUSAL_STATUS = {
    RefusalKind.TOO_LARGE: 413,
    RefusalKind.UNSUPPORTED_TYPE: 415,
    RefusalKind.EMPTY: 400,
}


@dataclass
class Services:
    db: Database
    store: ObjectStore
    settings: Settings
    processing: ProcessingQueue
    sessions: SessionCodec
    logins: LoginThrottle = field(default_factory=LoginThrottle)
    tokens: TokenThrottle = field(default_factory=TokenThrottle)


def services(request: Request) -> Services:
    return request.app.state.services


def not_found(what: str, object_id: int | str) -> NoReturn:
    # The same words whether it does not exist or belongs to another client.
    raise HTTPException(404, f"no {what} {object_id}; check the id")


def upload_client(svc: Services, user: User, requested: str | None) -> Client:
    """The client an upload is for: the user's own; staff must name one (`?client=`)."""
    client_id = user.client_id
    if client_id is None:
        if not requested:
            raise HTTPException(
                400, "staff uploads need a client: add ?client=ID (the client's id)"
            )
        client_id = requested
    with svc.db.session() as session:
        client = get_client(session, client_id)
    if client is None:
        # Only staff can get here with a wrong id; a user's own client always exists.
        not_found("client", client_id)
    return client


def refuse_split(user: User) -> None:
    """Only staff ask for a PDF to be split into its documents (the paper an offline
    client brings in is scanned at the firm, many documents in one PDF). A client's user
    asking gets 403 rather than being ignored: ignored, the pile would be read as one
    document without anyone knowing; refused, the app or script learns to send each
    document on its own, as the channels expect of clients."""
    if not user.is_staff:
        raise HTTPException(
            403,
            "split: only the fiduciary's staff split a PDF into its documents; upload each "
            "document as a file of its own",
        )


def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, at most `max_bytes` (read one byte more to notice a larger one)."""
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(
            413, f"the file is larger than the limit of {max_bytes:,} bytes; split or compress it"
        )
    return data


def media_type_of(data: bytes) -> MediaType:
    """By magic bytes only: the name and the declared Content-Type prove nothing."""
    if not data:
        raise HTTPException(400, "the file is empty; choose the file again")
    media_type = sniff(data)
    if media_type is None:
        what = (
            "this file carries a PDF header but is not built like a PDF (another kind of file "
            "made to look like one?)"
            if looks_like_pdf(data)
            else "this file is not a PDF, JPEG, PNG, TIFF, HEIC or XML e-invoice"
        )
        raise HTTPException(
            415,
            f"{what} (judged by its content, not its name); export or scan it as PDF and "
            "upload again",
        )
    return media_type


def display_name(filename: str | None, media_type: MediaType | str) -> str:
    """The name we keep and serve: cleaned, and ending in the type's own extension
    (`setup.exe` holding a PDF is `setup.exe.pdf`). A display name only: storage is by
    SHA-256, the name never becomes a path."""
    known = media_type if isinstance(media_type, MediaType) else _media_type(media_type)
    return safe_filename(filename, media_type=known)


def _media_type(value: str) -> MediaType | None:
    try:
        return MediaType(value)
    except ValueError:
        return None


def submit(svc: Services, submission: Submission) -> Recorded:
    try:
        return intake(
            svc.db,
            svc.store,
            submission,
            max_bytes=svc.settings.max_message_bytes,
            request_processing=svc.processing,
        )
    except IntakeRefused as exc:
        raise HTTPException(_REFUSAL_STATUS.get(exc.kind, 400), exc.reason) from exc
    except IdempotencyConflict as exc:
        raise HTTPException(
            409,
            "this Idempotency-Key was already used for a different file; use a new key for "
            "a new upload",
        ) from exc

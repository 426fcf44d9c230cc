"""`fiduflow check`: every document's original — and every inbound mail's raw bytes —
exists and matches its hash, and which stored objects nothing refers to (left behind by a
crash between the object write and the database commit — harmless, since intake writes the
object first, but worth knowing).
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.objects import ChecksumMismatch, ObjectMissing, ObjectStore
from storage.tables import DocumentRow, MessageRow


@dataclass
class CheckReport:
    documents: int = 0  # distinct document originals referred to
    messages: int = 0  # distinct raw mails referred to (SMTP keeps each mail as received)
    objects: int = 0
    verified: int = 0
    missing: list[str] = field(default_factory=list)  # rows whose original is gone
    corrupt: list[str] = field(default_factory=list)  # originals whose bytes changed
    orphans: list[str] = field(default_factory=list)  # objects no row refers to

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt)


def check_store(session: Session, store: ObjectStore, *, verify: bool = True) -> CheckReport:
    report = CheckReport()
    documents = set(session.scalars(select(DocumentRow.sha256).distinct()))
    # The raw mail is stored under its hash too (ingest.smtp): referred to by its message
    # row, not by a document — without this every mail would be reported as an orphan.
    messages = set(session.scalars(select(MessageRow.raw_sha256).distinct()))
    referenced = documents | messages
    report.documents = len(documents)
    report.messages = len(messages)
    stored = set(store.iter_originals())
    report.objects = len(stored)
    report.orphans = sorted(stored - referenced)
    for sha256 in sorted(referenced):
        if sha256 not in stored:
            report.missing.append(sha256)
            continue
        if not verify:
            continue
        try:
            store.get_original(sha256)
            report.verified += 1
        except ChecksumMismatch:
            report.corrupt.append(sha256)
        except ObjectMissing:
            report.missing.append(sha256)
    return report

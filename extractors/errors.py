"""The exception types of the reading steps.

`ReadFailure` is something about the bytes (encrypted, corrupt, too large, ...): `read`
turns it into a `ReadError` on the reading, and a person gets a task.

`ReaderInterrupted` is something about *us*: the worker reading the file was killed or
stopped (Ctrl-C, a shutdown, the kernel's OOM killer, an operator's `kill`), so nothing
is known about the bytes. `read` never turns it into a `ReadError`: it propagates, the
reading is not cached, and the document's read step is retried.
"""

from domain.enums import ReadErrorKind
from domain.extraction import ReadError


class ReadFailure(Exception):
    def __init__(self, kind: ReadErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def to_error(self) -> ReadError:
        return ReadError(kind=self.kind, message=self.message)


class ReaderInterrupted(Exception):
    """Reading stopped because our own process died or was stopped, not because of the
    file: retry it, never record it as the file's error."""

"""The one exception type the reading steps raise internally; `read` turns it into a ReadError."""

from domain.enums import ReadErrorKind
from domain.extraction import ReadError


class ReadFailure(Exception):
    def __init__(self, kind: ReadErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def to_error(self) -> ReadError:
        return ReadError(kind=self.kind, message=self.message)

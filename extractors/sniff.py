"""What a file is, by its bytes (never by its name)."""

from domain.enums import MediaType


def sniff(data: bytes) -> MediaType | None:
    head = data[:64]
    if b"%PDF-" in data[:1024]:
        return MediaType.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return MediaType.TIFF
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"heim",
        b"hevc",
    ):
        return MediaType.HEIC
    stripped = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return MediaType.XML
    return None

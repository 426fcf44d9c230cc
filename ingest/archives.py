"""Open a ZIP attachment and take out the documents in it — without trusting a single byte.

ZIP bombs lie in their headers, so sizes are counted on the bytes actually decompressed,
chunk by chunk, and reading stops the moment a limit is crossed. Nothing is ever written to
disk (no `extractall`): member names are display names only, cleaned by `safe_filename`.
`open_zip` never raises; a broken archive comes back as an `ArchiveResult` with an `error`.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field, replace

from domain.enums import MediaType
from domain.filetype import is_zip, sniff
from ingest.filenames import safe_filename

_MIB = 1024 * 1024

# Entries that are archive furniture, not content: skipped without a record, like folders.
_NOISE_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
# Zip-based file formats that are documents of their own kind, not archives of documents:
# OOXML (.docx/.xlsx), ODF/EPUB (first member "mimetype"), JAR/APK.
_FORMAT_MARKERS = frozenset({"[content_types].xml", "mimetype", "meta-inf/manifest.mf"})

# End-of-central-directory records, read before zipfile builds one ZipInfo per entry.
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_EOCD_MAX_COMMENT = 65535


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds for opening one archive (and the archives nested in it)."""

    max_members: int = 200  # file entries read; the rest are recorded as skipped
    max_member_bytes: int = 25 * _MIB  # one member, decompressed
    max_total_bytes: int = 25 * _MIB  # everything decompressed from this archive
    # Compression ratio (decompressed / compressed) above which a member is a bomb. Real
    # documents stay far below (PDF 1–3×, XML 10–30×); an uncompressed TIFF of a white
    # page can reach ~150×, hence the margin. Judged only past `ratio_grace_bytes`, so a
    # small, highly compressible file is never refused for its ratio alone.
    max_ratio: float = 200.0
    ratio_grace_bytes: int = 1 * _MIB
    max_nesting: int = 1  # a ZIP inside the ZIP is opened; a ZIP inside that is not
    # The central directory is parsed by zipfile into one object per entry before we
    # can count them; refuse a directory larger than this up front.
    max_directory_bytes: int = 4 * _MIB
    chunk_bytes: int = 64 * 1024


DEFAULT_ARCHIVE_LIMITS = ArchiveLimits()


@dataclass(frozen=True)
class ArchiveMember:
    """A document taken out of an archive."""

    name: str  # safe display name (basename only, cleaned)
    data: bytes
    media_type: MediaType
    # Safe names of the nested archives this member came out of, outermost first;
    # empty for a direct member of the archive that was opened.
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedEntry:
    """An archive entry that did not become a member, and why."""

    name: str  # safe display name
    reason: str  # "encrypted member", "over size limit", "not a document type", ...
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArchiveError:
    """Why the archive as a whole could not be (fully) read."""

    # "not_a_zip" | "corrupt" | "too_large" | "not_an_archive" (an office document)
    kind: str
    message: str


@dataclass(frozen=True)
class ArchiveResult:
    members: list[ArchiveMember] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    error: ArchiveError | None = None
    # Bytes actually decompressed (members kept or not), for the caller's own budget.
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class _RefusedError(Exception):
    """A member's read stopped at a limit or on damage."""

    def __init__(self, reason: str, consumed: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.consumed = consumed  # bytes decompressed before stopping (count them too)


def open_zip(data: bytes, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> ArchiveResult:
    """The documents in a ZIP archive, what was skipped and why. Never raises."""
    try:
        return _open(bytes(data), limits, level=0)
    except Exception as exc:  # a bug or an exotic zipfile error: contained, never escapes
        return ArchiveResult(
            error=ArchiveError("corrupt", f"unreadable archive ({type(exc).__name__})")
        )


def _open(data: bytes, limits: ArchiveLimits, level: int) -> ArchiveResult:
    if not is_zip(data):
        return ArchiveResult(error=ArchiveError("not_a_zip", "not a ZIP archive"))
    directory_error = _check_directory(data, limits)
    if directory_error is not None:
        return ArchiveResult(error=directory_error)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        return ArchiveResult(error=ArchiveError("corrupt", f"broken ZIP archive: {exc}"))
    except Exception as exc:  # struct.error, UnicodeDecodeError on a bad UTF-8 name, ...
        return ArchiveResult(
            error=ArchiveError("corrupt", f"broken ZIP archive ({type(exc).__name__})")
        )
    with archive:
        infos = archive.infolist()
        if any(_raw_name(info).lower() in _FORMAT_MARKERS for info in infos):
            return ArchiveResult(
                error=ArchiveError(
                    "not_an_archive",
                    "an office document (OOXML/ODF/JAR), not an archive of documents",
                )
            )
        return _read_members(archive, infos, limits, level)


def _read_members(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: ArchiveLimits, level: int
) -> ArchiveResult:
    members: list[ArchiveMember] = []
    skipped: list[SkippedEntry] = []
    total = 0
    entries = [
        (info, raw) for info in infos if not info.is_dir() and not _is_noise(raw := _raw_name(info))
    ]
    for index, (info, raw_name) in enumerate(entries):
        display = _display_name(info, raw_name)
        name = safe_filename(display)
        if index >= limits.max_members:
            skipped.append(
                SkippedEntry(
                    name,
                    f"too many members (limit {limits.max_members}); "
                    f"{len(entries) - index} not read",
                )
            )
            break
        if total >= limits.max_total_bytes:
            skipped.append(SkippedEntry(name, "over size limit (archive total)"))
            continue
        if info.flag_bits & 0x1:
            # Bit 0: traditional PKWARE or AES encryption. We have no password to try.
            skipped.append(SkippedEntry(name, "encrypted member"))
            continue
        budget = min(limits.max_member_bytes, limits.max_total_bytes - total)
        try:
            content = _read_member(archive, info, budget, limits)
        except _RefusedError as refused:
            total += refused.consumed
            reason = refused.reason
            if reason == "over size limit" and budget < limits.max_member_bytes:
                reason = "over size limit (archive total)"
            skipped.append(SkippedEntry(name, reason))
            continue
        total += len(content)
        if not content:
            skipped.append(SkippedEntry(name, "empty"))
            continue
        media_type = sniff(content)
        if media_type is not None:
            named = safe_filename(display, media_type=media_type)
            members.append(ArchiveMember(named, content, media_type))
        elif not is_zip(content):
            skipped.append(SkippedEntry(name, "not a document type"))
        elif level + 1 > limits.max_nesting:
            skipped.append(SkippedEntry(name, "nested archive too deep"))
        else:
            inner_limits = replace(limits, max_total_bytes=max(0, limits.max_total_bytes - total))
            inner = _open(content, inner_limits, level + 1)
            total += inner.bytes_read
            members.extend(replace(m, via=(name, *m.via)) for m in inner.members)
            skipped.extend(replace(s, via=(name, *s.via)) for s in inner.skipped)
            if inner.error is not None:
                skipped.append(SkippedEntry(name, f"nested archive: {inner.error.message}"))
    return ArchiveResult(members=members, skipped=skipped, bytes_read=total)


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: ArchiveLimits
) -> bytes:
    """The member's bytes, counted as they come out of the decompressor.

    Raises `_RefusedError(reason, bytes_decompressed)` when a limit is crossed or the member is
    unreadable; the header's sizes are never trusted.
    """
    compressed = max(info.compress_size, 1)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(limits.chunk_bytes)
                if not chunk:
                    break
                size += len(chunk)
                if size > budget:
                    raise _RefusedError("over size limit", size)
                if size > limits.ratio_grace_bytes and size / compressed > limits.max_ratio:
                    raise _RefusedError("compression ratio too high (zip bomb?)", size)
                chunks.append(chunk)
    except _RefusedError:
        raise
    except NotImplementedError:
        raise _RefusedError("unsupported compression method", size) from None
    except RuntimeError as exc:  # zipfile's "encrypted, password required" among others
        raise _RefusedError(f"unreadable member ({exc})", size) from None
    except Exception as exc:  # BadZipFile (bad CRC, header mismatch), zlib.error, EOFError
        raise _RefusedError(f"corrupt member ({type(exc).__name__})", size) from None
    return b"".join(chunks)


def _check_directory(data: bytes, limits: ArchiveLimits) -> ArchiveError | None:
    """Refuse a central directory too large to parse, judged from the end record alone."""
    start = max(0, len(data) - (22 + _EOCD_MAX_COMMENT))
    pos = data.rfind(_EOCD, start)
    if pos < 0 or pos + 22 > len(data):
        return None  # let zipfile produce its own, precise error
    entries, directory_size = struct.unpack("<HI", data[pos + 10 : pos + 16])
    if (entries == 0xFFFF or directory_size == 0xFFFFFFFF) and pos >= 20:
        locator = data[pos - 20 : pos]
        if locator[:4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", locator[8:16])
            record = data[offset : offset + 56]
            if len(record) == 56 and record[:4] == _EOCD64:
                entries, directory_size = struct.unpack("<QQ", record[32:48])
    if directory_size > limits.max_directory_bytes:
        return ArchiveError("too_large", f"central directory of {directory_size} bytes")
    if entries > max(limits.max_members * 50, 1000):
        return ArchiveError("too_large", f"archive lists {entries} entries")
    return None


def _raw_name(info: zipfile.ZipInfo) -> str:
    return info.filename.replace("\\", "/")


def _is_noise(raw_name: str) -> bool:
    parts = [p for p in raw_name.split("/") if p]
    if not parts:
        return True
    base = parts[-1]
    return "__MACOSX" in parts or base.startswith("._") or base.lower() in _NOISE_NAMES


def _display_name(info: zipfile.ZipInfo, raw_name: str) -> str:
    """The entry's name as its creator meant it.

    Without the UTF-8 flag (bit 11) zipfile decodes names as CP437. Windows Explorer in
    Switzerland writes CP850 (same umlaut positions as CP437), but macOS and many tools
    write UTF-8 without setting the flag: if the CP437 reading round-trips to valid
    UTF-8, that is what it was.
    """
    if info.flag_bits & 0x800:
        return raw_name
    try:
        return raw_name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw_name

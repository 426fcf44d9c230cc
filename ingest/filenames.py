"""The display name we keep for a document — cleaned of everything a sender could abuse.

A filename comes from the outside (a mail header, a ZIP entry, a multipart upload) and is
shown to users, written to the `documents` row and sent back in `Content-Disposition` of
downloads. It is never a storage path (storage is content-addressed by SHA-256), but we
still strip every path component so that no later code can be tempted to use it as one.
"""

from __future__ import annotations

import unicodedata

from domain.enums import MediaType

MAX_FILENAME_CHARS = 150
# An extension is a short dot-suffix without spaces; "Rechnung vom 3. März" has none.
_MAX_EXT_CHARS = 10
# Work on at most this much of a hostile name: the head (where the meaning is) and the
# tail (where the extension is). Keeps the per-character loop below bounded.
_MAX_INPUT_HEAD = 1024
_MAX_INPUT_TAIL = 32

DEFAULT_EXTENSIONS: dict[MediaType, str] = {
    MediaType.PDF: "pdf",
    MediaType.JPEG: "jpg",
    MediaType.PNG: "png",
    MediaType.TIFF: "tif",
    MediaType.HEIC: "heic",
    MediaType.XML: "xml",
}
# Extensions that name each type truthfully (compared without case). Any other extension
# on a file of that type is kept as part of the stem and the type's own is added:
# `setup.exe` holding a PDF becomes `setup.exe.pdf`, so no download opens as a program or
# a web page. Appended rather than replaced, so "Rechnung 2026.03" loses nothing.
TYPE_EXTENSIONS: dict[MediaType, frozenset[str]] = {
    MediaType.PDF: frozenset({"pdf"}),
    MediaType.JPEG: frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    MediaType.PNG: frozenset({"png"}),
    MediaType.TIFF: frozenset({"tif", "tiff"}),
    MediaType.HEIC: frozenset({"heic", "heif", "hif"}),
    MediaType.XML: frozenset({"xml"}),
}
_FALLBACK_STEM = "document"

# Unicode categories removed outright: format characters (bidi overrides U+202A–U+202E and
# isolates U+2066–U+2069, zero-width chars, BOM, soft hyphen), lone surrogates (what
# undecodable mail bytes turn into), private use, unassigned code points.
_DROP_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
# Categories turned into a space: control characters (NUL, CR, LF, TAB, C1 controls) and
# line/paragraph separators. A space, not nothing, so "Rechnung\nMüller" stays two words.
_SPACE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# Characters Windows refuses in names, and the quote that breaks Content-Disposition.
_RESERVED = str.maketrans(dict.fromkeys('<>:"|?*', "_"))


def safe_filename(name: str | None, *, media_type: MediaType | None = None) -> str:
    """A safe display name for `name`; never empty, ".", "..", a dotfile or a path.

    Rules, in order: keep only the last path component (``/`` and ``\\``, drive letters),
    drop control/format/bidi characters, normalise to NFC, replace characters Windows
    forbids, collapse whitespace, strip leading/trailing dots and spaces, cap at
    150 characters keeping the extension, and — when the media type is known and the
    name does not end in one of its extensions — add the type's extension (`setup.exe`
    → `setup.exe.pdf`). Empty → ``document.<ext>``.
    """
    ext_default = DEFAULT_EXTENSIONS.get(media_type) if media_type is not None else None
    cleaned = _clean(name if isinstance(name, str) else "")
    stem, ext = _split_extension(cleaned)
    if ext_default and stem and ext.lower() not in TYPE_EXTENSIONS[media_type]:  # type: ignore[index]
        stem, ext = cleaned, ext_default
    if not stem:
        stem = _FALLBACK_STEM
        ext = ext or ext_default or ""
    return _assemble(stem, ext)


def _clean(name: str) -> str:
    # Path components first, on the raw string: nothing later can create a separator.
    name = name.replace("\\", "/")
    name = name[name.rfind("/") + 1 :]
    if len(name) > _MAX_INPUT_HEAD + _MAX_INPUT_TAIL:
        name = name[:_MAX_INPUT_HEAD] + name[-_MAX_INPUT_TAIL:]
    # "C:evil.pdf" (drive-relative path) → "evil.pdf".
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        name = name[2:]
    out: list[str] = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in _SPACE_CATEGORIES:
            out.append(" ")
        elif category not in _DROP_CATEGORIES:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out)).translate(_RESERVED)
    # str.split() splits on every Unicode space (NBSP, ideographic space, ...).
    text = " ".join(text.split())
    # No hidden dotfiles, no "." / "..", no trailing dots (Windows drops them silently).
    return text.strip(". ")


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= _MAX_EXT_CHARS and " " not in ext:
        return stem.rstrip(". "), ext
    return name, ""


def _assemble(stem: str, ext: str) -> str:
    suffix = f".{ext}" if ext else ""
    room = MAX_FILENAME_CHARS - len(suffix)
    result = ""
    # Truncating can split a base character from its combining marks, and NFC of the
    # shorter string may differ; loop until the result is stable (two rounds at most).
    for _ in range(4):
        stem = stem[:room].rstrip(". ") or _FALLBACK_STEM
        result = unicodedata.normalize("NFC", stem + suffix)
        if len(result) <= MAX_FILENAME_CHARS:
            break
        room -= len(result) - MAX_FILENAME_CHARS
    return result

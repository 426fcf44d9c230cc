"""The text body of a mail, for metadata: plain text preferred, else HTML made text,
cleaned and capped; and the `cid:` references an HTML body makes to inline images."""

from __future__ import annotations

import html
import re

from ingest.mime.model import _MIB

_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean_body(text: str, cap: int) -> str:
    text = text[: cap * 4].replace("\r\n", "\n").replace("\r", "\n")
    text = _BODY_CONTROL.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()[:cap]


_CID_REF = re.compile(r"""cid:([^\s"'<>()\\]{1,1000})""", re.IGNORECASE)
_TAG = re.compile(r"<\s*/?\s*([a-zA-Z0-9]*)[^<>]*>")
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre", "hr", "title", "body", "html", "head"}
)


def _tag_to_space(match: re.Match[str]) -> str:
    return "\n" if match.group(1).lower() in _BLOCK_TAGS else " "


def _html_to_text(markup: str) -> str:
    """Rough text of an HTML body, for metadata: linear time, no HTML parser involved."""
    markup = markup[: 2 * _MIB]
    lower = markup.lower()
    kept: list[str] = []
    pos = 0
    while True:
        starts = [i for i in (lower.find("<script", pos), lower.find("<style", pos)) if i >= 0]
        if not starts:
            kept.append(markup[pos:])
            break
        start = min(starts)
        kept.append(markup[pos:start])
        tag = "</script" if lower.startswith("<script", start) else "</style"
        end = lower.find(tag, start)
        if end < 0:
            break
        close = lower.find(">", end)
        pos = len(markup) if close < 0 else close + 1
    text = _TAG.sub(_tag_to_space, "".join(kept))
    text = html.unescape(text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _body_text(texts: list[tuple[int, int, str]], max_body_chars: int) -> str:
    """The body of the shallowest mail that has text (`texts`: depth, 0 plain / 1 html,
    text): its plain text, else its HTML made text."""
    if not texts:
        return ""
    depth = min(d for d, _, _ in texts)
    plain = [t for d, kind, t in texts if d == depth and kind == 0 and t.strip()]
    if plain:
        text = "\n\n".join(plain)
    else:
        text = "\n\n".join(_html_to_text(t) for d, kind, t in texts if d == depth and kind == 1)
    return _clean_body(text, max_body_chars)

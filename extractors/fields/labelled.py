"""Find the value printed next to (or under) a label, using the lines' word positions."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from extractors.fields.labels import fold_text
from extractors.layout import Line


@dataclass(frozen=True, slots=True)
class Hit:
    """A value's text and where it sits (line, character span in `line.text`)."""

    text: str
    line: Line
    start: int
    end: int
    label: str
    below: bool = False  # found under the label rather than beside it
    label_line: Line | None = None  # the line holding the label (== line unless below)
    label_start: int = 0  # where the label starts in label_line.text


def compile_labels(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z])")


_LEAD = re.compile(r"[\s:#.\-–=]*")


def _segment(text: str, start: int) -> tuple[int, int]:
    """From `start`, skip separators and take up to the next column gap (two spaces)."""
    m = _LEAD.match(text, start)
    begin = m.end() if m else start
    gap = text.find("  ", begin)
    end = gap if gap != -1 else len(text)
    return begin, end


def find_labelled(
    lines: list[Line], label_re: re.Pattern[str], *, look_below: bool = True
) -> Iterator[Hit]:
    """Each label match with the text after it; or, when nothing follows, the text under it."""
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        for m in label_re.finditer(folded):
            begin, end = _segment(line.text, m.end())
            if end > begin:
                yield Hit(
                    line.text[begin:end],
                    line,
                    begin,
                    end,
                    m.group(0),
                    label_line=line,
                    label_start=m.start(),
                )
                # A grid of labels (values printed underneath) has another label here:
                # fall through and offer the text under this label too.
                if any(ch.isdigit() for ch in line.text[begin:end]):
                    continue
            if not look_below:
                continue
            label_words = line.words_in(m.start(), m.end())
            if not label_words:
                continue
            x0, x1 = label_words[0].x0, label_words[-1].x1
            height = max(w.bottom - w.top for w in label_words)
            for below in lines[i + 1 : i + 4]:
                if below.page != line.page or below.top - line.bottom > height * 2.5:
                    break
                for w, off in zip(below.words, below.offsets, strict=True):
                    if w.x1 >= x0 - height and w.x0 <= x1 + height * 2:
                        b_begin, b_end = _segment(below.text, off)
                        yield Hit(
                            below.text[b_begin:b_end],
                            below,
                            b_begin,
                            b_end,
                            m.group(0),
                            below=True,
                            label_line=line,
                            label_start=m.start(),
                        )
                        break
                else:
                    continue
                break

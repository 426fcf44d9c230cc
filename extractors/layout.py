"""Words with positions -> lines of text, the same way for the text layer and for OCR.

A gap wider than about one letter height between two words is written as two spaces, so
that parsers see columns (`Menge 2  150.00` is not the amount 2 150.00).
"""

from dataclasses import dataclass
from statistics import median

from extractors.reading import Word


@dataclass(slots=True)
class Line:
    words: list[Word]
    text: str
    # Character offset of each word in `text`.
    offsets: list[int]

    @property
    def page(self) -> int:
        return self.words[0].page

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def size(self) -> float:
        """Median letter size: one tall OCR box (a table rule read as "|") must not make a
        table header look like a title."""
        sizes = sorted(w.size for w in self.words)
        return sizes[len(sizes) // 2] if sizes else 0.0

    def words_in(self, start: int, end: int) -> list[Word]:
        """The words covering characters start..end of `text`."""
        out = []
        for w, off in zip(self.words, self.offsets, strict=True):
            if off < end and off + len(w.text) > start:
                out.append(w)
        return out


def group_lines(words: list[Word]) -> list[Line]:
    """Cluster words into lines by vertical overlap, then order each line left to right."""
    if not words:
        return []
    heights = [w.bottom - w.top for w in words if w.bottom > w.top]
    typical = median(heights) if heights else 10.0
    ordered = sorted(words, key=lambda w: (w.top + w.bottom) / 2)
    rows: list[list[Word]] = []
    band: tuple[float, float] | None = None  # running mean top and bottom of the last row
    for w in ordered:
        if rows and band is not None:
            top, bottom = band
            overlap = min(bottom, w.bottom) - max(top, w.top)
            smaller = min(bottom - top, w.bottom - w.top, typical * 1.5)
            # Ascenders (À) and descenders (p, y) move OCR boxes up and down: what counts
            # is that the boxes share most of their height.
            if overlap >= 0.5 * max(smaller, 1.0):
                rows[-1].append(w)
                n = len(rows[-1])
                band = (top + (w.top - top) / n, bottom + (w.bottom - bottom) / n)
                continue
        rows.append([w])
        band = (w.top, w.bottom)
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda w: w.x0)
        # Split a row where words overlap badly in x (two columns at the same height
        # drawn over each other do not happen; OCR duplicates do): keep it simple.
        parts: list[str] = []
        offsets: list[int] = []
        pos = 0
        prev: Word | None = None
        for w in row:
            if prev is not None:
                height = max(prev.bottom - prev.top, w.bottom - w.top, 1.0)
                gap = w.x0 - prev.x1
                sep = "  " if gap > height * 1.1 else " "
                parts.append(sep)
                pos += len(sep)
            offsets.append(pos)
            parts.append(w.text)
            pos += len(w.text)
            prev = w
        lines.append(Line(words=row, text="".join(parts), offsets=offsets))
    return lines


def page_text(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines)

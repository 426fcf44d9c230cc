"""How candidate values for a field compete, and where on the page they were read.

`FieldSet` keeps the best value per field: agreeing sources combine as independent
evidence, a contradiction costs the winner some confidence, an exact source (e-invoice XML)
overrides. The box helpers turn the words a value was read from into its position, and
`ocr_factor` weighs a value by how sure OCR was of those words.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.enums import TextSource
from domain.extraction import Box, Extraction
from extractors.layout import Line
from extractors.reading import PageText, Reading, Word

# How candidates combine (`FieldSet.offer`):
# - two sources that agree are independent evidence, 1 - (1 - a)(1 - b), but never
#   certainty: a page read twice the same wrong way stays possible;
AGREEMENT_CAP = 0.995
# - a contradiction costs the winner this share of the loser's confidence (two readings
#   that disagree make both less sure);
CONTRADICTION_COST = 0.25
# - and no value read from the page falls below this (0 would mean "not read").
FLOOR = 0.05
# An exact source (e-invoice XML) that the page contradicts stays below certainty.
EXACT_CONTRADICTED = 0.9


@dataclass
class Pick:
    value: Any
    conf: float
    box: Box | None = None
    source: str = ""


class FieldSet:
    """The best value per field so far, with confidence and position."""

    def __init__(self) -> None:
        self.picks: dict[str, Pick] = {}
        # Facts kept for the cross-checks, not fields themselves.
        self.net: Decimal | None = None
        self.recipient_block: Any = None
        self.term_days: int | None = None

    def offer(
        self, name: str, value: Any, conf: float, box: Box | None = None, source: str = ""
    ) -> None:
        if value is None or value == "":
            return
        old = self.picks.get(name)
        if old is None:
            self.picks[name] = Pick(value, conf, box, source)
        elif old.value == value:
            if old.source != source:
                # Two independent sources agree: combine as independent evidence.
                old.conf = min(AGREEMENT_CAP, 1 - (1 - old.conf) * (1 - conf))
            else:
                old.conf = max(old.conf, conf)
            old.box = old.box or box
        elif conf > old.conf:
            # A contradiction costs the winner some confidence.
            self.picks[name] = Pick(
                value, max(FLOOR, conf - CONTRADICTION_COST * old.conf), box or old.box, source
            )
        else:
            old.conf = max(FLOOR, old.conf - CONTRADICTION_COST * conf)

    def override(
        self,
        name: str,
        value: Any,
        conf: float,
        box: Box | None = None,
        source: str = "",
        conflict_conf: float = EXACT_CONTRADICTED,
    ) -> None:
        """An exact source (e-invoice XML) wins; a page that says otherwise costs a little."""
        if value is None or value == "":
            return
        old = self.picks.get(name)
        if old is not None and old.value != value:
            conf = min(conf, conflict_conf)
        self.picks[name] = Pick(value, conf, box or (old.box if old else None), source)

    def set(
        self, name: str, value: Any, conf: float, box: Box | None = None, source: str = ""
    ) -> None:
        self.picks[name] = Pick(value, conf, box, source)

    def get(self, name: str) -> Any:
        pick = self.picks.get(name)
        return pick.value if pick else None

    def conf(self, name: str) -> float:
        pick = self.picks.get(name)
        return pick.conf if pick else 0.0

    def adjust(self, name: str, conf: float) -> None:
        if name in self.picks:
            self.picks[name].conf = max(0.02, min(AGREEMENT_CAP, conf))


def norm_rate(rate: Decimal) -> Decimal:
    """8.10 -> 8.1, 20.0 -> 20 (never 2E+1)."""
    if rate == rate.to_integral():
        return Decimal(int(rate))
    return rate.normalize()


def set_source(ex: Extraction, name: str, source: str, page_source: TextSource | None) -> None:
    """The field's source as people are shown it: the QR-bill or the e-invoice XML when
    the value came from there, else how the page was read (text layer or OCR)."""
    exact = {"qr": TextSource.QR, "xml": TextSource.XML}.get(source)
    if exact is not None:
        ex.sources[name] = exact
    elif page_source is not None:
        ex.sources[name] = page_source


def page_sizes(reading: Reading) -> list[tuple[float, float]]:
    """Every page's (width, height) by number, in the units its words' positions use;
    (0, 0) for a page that was not read (OCR limit, a failed page): its size is unknown
    and no field lies on it."""
    known = {p.number: (round(p.width, 2), round(p.height, 2)) for p in reading.pages}
    count = max(reading.page_count, max(known, default=0))
    return [known.get(number, (0.0, 0.0)) for number in range(1, count + 1)]


def box_of(words: list[Word]) -> Box | None:
    if not words:
        return None
    return Box(
        page=words[0].page,
        x0=min(w.x0 for w in words),
        top=min(w.top for w in words),
        x1=max(w.x1 for w in words),
        bottom=max(w.bottom for w in words),
    )


def span_box(line: Line, start: int, end: int) -> Box | None:
    return box_of(line.words_in(start, end))


def ocr_factor(words: list[Word]) -> float:
    """Confidence multiplier for values read by OCR: 1.0 for the text layer."""
    confs = [w.conf for w in words if w.conf is not None]
    if not confs:
        return 1.0
    return 0.55 + 0.45 * min(1.0, (sum(confs) / len(confs)) / 95)


@dataclass
class Doc:
    """The pages and lines the fields are taken from (the first part of a split file)."""

    pages: list[PageText]
    lines: list[Line]
    lines_by_page: dict[int, list[Line]]

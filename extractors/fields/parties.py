"""Who sent the document and to whom: the letterhead (sender block) vs the address window.

Positions decide, not order: Swiss letters put the window right (C5 right window, about
100-190 mm from the left, 40-90 mm from the top), DIN 5008 left (20-105 mm, 45-90 mm).
The letterhead is at the very top or in the footer. The small return-address line at the
top of a window ("Muster AG · Bahnhofstr. 1 · 8001 Zürich") belongs to the sender.
"""

import re
from dataclasses import dataclass, field

from extractors.layout import Line
from extractors.reading import Word

MM = 72 / 25.4
TOWN_RE = re.compile(
    r"^(?:(?:CH|D|DE|A|AT|F|FR|I|IT|FL|LI)[-\s])?(\d{4,5})\s+([A-ZÀ-Ýa-zà-ÿ][\w\s.'’\-()/]{1,40})$"
)
LEGAL_FORM_RE = re.compile(
    r"(?<![\w])(AG|GmbH|SA|S\.A\.|Sàrl|Sarl|S\.à\s?r\.l\.|Sagl|KG|GbR|e\.K\.|SRL|S\.r\.l\.|SpA|"
    r"S\.p\.A\.|SAS|SARL|Ltd\.?|Inc\.?|LLC|Genossenschaft|Stiftung|Verein|Einzelfirma|& Co\.?|"
    r"Co\.|Cie)(?![\w])"
)
_SALUTATION = re.compile(
    r"^(?:herrn?|frau|firma|monsieur|madame|mme|m\.|signor[ae]?|sig\.r?a?|spett\.(?:le)?|"
    r"mr\.?|mrs\.?|ms\.?|z\.\s?h\.|zhd\.?|c/o|à l'att|all'att|attn)\b",
    re.IGNORECASE,
)
_NOT_ADDRESS = re.compile(
    r"(?<![a-zà-ÿ])(?:tel|phone|fax|e-?mail|www\.|http|iban|uid|mwst|tva|iva|vat|bic|swift|seite|page|"
    r"pagina|datum|date|data|rechnung|facture|fattura|invoice)(?![a-zà-ÿ])|@",
    re.IGNORECASE,
)


@dataclass
class Segment:
    words: list[Word]
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass
class Block:
    segments: list[Segment] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [s.text for s in self.segments]

    @property
    def x0(self) -> float:
        return min(s.x0 for s in self.segments)

    @property
    def top(self) -> float:
        return self.segments[0].top

    @property
    def bottom(self) -> float:
        return self.segments[-1].bottom

    def town_index(self) -> int | None:
        for i, s in enumerate(self.segments):
            if TOWN_RE.match(s.text.strip()):
                return i
        return None


def segments(line: Line) -> list[Segment]:
    """Split a line where words are far apart (two columns at the same height)."""
    out: list[list[Word]] = [[line.words[0]]]
    for prev, w in zip(line.words, line.words[1:], strict=False):
        small, big = sorted((max(prev.bottom - prev.top, 1.0), max(w.bottom - w.top, 1.0)))
        gap = w.x0 - prev.x1
        # Far apart, or a jump in size (a logo's initials next to the letterhead).
        if gap > small * 2.2 or (big > small * 1.5 and gap > small * 0.8):
            out.append([w])
        else:
            out[-1].append(w)
    return [
        Segment(
            ws,
            " ".join(w.text for w in ws),
            ws[0].x0,
            ws[-1].x1,
            min(w.top for w in ws),
            max(w.bottom for w in ws),
            max(w.size for w in ws),
        )
        for ws in out
    ]


def _aligned(a: Segment, b: Segment, tol: float) -> bool:
    """Left-, right- or centre-aligned: letterheads come in all three."""
    return (
        abs(a.x0 - b.x0) <= tol
        or abs(a.x1 - b.x1) <= tol
        or abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2) <= tol
    )


def blocks(lines: list[Line], top_limit: float) -> list[Block]:
    """Aligned runs of segments, closely stacked, above `top_limit`."""
    segs = [s for line in lines if line.top < top_limit for s in segments(line)]
    segs.sort(key=lambda s: (s.top, s.x0))
    result: list[Block] = []
    for s in segs:
        height = max(s.bottom - s.top, 1.0)
        for block in result:
            last = block.segments[-1]
            if _aligned(last, s, height * 1.2) and -1 <= s.top - last.bottom <= height * 1.4:
                block.segments.append(s)
                break
        else:
            result.append(Block([s]))
    return result


@dataclass
class Parties:
    sender: Block | None  # the letterhead: name first, then its address lines
    recipient: Block | None
    return_line: str | None  # the sender's one-line return address in the window


_LOGO = re.compile(r"^[A-ZÄÖÜ&]{1,3}$")


def _window_block(candidates: list[Block], width: float) -> tuple[Block | None, str | None]:
    best: Block | None = None
    for block in candidates:
        town = block.town_index()
        if town is None:
            continue
        town_top = block.segments[town].top / MM
        if not 45 <= town_top <= 100:
            continue
        if best is None or (block.x0 > width * 0.45) > (best.x0 > width * 0.45):
            best = block
    if best is None:
        return None, None
    segs = list(best.segments)
    town = best.town_index() or 0
    # Keep at most five lines above the town line (company, contact, street).
    segs = segs[max(0, town - 5) :]
    return_line = None
    while len(segs) > 2:
        first, second = segs[0], segs[1]
        small = first.size and second.size and first.size < second.size * 0.85
        if small or re.search(r"[·•|]", first.text) or first.top / MM < 45:
            if return_line is None and re.search(r"[·•|,]", first.text):
                return_line = first.text
            segs = segs[1:]
            continue
        break
    return Block(segs), return_line


def find_parties(lines: list[Line], width: float, height: float) -> Parties:
    """The sender (letterhead) and the recipient (window) on a first page."""
    candidates = blocks(lines, min(height * 0.45, 110 * MM))
    recipient, return_line = _window_block(candidates, width)
    recipient_segs = {id(s) for s in recipient.segments} if recipient else set()
    # The letterhead name: the biggest text in the top band that is not a logo or title.
    top_segs = [
        s
        for line in lines
        if line.top < 42 * MM
        for s in segments(line)
        if id(s) not in recipient_segs
        and not _LOGO.match(s.text.strip())
        and len(s.text.strip()) > 2
    ]
    sender: Block | None = None
    if top_segs:
        # The letterhead name is the biggest text; among near-equals (OCR box heights
        # wobble) the topmost.
        biggest = max(s.size for s in top_segs)
        name_seg = min((s for s in top_segs if s.size >= biggest * 0.88), key=lambda s: s.top)
        for block in candidates:
            for i, seg in enumerate(block.segments):
                if abs(seg.top - name_seg.top) < 0.5 and abs(seg.x0 - name_seg.x0) < 0.5:
                    sender = Block([name_seg, *block.segments[i + 1 : i + 6]])
                    break
            if sender:
                break
        sender = sender or Block([name_seg])
    elif candidates:
        first = min(candidates, key=lambda b: b.top)
        if id(first.segments[0]) not in recipient_segs:
            sender = first
    if sender is not None and len(sender.segments) == 1 and return_line:
        # Letterheads that print only the name: the window's return line has the address.
        parts = [p.strip() for p in re.split(r"[·•|]", return_line) if p.strip()]
        if len(parts) >= 2:
            seg = sender.segments[0]
            sender = Block(
                [
                    seg,
                    *[
                        Segment(
                            [], p, seg.x0, seg.x1, seg.top + i + 1, seg.bottom + i + 1, seg.size
                        )
                        for i, p in enumerate(parts[1:])
                    ],
                ]
            )
    return Parties(sender=sender, recipient=recipient, return_line=return_line)


def address_from_block(block: Block) -> dict[str, object]:
    """Name, street, postcode, city and the printed lines of an address block."""
    lines = [
        part.strip()
        for s in block.segments
        for part in re.split(r"\s[·•|]\s", s.text)
        if part.strip()
    ]
    town = next((i for i, t in enumerate(lines) if TOWN_RE.match(t)), None)
    if town is not None:
        lines = (
            lines[: town + 2]
            if town + 1 < len(lines) and _is_country(lines[town + 1])
            else lines[: town + 1]
        )
    name_lines = []
    body = lines
    for i, text in enumerate(lines):
        if i and _NOT_ADDRESS.search(text):
            body = lines[:i]
            break
    lines = body or lines
    town = next((i for i, t in enumerate(lines) if TOWN_RE.match(t)), None)
    postcode = city = street = None
    if town is not None:
        m = TOWN_RE.match(lines[town])
        assert m
        postcode, city = m.group(1), m.group(2).strip()
        street = lines[town - 1] if town >= 2 else None
        name_lines = lines[: max(town - 1, 1)] if town >= 2 else lines[:1]
    else:
        name_lines = lines[:1]
    name_lines = [t for t in name_lines if not _SALUTATION.match(t)] or name_lines
    return {
        "name": name_lines[0] if name_lines else None,
        "street": street,
        "postcode": postcode,
        "city": city,
        "lines": lines,
    }


def _is_country(text: str) -> bool:
    return text.strip().lower() in {
        "schweiz",
        "suisse",
        "svizzera",
        "switzerland",
        "deutschland",
        "germany",
        "allemagne",
        "germania",
        "österreich",
        "austria",
        "autriche",
        "france",
        "frankreich",
        "francia",
        "italia",
        "italien",
        "italie",
        "italy",
        "liechtenstein",
    }

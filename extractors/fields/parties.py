"""Who sent the document and to whom: the letterhead (sender block) vs the address window.

Positions decide, not order: Swiss letters put the window right (C5 right window, about
100-190 mm from the left, 40-90 mm from the top), DIN 5008 left (20-105 mm, 45-90 mm).
The letterhead is at the very top or in the footer. The small return-address line at the
top of a window ("Muster AG · Bahnhofstr. 1 · 8001 Zürich") belongs to the sender.

The supplier is the issuing party: `supplier_name` weighs every reading of its name — a
seller label ("From", "Verkäufer", "Payable to"), the block with the issuer's VAT id /
UID / register entry / IBAN, a one-line address, the letterhead (biggest, registered
name), an address block's head, a repeat in the footer — and never takes the addressee
(the window, or a "Bill to" / "Rechnungsadresse" / "Factuuradres" / "Facturar a" block,
which `labelled_recipient` reads for layouts without a window). A name backed by one
weak reading keeps a low confidence.
"""

import re
from dataclasses import dataclass, field

from extractors.fields.amounts import AMOUNT_RE
from extractors.fields.iban import find_ibans
from extractors.fields.party_names import (
    ADDRESSEE_LABEL_RE,
    LEGAL_FORM_RE,
    SELLER_LABEL_RE,
    fold_text,
    has_recipient_word,
    id_label_at,
    is_address_line,
    is_contact,
    letters,
    name_in,
    name_key,
    name_part,
    split_parts,
)
from extractors.fields.uid import find_uids
from extractors.layout import Line
from extractors.reading import Word

MM = 72 / 25.4
TOWN_RE = re.compile(
    r"^(?:(?:CH|D|DE|A|AT|F|FR|I|IT|FL|LI)[-\s])?(\d{4,5})\s+([A-ZÀ-Ýa-zà-ÿ][\w\s.'’\-()/]{1,40})$"
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
        h_prev, h_w = max(prev.bottom - prev.top, 1.0), max(w.bottom - w.top, 1.0)
        # A dot, a dash or a speck read by OCR has a box of its own height: not a jump.
        if _speck(prev):
            h_prev = h_w
        if _speck(w):
            h_w = h_prev
        small, big = sorted((h_prev, h_w))
        gap = w.x0 - prev.x1
        if LEGAL_FORM_RE.fullmatch(w.text) and big <= small * 1.3 and gap < small * 10:
            out[-1].append(w)  # "GmbH" set apart still belongs to the name before it
            continue
        # Far apart, or a jump in size (a logo's initials next to the letterhead). OCR box
        # heights wobble with capitals and descenders: there a jump needs a wider gap.
        jump_gap = small * (1.5 if w.conf is not None else 0.8)
        if gap > small * 2.2 or (big > small * 1.5 and gap > jump_gap):
            out.append([w])
        else:
            out[-1].append(w)
    return [
        Segment(
            ws,
            " ".join(w.text for w in ws if not _noise(w, ws)) or " ".join(w.text for w in ws),
            ws[0].x0,
            ws[-1].x1,
            min(w.top for w in ws),
            max(w.bottom for w in ws),
            max(w.size for w in ws),
        )
        for ws in out
    ]


def _speck(w: Word) -> bool:
    """Punctuation, or a word OCR hardly recognised."""
    return not any(ch.isalnum() for ch in w.text) or (w.conf is not None and w.conf < 50)


def _noise(w: Word, ws: list[Word]) -> bool:
    """A tiny, barely recognised OCR word among letters of a normal size (dust, a rule)."""
    tallest = max(x.bottom - x.top for x in ws)
    return w.conf is not None and w.conf < 50 and (w.bottom - w.top) < 0.4 * tallest


def _aligned(a: Segment, b: Segment, tol: float) -> bool:
    """Left-, right- or centre-aligned: letterheads come in all three."""
    return (
        abs(a.x0 - b.x0) <= tol
        or abs(a.x1 - b.x1) <= tol
        or abs((a.x0 + a.x1) / 2 - (b.x0 + b.x1) / 2) <= tol
    )


def stack(segs: list[Segment]) -> list[Block]:
    """Aligned runs of the given segments, closely stacked."""
    segs = sorted(segs, key=lambda s: (s.top, s.x0))
    reach = max((s.bottom - s.top for s in segs), default=1.0) * 1.4
    result: list[Block] = []
    open_blocks: list[Block] = []  # those a later segment can still join
    for s in segs:
        height = max(s.bottom - s.top, 1.0)
        open_blocks = [b for b in open_blocks if s.top - b.segments[-1].bottom <= reach]
        for block in open_blocks:
            last = block.segments[-1]
            if _aligned(last, s, height * 1.2) and -1 <= s.top - last.bottom <= height * 1.4:
                block.segments.append(s)
                break
        else:
            result.append(Block([s]))
            open_blocks.append(result[-1])
    return result


@dataclass
class Parties:
    sender: Block | None  # the letterhead: name first, then its address lines
    recipient: Block | None
    return_line: str | None  # the sender's one-line return address in the window


def seg_key(seg: Segment) -> tuple[float, float]:
    """Where a segment is: segments of the same line made twice compare equal by it."""
    return (round(seg.top, 1), round(seg.x0, 1))


def seg_conf(seg: Segment) -> float | None:
    """Mean OCR confidence of a segment's words, None for the text layer."""
    confs = [w.conf for w in seg.words if w.conf is not None]
    return sum(confs) / len(confs) if confs else None


def _letterhead_column(block: Block, sender_keys: set[str]) -> bool:
    """A block with phone, e-mail, web or tax-id lines, or one naming the letterhead, is
    the sender's own column: an address window carries none of these."""
    segs = [s for s in block.segments if not is_return_line(s.text)]
    if not segs:
        return False
    for seg in segs:
        folded = fold_text(seg.text)
        if is_contact(seg.text) or (
            id_label_at(folded) is not None and not has_recipient_word(folded)
        ):
            return True
    head = name_key(segs[0].text)
    return any(_same_name(head, key) for key in sender_keys if key)


def is_return_line(text: str) -> bool:
    """A name with its address in one line ("Muster AG · Bahnhofstr. 1 · 8001 Zürich"),
    whatever OCR made of the dots between the parts."""
    parts = split_parts(text)
    return len(parts) >= 2 and any(is_address_line(p) for p in parts[1:])


def _same_name(a: str, b: str) -> bool:
    """One name, or a short form of it (a logo "ALPHABET" of "Alphabet Leasing GmbH")."""
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short)


def _window_block(
    candidates: list[Block], width: float, sender_keys: set[str]
) -> tuple[Block | None, str | None]:
    best: tuple[Block, str | None] | None = None
    for block in candidates:
        town = block.town_index()
        if town is None:
            continue
        town_top = block.segments[town].top / MM
        if not 45 <= town_top <= 100:
            continue
        # Keep at most five lines above the town line (company, contact, street).
        window, return_line = _without_return_line(block.segments[max(0, town - 5) :], sender_keys)
        if _letterhead_column(window, sender_keys):
            continue
        if best is None or (block.x0 > width * 0.45) > (best[0].x0 > width * 0.45):
            best = (window, return_line)
    return best if best is not None else (None, None)


def _without_return_line(segs: list[Segment], sender_keys: set[str]) -> tuple[Block, str | None]:
    """A window's lines without the sender's return line printed small over them."""
    return_line = None
    while len(segs) > 2:
        first, second = segs[0], segs[1]
        small = first.size and second.size and first.size < second.size * 0.85
        parts = split_parts(first.text)
        one_line = (
            bool(re.search(r"[·•●|]", first.text))
            or is_return_line(first.text)
            or (len(parts) > 1 and name_key(parts[0]) in sender_keys)
        )
        # Over 45 mm only the return line; once it is gone the name follows.
        if small or one_line or (first.top / MM < 45 and return_line is None):
            if return_line is None and (one_line or "," in first.text):
                return_line = first.text
            segs = segs[1:]
            continue
        break
    return Block(segs), return_line


def _letterhead_name(
    segs: list[Segment],
    band: float,
    exclude: set[tuple[float, float]],
    registered_only: bool = False,
) -> Segment | None:
    """The biggest text in the top band that can be a name (not a logo's noise, a title, a
    date, an address or contact line); among near-equals (OCR box heights wobble) a
    registered name (GmbH, Ltd), then the topmost. `registered_only` takes only names
    with a legal form."""
    top_segs = [
        s
        for s in segs
        if s.top < band
        and seg_key(s) not in exclude
        and (name := name_in(s.text, seg_conf(s))) is not None
        and (not registered_only or LEGAL_FORM_RE.search(name))
    ]
    if not top_segs:
        return None
    biggest = max(s.size for s in top_segs)
    return min(
        (s for s in top_segs if s.size >= biggest * 0.88),
        key=lambda s: (not LEGAL_FORM_RE.search(s.text), s.top),
    )


def find_parties(lines: list[Line], width: float, height: float) -> Parties:
    """The sender (letterhead) and the recipient (window) on a first page."""
    segs = [s for line in lines for s in segments(line)]
    candidates = stack([s for s in segs if s.top < min(height * 0.45, 110 * MM)])
    recipient, return_line = _window_block(candidates, width, set())
    recipient_segs = {seg_key(s) for s in recipient.segments} if recipient else set()
    name_seg = _letterhead_name(segs, 42 * MM, recipient_segs)
    if recipient is not None and name_seg is not None:
        sender_keys = {name_key(name_in(name_seg.text) or "")}
        if return_line:
            sender_keys.add(name_key(name_in(return_line) or ""))
        if _letterhead_column(recipient, sender_keys):
            # The window found is the sender's own address block (it repeats the logo's
            # name): the addressee is another block.
            recipient, return_line = _window_block(candidates, width, sender_keys)
            recipient_segs = {seg_key(s) for s in recipient.segments} if recipient else set()
    sender: Block | None = None
    if name_seg is not None:
        for block in candidates:
            for i, seg in enumerate(block.segments):
                if seg_key(seg) == seg_key(name_seg):
                    sender = Block([name_seg, *block.segments[i + 1 : i + 6]])
                    break
            if sender:
                break
        sender = sender or Block([name_seg])
    elif candidates:
        first = min(candidates, key=lambda b: b.top)
        if seg_key(first.segments[0]) not in recipient_segs:
            sender = first
    if sender is not None and len(sender.segments) == 1 and return_line:
        # Letterheads that print only the name: the window's return line has the address.
        parts = [p.strip() for p in re.split(r"[·•●|]", return_line) if p.strip()]
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


# How much one kind of evidence says that a name is the issuer's.
SOURCE_WEIGHT = {
    "seller_label": 0.75,  # under "From" / "Verkäufer" / "Payable to"
    "identifier": 0.7,  # heads the block with the VAT id / UID / register entry
    "return_line": 0.65,  # "Muster AG · Bahnhofstr. 1 · 8001 Zürich"
    "receipt_top": 0.6,  # the first line of a till receipt
    "letterhead": 0.55,  # the biggest text at the top of the page
    "legal_top": 0.4,  # the topmost registered name (GmbH, Ltd …) at the top of the page
    "address_head": 0.4,  # heads an address block that is not the addressee's
    "repeat": 0.35,  # printed again elsewhere on the page (a footer, a remittance block)
}
LEGAL_BONUS = 0.2  # a registered name (GmbH, SA, Ltd, BV ...)
AGREEMENT_BONUS = 0.08  # per further kind of evidence naming the same party
MAX_TEXT_CONF = 0.88  # the page alone never makes a name certain
AMBIGUITY_COST = 0.15  # another party's name scored nearly as high


@dataclass
class NameCandidate:
    text: str
    source: str
    seg: Segment
    legal: bool


@dataclass
class SupplierName:
    name: str
    conf: float  # before the OCR factor of `words`
    words: list[Word]
    block: Block | None  # the name's address block, when it heads one
    sources: set[str]


def _below(segs: list[Segment], label: Segment, limit: int) -> list[Segment]:
    """The segments stacked under `label` in its column (the block a label introduces)."""
    out: list[Segment] = []
    last = label
    for seg in sorted(segs, key=lambda s: s.top):
        if seg.top <= last.top + 0.5 or abs(seg.x0 - label.x0) > 15 * MM:
            continue
        height = max(last.bottom - last.top, 1.0)
        if seg.top - last.bottom > height * 2.0:
            break
        text = fold_text(seg.text)
        if SELLER_LABEL_RE.match(text) or ADDRESSEE_LABEL_RE.match(text):
            break
        out.append(seg)
        last = seg
        if len(out) >= limit:
            break
    return out


_DELIVERY_LABEL = re.compile(r"ship|deliver|liefer|livr|consegna|entrega|envi|aflever|lever")


def _labelled_blocks(segs: list[Segment]) -> list[tuple[str, Block]]:
    """The blocks under or after an addressee label, with the label (folded)."""
    out: list[tuple[str, Block]] = []
    for seg in segs:
        folded = fold_text(seg.text)
        m = ADDRESSEE_LABEL_RE.match(folded)
        if not m:
            continue
        rest = seg.text[m.end() :].strip(" :-/")
        below = _below(segs, seg, 6)
        head = [Segment(seg.words, rest, seg.x0, seg.x1, seg.top, seg.bottom, seg.size)]
        out.append((folded[: m.end()], Block([*head, *below] if letters(rest) >= 2 else below)))
    return out


def labelled_recipient(lines: list[Line]) -> Block | None:
    """The addressee under a "Bill to" / "Rechnungsadresse" / "Facturar a" label, for
    layouts without an address window; a billing address before a delivery address."""
    found = [
        (bool(_DELIVERY_LABEL.search(label)), i, block)
        for i, (label, block) in enumerate(
            _labelled_blocks([s for line in lines for s in segments(line)])
        )
        if block.segments and name_in(block.segments[0].text, seg_conf(block.segments[0]))
    ]
    return min(found, key=lambda f: f[:2])[2] if found else None


def addressee(
    segs: list[Segment], recipient: Block | None
) -> tuple[set[tuple[float, float]], set[str]]:
    """Where the addressee is printed (the window, the "Bill to" / "Rechnungsadresse" /
    "Factuuradres" / "Facturar a" blocks) and the names printed there."""
    where: set[tuple[float, float]] = set()
    names: set[str] = set()
    if recipient is not None:
        where |= {seg_key(s) for s in recipient.segments}
        name = address_from_block(recipient)["name"]
        if name:
            names.add(name_key(str(name)))
    for _label, block in _labelled_blocks(segs):
        where |= {seg_key(s) for s in block.segments}
        if block.segments:
            names.add(name_key(name_part(block.segments[0].text)))
    names.discard("")
    return where, names


def _id_anchor(text: str) -> int | None:
    """Where the issuer's VAT id, UID, register entry or IBAN starts in `text`."""
    folded = fold_text(text)
    if has_recipient_word(folded):
        return None
    starts = []
    if (at := id_label_at(folded)) is not None:
        starts.append(at)
    starts += [start for _uid, start, _end, _vat in find_uids(text)]
    starts += [start for _iban, start, _end in find_ibans(text)]
    return min(starts) if starts else None


_BANK = re.compile(
    r"bank|banque|banca|banco|sparkasse|kasse|postfinance|credit suisse|\bubs\b|chase|"
    r"barclays|paypal|stripe|wise\b",
    re.IGNORECASE,
)


def _candidates(
    segs: list[Segment],
    lines: list[Line],
    page_height: float,
    exclude: set[tuple[float, float]],
    receipt: bool,
) -> list[NameCandidate]:
    """Every reading of the issuer's name the page offers, outside the addressee's blocks."""
    free = [s for s in segs if seg_key(s) not in exclude]
    found: list[NameCandidate] = []

    def add(text: str | None, source: str, seg: Segment) -> None:
        if text:
            found.append(NameCandidate(text, source, seg, bool(LEGAL_FORM_RE.search(text))))

    # The issuer's block by its label: "From: Muster AG", "Payable to:" over the name.
    for seg in free:
        m = SELLER_LABEL_RE.match(fold_text(seg.text))
        if not m:
            continue
        rest = seg.text[m.end() :].strip(" :-/")
        if letters(rest) >= 2:
            add(name_in(rest, seg_conf(seg)), "seller_label", seg)
        else:
            for below in _below(free, seg, 1):
                add(name_in(below.text, seg_conf(below)), "seller_label", below)
    # The name heading the block that carries the issuer's tax id, register entry or IBAN.
    for block in stack(free):
        for k, seg in enumerate(block.segments):
            at = _id_anchor(seg.text)
            if at is None:
                continue
            for above in block.segments[max(0, k - 6) : k + 1]:
                text = above.text
                if above is seg:
                    # A name on the identifier's own line is a part of its own:
                    # "Muster AG · MWST CHE-…", never the words before a number.
                    parts = split_parts(text[:at])
                    text = parts[0] if len(split_parts(text)) > 1 and parts else ""
                name = name_in(text, seg_conf(above))
                if name and not _BANK.search(name):
                    add(name, "identifier", above)
                    break
            break
    # One-line addresses: the window's return line, a letterhead or footer in one line
    # (in the body, such a line is a delivery or site address).
    for seg in free:
        if (seg.top < 0.5 * page_height or seg.top > 0.75 * page_height) and is_return_line(
            seg.text
        ):
            add(name_in(seg.text, seg_conf(seg)), "return_line", seg)
    # The letterhead: the biggest name at the top (lower down when the top has none).
    # Lower down only a registered name above the addressee: further down come the
    # window (read or not) and the document's own lines.
    addressee_top = min((s.top for s in segs if seg_key(s) in exclude), default=page_height)
    top = _letterhead_name(segs, 42 * MM, exclude) or _letterhead_name(
        segs, min(0.3 * page_height, addressee_top), exclude, registered_only=True
    )
    if top is not None:
        add(name_in(top.text, seg_conf(top)), "letterhead", top)
    for seg in sorted((s for s in free if s.top < 42 * MM), key=lambda s: s.top):
        name = name_in(seg.text, seg_conf(seg))
        if name and LEGAL_FORM_RE.search(name):
            add(name, "legal_top", seg)
            break
    # The first line of an address block in the top part: its party's name.
    for block in stack([s for s in free if s.top < 0.45 * page_height]):
        first = next((i for i, s in enumerate(block.segments) if is_address_line(s.text)), 0)
        if not 0 < first <= 5:
            continue
        # The head, or the line under a logo's noise.
        for head in block.segments[: min(first, 2)]:
            if name := name_in(head.text, seg_conf(head)):
                add(name, "address_head", head)
                break
    if receipt:
        # A till receipt starts with the shop's name, before its first item.
        for line in lines[:6]:
            if AMOUNT_RE.search(line.text):
                break
            top = segments(line)[0]
            if seg_key(top) in exclude:
                continue
            name = name_in(top.text, seg_conf(top))
            if name:
                add(name, "receipt_top", top)
                break
    return found


# Readings of where a name stands: several of them on one line are one piece of evidence.
_POSITION = {"letterhead", "legal_top", "address_head", "receipt_top"}


def _score(group: list[NameCandidate]) -> float:
    sources = {c.source for c in group}
    strong = max(SOURCE_WEIGHT[s] for s in sources)
    legal = any(c.legal for c in group)
    # An address block's first line has a legal form just as often when it is the
    # addressee's: it counts fully only with other evidence.
    bonus = (LEGAL_BONUS if sources != {"address_head"} else LEGAL_BONUS / 2) if legal else 0.0
    kinds = len(sources - _POSITION) + bool(sources & _POSITION)
    agreement = AGREEMENT_BONUS * min(2, kinds - 1)
    return min(MAX_TEXT_CONF, strong + bonus + agreement)


def supplier_name(
    lines: list[Line], page_height: float, parties: Parties, receipt: bool = False
) -> SupplierName | None:
    """The issuer's name on a first page, with how sure the page makes it.

    Evidence, strongest first: a seller label, the block with the issuer's identifiers, a
    one-line return address or letterhead, the biggest name at the top, the name over an
    address block. The addressee's window and labelled blocks never count. A short form
    (the logo "ALPHABET") supports the full name it begins ("Alphabet Leasing GmbH").
    """
    segs = [s for line in lines for s in segments(line)]
    exclude, addressee_names = addressee(segs, parties.recipient)
    found = [
        c
        for c in _candidates(segs, lines, page_height, exclude, receipt)
        if name_key(c.text) not in addressee_names and len(name_key(c.text)) >= 2
    ]
    if not found:
        return None
    groups: dict[str, list[NameCandidate]] = {}
    for c in found:
        groups.setdefault(name_key(c.text), []).append(c)
    # The issuer's name comes back in a footer or a remittance block; the addressee's
    # is excluded above.
    used = {seg_key(c.seg) for c in found}
    for seg in segs:
        if seg_key(seg) in used or seg_key(seg) in exclude:
            continue
        name = name_in(seg.text, seg_conf(seg))
        key = name_key(name) if name else ""
        if key in groups:
            groups[key].append(NameCandidate(str(name), "repeat", seg, groups[key][0].legal))
    _merge_forms(groups)
    ranked = sorted(groups.values(), key=_score, reverse=True)
    best = ranked[0]
    conf = _score(best)
    if len(ranked) > 1:
        second = _score(ranked[1])
        # A close runner-up, or a registered name losing to a brand or a logo.
        registered = not any(c.legal for c in best) and any(
            _score(g) >= 0.5 and any(c.legal for c in g) for g in ranked[1:]
        )
        if second >= conf - 0.1 or registered:
            conf -= AMBIGUITY_COST
    # Of a logo and its full name, the full; of one name printed twice, the clearer print.
    pick = max(
        best,
        key=lambda c: (len(name_key(c.text)), seg_conf(c.seg) or 0.0, SOURCE_WEIGHT[c.source]),
    )
    return SupplierName(
        name=pick.text,
        conf=conf,
        words=pick.seg.words,
        block=_block_of(segs, pick.seg),
        sources={c.source for c in best},
    )


def _merge_forms(groups: dict[str, list[NameCandidate]]) -> None:
    """One party printed in a short and a long form counts once. A logo ("ALPHABET")
    supports the full name it begins; a fragment OCR cut off ("Zimmermann Transporte
    GmbH" of "Moser + Zimmermann Transporte GmbH") supports the whole; a registered name
    ("Muster GmbH") absorbs what merely starts with it."""
    for short in sorted(groups, key=len):
        if short not in groups:
            continue
        longer = [k for k in groups if k != short and (_same_name(short, k) or _fragment(short, k))]
        if not longer:
            continue
        target = max(longer, key=lambda k: _score(groups[k]))
        if any(c.legal for c in groups[short]) and target.startswith(short):
            groups[short] += groups.pop(target)
        else:
            groups[target] += groups.pop(short)


def _fragment(short: str, long_: str) -> bool:
    return len(short) >= 8 and long_.endswith(short)


def _block_of(segs: list[Segment], seg: Segment) -> Block | None:
    """The name with the address lines under it, when it heads an address block."""
    for block in stack(segs):
        for i, s in enumerate(block.segments):
            if seg_key(s) == seg_key(seg):
                rest = block.segments[i + 1 : i + 6]
                if any(is_address_line(r.text) for r in rest):
                    return Block([s, *rest])
                return None
    return None


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

"""A bank entry ↔ the client's open documents (DESIGN.md, "Life of a bank statement", 4).

Pure: the open items and the posting rules are handed in. `index_open_items` builds the
lookups once per statement (by reference, IBAN, kind + amount, normalised name), so one
entry costs what its candidates cost, not what the client's open items number.

The order, strongest evidence first; each step auto-matches only a unique candidate,
and two or more equally good candidates make a suggestion for a person, never a guess:

1. QR / SCOR reference → the open invoice (amount exact, or less a cash discount /
   a small fee within the client's settings). A reference that names an invoice whose
   amount does not fit is a suggestion: the entry is about that invoice.
2. `EndToEndId` of our own payment files (a hook: there are none yet).
3. Counterparty IBAN + amount + date window (from the invoice's issue date to its due
   date plus the window; an overdue invoice of the same amount makes it a suggestion),
   then a collective payment to that IBAN: several of one supplier's invoices that sum
   exactly to the entry. Credits do the same against the client's open customer
   invoices.
4. Posting rules (recurring debits: rent, leasing, bank fees, salaries). A rule never
   takes an entry that steps 1-3 tied to an open document (DESIGN.md, master data).
5. Counterparty name (fuzzy) + exact amount, or the same name less a discount / a fee;
   a collective payment by name.
6. Card lines ↔ receipts: amount exact, receipt date ± 3 days, the merchant's name as
   the card statement prints it.

Nothing found: a debit is a missing document, a credit stays unmatched.
`reconcile_statement` runs a statement's entries in order, each document paid once.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from rapidfuzz import fuzz

from domain.identifiers import fold
from domain.money import to_money
from domain.reconciliation import (
    Direction,
    EntryToMatch,
    MatchOutcome,
    MatchStatus,
    OpenItem,
    OpenItemKind,
    PaymentMatch,
    PaymentMatchRule,
    PostingRule,
    ReconciliationSettings,
)
from routing.duplicates import normalize_invoice_number
from routing.names import NameKey, company_words, name_key, name_score

CARD_DAYS = 3  # a card line is booked up to three days after the purchase
DEFAULT_TERM_DAYS = 30  # the usual Swiss payment term, when an invoice prints no due date
SKONTO_STEP = Decimal("0.5")  # cash discounts are printed in half percents (2 %, 2.5 %)
SKONTO_FIRST = Decimal("1")  # below 1 % a difference is a fee, not a discount
SKONTO_ROUNDING = Decimal("0.05")  # the payer rounds the discounted amount to 5 Rappen
NAME_ACCEPT = 88.0  # as supplier matching: twins with another legal form stay below
COLLECTIVE_MAX = 12  # invoices tried for a collective payment (2^12 subsets at most)
SUGGESTIONS_MAX = 5

# Scores shown beside a match: how strong the evidence is, not a probability.
SCORE = {
    PaymentMatchRule.REFERENCE: 100.0,
    PaymentMatchRule.IBAN_AMOUNT: 95.0,
    PaymentMatchRule.COLLECTIVE: 90.0,
}
TOLERANCE_COST = 3.0  # a discount or a fee is a little less sure than the exact amount

# Words that say what a shop is, not which one: "Restaurant Krone" and a card line
# "RESTAURANT LOEWEN" share a word and are two places.
_GENERIC = (
    "restaurant ristorante hotel bar cafe caffe tankstelle station stazione service shop "
    "store markt market supermarkt apotheke pharmacie farmacia garage kiosk bahnhof gare "
    "backerei boulangerie panetteria metzgerei boucherie parkhaus parking filiale center "
    "centre zentrum online ch schweiz suisse svizzera"
)
GENERIC_MERCHANT_WORDS = frozenset(_GENERIC.split())


# --- the index --------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItems:
    """One client's open documents, indexed for reconciliation; build once per statement.

    `taken`: documents that earlier entries of the statement already paid; the lookups
    leave them out (a document is paid once).
    """

    by_reference: dict[str, list[OpenItem]] = field(default_factory=dict)
    by_iban: dict[str, list[OpenItem]] = field(default_factory=dict)
    by_amount: dict[tuple[OpenItemKind, str, Decimal], list[OpenItem]] = field(default_factory=dict)
    by_name: dict[str, list[OpenItem]] = field(default_factory=dict)
    size: int = 0
    taken: frozenset[int] = frozenset()

    def without(self, document_ids: Iterable[int]) -> "OpenItems":
        """The same index, these documents left out (cheap: the lookups are shared)."""
        return replace(self, taken=self.taken | frozenset(document_ids))

    def _open(self, found: list[OpenItem]) -> list[OpenItem]:
        if not self.taken:
            return found
        return [i for i in found if i.document_id not in self.taken]

    def with_reference(self, reference: str) -> list[OpenItem]:
        return self._open(self.by_reference.get(reference, []))

    def with_iban(self, iban: str) -> list[OpenItem]:
        return self._open(self.by_iban.get(iban, []))

    def with_amount(self, kind: OpenItemKind, currency: str, amount: Decimal) -> list[OpenItem]:
        return self._open(self.by_amount.get((kind, currency, amount), []))

    def with_name(self, name: str) -> list[OpenItem]:
        return self._open(self.by_name.get(name_index_key(name), []))


def name_index_key(name: str) -> str:
    """`GLOOR ELEKTRO AG`, `Gloor Elektro` → `elektro gloor`: the words that identify, in
    any order (banks print persons surname first). Twins share a key; the name score
    that follows every lookup tells them apart."""
    return " ".join(sorted(set(company_words(name)))) or fold(name)


def index_open_items(items: Iterable[OpenItem]) -> OpenItems:
    by_reference: dict[str, list[OpenItem]] = defaultdict(list)
    by_iban: dict[str, list[OpenItem]] = defaultdict(list)
    by_amount: dict[tuple[OpenItemKind, str, Decimal], list[OpenItem]] = defaultdict(list)
    by_name: dict[str, list[OpenItem]] = defaultdict(list)
    size = 0
    for item in items:
        size += 1
        if item.reference:
            by_reference[item.reference].append(item)
        for iban in set(item.supplier_ibans):
            by_iban[iban].append(item)
        by_amount[(item.kind, item.currency, item.amount)].append(item)
        for key in {name_index_key(n) for n in item.names}:
            if key:
                by_name[key].append(item)
    return OpenItems(dict(by_reference), dict(by_iban), dict(by_amount), dict(by_name), size)


# --- small pure judgements ------------------------------------------------------------


def kinds_for(direction: Direction) -> frozenset[OpenItemKind]:
    """Debits pay supplier invoices; credits pay the client's own customer invoices."""
    if direction is Direction.DEBIT:
        return frozenset({OpenItemKind.INVOICE})
    return frozenset({OpenItemKind.CUSTOMER_INVOICE})


def eligible(entry: EntryToMatch, item: OpenItem, kinds: frozenset[OpenItemKind]) -> bool:
    """Could this entry pay this item at all: right kind, same currency, and no other
    reference? (An entry that carries a reference pays *that* invoice; an open invoice
    with a different reference is a different one, whatever the amount.)"""
    if item.kind not in kinds or item.currency != entry.currency:
        return False
    return not (entry.reference and item.reference and entry.reference != item.reference)


def skonto_rate(paid: Decimal, open_amount: Decimal, max_pct: Decimal) -> Decimal | None:
    """The cash discount rate (half-percent steps up to the client's limit) that turns
    the open amount into what was paid, within the payer's rounding; else None."""
    rates: list[Decimal] = []
    rate = SKONTO_FIRST
    while rate <= max_pct:
        rates.append(rate)
        rate += SKONTO_STEP
    if max_pct >= SKONTO_FIRST and max_pct not in rates:
        rates.append(max_pct)
    for rate in rates:
        expected = open_amount * (1 - rate / 100)
        if abs(paid - expected) <= SKONTO_ROUNDING:
            return rate
    return None


@dataclass(frozen=True, slots=True)
class Fit:
    """How an amount paid fits an open amount: exactly, less a discount, or with a fee."""

    rule: PaymentMatchRule | None  # None: exact (the step's own rule applies)
    rank: int  # 0 exact, 1 discount, 2 fee: lower is better
    difference: Decimal  # open amount - paid
    words: str


def amount_fit(paid: Decimal, open_amount: Decimal, settings: ReconciliationSettings) -> Fit | None:
    difference = to_money(open_amount - paid)
    if difference == 0:
        return Fit(None, 0, difference, "the exact amount")
    if difference > 0:
        rate = skonto_rate(paid, open_amount, settings.discount_pct)
        if rate is not None:
            return Fit(PaymentMatchRule.DISCOUNT, 1, difference, f"less {rate} % cash discount")
    if abs(difference) <= settings.fee_tolerance:
        return Fit(PaymentMatchRule.FEE, 2, difference, f"a difference of {difference} (fees)")
    return None


def payment_window(item: OpenItem, window_days: int) -> tuple[date, date] | None:
    """When a payment of this item is plausible (None: no dates known): from its issue
    date to its due date plus the window.

    A payment made mid-term is as plausible as one on the due date. None is made before
    the invoice is written, and that keeps this month's invoice apart from last month's
    of the same amount paid a few days late.
    """
    term = timedelta(days=DEFAULT_TERM_DAYS)
    if item.issue_date is None and item.due_date is None:
        return None
    if item.issue_date is not None:
        start = item.issue_date
    else:
        assert item.due_date is not None  # one of the two, checked above
        start = item.due_date - term
    end = item.due_date or start + term
    return start, max(start, end) + timedelta(days=window_days)


def remittance_words(entry: EntryToMatch) -> set[str]:
    """The remittance's words as invoice numbers compare (`RE-2026/042` stays one)."""
    words = {normalize_invoice_number(w) for w in entry.remittance.replace(",", " ").split()}
    return {w for w in words if w}


def mentions_invoice_number(item: OpenItem, words: set[str]) -> bool:
    number = normalize_invoice_number(item.invoice_number)
    # Short numbers ("42") are found in any text: they decide nothing.
    return bool(number and len(number) >= 4 and number in words)


def counterparty_score(counterparty: str, item: OpenItem) -> float:
    """How well the bank's counterparty name names the item's supplier (or customer)."""
    query = name_key(counterparty)
    return max((_one_name_score(query, name_key(n)) for n in item.names), default=0.0)


def _one_name_score(query: NameKey, candidate: NameKey) -> float:
    score = min(100.0, name_score(query, candidate))
    if not query.tokens or not candidate.tokens:
        return score
    # A bank often adds the town or the street after the name ("Gloor Elektro AG Zürich"):
    # the whole name, in its order and without another legal form, is in what it prints.
    other_form = query.form and candidate.form and query.form != candidate.form
    if len(candidate.tokens) >= 2 and not other_form and contains_in_order(query, candidate):
        score = max(score, 90.0)
    # Private customers: "MUSTER HANS" for "Hans Muster".
    if not query.form and not candidate.form and query.tokens == candidate.tokens:
        score = max(score, 95.0)
    return score


def contains_in_order(text: NameKey, name: NameKey) -> bool:
    """The name's words, one after the other, somewhere in the text's words."""
    return f" {name.normalized} " in f" {text.normalized} "


def card_words(entry: EntryToMatch) -> set[str]:
    text = fold(f"{entry.counterparty_name or ''} {entry.remittance}")
    return {w for w in text.split() if not w.isdigit()}


def merchant_score(item: OpenItem, printed: set[str]) -> float:
    """Share (0..1) of the receipt's distinctive words that the card line prints.

    Card statements print the merchant in capitals, shortened, with a branch number and a
    town ("COOP-1234 ZUERICH"): a word of the receipt's name that is there, or a word
    there that starts with it, counts.
    """
    best = 0.0
    for name in item.names:
        words = [w for w in company_words(name) if w not in GENERIC_MERCHANT_WORDS]
        if not words:
            continue
        found = sum(1 for w in words if _printed(w, printed))
        best = max(best, found / len(words))
    return best


def _printed(word: str, printed: set[str]) -> bool:
    if word in printed:
        return True
    return any(
        (len(word) >= 4 and p.startswith(word))
        or (len(p) >= 4 and word.startswith(p))
        or (len(word) >= 5 and fuzz.ratio(word, p) >= 85)
        for p in printed
    )


def rule_applies(rule: PostingRule, entry: EntryToMatch) -> bool:
    """Every criterion the rule gives holds for the entry (AND)."""
    if rule.direction is not None and rule.direction != entry.direction:
        return False
    if rule.counterparty_iban and rule.counterparty_iban != entry.counterparty_iban:
        return False
    if rule.amount is not None and rule.amount != entry.paid:
        return False
    if rule.amount_max is not None and entry.paid > rule.amount_max:
        return False
    if rule.text_contains:
        text = fold(f"{entry.counterparty_name or ''} {entry.remittance}")
        if fold(rule.text_contains) not in text:
            return False
    return True


# --- choosing among candidates -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    match: PaymentMatch
    rank: int  # lower is better; equal ranks are equally good
    named: bool = False  # the remittance names its invoice number
    doubt: str | None = None  # a reason it may be suggested but never matched
    words: str = ""


def describe(item: OpenItem) -> str:
    who = f" ({item.supplier_name})" if item.supplier_name else ""
    number = f" {item.invoice_number}" if item.invoice_number else ""
    return f"{item.kind.value}{number} #{item.document_id}{who}, {item.currency} {item.amount}"


def candidate(
    item: OpenItem,
    paid: Decimal,
    rule: PaymentMatchRule,
    score: float,
    rank: int,
    *,
    fit: Fit | None = None,
    named: bool = False,
    doubt: str | None = None,
) -> Candidate:
    chosen = rule if fit is None or fit.rule is None else fit.rule
    if fit is not None and fit.rule is not None:
        score -= TOLERANCE_COST
    match = PaymentMatch(
        document_id=item.document_id,
        amount=paid,
        rule=chosen,
        score=round(max(0.0, min(100.0, score)), 1),
        difference=fit.difference if fit else Decimal("0.00"),
    )
    words = describe(item) + (f", {fit.words}" if fit else "")
    return Candidate(match, rank, named, doubt, words)


def pick(candidates: Sequence[Candidate], how: str) -> MatchOutcome | None:
    """A unique best candidate is matched; several equally good ones are suggested."""
    if not candidates:
        return None
    best = min(c.rank for c in candidates)
    top = [c for c in candidates if c.rank == best]
    if len(top) > 1:
        # The remittance naming one invoice number settles a tie.
        named = [c for c in top if c.named]
        top = named if len(named) == 1 else top
    if len(top) == 1 and top[0].doubt is None:
        chosen = top[0]
        return MatchOutcome(
            status=MatchStatus.MATCHED,
            matches=[chosen.match],
            reason=f"{how}: {chosen.words}",
        )
    return suggest(candidates, how, top[0].doubt if len(top) == 1 else None)


def suggest(candidates: Sequence[Candidate], how: str, doubt: str | None = None) -> MatchOutcome:
    ranked = sorted(candidates, key=lambda c: (c.rank, -c.match.score, c.match.document_id))
    shown = ranked[:SUGGESTIONS_MAX]
    why = doubt or f"{len(candidates)} candidates are equally good"
    return MatchOutcome(
        status=MatchStatus.AMBIGUOUS,
        suggestions=[c.match for c in shown],
        reason=f"{how}, but {why}: " + "; ".join(c.words for c in shown),
    )


# --- the steps ---------------------------------------------------------------------


def by_reference(
    entry: EntryToMatch, items: OpenItems, settings: ReconciliationSettings
) -> MatchOutcome | None:
    if not entry.reference:
        return None
    kinds = kinds_for(entry.direction)
    named = [
        i
        for i in items.with_reference(entry.reference)
        if i.kind in kinds and i.currency == entry.currency
    ]
    if not named:
        return None
    how = f"reference {entry.reference} names an open document"
    found = []
    for item in named:
        fit = amount_fit(entry.paid, item.amount, settings)
        if fit is not None:
            found.append(
                candidate(item, entry.paid, PaymentMatchRule.REFERENCE, 100.0, fit.rank, fit=fit)
            )
    if found:
        return pick(found, how)
    # The entry is about this invoice, but the amount does not fit: a part payment or a
    # mistake, for a person to judge.
    suggestions = [candidate(i, entry.paid, PaymentMatchRule.REFERENCE, 60.0, 9) for i in named]
    return suggest(suggestions, how, f"{entry.currency} {entry.paid} paid does not fit its amount")


def by_end_to_end(entry: EntryToMatch, items: OpenItems) -> MatchOutcome | None:
    """Hook: once fiduflow writes payment files (pain.001), the bank returns our own
    EndToEndId on the debit and it names the invoice exactly, like a reference."""
    return None


@dataclass
class IbanTie:
    """What the counterparty IBAN tells: matched / suggested, or tied outside the window."""

    outcome: MatchOutcome | None = None
    late: list[Candidate] = field(default_factory=list)  # amount fits, date does not


def by_iban_amount(
    entry: EntryToMatch, items: OpenItems, settings: ReconciliationSettings
) -> IbanTie:
    if not entry.counterparty_iban:
        return IbanTie()
    kinds = kinds_for(entry.direction)
    words = remittance_words(entry)
    timely: list[Candidate] = []
    late: list[Candidate] = []
    for item in items.with_iban(entry.counterparty_iban):
        if not eligible(entry, item, kinds):
            continue
        fit = amount_fit(entry.paid, item.amount, settings)
        if fit is None:
            continue
        named = mentions_invoice_number(item, words)
        window = payment_window(item, settings.date_window_days)
        if window is None or window[0] <= entry.booking_date <= window[1]:
            timely.append(
                candidate(
                    item,
                    entry.paid,
                    PaymentMatchRule.IBAN_AMOUNT,
                    SCORE[PaymentMatchRule.IBAN_AMOUNT],
                    fit.rank,
                    fit=fit,
                    named=named,
                )
            )
        elif fit.rank == 0 and entry.booking_date > window[1]:
            # Overdue and still open; one written after the payment is not what it paid.
            late.append(
                candidate(item, entry.paid, PaymentMatchRule.IBAN_AMOUNT, 70.0, 0, named=named)
            )
    how = "counterparty IBAN and amount fit"
    if timely and late:
        # An overdue invoice of the same amount may be the one paid now, late: unless
        # the remittance names one, that is for a person to say.
        named_ones = [c for c in (*timely, *late) if c.named]
        if len(named_ones) == 1:
            return IbanTie(outcome=pick(named_ones, how + " and the remittance names it"))
        return IbanTie(
            outcome=suggest([*timely, *late], how, "an overdue invoice of that amount is open")
        )
    return IbanTie(outcome=pick(timely, how), late=late)


def collective(
    entry: EntryToMatch, pool: Iterable[OpenItem], settings: ReconciliationSettings, how: str
) -> MatchOutcome | None:
    """Several open invoices of one supplier that sum exactly to the entry."""
    kinds = kinds_for(entry.direction)
    latest = entry.booking_date + timedelta(days=settings.date_window_days)
    groups: dict[str, list[OpenItem]] = defaultdict(list)
    for item in pool:
        if not eligible(entry, item, kinds) or item.amount >= entry.paid:
            continue
        if item.issue_date and item.issue_date > latest:
            continue  # not issued yet when it was paid
        groups[item.supplier_id or name_index_key(item.supplier_name or "")].append(item)
    solutions: list[list[OpenItem]] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        # The invoices due nearest the payment are the likeliest ones in it.
        nearest = sorted(group, key=lambda i: _days_from(i, entry.booking_date))[:COLLECTIVE_MAX]
        solutions += exact_subsets(nearest, entry.paid, limit=2)
        if len(solutions) > 1:
            break
    if not solutions:
        return None
    score = SCORE[PaymentMatchRule.COLLECTIVE]
    found = [
        [candidate(i, i.amount, PaymentMatchRule.COLLECTIVE, score, 0) for i in subset]
        for subset in solutions
    ]
    if len(found) == 1:
        return MatchOutcome(
            status=MatchStatus.MATCHED,
            matches=[c.match for c in found[0]],
            reason=f"{how}: {len(found[0])} invoices sum to {entry.currency} {entry.paid}: "
            + "; ".join(c.words for c in found[0]),
        )
    return suggest(
        [c for subset in found for c in subset],
        how,
        "more than one set of invoices sums to the amount",
    )


def _days_from(item: OpenItem, booked: date) -> int:
    on = item.due_date or item.issue_date
    return abs((on - booked).days) if on else 10**6


def exact_subsets(items: Sequence[OpenItem], total: Decimal, limit: int) -> list[list[OpenItem]]:
    """Up to `limit` sets of two or more items whose amounts sum to `total` exactly.

    Subset sums in cents, keeping at most `limit` ways to reach each sum: enough to
    tell one solution from several, and bounded by 2^len(items) sums.
    """
    target = int(total * 100)
    cents = [int(i.amount * 100) for i in items]
    ways: dict[int, list[tuple[int, ...]]] = {0: [()]}
    for index, value in enumerate(cents):
        # A copy of the sums reached before this item, so that it is added once only.
        for reached, combos in [(k, list(v)) for k, v in ways.items()]:
            after = reached + value
            if after > target:
                continue
            slot = ways.setdefault(after, [])
            for combo in combos:
                if len(slot) >= limit:
                    break
                slot.append((*combo, index))
    return [[items[k] for k in combo] for combo in ways.get(target, []) if len(combo) >= 2][:limit]


def by_rule(entry: EntryToMatch, rules: Sequence[PostingRule]) -> MatchOutcome | None:
    # The first rule that applies wins: the fiduciary orders the client's rules.
    for rule in rules:
        if rule_applies(rule, entry):
            return MatchOutcome(
                status=MatchStatus.RULE,
                posting_rule=rule.name,
                reason=f"posting rule {rule.name!r} applies (account {rule.account})",
            )
    return None


def by_name_amount(
    entry: EntryToMatch, items: OpenItems, settings: ReconciliationSettings
) -> MatchOutcome | None:
    """The counterparty's name and the exact amount; or the same name (every word of it)
    and an amount less a discount or a fee."""
    if not entry.counterparty_name:
        return None
    kinds = kinds_for(entry.direction)
    exact = [item for kind in kinds for item in items.with_amount(kind, entry.currency, entry.paid)]
    same_name = items.with_name(entry.counterparty_name)
    named_ids = {item.document_id for item in same_name}
    words = remittance_words(entry)
    found: dict[int, Candidate] = {}
    for item in (*exact, *same_name):
        if item.document_id in found or not eligible(entry, item, kinds):
            continue
        fit = amount_fit(entry.paid, item.amount, settings)
        if fit is None or (fit.rank > 0 and item.document_id not in named_ids):
            continue
        score = counterparty_score(entry.counterparty_name, item)
        if score < NAME_ACCEPT:
            continue
        found[item.document_id] = candidate(
            item,
            entry.paid,
            PaymentMatchRule.NAME_AMOUNT,
            score,
            fit.rank,
            fit=fit,
            named=mentions_invoice_number(item, words),
            doubt=iban_doubt(entry, item),
        )
    return pick(list(found.values()), f"counterparty name {entry.counterparty_name!r} fits")


def iban_doubt(entry: EntryToMatch, item: OpenItem) -> str | None:
    """Known accounts that are not the one paid: the same name may be another company,
    or a changed bank account. The money moved already; a person looks."""
    iban = entry.counterparty_iban
    if iban and item.supplier_ibans and iban not in item.supplier_ibans:
        return "the counterparty IBAN is not the supplier's known account"
    return None


def by_card(entry: EntryToMatch, items: OpenItems) -> MatchOutcome | None:
    if entry.direction is not Direction.DEBIT:
        return None
    printed = card_words(entry)
    found = []
    for item in items.with_amount(OpenItemKind.RECEIPT, entry.currency, entry.paid):
        if item.issue_date is None or abs((item.issue_date - entry.booking_date).days) > CARD_DAYS:
            continue
        share = merchant_score(item, printed)
        if share < 0.5:
            continue
        # Every receipt that passes is equally good: card lines shorten names, and a
        # reading slip must not make one of two parking tickets the likelier.
        found.append(candidate(item, entry.paid, PaymentMatchRule.CARD, 70 + 30 * share, 0))
    return pick(found, "card line: amount, date and merchant fit a receipt")


# --- the whole -----------------------------------------------------------------------


def reconcile(
    entry: EntryToMatch,
    open_items: OpenItems,
    rules: Sequence[PostingRule] = (),
    settings: ReconciliationSettings | None = None,
) -> MatchOutcome:
    """What one bank entry is: a payment of open documents, a rule's, or unexplained."""
    settings = settings or ReconciliationSettings()
    found = by_reference(entry, open_items, settings) or by_end_to_end(entry, open_items)
    if found:
        return found
    tie = by_iban_amount(entry, open_items, settings)
    if tie.outcome:
        return tie.outcome
    # A sum of one supplier's invoices paid to its IBAN ties the entry as much as one
    # invoice does; but an invoice of exactly that amount (paid late) is the likelier one.
    if entry.counterparty_iban and not tie.late:
        found = collective(
            entry,
            open_items.with_iban(entry.counterparty_iban),
            settings,
            "collective payment to the supplier's IBAN",
        )
        if found:
            return found
    if not tie.late:
        found = by_rule(entry, rules)
        if found:
            return found
    found = by_name_amount(entry, open_items, settings)
    if found:
        return found
    if entry.counterparty_name and not tie.late:
        name = entry.counterparty_name
        found = collective(
            entry,
            [i for i in open_items.with_name(name) if counterparty_score(name, i) >= NAME_ACCEPT],
            settings,
            "collective payment to the supplier's name",
        )
        if found:
            return found
    if tie.late:
        return suggest(
            tie.late,
            "counterparty IBAN and amount fit",
            "outside the date window of the invoice",
        )
    found = by_card(entry, open_items)
    if found:
        return found
    return nothing_found(entry)


def reconcile_statement(
    entries: Iterable[EntryToMatch],
    open_items: OpenItems,
    rules: Sequence[PostingRule] = (),
    settings: ReconciliationSettings | None = None,
) -> list[MatchOutcome]:
    """Every entry of a statement in order; a document one entry paid is no longer open
    for the next."""
    outcomes = []
    for entry in entries:
        outcome = reconcile(entry, open_items, rules, settings)
        if outcome.matches:
            open_items = open_items.without(m.document_id for m in outcome.matches)
        outcomes.append(outcome)
    return outcomes


def nothing_found(entry: EntryToMatch) -> MatchOutcome:
    if entry.direction is Direction.DEBIT:
        return MatchOutcome(
            status=MatchStatus.MISSING_DOCUMENT,
            reason="no open document and no posting rule fits this debit: ask for the document",
        )
    return MatchOutcome(
        status=MatchStatus.UNMATCHED,
        reason="no open customer invoice and no posting rule fits this credit",
    )

"""Comparing company names the way a bookkeeper does. Pure functions, no I/O.

`Gloor Elektro AG`, `GLOOR ELEKTRO SA.` and `Gloor Elektro` are the same name; `Elektro
Gloor GmbH` is a *different company* with the same words. So the score looks at the words
(legal forms, punctuation and case dropped), at their order, and at the legal form class
(AG = SA = SpA; GmbH = Sàrl = Sagl): a different legal form costs points, because in a
firm's directory near-twins like that are usually two companies.
"""

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from domain.extraction import Address
from domain.identifiers import fold, name_tokens, normalize_company_name

# Legal forms by class: the same form in German, French, Italian and English.
_FORM_CLASSES: dict[str, tuple[tuple[str, ...], ...]] = {
    "ag": (
        ("ag",),
        ("sa",),
        ("spa",),
        ("s", "a"),
        ("s", "p", "a"),
        ("aktiengesellschaft",),
        ("societe", "anonyme"),
        ("societa", "anonima"),
        ("ltd",),
        ("inc",),
        ("plc",),
    ),
    "gmbh": (
        ("gmbh",),
        ("sarl",),
        ("sagl",),
        ("srl",),
        ("s", "a", "r", "l"),
        ("s", "r", "l"),
        ("s", "a", "g", "l"),
        ("llc",),
    ),
    "kollektiv": (("kollektivgesellschaft",), ("snc",), ("s", "n", "c")),
    "kommandit": (("kg",), ("kommanditgesellschaft",), ("scs",)),
    "genossenschaft": (("genossenschaft",), ("cooperative",), ("scoop",), ("cooperativa",)),
    "stiftung": (("stiftung",), ("fondation",), ("fondazione",)),
    "verein": (("verein",), ("association",), ("associazione",)),
}


def legal_form_class(name: str) -> str | None:
    """The class of the legal form at the end of (or anywhere in) a company name."""
    words = fold(name).split()
    # The last matching form wins ("AG für Elektro GmbH" is a GmbH).
    found: tuple[int, str] | None = None
    for cls, spellings in _FORM_CLASSES.items():
        for spelling in spellings:
            n = len(spelling)
            for i in range(len(words) - n + 1):
                if tuple(words[i : i + n]) == spelling and (found is None or i >= found[0]):
                    # Single letters ("s a") only count at the very end, else "S. Meier"
                    # would look like a company form.
                    if n > 1 and i + n != len(words):
                        continue
                    found = (i, cls)
    return found[1] if found else None


@dataclass(frozen=True)
class NameKey:
    """A company name prepared for comparison."""

    raw: str
    normalized: str  # words in order, legal forms dropped
    tokens: frozenset[str]
    form: str | None  # legal form class


# Forms `identifiers.LEGAL_FORMS` does not drop, and the single letters "S.r.l." and
# "S.A." fold into: noise for comparing names.
_MORE_FORMS = {"spa", "srl", "sas", "scs", "plc", "ek", "anstalt", "establishment"}


def company_words(name: str) -> list[str]:
    """The identifying words of a company name, in order."""
    return [t for t in name_tokens(name) if len(t) > 1 and t not in _MORE_FORMS]


@lru_cache(maxsize=65536)
def name_key(name: str) -> NameKey:
    words = company_words(name)
    return NameKey(
        raw=name,
        normalized=" ".join(words) if words else normalize_company_name(name),
        tokens=frozenset(words),
        form=legal_form_class(name),
    )


# Points taken off for evidence that two similar names are two companies.
FORM_PENALTY = 13.0  # AG on the document, GmbH on record: another legal entity
MISSING_FORM_PENALTY = 6.0  # a form on the document, none on record (a sole trader?)
POSTCODE_PENALTY = 12.0
POSTCODE_BONUS = 3.0
# Same words in another order: "Gloor Elektro AG" and "Elektro Gloor GmbH" are two
# companies, so order alone keeps a name below the acceptance line.
ORDER_PENALTY = 13.0
WORD_SLACK = 10.0  # the whole-name score may exceed its worst-matched word by this much
# A word two letters away from its partner ("Chelberger" / "Knelberger") is likelier
# another name than a reading slip: without a postcode that agrees, such a name stays
# below the acceptance line (unsure: neither matched nor proposed as new); three or more
# letters stay below it even in the same town.
LOOSE_CAP = 85.0


def _best(word: str, others: frozenset[str]) -> float:
    return max((fuzz.ratio(word, other) for other in others), default=0.0)


_OCR_LOOKALIKES = str.maketrans("015|", "olsl")


def ocr_fold(word: str) -> str:
    """Digits a scan reads for letters ("Hote1", "Marc0") compare as those letters."""
    return word.translate(_OCR_LOOKALIKES)


def slips(query: NameKey, candidate: NameKey, ignore: frozenset[str] = frozenset()) -> int:
    """How far apart the least alike words are: the most letters any word on either side
    is away from its closest partner, a short word's one letter counting double (one
    letter is a fifth of "Kälin" but a tenth of "Knelberger")."""
    q_words = query.tokens - ignore
    if not q_words or not candidate.tokens:
        return 99

    def gap(word: str, others: frozenset[str]) -> int:
        distance = min(Levenshtein.distance(ocr_fold(word), ocr_fold(other)) for other in others)
        return distance * 2 if distance == 1 and len(word) <= 5 else distance

    return max(
        max(gap(w, candidate.tokens) for w in q_words),
        max(gap(w, q_words) for w in candidate.tokens),
    )


def worst_word(query: NameKey, candidate: NameKey, ignore: frozenset[str] = frozenset()) -> float:
    """How well the *least* similar word on either side finds a partner on the other.

    A long shared trade word makes "Weinhandlung Wil" and "Wiolzi Weinhandlung" look
    alike letter by letter; their distinctive words do not match, so they are two
    companies. A typo ("Tanister" / "Tanisster") still finds its partner.
    """
    q_words = query.tokens - ignore
    if not q_words or not candidate.tokens:
        return 0.0
    worst_q = min(_best(word, candidate.tokens) for word in q_words)
    worst_c = min(_best(word, q_words) for word in candidate.tokens)
    return min(worst_q, worst_c)


def words_score(query: NameKey, candidate: NameKey, ignore: frozenset[str] = frozenset()) -> float:
    """0..100 for the words alone: order-aware, tolerant to typos and reordering, and
    never much better than the worst-matched word."""
    if not query.normalized or not candidate.normalized:
        return 0.0
    in_order = fuzz.ratio(query.normalized, candidate.normalized)
    any_order = fuzz.token_sort_ratio(query.normalized, candidate.normalized) - ORDER_PENALTY
    letters = max(in_order, any_order)
    if ignore:
        kept = " ".join(w for w in query.normalized.split() if w not in ignore)
        letters = max(letters, fuzz.ratio(kept, candidate.normalized))
    return min(letters, worst_word(query, candidate, ignore) + WORD_SLACK)


def name_score(
    query: NameKey,
    candidate: NameKey,
    query_address: Address | None = None,
    candidate_address: Address | None = None,
) -> float:
    """How sure we are that `query` (as printed) names `candidate` (a directory entry).

    Not capped at 100: a postcode that agrees lifts an exact name above its twin in
    another town, and ranking needs that difference. Show it capped.
    """
    # The town after the name on a letterhead ("Gloor Elektro AG Winterthur") is not part
    # of the name when it is the candidate's town.
    city = (
        name_key(candidate_address.city).tokens
        if candidate_address and candidate_address.city
        else frozenset()
    )
    score = words_score(query, candidate, city - candidate.tokens)
    if query.form and candidate.form and query.form != candidate.form:
        score -= FORM_PENALTY
    elif query.form and not candidate.form:
        score -= MISSING_FORM_PENALTY
    q_post = (query_address.postcode or "").strip() if query_address else ""
    c_post = (candidate_address.postcode or "").strip() if candidate_address else ""
    same_place = bool(q_post and c_post and q_post == c_post)
    if q_post and c_post:
        score += POSTCODE_BONUS if same_place else -POSTCODE_PENALTY
    apart = slips(query, candidate, city - candidate.tokens)
    if apart >= 3 or (apart == 2 and not same_place):
        score = min(score, LOOSE_CAP)
    return max(0.0, score)


def person_or_company_matches(printed: str, expected: str) -> float:
    """For invoice control: does a printed addressee name the expected company?

    The window often says more than the company name ("Muster Bau AG, z.H. Frau Meier"),
    so when every word of the expected name is on the document, that is a full match.
    """
    want = name_key(expected)
    got = name_key(printed)
    if not want.tokens or not got.tokens:
        return 0.0
    if all(any(fuzz.ratio(w, g) >= 85 for g in got.tokens) for w in want.tokens):
        return 100.0
    return max(
        words_score(got, want), float(fuzz.token_sort_ratio(got.normalized, want.normalized))
    )


def street_key(street: str | None) -> str:
    """`Bahnhofstr. 1` and `Bahnhofstrasse 1` compare equal."""
    folded = fold(street or "")
    for long, short in (("strasse", "str"), ("weg", "wg"), ("platz", "pl")):
        folded = folded.replace(long, short)
    return folded.replace(" ", "")

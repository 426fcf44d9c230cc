"""`fold_text` (extractors/fields/labels.py): lower case without accents, one character for
one, so that positions found in the folded text hold in the original. Its fast paths (plain
ASCII, kept results) must fold exactly as folding character by character does."""

import unicodedata

from extractors.fields.labels import fold_text


def _by_character(text: str) -> str:
    """The definition: each character decomposed, its accents dropped, lower-cased."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in base if not unicodedata.combining(c)) or ch
        out.append(base[0].lower() if base else ch)
    return "".join(out)


def test_every_character_of_the_scripts_documents_use_folds_as_defined() -> None:
    # Latin, Greek, Cyrillic, the ligatures and letter-like symbols of invoices (ﬁ, ℃, №).
    text = "".join(chr(c) for c in range(0x20, 0x2200) if chr(c).isprintable())
    text += "ﬁﬂ№℃Ⅻ"
    assert fold_text(text) == _by_character(text)
    assert len(fold_text(text)) == len(text)


def test_lines_fold_alike_whether_plain_or_accented_and_asked_twice() -> None:
    for line in ["Total CHF 1'234.50", "Gesamtbetrag inkl. MWST", "Échéance: 30 jours", "İ"]:
        assert fold_text(line) == _by_character(line)
        assert fold_text(line) == fold_text(line)  # the kept result
    assert fold_text("Rechnungsdatum") == "rechnungsdatum"
    assert fold_text("Fällig am") == "fallig am"

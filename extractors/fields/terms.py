"""Due date and payment terms: `zahlbar bis 15.03.2026`, `30 Tage netto`, S1 `/40/0:30`."""

from datetime import date, timedelta

from extractors.fields.dates import find_dates
from extractors.fields.labelled import Hit, compile_labels, find_labelled
from extractors.fields.labels import DUE_LABELS, TERMS_RE, fold_text
from extractors.layout import Line

DUE_RE = compile_labels(DUE_LABELS)


def find_due_dates(lines: list[Line]) -> list[tuple[date, Hit]]:
    out = []
    for hit in find_labelled(lines, DUE_RE):
        dates = find_dates(hit.text)
        if dates:
            out.append((dates[0].value, hit))
    return out


def find_term_days(text: str) -> list[tuple[int, str]]:
    """(days, matched text) for each `innert 30 Tagen` / `30 jours net` / `30 days`."""
    out = []
    for m in TERMS_RE.finditer(fold_text(text)):
        days = int(m.group("days"))
        if 0 < days <= 180:
            out.append((days, text[m.start() : m.end()].strip()))
    return out


def due_from_terms(issue: date | None, days: int | None) -> date | None:
    if issue is None or days is None:
        return None
    return issue + timedelta(days=days)

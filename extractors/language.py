"""Which of de/fr/it/en a document is written in: counting each language's common words."""

import re
from collections import Counter

from extractors.fields.labels import STOPWORDS

_WORDS = {lang: set(words.split()) for lang, words in STOPWORDS.items()}
_TOKEN = re.compile(r"[a-zà-öø-ÿ']+", re.IGNORECASE)
# Letters that only some of the languages use, as extra votes.
_LETTERS = {"de": "äöüß", "fr": "éèêçàâîôû", "it": "òìùè"}


def detect_language(text: str) -> tuple[str | None, float]:
    """(language, confidence 0..1); (None, 0) when there is too little text."""
    tokens = [t.lower().strip("'") for t in _TOKEN.findall(text[:20000])]
    votes: Counter[str] = Counter()
    for token in tokens:
        for lang, words in _WORDS.items():
            if token in words:
                votes[lang] += 1
    lowered = text[:20000].lower()
    for lang, letters in _LETTERS.items():
        votes[lang] += 0.3 * sum(lowered.count(ch) for ch in letters)
    total = sum(votes.values())
    if total < 3:
        return None, 0.0
    (best, top), *rest = [*votes.most_common(2), ("", 0.0)]
    second = rest[0][1] if rest else 0.0
    confidence = min(0.99, 0.5 + 0.5 * (top - second) / max(top, 1.0)) if top else 0.0
    return best, round(confidence, 3)

"""Tesseract as a library (tesserocr), run inside the OCR workers (`extractors.ocr`).

The `tesseract` CLI loads the deu+fra+ita+eng models on every call: ~0.25 s of CPU, a
fifth of what reading a scanned A4 page costs. A worker keeps them loaded, so each page
pays only for the reading. Everything here runs in a worker process, under its time and
memory limit: a page that hangs or crashes libtesseract kills that worker, not the caller.
"""

import os
from functools import cache
from pathlib import Path
from typing import Any

from domain.enums import ReadErrorKind
from extractors.errors import ReadFailure

LANGS = "deu+fra+ita+eng"
# Where Debian's tesseract-ocr-* packages put the language data (scripts/bootstrap.sh).
_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)
_MISSING = "OCR is not installed (tesseract and its deu/fra/ita/eng data: scripts/bootstrap.sh)"

Word = tuple[str, float, float, float, float, float]  # text, x0, top, x1, bottom, conf (px)
LineId = tuple[int, int, int]  # block, paragraph, line: which words tesseract saw as a line


@cache
def tessdata() -> str:
    """The language-data folder ($TESSDATA_PREFIX first); ReadFailure if a language lacks."""
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    for folder in [*candidates, *_TESSDATA_DIRS]:
        if all((Path(folder) / f"{lang}.traineddata").is_file() for lang in LANGS.split("+")):
            return folder
    raise ReadFailure(ReadErrorKind.UNREADABLE, _MISSING)


@cache
def version() -> str:
    """libtesseract's version, e.g. "5.5.4" (part of the OCR cache key)."""
    try:
        import tesserocr
    except ImportError as exc:
        raise ReadFailure(ReadErrorKind.UNREADABLE, _MISSING) from exc
    tessdata()
    return tesserocr.tesseract_version().split()[1]


@cache
def _api(lang: str) -> Any:  # tesserocr.PyTessBaseAPI (the module has no type hints)
    import tesserocr

    return tesserocr.PyTessBaseAPI(path=tessdata(), lang=lang)


def read_words(path: str, psm: int, dpi: int, sauvola: bool) -> tuple[list[Word], list[LineId]]:
    """The words of the image file at `path`, with their boxes and confidences.

    `dpi` 0 lets tesseract estimate the resolution from the letters (a photo has none);
    `sauvola` picks Sauvola's local threshold, which copes with light falling off across
    a photographed sheet. The API keeps variables between pages, so all are set each time.
    """
    api = _api(LANGS)
    api.SetPageSegMode(psm)
    api.SetVariable("thresholding_method", "2" if sauvola else "0")
    api.SetVariable("user_defined_dpi", str(dpi))
    api.SetImageFile(path)
    if not api.Recognize():
        raise ReadFailure(ReadErrorKind.UNREADABLE, "OCR failed on this page")
    words: list[Word] = []
    line_ids: list[LineId] = []
    # level page block par line word left top width height conf text; level 5 is a word.
    for row in api.GetTSVText(0).splitlines():
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].strip()
        conf = float(cells[10])
        if not text or conf < 0:
            continue
        left, top, width, height = (float(c) for c in cells[6:10])
        words.append((text, left, top, left + width, top + height, conf))
        line_ids.append((int(cells[2]), int(cells[3]), int(cells[4])))
    api.Clear()
    return words, line_ids


def orientation(path: str) -> int:
    """Degrees to turn the image clockwise so its text stands upright (0 if unsure)."""
    import tesserocr

    api = _api("osd")
    api.SetPageSegMode(tesserocr.PSM.OSD_ONLY)
    api.SetVariable("user_defined_dpi", "300")
    api.SetImageFile(path)
    found = api.DetectOrientationScript()
    api.Clear()
    if not found:
        return 0  # too little text to tell: leave it as it is
    # tesseract reports how far the page is turned; undoing it is the other way round.
    return (360 - int(found["orient_deg"])) % 360

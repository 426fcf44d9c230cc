"""OCR with tesseract (deu+fra+ita+eng), one tesseract thread per process, every core busy.

Throughput comes from processes, not from tesseract's own threads (DESIGN.md): a bounded
pool of `ocr_processes` OCR workers (`extractors.limits.WorkerPool`), each running
libtesseract single-threaded with the models loaded once (`extractors.tesseract`), fed by
as many threads here. Pages of one document go in parallel, and documents read at the
same time share the pool. A page is levelled first when its lines run askew
(`extractors.images.skew_angle`), and read a second time enlarged when its letters came
out too small to read well. Orientation is checked only when a page reads badly (OSD
costs as much as the OCR itself). Results are cached by the hash of the page image, in
memory and on disk (`OcrCache`).

This module holds no engine of its own: the threads, the OCR workers and the cache are an
`OcrEngine`, made and closed by the `extractors.readers.Readers` that the caller passes
to `extractors.read`, with the page time limit of its `ReaderConfig`.
"""

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from extractors import tesseract
from extractors.errors import ReadFailure
from extractors.images import MIN_SKEW, SKEW_WIDTH, deskew, skew_angle
from extractors.limits import RAM_DISK, Budget, WorkerPool
from extractors.qr_decode import DecodedQr, decode_swiss_qr

LANGS = tesseract.LANGS
# Part of the cache key: bump it when the way pages are read changes.
CACHE_VERSION = "ocr-10"
# Below this mean word confidence, or with fewer words, a page may be upside down or
# sideways: ask tesseract's orientation detection and read it again turned.
POOR_CONFIDENCE = 60.0
POOR_WORDS = 8
# Every scrap of text, in no particular order: finds amounts and names that the page
# layout analysis took for pictures or dropped with a column.
SPARSE_TEXT = 11
# The page as one block of text: keeps a receipt's amount column beside its labels, with
# the decimal points that sparse reading loses ("39 40").
SINGLE_BLOCK = 6
# One OCR thread per tesseract process (the OCR workers inherit this environment).
os.environ["OMP_THREAD_LIMIT"] = "1"

OcrWord = tuple[str, float, float, float, float, float]  # text, x0, top, x1, bottom, conf (px)


@dataclass
class OcrInput:
    """One page image to read. Either a decoded image or the scanner's JPEG bytes."""

    image: Image.Image | None = None
    jpeg: bytes | None = None
    dpi: int = 300
    try_qr: bool = True
    qr_thorough: bool = False  # photos: whole image, contrast-stretched retries
    photo: bool = False  # uneven light, small letters: stretch, enlarge, adaptive threshold
    budget: Budget | None = None  # the document's OCR time, shared by its pages
    # Tesseract's page segmentation: 3 (automatic layout) first; SINGLE_BLOCK, then
    # SPARSE_TEXT for a second look at a page whose layout analysis dropped text
    # (`extractors.pipeline`).
    psm: int = 3


@dataclass
class OcrResult:
    words: list[OcrWord]
    width: int  # pixel size of the image the word boxes refer to (after rotation)
    height: int
    rotation: int = 0
    confidence: float = 0.0
    qr: list[DecodedQr] = field(default_factory=list)
    cached: bool = False


class OcrCache:
    """Memory LRU in front of a directory of JSON files, keyed by content hash.

    The files hold the text of clients' documents and would grow without end: a file not
    used for `max_age_s` (its modification time; a hit renews it) is deleted by a sweep
    that runs in the background every `prune_every` new entries. For the same reason
    they are readable by their owner only (files 0600, the folders this cache makes 0700).
    """

    def __init__(
        self,
        directory: Path | None,
        items: int = 512,
        max_age_s: float = 30 * 86400,
        prune_every: int = 1000,
    ) -> None:
        self.directory = directory
        self.items = items
        self.max_age_s = max_age_s
        self.prune_every = prune_every
        self._mem: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._puts = 0
        self._pruning: threading.Thread | None = None

    def get(self, key: str) -> dict | None:
        with self._lock:
            if key in self._mem:
                self._mem.move_to_end(key)
                return self._mem[key]
        if self.directory:
            path = self.directory / key[:2] / f"{key}.json"
            try:
                value = json.loads(path.read_text())
                os.utime(path)  # used: kept another max_age_s
            except (OSError, ValueError):
                return None
            self._put_mem(key, value)
            return value
        return None

    def put(self, key: str, value: dict) -> None:
        self._put_mem(key, value)
        if self.directory:
            path = self.directory / key[:2] / f"{key}.json"
            try:
                _private_dirs(path.parent)
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                _write_private(tmp, json.dumps(value).encode())
                tmp.replace(path)
            except OSError:
                pass  # a cache that cannot write is only slower
            self._maybe_prune()

    def _maybe_prune(self) -> None:
        with self._lock:
            self._puts += 1
            if self._puts % self.prune_every or (self._pruning and self._pruning.is_alive()):
                return
            self._pruning = threading.Thread(target=self.prune, name="ocr-cache-prune", daemon=True)
            self._pruning.start()

    def prune(self, now: float | None = None) -> int:
        """Delete the entries not used for `max_age_s` (and leftover temporary files);
        how many files went."""
        if self.directory is None:
            return 0
        horizon = (time.time() if now is None else now) - self.max_age_s
        removed = 0
        for path in self.directory.glob("*/*"):
            try:
                if path.stat().st_mtime < horizon and path.suffix in (".json", ".tmp"):
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or not ours to delete
        return removed

    def _put_mem(self, key: str, value: dict) -> None:
        with self._lock:
            self._mem[key] = value
            self._mem.move_to_end(key)
            while len(self._mem) > self.items:
                self._mem.popitem(last=False)


def _private_dirs(path: Path) -> None:
    """`path` and its missing parents, made 0700 (the umask would make them 0755)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another thread made it meanwhile
            directory.mkdir(mode=0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Write `path` as 0600 from its first byte (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class OcrEngine:
    """The OCR threads, the worker processes they hand pages to (one worker each), and
    the cache the results go to. Built and closed by `extractors.readers.Readers`, which
    builds a new one in a forked child (threads and pipes do not survive a fork)."""

    def __init__(self, processes: int, cache: OcrCache, page_timeout_s: float) -> None:
        size = max(1, processes)
        self.threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ocr")
        self.workers = WorkerPool(size, job="OCR of a page")
        self.cache = cache
        self.page_timeout_s = page_timeout_s

    def shutdown(self) -> None:
        self.threads.shutdown(wait=False)
        self.workers.shutdown()


def tesseract_version() -> str:
    """libtesseract's version; ReadFailure(UNREADABLE) when OCR is not installed."""
    return tesseract.version()


def submit(engine: OcrEngine, page: OcrInput) -> "Future[OcrResult]":
    """Queue one page on `engine`; the future raises ReadFailure (timeout, OCR missing)."""
    return engine.threads.submit(_run, page, engine.cache, engine.workers, engine.page_timeout_s)


def _key(page: OcrInput) -> str:
    h = hashlib.sha256()
    h.update(
        f"{tesseract_version()}|{LANGS}|{CACHE_VERSION}|{page.dpi}|{page.try_qr}|"
        f"{page.qr_thorough}|{page.photo}|{page.psm}|".encode()
    )
    if page.jpeg is not None:
        h.update(page.jpeg)
    else:
        assert page.image is not None
        h.update(f"{page.image.mode}{page.image.size}".encode())
        h.update(page.image.tobytes())
    return h.hexdigest()


def _tesseract_words(
    workers: WorkerPool,
    path: str,
    timeout: float,
    dpi: int = 300,
    photo: bool = False,
    psm: int = 3,
    budget: Budget | None = None,
) -> list[OcrWord]:
    # A photo has no resolution (0: tesseract estimates it from the letters), and its light
    # falls off across the sheet: Sauvola's local threshold, except for the one-block re-read.
    words, line_ids = workers.call(
        tesseract.read_words,
        path,
        psm,
        0 if photo else dpi,
        photo and psm != 6,
        timeout=timeout,
        budget=budget,
    )
    return _level(words, line_ids)


def _level(words: list[OcrWord], line_ids: list[tuple[int, int, int]]) -> list[OcrWord]:
    """Undo the slant of photographed pages in the word boxes.

    Tesseract follows each text line even when it runs uphill, but a row of a table
    (label left, amount far right) is split into lines that our layout must join by
    height. So measure the slope of tesseract's lines, as a function of height on the
    page (a photo's perspective tilts the top and the bottom differently), and shift
    every box by slope x distance from the page centre. Straight scans stay as they are.
    """
    by_line: dict[tuple[int, int, int], list[OcrWord]] = {}
    for word, key in zip(words, line_ids, strict=True):
        by_line.setdefault(key, []).append(word)
    samples: list[tuple[float, float, float]] = []  # (y, slope, weight)
    for line in by_line.values():
        if len(line) < 2:
            continue
        xs = [(w[1] + w[3]) / 2 for w in line]
        ys = [(w[2] + w[4]) / 2 for w in line]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx < 1e4:  # too short a line to measure
            continue
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        if abs(slope) < 0.2:
            samples.append((my, slope, sxx**0.5))
    if len(samples) < 3:
        return words
    # Weighted least squares: slope(y) = a + b * y.
    sw = sum(w for _, _, w in samples)
    my = sum(y * w for y, _, w in samples) / sw
    ms = sum(s * w for _, s, w in samples) / sw
    syy = sum(w * (y - my) ** 2 for y, _, w in samples)
    b = sum(w * (y - my) * (s - ms) for y, s, w in samples) / syy if syy else 0.0
    a = ms - b * my
    if max(abs(a + b * y) for y, _, _ in samples) < 0.002:
        return words  # level already (a scan): keep the boxes as tesseract drew them
    centre = sum((w[1] + w[3]) / 2 for w in words) / len(words)
    out: list[OcrWord] = []
    for text, x0, top, x1, bottom, conf in words:
        shift = (a + b * (top + bottom) / 2) * ((x0 + x1) / 2 - centre)
        out.append((text, x0, top - shift, x1, bottom - shift, conf))
    return out


# Tesseract reads letters best some 20-40 px tall (10 pt at 200-300 dpi). Much smaller
# text (a page shrunk into a small picture, a fax at 100 dpi) loses its thin strokes when
# tesseract binarises it and breaks into noise: such a page is read again, enlarged so
# that its words stand about TARGET_TEXT_PX tall (box height, ascenders included), and
# the better reading kept. Real scans of that kind (1200 px wide pictures of A4 pages):
# 119 of 139 values present in the text before, 129 after; pages of 150 dpi and more
# (words 13 px and taller) read no better enlarged and are left alone.
SMALL_TEXT_PX = 12
TARGET_TEXT_PX = 28
MAX_ENLARGEMENT = 4.0
MAX_ENLARGED_PIXELS = 12_000_000  # an A4 page at ~350 dpi: bounded OCR time
ENLARGED_DPI = 300


def _word_height(words: list[OcrWord]) -> float:
    """Median height in px of the words read with some confidence (0.0: too few)."""
    heights = sorted(w[4] - w[2] for w in words if w[5] >= 50 and len(w[0]) >= 2)
    if len(heights) < 5:
        return 0.0
    return heights[len(heights) // 2]


def _enlargement(words: list[OcrWord], size: tuple[int, int]) -> float:
    """How much to enlarge a page whose text came out too small (1.0: not at all)."""
    height = _word_height(words)
    if not height or height >= SMALL_TEXT_PX:
        return 1.0
    factor = min(MAX_ENLARGEMENT, TARGET_TEXT_PX / height)
    factor = min(factor, (MAX_ENLARGED_PIXELS / max(1, size[0] * size[1])) ** 0.5)
    return factor if factor >= 1.3 else 1.0


def _score(words: list[OcrWord]) -> float:
    """What a reading is worth: its words weighted by confidence (more words read surely
    score higher; a page of noise read as many unsure fragments does not)."""
    return sum(w[5] for w in words)


def _scaled(words: list[OcrWord], factor: float) -> list[OcrWord]:
    return [
        (text, x0 * factor, top * factor, x1 * factor, bottom * factor, conf)
        for text, x0, top, x1, bottom, conf in words
    ]


def _levelled(image: Image.Image, jpeg: bytes | None = None) -> Image.Image | None:
    """The page turned level when its lines run askew by MIN_SKEW or more; None when it
    is level already (then it is read as it is)."""
    sample = image
    if jpeg is not None:
        # The estimate looks at the page only SKEW_WIDTH wide: the JPEG decoder scales it
        # down while decoding, for a fraction of the full decode.
        sample = Image.open(io.BytesIO(jpeg))
        sample.draft("L", (SKEW_WIDTH, round(SKEW_WIDTH * sample.height / max(1, sample.width))))
    angle = skew_angle(sample)
    if abs(angle) < MIN_SKEW:
        return None
    return deskew(image, angle)


def _quality(words: list[OcrWord]) -> float:
    if not words:
        return 0.0
    return sum(w[5] for w in words) / len(words)


def _orientation(
    workers: WorkerPool, path: str, timeout: float, budget: Budget | None = None
) -> int:
    """Degrees to turn the image clockwise so the text is upright (tesseract OSD); 0 when
    OSD cannot tell or fails — the page is then read as it lies, not lost."""
    try:
        return workers.call(tesseract.orientation, path, timeout=timeout, budget=budget)
    except ReadFailure:
        return 0


def _write(image: Image.Image, directory: str) -> str:
    fd, path = tempfile.mkstemp(suffix=".pgm", dir=directory)
    os.close(fd)
    image.save(path, format="PPM")
    return path


def _run(page: OcrInput, cache: OcrCache, workers: WorkerPool, timeout: float) -> OcrResult:
    key = _key(page)
    hit = cache.get(key)
    if hit is not None:
        return OcrResult(
            words=[tuple(w) for w in hit["words"]],
            width=hit["width"],
            height=hit["height"],
            rotation=hit["rotation"],
            confidence=hit["confidence"],
            qr=[DecodedQr(q[0], tuple(q[1])) for q in hit["qr"]],
            cached=True,
        )
    with tempfile.TemporaryDirectory(dir=RAM_DISK, prefix="fiduflow-ocr-") as tmp:
        image = page.image
        if image is None:
            image = Image.open(io.BytesIO(page.jpeg or b""))
        if page.photo:
            image = prepare_photo(image)
        level = _levelled(image, page.jpeg)
        if level is not None:
            image = level
            path = _write(image, tmp)
        elif page.jpeg is not None:
            # Level already: tesseract reads the scanner's JPEG itself.
            path = os.path.join(tmp, "page.jpg")
            with open(path, "wb") as fh:
                fh.write(page.jpeg)
        else:
            path = _write(image, tmp)
        budget = page.budget
        words = _tesseract_words(
            workers, path, timeout, page.dpi, page.photo, psm=page.psm, budget=budget
        )
        rotation = 0
        if page.photo and page.psm == 3 and _looks_incomplete(words, image.width):
            # Tesseract's page layout drops whole columns of photographed receipts (the
            # amounts); reading the picture as one block of text keeps them.
            block = _tesseract_words(
                workers, path, timeout, page.dpi, page.photo, psm=6, budget=budget
            )
            if _amount_count(block) > _amount_count(words):
                words = block
        if len(words) < POOR_WORDS or _quality(words) < POOR_CONFIDENCE:
            turn = _orientation(workers, path, timeout, budget)
            if turn:
                # OSD says how far to rotate clockwise; PIL rotates counter-clockwise.
                turned = image.rotate(-turn, expand=True)
                turned_words = _tesseract_words(
                    workers, _write(turned, tmp), timeout, page.dpi, page.photo, budget=budget
                )
                if _quality(turned_words) * len(turned_words) > _quality(words) * len(words):
                    words, image, rotation = turned_words, turned, turn
        factor = _enlargement(words, image.size)
        if factor > 1.0:
            enlarged = image.convert("L").resize(
                (round(image.width * factor), round(image.height * factor)),
                Image.Resampling.LANCZOS,
            )
            # Letters now stand as tall as at ~300 dpi; a photo keeps tesseract's estimate.
            dpi = 0 if page.photo else ENLARGED_DPI
            enlarged_words = _tesseract_words(
                workers, _write(enlarged, tmp), timeout, dpi, page.photo, budget=budget
            )
            if _score(enlarged_words) > _score(words):
                words = _scaled(enlarged_words, 1 / factor)
        if budget is not None and budget.exceeded():
            # Its orientation check may have been cut short: not a reading to keep.
            raise budget.failure()
        qr: list[DecodedQr] = []
        # Look for a QR-bill where the page names a payment part (or is a photo): decoding
        # the picture costs a tenth of a second, on every page it would be 5 % of OCR.
        if page.try_qr and (page.qr_thorough or any(_QR_WORDS.search(word[0]) for word in words)):
            qr = _find_qr(image, words, page.qr_thorough)
    result = OcrResult(
        words=words,
        width=image.width,
        height=image.height,
        rotation=rotation,
        confidence=_quality(words),
        qr=qr,
    )
    cache.put(
        key,
        {
            "words": words,
            "width": result.width,
            "height": result.height,
            "rotation": rotation,
            "confidence": result.confidence,
            "qr": [[q.payload, list(q.box)] for q in qr],
        },
    )
    return result


_AMOUNT_TOKEN = re.compile(r"\d[.,:]\d\d$")


def _amount_count(words: list[OcrWord]) -> int:
    return sum(1 for w in words if _AMOUNT_TOKEN.search(w[0]) and w[5] >= 50)


def _looks_incomplete(words: list[OcrWord], width: int) -> bool:
    """Few amounts read, or all text in a narrow column (a till receipt)."""
    if _amount_count(words) < 4:
        return True
    xs0 = sorted(w[1] for w in words)
    xs1 = sorted(w[3] for w in words)
    span = xs1[int(len(xs1) * 0.9)] - xs0[int(len(xs0) * 0.1)]
    return span < width * 0.5


# Phone photos of an A4 page come at 150-200 dpi: letters too small for tesseract. Enlarge
# towards this long side (at most twice), after stretching the contrast. Measured on
# generated photos: 3000 px reads as well as 4000 px did (bench/accuracy.py, 73 photos of
# seeds 5, 9, 11: 91.6 % of fields against 91.3 %; totals of bench/pipeline.py's 27
# photos: 24 right either way) with 62 % of tesseract's time (61 s against 99 s of CPU).
# 2400 px was as fast but read three of those totals fewer.
PHOTO_LONG_SIDE = 3000


def prepare_photo(image: Image.Image) -> Image.Image:
    from PIL import ImageOps

    image = ImageOps.autocontrast(image.convert("L"), cutoff=1)
    factor = min(2.0, PHOTO_LONG_SIDE / max(image.size))
    if factor > 1.1:
        size = (round(image.width * factor), round(image.height * factor))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


# Words only the payment part of a QR-bill prints (headings, "Annahmestelle").
_QR_WORDS = re.compile(
    r"zahlteil|empfangsschein|annahmestelle|paiement|r[ée]c[ée]piss[ée]|d[ée]p[ôo]t|"
    r"pagamento|ricevuta|accettazione|payment|receipt|acceptance",
    re.IGNORECASE,
)


def _find_qr(image: Image.Image, words: list[OcrWord], thorough: bool) -> list[DecodedQr]:
    """Bottom 40 % first (where the payment part sits on A4), the whole page when the page
    mentions a payment part or the image is a photo."""
    w, h = image.size
    top = int(h * 0.6)
    found = decode_swiss_qr(image.crop((0, top, w, h)))
    if found:
        return [
            DecodedQr(q.payload, (q.box[0], q.box[1] + top, q.box[2], q.box[3] + top))
            for q in found
        ]
    if thorough or any(_QR_WORDS.search(word[0]) for word in words):
        return decode_swiss_qr(image, thorough=thorough)
    return []

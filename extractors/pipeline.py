"""The four public functions: read -> classify -> extract_fields, or extract for all three.

`read` never raises for bad input: what goes wrong becomes `Reading.error` with a kind
routing can act on (encrypted, corrupt, empty, too_large, timeout, unsupported, unreadable).
What goes wrong with *us* is not the file's error: a reader worker killed or stopped from
outside raises `ReaderInterrupted` (and Ctrl-C its KeyboardInterrupt), so the caller
retries instead of recording the file as unreadable.

What a reading runs on and may cost comes from the `extractors.readers.Readers` passed
in (its `ReaderConfig`: time limits, pages and OCR time per document, the OCR cache);
callers that pass none get `default_readers()`. This module keeps no workers of its own.
"""

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait

from domain.enums import MediaType, ReadErrorKind, TextSource
from domain.extraction import PAGE_FIELDS, Box, Extraction, ReadError
from domain.filetype import MAX_XML_BYTES, looks_like_xml, sniff, xml_root
from extractors import camt, einvoice, images, ocr
from extractors.assemble import NOT_FOR
from extractors.assemble import extract_fields as _extract_fields
from extractors.classify import classify_reading
from extractors.errors import ReaderInterrupted, ReadFailure
from extractors.fields.labels import QR_HEADING_RE
from extractors.layout import group_lines, page_text
from extractors.limits import Budget, WorkerPool, spooled
from extractors.pdfdoc import PageInfo, PdfInfo, inspect_file, render_file_page, scan_or_render
from extractors.qr_decode import DecodedQr, decode_swiss_qr
from extractors.readers import Readers, default_readers
from extractors.reading import Classification, PageText, QrCode, Reading, Word
from extractors.split import detect_parts
from extractors.textlayer import RawPage, parse_text_layer

log = logging.getLogger(__name__)

OCR_DPI = 300
QR_DPI = 200
# Bottom share of an A4 page rendered first when looking for the payment part (105 mm).
QR_BOTTOM_SHARE = 0.40
A4_WIDTH_PT = 595.0


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def read(data: bytes, filename: str | None = None, readers: Readers | None = None) -> Reading:
    """Bytes -> Reading (text with positions, QR payloads, e-invoice data), read by
    `readers` within their limits (None: `default_readers()`)."""
    started = time.perf_counter()
    readers = readers if readers is not None else default_readers()
    # One OCR budget for the whole document: first reading and second look together.
    budget = readers.ocr_budget()
    reading = Reading(filename=filename)
    try:
        if not data:
            raise ReadFailure(ReadErrorKind.EMPTY, "the file is empty")
        media = sniff(data)
        reading.media_type = media
        if media is None:
            raise _refusal(data)
        if media is MediaType.PDF:
            _read_pdf(readers, data, reading, budget)
        elif media is MediaType.XML:
            _read_xml(data, reading)
        else:
            _read_image(readers, data, reading, budget)
        if reading.text_source is TextSource.OCR and reading.error is None and reading.pages:
            try:
                _second_look(readers, data, reading, budget)
            except ReaderInterrupted:
                raise
            except Exception:  # a second look that fails leaves the first reading
                log.exception("second look at %s failed", filename)
        exact = reading.xml_invoice or reading.bank_statement
        if not reading.error and not exact and not reading.text.strip():
            reading.error = ReadError(kind=ReadErrorKind.UNREADABLE, message="no text found")
    except ReadFailure as failure:
        reading.error = failure.to_error()
    except ReaderInterrupted:
        raise  # our process died, not a property of the bytes: the caller retries
    except MemoryError:
        reading.error = ReadError(kind=ReadErrorKind.TOO_LARGE, message="out of memory")
    except Exception as exc:  # a reader bug must not crash the flow: it becomes a task
        log.exception("reading %s failed", filename)
        reading.error = ReadError(
            kind=ReadErrorKind.CORRUPT, message=f"{type(exc).__name__}: {exc}"
        )
    reading.timings["read"] = _ms(started)
    return reading


def _refusal(data: bytes) -> ReadFailure:
    """Why `sniff` takes these bytes for none of the types we read. For XML, staff need
    to tell a wrong file (its root element names what it is) from a damaged one."""
    if not looks_like_xml(data):
        return ReadFailure(ReadErrorKind.UNSUPPORTED, "not a PDF, an image or an XML file")
    if len(data) > MAX_XML_BYTES:
        return ReadFailure(
            ReadErrorKind.TOO_LARGE, f"XML file over {MAX_XML_BYTES // 1024 // 1024} MB"
        )
    root = xml_root(data)
    if root is None:
        return ReadFailure(
            ReadErrorKind.CORRUPT,
            "XML file whose root element cannot be read (not well-formed, a DOCTYPE, "
            "or the root element after the first 64 KiB)",
        )
    return ReadFailure(
        ReadErrorKind.UNSUPPORTED,
        "XML file is neither an e-invoice (CII, ZUGFeRD 1.0, UBL) nor camt: "
        f"root element {root.rpartition('}')[2]}",
    )


# --- PDF -------------------------------------------------------------------------------


def _read_pdf(readers: Readers, data: bytes, reading: Reading, budget: Budget) -> None:
    # pdfium runs in the parse workers, never here (extractors.pdfdoc says why).
    with spooled(data) as path:
        _read_spooled_pdf(readers, path, data, reading, budget)


def _read_spooled_pdf(
    readers: Readers, path: str, data: bytes, reading: Reading, budget: Budget
) -> None:
    pool = readers.parse_pool
    timeout = readers.config.parse_timeout_s
    t = time.perf_counter()
    info: PdfInfo = pool.call(inspect_file, path, True, timeout=timeout)
    reading.page_count = len(info.pages)
    reading.timings["inspect"] = _ms(t)
    reading.xml_invoice = einvoice.read_embedded(info.attachments)
    text_pages = [p for p in info.pages if p.has_text_layer]
    image_pages = [p for p in info.pages if not p.has_text_layer]
    # 1. The text layer parses in a worker process while this thread renders and OCRs.
    text_future: Future[list[RawPage]] | None = None
    if text_pages:
        # Waited on in a thread, so that this one renders and OCRs meanwhile.
        text_future = readers.waiters.submit(
            pool.call,
            parse_text_layer,
            data,
            [p.index + 1 for p in text_pages],
            timeout=timeout,
        )
    # 2. OCR the pages without text, a few at a time: a page image waiting for OCR holds
    # ~9 MB, so a 250-page scan queued at once would hold gigabytes.
    t = time.perf_counter()
    errors: list[ReadFailure] = []
    image_pages = _bounded(image_pages, errors, readers.config.ocr_max_pages)
    ocr_jobs = _queue_ocr(readers, path, image_pages, errors, budget)
    # 3. QR-bills on text pages: only where the page names a payment part.
    qr_codes: list[QrCode] = []
    for p in text_pages:
        if QR_HEADING_RE.search(p.text):
            qr_codes.extend(_qr_from_pdf_page(pool, path, p, timeout))
    reading.timings["qr"] = _ms(t)
    pages: dict[int, PageText] = {}
    if text_future is not None:
        t = time.perf_counter()
        try:
            for number, width, height, raw in text_future.result():
                pages[number] = _page_from_words(
                    number,
                    width,
                    height,
                    [
                        Word(
                            text=w[0],
                            page=number,
                            x0=w[1],
                            top=w[2],
                            x1=w[3],
                            bottom=w[4],
                            size=w[5],
                        )
                        for w in raw
                    ],
                    TextSource.TEXT_LAYER,
                )
        except ReadFailure as failure:
            if failure.kind in (ReadErrorKind.TIMEOUT, ReadErrorKind.ENCRYPTED) or not image_pages:
                raise
            errors.append(failure)
        reading.timings["text_layer"] = _ms(t)
    if ocr_jobs:
        t = time.perf_counter()
        for p, future, scale in ocr_jobs:
            try:
                result = future.result()
            except ReadFailure as failure:
                errors.append(failure)
                continue
            pages[p.index + 1] = _page_from_ocr(p.index + 1, result, scale)
            qr_codes.extend(
                QrCode(
                    payload=q.payload,
                    page=p.index + 1,
                    box=_px_box(p.index + 1, q.box, scale, 0.0),
                )
                for q in result.qr
            )
        reading.timings["ocr"] = _ms(t)
    reading.pages = [pages[n] for n in sorted(pages)]
    reading.qr_codes = qr_codes
    reading.qr_payloads = [q.payload for q in qr_codes]
    reading.text_source = TextSource.TEXT_LAYER if text_pages else TextSource.OCR
    if errors:
        worst = _worst(errors)
        reading.error = ReadError(kind=worst.kind, message=worst.message)


# --- what one document may cost ---------------------------------------------------------
# A page of noise costs tesseract seconds; a 300-page file of them would cost a core a
# quarter of an hour. So per document: at most `ocr_max_pages` pages are OCR'd (the rest
# is left to a person: too_large), and its pages' OCR time, added up, stays within
# `ocr_document_timeout_s` (workers still reading when it runs out are killed: timeout).
# Both come from the readers' `ReaderConfig`.


def _bounded(pages: list[PageInfo], errors: list[ReadFailure], limit: int) -> list[PageInfo]:
    if len(pages) > limit:
        errors.append(_too_many_pages(limit, len(pages)))
        return pages[:limit]
    return pages


def _too_many_pages(limit: int, count: int | None = None) -> ReadFailure:
    return ReadFailure(
        ReadErrorKind.TOO_LARGE,
        f"{count or f'over {limit}'} pages need OCR; only the first {limit} were read (the "
        "limit per document), the rest needs a person",
    )


def _worst(errors: list[ReadFailure]) -> ReadFailure:
    """The error a reading reports: a time limit when one stopped it, else the first."""
    return next((e for e in errors if e.kind is ReadErrorKind.TIMEOUT), errors[0])


def _queue_ocr(
    readers: Readers,
    path: str,
    image_pages: list[PageInfo],
    errors: list[ReadFailure],
    budget: Budget,
) -> list[tuple[PageInfo, "Future[ocr.OcrResult]", float]]:
    """Hand every image page to OCR, at most the config's `ocr_window` unread at a time;
    returns (page, future, points per pixel). A page that cannot be rendered is an error of
    its own: the other pages are still read."""
    pool, timeout = readers.parse_pool, readers.config.parse_timeout_s
    window = readers.config.ocr_window
    jobs: list[tuple[PageInfo, Future[ocr.OcrResult], float]] = []
    for page in image_pages:
        unread = [future for _, future, _ in jobs if not future.done()]
        if len(unread) >= window:
            wait(unread, return_when=FIRST_COMPLETED)
        try:
            jpeg, image, dpi, pt_per_px = pool.call(
                scan_or_render,
                path,
                page.index,
                page.width,
                OCR_DPI,
                timeout=timeout,
                budget=budget,
            )
        except ReadFailure as failure:
            errors.append(failure)
            if failure.kind is ReadErrorKind.TIMEOUT:
                break  # the next page would most likely take as long (or the budget is out)
            continue
        page_input = ocr.OcrInput(image=image, jpeg=jpeg, dpi=dpi, budget=budget)
        jobs.append((page, readers.submit_ocr(page_input), pt_per_px))
    return jobs


def _qr_from_pdf_page(pool: WorkerPool, path: str, page: PageInfo, timeout: float) -> list[QrCode]:
    image, scale = pool.call(
        render_file_page, path, page.index, QR_DPI, QR_BOTTOM_SHARE, timeout=timeout
    )
    offset = page.height * (1 - QR_BOTTOM_SHARE)
    found: list[DecodedQr] = decode_swiss_qr(image)
    if not found:
        image, scale = pool.call(render_file_page, path, page.index, 300, timeout=timeout)
        offset = 0.0
        found = decode_swiss_qr(image, thorough=True)
    return [
        QrCode(
            payload=q.payload,
            page=page.index + 1,
            box=_px_box(page.index + 1, q.box, 1 / scale, offset),
        )
        for q in found
    ]


def _px_box(
    page: int, box: tuple[float, float, float, float], pt_per_px: float, top_offset: float
) -> Box:
    x0, top, x1, bottom = box
    return Box(
        page=page,
        x0=x0 * pt_per_px,
        top=top * pt_per_px + top_offset,
        x1=x1 * pt_per_px,
        bottom=bottom * pt_per_px + top_offset,
    )


def _page_from_words(
    number: int, width: float, height: float, words: list[Word], source: TextSource, **extra: object
) -> PageText:
    lines = group_lines(words)
    return PageText(
        number=number,
        width=width,
        height=height,
        text=page_text(lines),
        words=[w for line in lines for w in line.words],
        source=source,
        **extra,
    )


def _page_from_ocr(number: int, result: ocr.OcrResult, pt_per_px: float) -> PageText:
    words = [
        Word(
            text=w[0],
            page=number,
            x0=w[1] * pt_per_px,
            top=w[2] * pt_per_px,
            x1=w[3] * pt_per_px,
            bottom=w[4] * pt_per_px,
            size=(w[4] - w[2]) * pt_per_px,
            conf=w[5],
        )
        for w in result.words
    ]
    return _page_from_words(
        number,
        result.width * pt_per_px,
        result.height * pt_per_px,
        words,
        TextSource.OCR,
        rotation=result.rotation,
        ocr_confidence=round(result.confidence, 1),
    )


# --- images and XML --------------------------------------------------------------------


def _read_image(readers: Readers, data: bytes, reading: Reading, budget: Budget) -> None:
    t = time.perf_counter()
    # Phone pictures (JPEG, HEIC) get the photo treatment; PNG/TIFF are scanner output.
    photo = reading.media_type in (MediaType.JPEG, MediaType.HEIC)
    limit = readers.config.ocr_max_pages
    jobs: list[Future[ocr.OcrResult]] = []
    errors: list[ReadFailure] = []
    for frame, _dpi in images.frames(data):
        if len(jobs) == limit:
            errors.append(_too_many_pages(limit))
            break
        frame = images.limit_size(frame)
        job = ocr.OcrInput(image=frame, dpi=300, qr_thorough=photo, photo=photo, budget=budget)
        jobs.append(readers.submit_ocr(job))
    reading.page_count = len(jobs)
    if not jobs:
        raise ReadFailure(ReadErrorKind.EMPTY, "image has no pages")
    pages: list[PageText] = []
    codes: list[QrCode] = []
    for i, future in enumerate(jobs, start=1):
        try:
            result = future.result()
        except ReadFailure as failure:
            errors.append(failure)
            continue
        pt_per_px = _image_scale(result)
        pages.append(_page_from_ocr(i, result, pt_per_px))
        codes.extend(
            QrCode(payload=q.payload, page=i, box=_px_box(i, q.box, pt_per_px, 0.0))
            for q in result.qr
        )
    if errors and not pages:
        raise _worst(errors)
    reading.pages = pages
    reading.qr_codes = codes
    reading.qr_payloads = [c.payload for c in codes]
    reading.text_source = TextSource.OCR
    if errors:
        reading.error = _worst(errors).to_error()
    reading.timings["ocr"] = _ms(t)


def _image_scale(result: ocr.OcrResult) -> float:
    """Points per pixel of an image file's page: images have no page size, so they are
    scaled to A4 and positions read like a letter's."""
    width_pt = A4_WIDTH_PT if result.width <= result.height else A4_WIDTH_PT * 1.414
    return width_pt / result.width


# --- a second look where a required field is missing or unsure --------------------------
# Tesseract's page layout analysis now and then drops a block it took for a picture: a
# total set apart in a box, a receipt's amount column, a name in a logo. When one of
# these fields is missing or unsure after the first reading, the page that prints it is
# read again, first as one block of text (keeps an amount column with its labels), then
# as sparse text (finds what stands apart, such as a name in a logo). A reading is kept
# only when it fills a gap or confirms an unsure value, and changes nothing read already
# (so a guess never replaces a value). Two more readings of one page at most, under a
# document's OCR budget; documents that read surely never pay for it. Measured in
# bench/accuracy.py and bench/straight_through.py
# (docs/decisions/0010-a-second-fact-before-a-total-posts.md).
REQUIRED_FIELDS = ("total", "supplier_name", "issue_date")
SECOND_LOOKS = (ocr.SINGLE_BLOCK, ocr.SPARSE_TEXT)
# Below this a value is worth a second look: it is where routing asks a person
# (routing.decide.CONFIDENT), so a reading that confirms it saves a review.
SURE_ENOUGH = 0.75
# The fields whose unsure reading alone sends a document to a person; an unsure supplier
# name does not (the supplier is matched by UID, IBAN and name together).
ROUTING_NEEDS = ("total", "issue_date")


def _second_look(readers: Readers, data: bytes, reading: Reading, budget: Budget) -> None:
    started = time.perf_counter()
    classification = classify(reading)
    before = extract_fields(reading, classification)
    fields = [f for f in REQUIRED_FIELDS if f not in NOT_FOR.get(before.doc_type, ())]
    missing = [f for f in fields if getattr(before, f) is None]
    unsure = [
        f
        for f in fields
        if f in ROUTING_NEEDS and f not in missing and before.conf(f) < SURE_ENOUGH
    ]
    if not missing and not unsure:
        return
    # The total is printed at the end, the supplier's name and the date at the top.
    page = reading.pages[-1] if "total" in missing + unsure else reading.pages[0]
    if page.rotation and reading.media_type is MediaType.PDF:
        return  # a turned PDF page would need its render turned too: not worth the code
    for psm in SECOND_LOOKS:
        try:
            new_page = _read_again(readers, data, reading, page, psm, budget)
        except ReadFailure:
            break  # the first reading stands
        trial = _improved(reading, page, new_page, classification, before, missing, unsure)
        if trial is not None:
            reading.pages = trial.pages
            break
    reading.timings["second_look"] = _ms(started)


def _improved(
    reading: Reading,
    page: PageText,
    new_page: PageText,
    classification: Classification,
    before: Extraction,
    missing: list[str],
    unsure: list[str],
) -> Reading | None:
    """`reading` with the lines of `new_page` where it read what was `missing` or
    `unsure`, when that fills a gap or makes an unsure value sure, and changes nothing
    read already; else None."""
    # What the first reading says the document is holds for the second look too.
    found = extract_fields(_with_page(reading, new_page), classification)
    # Take from the second reading only the lines where it found what was wanted: the
    # rest of the page keeps the first reading (a second reading loses a heading's or a
    # table's structure elsewhere).
    bands = [
        (box.top - (box.bottom - box.top) / 2, box.bottom + (box.bottom - box.top) / 2)
        for f in missing + unsure
        if getattr(found, f) is not None
        and (box := found.positions.get(f)) is not None
        and box.page == page.number
    ]
    if not bands:
        return None
    trial = _with_page(reading, _merged_page(page, new_page, bands))
    after = extract_fields(trial, classify(trial))
    kept = after.doc_type == before.doc_type and all(
        getattr(after, f) == getattr(before, f)
        for f in PAGE_FIELDS
        if getattr(before, f) not in (None, [])
    )
    filled = any(getattr(after, f) is not None for f in missing)
    confirmed = any(after.conf(f) >= SURE_ENOUGH for f in unsure)
    return trial if kept and (filled or confirmed) else None


def _with_page(reading: Reading, page: PageText) -> Reading:
    pages = [page if p.number == page.number else p for p in reading.pages]
    return reading.model_copy(update={"pages": pages})


def _merged_page(first: PageText, second: PageText, bands: list[tuple[float, float]]) -> PageText:
    """`first` with the words of the horizontal `bands` (top, bottom) taken from `second`."""

    def inside(word: Word) -> bool:
        middle = (word.top + word.bottom) / 2
        return any(top <= middle <= bottom for top, bottom in bands)

    words = [w for w in first.words if not inside(w)] + [w for w in second.words if inside(w)]
    return _page_from_words(
        first.number,
        first.width,
        first.height,
        words,
        TextSource.OCR,
        rotation=first.rotation,
        ocr_confidence=first.ocr_confidence,
    )


def _read_again(
    readers: Readers, data: bytes, reading: Reading, page: PageText, psm: int, budget: Budget
) -> PageText:
    """`page` OCR'd again with tesseract's page segmentation mode `psm`, on what is left of
    the document's OCR `budget` (spent: ReadFailure, and the first reading stands)."""
    index = page.number - 1
    job: ocr.OcrInput
    if reading.media_type is MediaType.PDF:
        with spooled(data) as path:
            jpeg, image, dpi, pt_per_px = readers.parse_pool.call(
                scan_or_render,
                path,
                index,
                page.width,
                OCR_DPI,
                timeout=readers.config.parse_timeout_s,
                budget=budget,
            )
        job = ocr.OcrInput(image=image, jpeg=jpeg, dpi=dpi, try_qr=False, budget=budget)
    else:
        frame = next(f for i, (f, _dpi) in enumerate(images.frames(data)) if i == index)
        if page.rotation:
            # Turned as the first reading turned it, so the words land where its did.
            frame = frame.rotate(-page.rotation, expand=True)
        photo = reading.media_type in (MediaType.JPEG, MediaType.HEIC)
        job = ocr.OcrInput(
            image=images.limit_size(frame), dpi=300, try_qr=False, photo=photo, budget=budget
        )
        pt_per_px = 0.0
    job.psm = psm
    result = readers.submit_ocr(job).result()
    return _page_from_ocr(page.number, result, pt_per_px or _image_scale(result))


def _read_xml(data: bytes, reading: Reading) -> None:
    if camt.is_camt(data):
        _read_camt(data, reading)
        return
    try:
        reading.xml_invoice = einvoice.parse_einvoice(data)
    except ReadFailure as failure:
        if failure.kind is ReadErrorKind.UNSUPPORTED:
            raise ReadFailure(
                ReadErrorKind.UNSUPPORTED,
                f"XML file is neither an e-invoice (CII, ZUGFeRD 1.0, UBL) nor camt: "
                f"{failure.message}",
            ) from failure
        raise
    reading.page_count = 0
    reading.text_source = TextSource.XML


def _read_camt(data: bytes, reading: Reading) -> None:
    """A bank statement: recognised and summarised (a `bank_statement` for routing); its
    entries are read again where they are reconciled."""
    try:
        statements = camt.parse_camt(data)
    except camt.CamtError as exc:
        raise ReadFailure(ReadErrorKind.CORRUPT, f"bank statement (camt): {exc}") from exc
    first = statements[0]
    reading.bank_statement = {
        "kind": first.kind.value,
        "account": first.account_iban or first.account_id,
        "currency": first.currency,
        "statements": len(statements),
        "entries": sum(len(s.entries) for s in statements),
        "period_to": first.period_to.isoformat() if first.period_to else None,
    }
    reading.page_count = 0
    reading.text_source = TextSource.XML


# --- the public steps ------------------------------------------------------------------


def classify(reading: Reading) -> Classification:
    """Document type and language; page ranges when the file holds several documents."""
    started = time.perf_counter()
    parts = detect_parts(reading) if len(reading.pages) > 1 else []
    first = [p for p in reading.pages if not parts or parts[0][0] <= p.number <= parts[0][1]]
    result = classify_reading(reading, first if len(parts) > 1 else None)
    result.parts = parts if len(parts) > 1 else []
    result.ms = _ms(started)
    return result


def extract_fields(reading: Reading, classification: Classification) -> Extraction:
    started = time.perf_counter()
    extraction = _extract_fields(reading, classification)
    if classification.ms:
        extraction.timings["classify"] = classification.ms
    extraction.timings["fields"] = _ms(started)
    return extraction


def extract(data: bytes, filename: str | None = None, readers: Readers | None = None) -> Extraction:
    """`read`, `classify` and `extract_fields` at once."""
    started = time.perf_counter()
    reading = read(data, filename, readers)
    extraction = extract_fields(reading, classify(reading))
    extraction.timings["total"] = _ms(started)
    return extraction


def warm_up(readers: Readers | None = None) -> None:
    """Start a parse worker of `readers` (None: the default readers) and check tesseract
    ahead of the first document (~1 s once).

    Optional: without it the first document pays that second. Workers and the CLI may
    call it at start.
    """
    (readers if readers is not None else default_readers()).parse_pool.warm(1)
    try:
        ocr.tesseract_version()
    except ReadFailure:
        log.warning("tesseract is not installed: image-only pages cannot be read")

"""Field and document-type accuracy of `extractors.extract` on generated documents.

    .venv/bin/python bench/accuracy.py [--n 60] [--seed 7] [--scans 12] [--photos 12]

Prints accuracy per field and per kind of copy (text / scan / photo / xml), document-type
accuracy, accuracy of the QR-bill fields where a QR-bill is present, and ends with one
line of key=value figures.
"""

import argparse
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import FIELDS, QR_FIELDS, applicable, ours_value, same, truth_value

TARGETS = {"text": 0.98, "scan": 0.93, "photo": 0.88, "xml": 0.98}


def build(n: int, seed: int, scans: int, photos: int) -> list:
    from tests import docgen

    docs = list(docgen.corpus(n, seed))
    rng = random.Random(seed + 1)
    text_docs = [
        d
        for d in docs
        if d.copy == "text" and d.media_type == "application/pdf" and not d.page_ranges
    ]
    have = defaultdict(int)
    for d in docs:
        have[d.copy] += 1
    extra = []
    pool = text_docs[:]
    rng.shuffle(pool)
    for d in pool[: max(0, scans - have["scan"])]:
        extra.append(docgen.scan(d, rng))
    rng.shuffle(pool)
    for d in pool[: max(0, photos - have["photo"])]:
        if d.truth.pages == 1:
            extra.append(docgen.photo(d, rng))
    return docs + extra


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="documents from docgen.corpus")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scans", type=int, default=12, help="at least this many scans")
    ap.add_argument("--photos", type=int, default=12, help="at least this many photos")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every miss")
    args = ap.parse_args()

    from extractors import extract, ocr

    ocr.configure(cache_dir=None)  # measure reading, not the cache
    t0 = time.perf_counter()
    docs = build(args.n, args.seed, args.scans, args.photos)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Documents in parallel, as a process-inbox run does: the OCR pool stays full.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda d: extract(d.data, d.filename), docs))
    t_read = time.perf_counter() - t0

    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    kind_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    doc_type = [0, 0]
    qr = [0, 0]
    split = [0, 0]  # files of several documents split right, and single ones left whole
    errors = 0
    for doc, ex in zip(docs, results, strict=True):
        truth = doc.truth
        if ex.error is not None:
            errors += 1
        for field in FIELDS:
            ours, want = ours_value(ex, field), truth_value(truth, field)
            if field == "doc_type":
                doc_type[1] += 1
                doc_type[0] += ours == want
                if ours != want and args.verbose:
                    print(f"  MISS {doc.copy:5} {doc.filename} doc_type: {ours} != {want}")
            if not applicable(field, ours, want):
                continue
            ok = same(field, ours, want)
            cell = hits[(doc.copy, field)]
            cell[0] += ok
            cell[1] += 1
            kind_totals[doc.copy][0] += ok
            kind_totals[doc.copy][1] += 1
            if not ok and args.verbose:
                print(
                    f"  MISS {doc.copy:5} {doc.filename} {field}: {ours!r} != {want!r}"
                    f" (conf {ex.confidence.get(field, 0):.2f})"
                )
        if doc.copy != "photo":
            want_parts = list(truth.parts) if len(truth.parts) > 1 else []
            split[1] += 1
            split[0] += list(ex.parts) == want_parts
            if list(ex.parts) != want_parts and args.verbose:
                print(f"  MISS {doc.copy:5} {doc.filename} parts: {ex.parts} != {want_parts}")
        if truth.has_qr:
            for field in QR_FIELDS:
                want = truth_value(truth, field)
                if want is None:
                    continue
                qr[1] += 1
                qr[0] += same(field, ours_value(ex, field), want)

    kinds = sorted(kind_totals)
    counts = ", ".join(f"{k}: {sum(1 for d in docs if d.copy == k)}" for k in kinds)
    print(
        f"{len(docs)} documents ({counts}); generated in {t_gen:.1f} s, read in "
        f"{t_read:.1f} s; read errors: {errors}"
    )
    print(f"{'field':16}" + "".join(f"{k:>14}" for k in kinds))
    for field in FIELDS:
        row = f"{field:16}"
        for k in kinds:
            ok, n = hits.get((k, field), (0, 0))
            row += f"{(f'{ok / n:6.1%} ({n})' if n else '-'):>14}"
        print(row)
    figures = {}
    row = f"{'ALL FIELDS':16}"
    for k in kinds:
        ok, n = kind_totals[k]
        figures[f"fields_{k}"] = ok / n if n else 0.0
        row += f"{f'{ok / n:6.1%} ({n})':>14}"
    print(row)
    figures["doc_type"] = doc_type[0] / doc_type[1] if doc_type[1] else 0.0
    figures["qr_fields"] = qr[0] / qr[1] if qr[1] else 1.0
    figures["split"] = split[0] / split[1] if split[1] else 1.0
    multi = sum(1 for d in docs if len(d.truth.parts) > 1 and d.copy != "photo")
    print(
        f"split into documents: {figures['split']:.1%} of {split[1]} files "
        f"({multi} hold several documents)"
    )
    print(
        f"document type: {figures['doc_type']:.1%} of {doc_type[1]}   "
        f"QR-bill fields (IBAN, amount, currency, reference): {figures['qr_fields']:.1%} "
        f"of {qr[1]}"
    )
    for k in kinds:
        target = TARGETS.get(k)
        if target:
            print(f"  {k}: {figures[f'fields_{k}']:.1%} (target {target:.0%})")
    print(" ".join(f"{k}={v:.4f}" for k, v in figures.items()) + f" docs={len(docs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

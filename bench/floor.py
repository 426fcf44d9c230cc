"""The floor under the end-to-end figures: the same files read by the raw tools alone, and
by our reader alone (no intake, no Prefect, no database), each in its own process so that
its CPU time — children included — can be counted by the caller.

    python -m bench.floor raw-text  DIR [--processes 2]
    python -m bench.floor raw-ocr   DIR [--processes 2] [--threads 1]
    python -m bench.floor raw-ocr-lib DIR [--processes 2]
    python -m bench.floor reader    DIR [--threads 4]

`DIR` holds the files (`*.pdf`, `*.jpg`, …). raw-text: pdfplumber `extract_text` of every
page, in `--processes` processes. raw-ocr: the `tesseract` CLI (deu+fra+ita+eng) on every
page image — the scanner's embedded JPEG as it is, a photo's JPEG as it is, otherwise the
page rendered at 300 dpi — `--processes` at once with `--threads` OCR threads each.
raw-ocr-lib: the same page images read by libtesseract as our reader runs it (tesserocr,
one thread, the models loaded once per process), `--processes` processes: the floor of
the engine itself, without the CLI's model loading per page.
reader: `extractors.extract` on every file on `--threads` threads (a batch run's
concurrency), OCR cache off. Each prints one JSON line: files, pages, wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LANGS = "deu+fra+ita+eng"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _plumb(path: str) -> int:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
        return len(pdf.pages)


def raw_text(files: list[Path], processes: int) -> dict[str, float]:
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        pages = sum(pool.map(_plumb, [str(f) for f in files]))
    return {"files": len(files), "pages": pages, "wall_s": time.perf_counter() - started}


def page_images(files: list[Path], folder: Path) -> list[Path]:
    """Every page as the image a scanner or a phone delivered (rendered if need be)."""
    import pypdfium2 as pdfium

    out: list[Path] = []
    for i, path in enumerate(files):
        data = path.read_bytes()
        if not data.startswith(b"%PDF"):
            out.append(path)  # a photo: the JPEG itself
            continue
        doc = pdfium.PdfDocument(data)
        for j in range(len(doc)):
            page = doc[j]
            images = [o for o in page.get_objects() if isinstance(o, pdfium.PdfImage)]
            target = folder / f"d{i:04d}p{j:02d}"
            if len(images) == 1 and images[0].get_filters() == ["DCTDecode"]:
                target = target.with_suffix(".jpg")
                target.write_bytes(bytes(images[0].get_data(decode_simple=False)))
            else:
                target = target.with_suffix(".png")
                page.render(scale=300 / 72, grayscale=True).to_pil().save(target)
            out.append(target)
        doc.close()
    return out


def tesseract_pages(images: list[Path], processes: int, threads: int) -> float:
    env = dict(os.environ)
    if threads:
        env["OMP_THREAD_LIMIT"] = str(threads)
    else:
        env.pop("OMP_THREAD_LIMIT", None)

    def run(path: Path) -> None:
        subprocess.run(
            ["tesseract", str(path), "stdout", "-l", LANGS],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(run, images))
    return time.perf_counter() - started


def raw_ocr(files: list[Path], processes: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fiduflow-floor-") as tmp:
        started = time.perf_counter()
        images = page_images(files, Path(tmp))
        prepared = time.perf_counter() - started
        wall = tesseract_pages(images, processes, threads)
    return {
        "files": len(files),
        "pages": len(images),
        "wall_s": wall,
        "prepare_s": prepared,  # extracting the page images; not in wall_s
    }


_API: object | None = None


def _lib_start() -> None:
    global _API
    import tesserocr

    from extractors.tesseract import tessdata

    _API = tesserocr.PyTessBaseAPI(path=tessdata(), lang=LANGS)


def _lib_page(path: str) -> None:
    _API.SetImageFile(path)  # type: ignore[attr-defined]
    _API.GetTSVText(0)  # type: ignore[attr-defined]


def raw_ocr_lib(files: list[Path], processes: int) -> dict[str, float]:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    with tempfile.TemporaryDirectory(prefix="fiduflow-floor-") as tmp:
        started = time.perf_counter()
        images = page_images(files, Path(tmp))
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        with ProcessPoolExecutor(processes, initializer=_lib_start) as pool:
            list(pool.map(_lib_page, [str(i) for i in images]))
        wall = time.perf_counter() - started
    return {"files": len(files), "pages": len(images), "wall_s": wall, "prepare_s": prepared}


def reader(files: list[Path], threads: int) -> dict[str, float]:
    import extractors
    from domain.settings import get_settings

    # The settings' limits, no OCR cache: measure reading.
    config = extractors.ReaderConfig.from_settings(get_settings())
    readers = extractors.Readers(config.replace(ocr_cache_dir=None, ocr_cache_items=0))
    extractors.warm_up(readers)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(
            pool.map(lambda p: extractors.extract(p.read_bytes(), p.name, readers), files)
        )
    wall = time.perf_counter() - started
    readers.close()
    pages = sum(r.pages or 0 for r in results)
    errors = sum(1 for r in results if r.error is not None)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "files": len(files),
        "pages": pages,
        "wall_s": wall,
        "errors": errors,
        # This process's own CPU (rendering, QR, fields), warm-up included; the rest of
        # the reading is in parse workers and tesseract, counted by the caller.
        "self_cpu_s": own.ru_utime + own.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["raw-text", "raw-ocr", "raw-ocr-lib", "reader"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    files = _files(args.folder)
    if args.mode == "raw-text":
        result = raw_text(files, args.processes)
    elif args.mode == "raw-ocr":
        result = raw_ocr(files, args.processes, args.threads)
    elif args.mode == "raw-ocr-lib":
        result = raw_ocr_lib(files, args.processes)
    else:
        result = reader(files, args.threads)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

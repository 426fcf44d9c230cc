"""Rebuild the scans and phone photos that the real-document corpus derives from its own files.

    .venv/bin/python bench/real_copies.py

The real corpus (not in this repository, see bench/accuracy.py) holds public documents as
their authors published them, and next to
them copies made here: each text PDF in `COPIES` is rasterised with `tests.docgen.degrade`
(office scan: 150-300 dpi, up to ±1.5° skew, blur, noise, contrast loss; phone photo: the
sheet on a desk in perspective, uneven light, shadow, JPEG) with a fixed seed, so running
this again gives the same pictures. The copies' truth files are written by hand like the
others (a picture of page 1 only shows what page 1 shows); `SOURCES.md` lists what each
copy was made from.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accuracy import REAL_DIR as CORPUS


@dataclass(frozen=True)
class Copy:
    name: str  # file written into the corpus
    source: str  # corpus file it is made from
    kind: str  # "scan" or "photo"
    seed: int
    dpi: int = 200  # scans only
    fmt: str = "pdf"  # scans only: "pdf" (image-only PDF) or "png" (single page)
    grayscale: bool | None = None  # scans only; None: the seed decides
    # Grey-level noise sigma (scans only). Noise is what makes JPEG and PNG pages big: 2 keeps
    # a page near 300 KB and is still visible; a PNG page gets none (dust, blur, skew stay).
    noise: float = 2.0
    page: int = 1  # photos only: the page pictured


COPIES = [
    Copy("de_beispiel_re505_scan.pdf", "de_beispiel_re505.pdf", "scan", 505, 200, grayscale=True),
    Copy(
        "de_beispiel_re508_en_scan.pdf",
        "de_beispiel_re508_en.pdf",
        "scan",
        508,
        200,
        grayscale=False,
    ),
    Copy(
        "ch_omnia_2021007834_scan.pdf", "ch_omnia_2021007834.pdf", "scan", 7834, 200, grayscale=True
    ),
    Copy(
        "us_stanford_inv03051_scan.pdf",
        "us_stanford_inv03051.pdf",
        "scan",
        3051,
        150,
        grayscale=True,
    ),
    Copy("de_kraxi_2014-03_scan.pdf", "de_kraxi_2014-03.pdf", "scan", 2014, 300, grayscale=True),
    Copy(
        "fr_aubonmoulin_av-2017-0005_scan.pdf",
        "fr_aubonmoulin_av-2017-0005.pdf",
        "scan",
        2017,
        200,
        grayscale=False,
    ),
    Copy("de_weclapp_re1001_scan.pdf", "de_weclapp_re1001.pdf", "scan", 1001, 250, grayscale=True),
    Copy(
        "ch_qrbill_schneider_scor_scan.png",
        "ch_qrbill_schneider_scor.pdf",
        "scan",
        18,
        150,
        fmt="png",
        grayscale=True,
        noise=0.0,
    ),
    Copy(
        "de_alphabet_2015738820_scan.pdf",
        "de_alphabet_2015738820.pdf",
        "scan",
        8820,
        150,
        grayscale=True,
    ),
    Copy("ch_omnia_2021007834_photo.jpg", "ch_omnia_2021007834.pdf", "photo", 1834),
    Copy("us_contoso_inv-100_photo.jpg", "us_contoso_inv-100.pdf", "photo", 100),
    Copy("de_cronus_103767_photo.jpg", "de_cronus_103767.pdf", "photo", 103767),
    Copy("ch_qrbill_swissqrbill_photo.jpg", "ch_qrbill_swissqrbill.pdf", "photo", 1994),
    Copy("us_stanford_inv03181_photo.jpg", "us_stanford_inv03181.pdf", "photo", 3181),
    Copy("ch_qrbill_cavdarli_photo.jpg", "ch_qrbill_cavdarli.pdf", "photo", 48390),
]


def make(copy: Copy, corpus: Path = CORPUS) -> bytes:
    from tests.docgen import GeneratedDocument, Truth, photo, scan

    data = (corpus / copy.source).read_bytes()
    # degrade only needs the pages; the truth it carries along is not used here.
    doc = GeneratedDocument(
        data, copy.source, "application/pdf", Truth("other", "de"), "text", copy.seed
    )
    if copy.kind == "scan":
        return scan(
            doc, copy.seed, copy.dpi, noise=copy.noise, grayscale=copy.grayscale, fmt=copy.fmt
        ).data
    # A phone frame of 1800 px keeps the file small; text stays about 150 dpi on the sheet.
    return photo(doc, copy.seed, page=copy.page, long_side=1800, orientation=1, quality=82).data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="only these copies (default: all)")
    ap.add_argument(
        "--dir", type=Path, default=CORPUS, help="the corpus (default: as bench/accuracy.py)"
    )
    args = ap.parse_args()
    wanted = [c for c in COPIES if not args.names or c.name in args.names]
    unknown = set(args.names) - {c.name for c in COPIES}
    if unknown:
        print(f"unknown copies: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for copy in wanted:
        data = make(copy, args.dir)
        (args.dir / copy.name).write_bytes(data)
        print(f"{copy.name:40} {len(data) / 1024:7.0f} KB  from {copy.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

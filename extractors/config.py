"""What the readers are allowed: their limits and where they keep the OCR cache.

`ReaderConfig` is the readers' whole configuration, frozen and passed in: nothing in
`extractors/` reads the settings or the environment for it. It is held by the
`extractors.readers.Readers` it was built into; `from_settings` makes it from the
process's `domain.settings.Settings` (the flows do that once, in `flows.runtime`), and a
test or a benchmark writes its own, or changes one with `replace`.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.settings import Settings

# Page results kept in memory in front of the disk cache.
OCR_CACHE_ITEMS = 512


@dataclass(frozen=True)
class ReaderConfig:
    """The readers' limits (a `read` stays within them) and their OCR cache."""

    # Time limit of one call to a parse worker (one PDF's text layer, one page render).
    parse_timeout_s: float
    # OCR worker processes (one tesseract thread each), and as many parse workers.
    ocr_processes: int
    # Time limit of one page's OCR.
    ocr_page_timeout_s: float
    # The OCR time one document may use, its pages' time in the workers added up.
    ocr_document_timeout_s: float
    # Pages OCR'd per document; the rest is left to a person (too_large).
    ocr_max_pages: int
    # Days a page's OCR result stays in the disk cache after it was last used.
    ocr_cache_days: float
    # The disk cache's folder (DATA_DIR/cache/ocr); None: in memory only.
    ocr_cache_dir: Path | None
    # Page results kept in memory (0: none).
    ocr_cache_items: int = OCR_CACHE_ITEMS

    @classmethod
    def from_settings(cls, settings: Settings) -> "ReaderConfig":
        return cls(
            parse_timeout_s=settings.parse_timeout_s,
            ocr_processes=settings.ocr_processes,
            ocr_page_timeout_s=settings.ocr_page_timeout_s,
            ocr_document_timeout_s=settings.ocr_document_timeout_s,
            ocr_max_pages=settings.ocr_max_pages,
            ocr_cache_days=settings.ocr_cache_days,
            ocr_cache_dir=settings.data_dir / "cache" / "ocr",
        )

    def replace(self, **changes: Any) -> "ReaderConfig":
        """This configuration with `changes` (field=value)."""
        return dataclasses.replace(self, **changes)

    @property
    def ocr_cache_max_age_s(self) -> float:
        return self.ocr_cache_days * 86400

    @property
    def ocr_window(self) -> int:
        """Pages rendered ahead of OCR: enough to keep every OCR process busy."""
        return 2 * max(1, self.ocr_processes)

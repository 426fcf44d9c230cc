"""The readers' configuration is passed in (issue 17, "explicit state"): `ReaderConfig` is
made from the settings in one place, a limit given in it is the one a reading keeps, and
nothing else in `extractors/` reads the settings."""

import ast
import time
from pathlib import Path

from domain.enums import ReadErrorKind
from domain.settings import Settings, get_settings
from extractors import ReaderConfig, extract
from extractors.probe import ocr_pages
from tests.extract_helpers import heavy_content_pdf, invoice_pdf, own_readers

EXTRACTORS = Path(__file__).resolve().parents[1] / "extractors"


def test_the_config_holds_what_the_settings_say(tmp_path: Path) -> None:
    limits = {
        "parse_timeout_s": 7.0,
        "ocr_processes": 3,
        "ocr_page_timeout_s": 11.0,
        "ocr_document_timeout_s": 13.0,
        "ocr_max_pages": 17,
        "ocr_cache_days": 2.0,
    }
    config = ReaderConfig.from_settings(Settings(data_dir=tmp_path, **limits))  # type: ignore[arg-type]
    assert config == ReaderConfig(**limits, ocr_cache_dir=tmp_path / "cache" / "ocr")  # type: ignore[arg-type]
    assert config.ocr_cache_max_age_s == 2 * 86400
    assert config.ocr_window == 6
    assert config.replace(ocr_max_pages=1).ocr_max_pages == 1 and config.ocr_max_pages == 17


def test_a_parse_time_limit_in_the_config_is_kept_and_the_settings_are_not_read() -> None:
    settings = get_settings()
    before = settings.parse_timeout_s
    with own_readers(parse_timeout_s=2.0) as readers:
        started = time.perf_counter()
        ex = extract(heavy_content_pdf(3_000_000), readers=readers)
        assert time.perf_counter() - started < 15
        assert ex.error is not None and ex.error.kind is ReadErrorKind.TIMEOUT
        assert "took longer than 2 s" in ex.error.message
        # The same readers serve the probe and the next document.
        assert ocr_pages(invoice_pdf(), readers) == 0
        assert extract(invoice_pdf(), readers=readers).invoice_number == "10201409"
    assert settings.parse_timeout_s == before


def test_only_the_default_readers_read_the_settings() -> None:
    readers_of_settings = []
    for path in sorted(EXTRACTORS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        names |= {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        if "get_settings" in names:
            readers_of_settings.append(path.relative_to(EXTRACTORS).as_posix())
    assert readers_of_settings == ["readers.py"]

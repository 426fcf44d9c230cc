"""Bytes -> `Extraction`. Pure functions: no database, no Prefect.

    reading = read(data, filename)          # text layer / OCR / QR / XML
    classification = classify(reading)      # document type, language, parts
    extraction = extract_fields(reading, classification)

or all at once: `extract(data, filename)`. A file holding several documents gets
`Extraction.parts` (page ranges); `split_pdf(data, parts)` cuts it into one PDF each.

Reading runs on `Readers` (the parse workers, the OCR engine and cache), built from a
`ReaderConfig` (its limits) and passed in: `read(data, filename, readers)`. Callers that
pass none share `default_readers()`, built from the settings when first needed.
"""

from extractors.config import ReaderConfig
from extractors.pipeline import classify, extract, extract_fields, read, warm_up
from extractors.readers import Readers, default_readers
from extractors.reading import Classification, Reading
from extractors.split import split_pdf

__all__ = [
    "Classification",
    "ReaderConfig",
    "Readers",
    "Reading",
    "classify",
    "default_readers",
    "extract",
    "extract_fields",
    "read",
    "split_pdf",
    "warm_up",
]

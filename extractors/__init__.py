"""Bytes -> `Extraction`. Pure functions: no database, no Prefect.

    reading = read(data, filename)          # text layer / OCR / QR / XML
    classification = classify(reading)      # document type, language, parts
    extraction = extract_fields(reading, classification)

or all at once: `extract(data, filename)`. A file holding several documents gets
`Extraction.parts` (page ranges); `split_pdf(data, parts)` cuts it into one PDF each.
"""

from extractors.pipeline import classify, extract, extract_fields, read, warm_up
from extractors.reading import Classification, Reading
from extractors.split import split_pdf

__all__ = [
    "Classification",
    "Reading",
    "classify",
    "extract",
    "extract_fields",
    "read",
    "split_pdf",
    "warm_up",
]

"""Bytes -> `Extraction`. Pure functions: no database, no Prefect.

    reading = read(data, filename)          # text layer / OCR / QR / XML
    classification = classify(reading)      # document type and language
    extraction = extract_fields(reading, classification)

or all at once: `extract(data, filename)`.
"""

from extractors.pipeline import classify, extract, extract_fields, read
from extractors.reading import Classification, Reading

__all__ = ["Classification", "Reading", "classify", "extract", "extract_fields", "read"]

"""Field parsers: each turns text (or words with positions) into one kind of typed value.

They are pure and small so that each can be tested alone; `extractors.fields_extract`
combines them and cross-checks the results.
"""

"""The fiduciary's judgement: whose document, from whom, who acts, what gets booked.

Pure functions: master data and history come in as arguments (Protocols that `storage/`
implements with indexed queries); results are pydantic models. No database, no Prefect.

    match.match_document   type (doctype) → supplier (suppliers, names) → addressee
                           (recipient: invoice control) → history (duplicates)
    decide.decide          division of labour → Decision: booking (accounts, vat) and/or
                           tasks, with the rule that decided and the reasons
"""

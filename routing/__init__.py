"""The fiduciary's judgement: whose document, from whom, who acts, what gets booked.

Pure functions: master data comes in as arguments (the supplier directory as a Protocol).
"""

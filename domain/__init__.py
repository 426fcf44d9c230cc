"""fiduflow's shared vocabulary: models, enums and settings. No I/O lives here."""

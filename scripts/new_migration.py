"""Migrations from `storage/tables.py`.

    .venv/bin/python scripts/new_migration.py "add foo"     # a new revision on top
    .venv/bin/python scripts/new_migration.py --initial     # rewrite 0001 (before release)

Until the first release, the schema lives in one initial revision that is regenerated
whenever tables.py changes (`--initial`); after it, every change is a new revision.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.db import alembic_config, make_engine, migrate  # noqa: E402

VERSIONS = ROOT / "storage" / "migrations" / "versions"


def main() -> None:
    initial = "--initial" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--initial"]
    message = args[0] if args else ("initial schema" if initial else "schema change")
    if initial:
        for old in VERSIONS.glob("*.py"):
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/m.db")
        migrate(engine)
        with engine.connect() as connection:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.revision(
                cfg, message=message, autogenerate=True, rev_id="0001" if initial else None
            )


if __name__ == "__main__":
    main()

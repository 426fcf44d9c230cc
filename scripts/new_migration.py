"""Write a new Alembic revision from the difference between tables.py and the migrations.

    .venv/bin/python scripts/new_migration.py "add foo"
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import alembic_config, make_engine, migrate  # noqa: E402


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/m.db")
        migrate(engine)
        with engine.connect() as connection:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True)


if __name__ == "__main__":
    main()

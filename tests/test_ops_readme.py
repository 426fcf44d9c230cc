"""The README's "Running in production" stays true: every setting is listed, every
deployment is in the table with its entrypoint and schedule."""

from pathlib import Path

from domain.settings import Settings
from flows.deployments import DEPLOYMENTS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
PRODUCTION = README[README.index("## Running in production") :]


def test_every_setting_is_listed_with_its_default():
    table = PRODUCTION[PRODUCTION.index("### Every setting") :]
    rows = {line.split("|")[1].strip(" `"): line for line in table.splitlines() if "| `" in line}
    missing = [f"FIDUFLOW_{name.upper()}" for name in Settings.model_fields]
    missing = [variable for variable in missing if variable not in rows]
    assert not missing, f"add these to README's settings table: {missing}"


def test_every_deployment_is_in_the_table():
    for spec in DEPLOYMENTS:
        row = next(line for line in PRODUCTION.splitlines() if line.startswith(f"| `{spec.name}`"))
        assert f"`{spec.entrypoint}`" in row
        assert (f"`{spec.cron}`" if spec.cron else "—") in row

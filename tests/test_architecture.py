"""The rooms of the house import downwards only (DESIGN.md, "Architecture").

flows → ingest / extractors / routing / storage → domain
ingest may use storage; extractors and routing need no database.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "ingest", "extractors", "routing", "storage", "web", "flows")
ALLOWED = {
    "domain": {"domain"},
    "extractors": {"extractors", "domain"},
    "routing": {"routing", "domain"},
    "storage": {"storage", "domain"},
    # routing: the task routes rebuild a corrected draft with routing's own (pure) proposal.
    "ingest": {"ingest", "storage", "routing", "domain"},
    # The workspace (task inbox and page, suppliers) sits above intake but does not
    # reach into it: what it needs of intake and the readers is handed to it.
    "web": {"web", "storage", "routing", "domain"},
    "flows": set(PACKAGES),
}
# The one module that composes the HTTP app, and what it may reach besides its room's.
COMPOSERS = {"web/app.py": {"ingest", "extractors"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES}
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_downwards(package: str) -> None:
    def allowed(path: Path) -> set[str]:
        return ALLOWED[package] | COMPOSERS.get(path.relative_to(ROOT).as_posix(), set())

    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - allowed(path))
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) - allowed(path)
    }
    assert offenders == {}


def test_nothing_below_the_workspace_imports_it() -> None:
    # Intake must keep working without the workspace (ingest.api.create_app alone).
    for package in ("domain", "extractors", "routing", "storage", "ingest"):
        assert "web" not in ALLOWED[package]


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from flows.runtime import get_runtime\nimport storage.db\n")
    assert imported_packages(bad) == {"flows", "storage"}

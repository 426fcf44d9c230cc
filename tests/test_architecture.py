"""The rooms of the house import downwards only (DESIGN.md, "Architecture").

flows → ingest / extractors / routing / storage → domain
ingest may use storage; extractors and routing need no database.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "ingest", "extractors", "routing", "storage", "flows")
ALLOWED = {
    "domain": {"domain"},
    "extractors": {"extractors", "domain"},
    "routing": {"routing", "domain"},
    "storage": {"storage", "domain"},
    "ingest": {"ingest", "storage", "domain"},
    "flows": set(PACKAGES),
}


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
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) - ALLOWED[package]
    }
    assert offenders == {}


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from flows.runtime import get_runtime\nimport storage.db\n")
    assert imported_packages(bad) == {"flows", "storage"}

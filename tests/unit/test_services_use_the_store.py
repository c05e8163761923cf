"""Services reach the database through console.store, never through SQLAlchemy of their own.

The same rule as the import-linter contract in pyproject.toml (which `installer/dev.sh test` runs), checked here as
well so a plain pytest run fails on it; the modules still allowed are read from that contract's ignore list.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "Services reach the database through store functions, not SQLAlchemy of their own"


def _still_allowed() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == CONTRACT]
    assert contract["source_modules"] == ["console.services"] and contract["forbidden_modules"] == ["sqlalchemy"]
    return {rule.split(" -> ")[0].rsplit(".", 1)[-1] for rule in contract.get("ignore_imports", [])}


def _imports_sqlalchemy(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        if any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_service_imports_sqlalchemy():
    allowed = _still_allowed()
    found = {path.stem: lines for path in sorted((ROOT / "console" / "services").rglob("*.py"))
             if (lines := _imports_sqlalchemy(path.read_text(encoding="utf-8"))) and path.stem not in allowed}
    assert found == {}, f"these services import SQLAlchemy (lines): {found}; give console.store a function instead"


def test_the_check_sees_every_form_of_import():
    assert _imports_sqlalchemy("import sqlalchemy") == [1]
    assert _imports_sqlalchemy("x = 1\nfrom sqlalchemy.exc import SQLAlchemyError") == [2]
    assert _imports_sqlalchemy("def f():\n    import sqlalchemy.orm as orm") == [2]
    assert _imports_sqlalchemy("from console.store.transactions import StoreError\nimport sqlalchemist") == []


def test_the_modules_still_allowed_exist():
    # A module moved to the store (or renamed) must leave the ignore list too, so the list only ever shrinks.
    for stem in _still_allowed():
        assert (ROOT / "console" / "services" / f"{stem}.py").is_file(), stem

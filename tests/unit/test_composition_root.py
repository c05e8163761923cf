"""One composition root: the console/app package builds the services; console/gui receives them and builds none.

The GUI may import a service's type (for annotations) and its value classes and errors, but a call that makes a
service, a background runner or keeper, or that does a service's job from the GUI's own wiring (import_file) is
found in its source here. The import contracts in pyproject.toml keep the store out; this keeps the building out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[2] / "console" / "gui"
MADE_BY_THE_ROOT = ("Service", "Runner", "Keeper", "Checkpointer", "Follower")  # what a name ending so makes
FACTORIES = {"from_settings", "runner_from_settings", "checkpointer_from_settings", "import_file"}


def constructions(source: str) -> list[tuple[int, str]]:
    """(line, name) of each call that builds a service (or runs an import) from what console.services exports."""
    tree = ast.parse(source)
    names: set[str] = set()  # bound by `from console.services... import X`
    modules: set[str] = set()  # bound by `import console.services.x as m` (or `import console.services.x`)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("console.services"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("console.services"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, name = node.func, None
        if isinstance(func, ast.Name) and func.id in names:
            name = func.id
        elif isinstance(func, ast.Attribute):
            base = func.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and (base.id in names or base.id in modules):
                name = func.attr  # module.FooService(...), FooService.from_settings(...)
        if name and (name.endswith(MADE_BY_THE_ROOT) or name in FACTORIES):
            found.append((node.lineno, name))
    return found


def test_the_gui_builds_no_service():
    made = [f"{path.relative_to(GUI.parent.parent)}:{line} {name}(...)"
            for path in sorted(GUI.rglob("*.py")) for line, name in constructions(path.read_text(encoding="utf-8"))]
    assert made == [], "built in console/gui; build it in console/app and pass it down:\n" + "\n".join(made)


@pytest.mark.parametrize("source", [
    # What console/gui/registry_tools.py and session.py did before the composition root built them:
    "from console.services.intake import IntakeService\nIntakeService(database, audit, cipher, workstation)",
    "from console.services.footage import FootageService\nFootageService.from_settings(db, audit, settings, ws)",
    "from console.services.cad_sources import runner_from_settings\nrunner_from_settings(service, settings)",
    "from console.services.registry_import import import_file\nimport_file(database, cipher, path)",
    "from console.services import audit_reports as reports\nreports.AuditService(log)",
    "import console.services.changes\nconsole.services.changes.ChangeFollower(database)",
])
def test_each_way_of_building_a_service_is_found(source):
    assert len(constructions(source)) == 1


@pytest.mark.parametrize("source", [
    # Types, values and errors may be used: an annotation, a value class, an exception, a service's method.
    "from console.services.footage import FootageService\ndef f(s: FootageService): return s.list(1)",
    "from console.services.outreach import CallLog\nCallLog(business='x')",
    "from console.services.registry_import import ImportCancelled\nraise ImportCancelled('stopped')",
    "from console.services.audit_checkpoints import load_public_key\nload_public_key(path)",
    "self.services.tools.intake.register(user, form)",
])
def test_using_a_service_is_not_building_one(source):
    assert constructions(source) == []

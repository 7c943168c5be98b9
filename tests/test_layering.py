"""Dependencies point one way: views -> services -> models, matching, connectors.

The matching core and the connectors stay free of Flask, SQLAlchemy and the rest of the app.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = {"flask", "flask_smorest", "werkzeug", "sqlalchemy", "alembic", "marshmallow"}


def imported_modules(path: Path) -> Iterator[str]:
    """Every module a file imports, absolute names only."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def forbidden_for(folder: str, module: str) -> bool:
    """Whether a module of ``folder`` may not import ``module``."""
    if module.split(".", maxsplit=1)[0] in FRAMEWORKS:
        return True
    own_package = folder.replace("/", ".")
    return (module == "app" or module.startswith("app.")) and not module.startswith(own_package)


@pytest.mark.parametrize("folder", ["app/matching", "connectors"])
def test_pure_layers_import_no_framework_and_no_app(folder: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in python_files(folder)
        for module in imported_modules(path)
        if forbidden_for(folder, module)
    ]
    assert offenders == []


def layer_of(path: Path) -> str | None:
    if path.name in {"models.py", "service.py", "schemas.py", "views.py"}:
        return path.stem
    return None


ALLOWED = {
    # a layer may import these layers of any domain
    "models": {"models"},
    "schemas": {"models", "schemas", "service"},
    "service": {"models", "service", "schemas"},
    "views": {"models", "service", "schemas"},
}


def test_domain_layers_point_one_way() -> None:
    offenders = []
    for path in python_files("app"):
        layer = layer_of(path)
        if layer is None:
            continue
        for module in imported_modules(path):
            target = module.rsplit(".", 1)[-1]
            if module.startswith("app.") and target in ALLOWED and target not in ALLOWED[layer]:
                offenders.append(f"{path.relative_to(ROOT)} ({layer}) imports {module}")
    assert offenders == []


def test_the_walker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import flask\nfrom sqlalchemy.orm import Session\nfrom . import sibling\n")
    modules = list(imported_modules(sample))
    assert modules == ["flask", "sqlalchemy.orm"]
    assert all(forbidden_for("connectors", m) for m in modules)
    assert forbidden_for("app/matching", "app.db")
    assert not forbidden_for("app/matching", "app.matching.types")

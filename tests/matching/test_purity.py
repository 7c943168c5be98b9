"""The matching core stays pure: only the standard library and its four allowed packages."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ALLOWED = {"numpy", "rapidfuzz", "networkx", "phonenumbers", "app"}
CORE = Path(__file__).resolve().parents[2] / "app" / "matching"


def test_core_imports_only_allowed_packages() -> None:
    found: set[str] = set()
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    foreign = {m for m in found - ALLOWED if m not in sys.stdlib_module_names}
    assert not foreign

"""Accounts is a domain: the API imports it, never the other way round."""

import ast
from pathlib import Path

ACCOUNTS = Path(__file__).resolve().parents[2] / "app" / "accounts"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_accounts_imports_nothing_from_the_api():
    offending = {
        f"{path.name}: {name}"
        for path in sorted(ACCOUNTS.rglob("*.py"))
        for name in imported_modules(path)
        if name == "app.api" or name.startswith("app.api.")
    }
    assert offending == set()

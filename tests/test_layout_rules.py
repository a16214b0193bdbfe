"""The review rules of DEVELOPERS.md ("Layout") that a machine can check, beside import-linter's contracts:
no private name (`_x`) imported from another module of the package, by the package or by its tests."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def private_imports(source: str) -> list[str]:
    """`module.name` for every `from explorer... import _name` in `source` (dunders such as __version__ pass)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "explorer":
            out += [f"{node.module}.{a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_the_check_finds_a_private_import():
    assert private_imports("from explorer.gan.generators import _norm, build\nfrom os import _exit\n") == [
        "explorer.gan.generators._norm"]
    assert private_imports("from explorer import __version__\nimport explorer._x\n") == []


def test_no_module_imports_another_modules_private_names():
    files = sorted([*ROOT.joinpath("explorer").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py"),
                    ROOT / "streamlit_app.py"])
    found = {str(f.relative_to(ROOT)): hits for f in files if (hits := private_imports(f.read_text()))}
    assert not found, f"private names imported across modules (make them public or keep them local): {found}"

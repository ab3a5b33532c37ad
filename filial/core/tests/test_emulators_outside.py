"""The emulators are a development and demo tool outside the filial package (issue 11): the product never imports
them at module level, and every network's spec names its emulator by dotted path in the ``emulators`` package."""

from __future__ import annotations

import ast
from pathlib import Path

import filial
from filial.networks import registry

ROOT = Path(filial.__file__).parent


def _product_modules() -> list[Path]:
    skip = {"tests", "migrations"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts) and p.name != "conftest.py"]


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Modules imported outside any function body (at the top, or under ``if``/``try`` at module level)."""
    names: list[str] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        else:
            todo.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return names


def test_no_emulator_module_is_left_inside_the_filial_package() -> None:
    left = [str(p.relative_to(ROOT)) for p in _product_modules() if "emulator" in p.stem and
            p.parts[-2:] != ("commands", "emulators.py")]
    assert left == []


def test_product_code_never_imports_the_emulators_at_module_level() -> None:
    offenders = []
    for path in _product_modules():
        tree = ast.parse(path.read_text("utf-8"))
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in _module_level_imports(tree)
                      if name == "emulators" or name.startswith("emulators.")]
    assert offenders == []


def test_every_network_names_its_emulator_in_the_emulators_package() -> None:
    for spec in registry.specs():
        assert spec.emulator.startswith("emulators."), spec.name
        cls = spec.emulator_class()
        assert cls.__module__.startswith("emulators."), spec.name

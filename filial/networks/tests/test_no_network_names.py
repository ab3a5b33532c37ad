"""Every network's rules live behind ``filial/networks/<net>/``: no module outside ``networks/`` compares a value
against a network's name (``channel.network == "vk"``, ``network in ("vk", "ok")``, ``Network.TELEGRAM``).

Outside the rule: the tests (they name the networks they test), the migrations (frozen history), the demo
(its data and build describe the demo's own pages, per network), ``channels/models.py`` (the ``Network``
choices, checked against the registry below), and ``EXCEPTIONS`` with the reason each is left.
"""

from __future__ import annotations

import ast
from pathlib import Path

from filial.channels.models import Network
from filial.networks import registry

ROOT = Path(__file__).resolve().parents[2]  # filial/
EXEMPT_DIRS = ("networks", "demo")
EXCEPTIONS = {
    # ``kind == "ok"``: a sandboxed parser's result tag, not Odnoklassniki.
    "circulation/parsers/limits.py",
}


def _names(node: ast.AST, networks: set[str]) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in networks:
        return [node.value]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Network":
        return [node.attr]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for element in node.elts for n in _names(element, networks)]
    return []


def offences(path: Path, networks: set[str]) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                found += [f"{where}:{node.lineno}: {name}" for name in _names(side, networks)]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Network" \
                and node.attr.lower() in networks:
            found.append(f"{where}:{node.lineno}: Network.{node.attr}")
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]
            if len(keys) >= 2 and sum(bool(_names(k, networks)) for k in keys) >= 2:
                found.append(f"{where}:{node.lineno}: a dict keyed by networks' names")
    return sorted(set(found))


def modules() -> list[Path]:
    result = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        parts = rel.parts
        if parts[0] in EXEMPT_DIRS or "tests" in parts or "migrations" in parts or rel.name == "conftest.py":
            continue
        if str(rel) in EXCEPTIONS or str(rel) == "channels/models.py":
            continue
        result.append(path)
    return result


def test_no_module_outside_networks_compares_a_network_name() -> None:
    networks = set(registry.names())
    found = [problem for path in modules() for problem in offences(path, networks)]
    assert found == [], "ask the network's spec or connector instead:\n" + "\n".join(found)


def test_the_guard_sees_a_comparison(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('def f(channel):\n    return channel.network == "vk" or x in ("ok", "max")\n'
                      'LIMITS = {"vk": 1, "telegram": 2}\nN = Network.MAX\n', "utf-8")
    assert len(offences(sample, set(registry.names()))) == 5


def test_the_network_choices_are_the_registered_networks() -> None:
    assert tuple(Network.values) == registry.names()

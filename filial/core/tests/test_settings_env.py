"""Every setting is read from the environment in filial/settings.py, and README's configuration table lists exactly
the variables settings.py reads (both directions)."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SETTINGS = REPO / "filial" / "settings.py"
README = REPO / "README.md"
NAME = re.compile(r"\bFILIAL_[A-Z0-9_]*[A-Z0-9]\b")
ENV_READERS = {"env", "env_bool", "env_int", "env_float", "env_list", "get", "getenv"}


def variables_read() -> set[str]:
    """The FILIAL_* names settings.py reads: the first argument of env(...), env_bool(...), os.environ.get(...)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text("utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        first = node.args[0]
        if called in ENV_READERS and isinstance(first, ast.Constant) and isinstance(first.value, str) \
                and first.value.startswith("FILIAL_"):
            names.add(first.value)
    return names


def readme_section(title: str) -> str:
    text = README.read_text("utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_readme_configuration_lists_exactly_the_variables_settings_reads() -> None:
    read = variables_read()
    documented = set(NAME.findall(readme_section("Configuration")))
    assert read, "no env(...) call found in settings.py"
    assert sorted(documented - read) == [], "README's Configuration lists variables settings.py never reads"
    assert sorted(read - documented) == [], "settings.py reads variables README's Configuration does not list"


def test_every_variable_readme_mentions_anywhere_is_read() -> None:
    mentioned = set(NAME.findall(README.read_text("utf-8")))
    assert sorted(mentioned - variables_read()) == []


def test_code_reads_filial_settings_without_hidden_defaults() -> None:
    """getattr(settings, "FILIAL_X", default) hides a setting that the environment cannot change."""
    offenders = []
    pattern = re.compile(r"getattr\(\s*settings\s*,\s*\"FILIAL_[A-Z0-9_]+\"\s*,")
    for path in (REPO / "filial").rglob("*.py"):
        if "tests" in path.parts:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(("variable", "value", "expression", "expected"), [
    ("FILIAL_LANE_BATCH", "7", "policy.lane_batch()", 7),
    ("FILIAL_LANE_SLICE", "3.5", "policy.lane_slice()", 3.5),
    ("FILIAL_RATE_LIMIT_MARGIN", "0.2", "ratelimit.margins()[0]", 0.2),
    ("FILIAL_RATE_LIMIT_MARGIN_FRACTION", "0.03", "ratelimit.margins()[1]", 0.03),
    ("FILIAL_INBOX_POLL_LEASE_SECONDS", "33", "pipeline._lease_seconds()", 33.0),
    ("FILIAL_INBOX_IMAGE_MAX_BYTES", "4096", "attachments.max_bytes()", 4096),
    ("FILIAL_LINK_CODE_HOURS", "2", "linking.code_ttl().total_seconds()", 7200.0),
    ("FILIAL_WEBHOOK_MAX_BYTES", "2048", "settings.FILIAL_WEBHOOK_MAX_BYTES", 2048),
])
def test_variables_from_the_environment_reach_the_code(variable: str, value: str, expression: str,
                                                        expected: object, tmp_path: Path) -> None:
    script = (
        "import django, json\n"
        "django.setup()\n"
        "from django.conf import settings\n"
        "from filial.outbox import policy\n"
        "from filial.networks import ratelimit\n"
        "from filial.inbox import pipeline, attachments\n"
        "from filial.readers import linking\n"
        f"print(json.dumps({expression}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "filial.settings", "FILIAL_DATA_DIR": str(tmp_path),
           variable: value}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected

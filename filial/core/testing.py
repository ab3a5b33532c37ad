"""Test helpers shared by the apps: files from ``../shared`` that a checkout may not have."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings


def sample_path(*parts: str) -> Path:
    """A file under ``../shared/samples/`` (``FILIAL_SAMPLES_DIR``), or a clear skip where it is absent."""
    path = Path(settings.FILIAL_SAMPLES_DIR, *parts)
    if not path.exists():
        pytest.skip(f"sample file not found at {path} (set FILIAL_SAMPLES_DIR or provide ../shared/samples)")
    return path

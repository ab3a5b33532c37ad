"""Receivers the app registers in ``PaidConfig.ready``: a new library system gets the default customer categories."""

from __future__ import annotations

from typing import Any

from filial.libraries.models import LibrarySystem
from filial.paid.services import categories_seed


def system_saved(sender: type[LibrarySystem], instance: LibrarySystem, created: bool, raw: bool = False,
                 **kwargs: Any) -> None:
    if created and not raw:
        categories_seed(instance)

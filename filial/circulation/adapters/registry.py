"""The adapter a unit's library-system link asks for. SIP2 and Koha are imported by name, only when used."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from filial.circulation.adapters.base import Adapter
from filial.circulation.adapters.file import FileAdapter
from filial.circulation.models import CirculationLink
from filial.libraries.models import Unit

ADAPTERS = {
    "sip2": "filial.circulation.adapters.sip2.Sip2Adapter",
    "koha": "filial.circulation.adapters.koha.KohaAdapter",
}


def adapter_for(unit: Unit) -> Adapter:
    link = CirculationLink.objects.filter(unit=unit).first()
    kind = link.adapter if link is not None else "file"
    settings: dict[str, Any] = link.settings if link is not None else {}
    if kind in ADAPTERS:
        cls = import_string(ADAPTERS[kind])
        adapter: Adapter = cls(settings)
        return adapter
    return FileAdapter({"system_id": unit.system_id, "unit_id": unit.pk})

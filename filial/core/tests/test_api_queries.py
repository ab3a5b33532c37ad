"""Every API list answers in a fixed number of queries, however many rows it shows (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from filial.channels.models import Channel
from filial.core.tests.test_api_support import client_for, world
from filial.libraries.services import unit_create

LISTS = ["/api/v1/units/", "/api/v1/channels/", "/api/v1/posts/", "/api/v1/deliveries/", "/api/v1/events/"]


def _more_rows(net: Any, start: int, n: int) -> None:
    world(net)
    for i in range(start, start + n):
        unit = unit_create(actor=None, system=net.system, name=f"Библиотека-филиал № {10 + i}", parent=net.central)
        channel = Channel.objects.create(unit=unit, network="vk", name=f"Филиал {10 + i}", external_id=f"9{i}")
        channel.set_credentials({"access_token": f"token-{i:08d}"})
        channel.save()


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("role", ["admin", "editor_branch4"])
def test_list_query_count_is_flat(net: Any, path: str, role: str) -> None:
    client = client_for(net, role)
    client.get(path)  # the token row exists now; measure the steady state

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    _more_rows(net, 0, 1)
    few_queries, few_rows = count()
    _more_rows(net, 1, 5)
    many_queries, many_rows = count()
    assert many_rows > few_rows or (role == "editor_branch4" and path == "/api/v1/units/")
    assert many_queries == few_queries <= 8

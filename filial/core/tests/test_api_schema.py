"""The OpenAPI schema at /api/schema/ lists every API path and generates without warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

PATHS = [
    "/api/v1/auth/token/", "/api/v1/units/", "/api/v1/units/{id}/", "/api/v1/channels/", "/api/v1/channels/{id}/",
    "/api/v1/media/", "/api/v1/posts/", "/api/v1/posts/{id}/", "/api/v1/posts/{id}/submit/",
    "/api/v1/posts/{id}/approve/", "/api/v1/posts/{id}/return/", "/api/v1/posts/{id}/cancel/",
    "/api/v1/deliveries/", "/api/v1/events/", "/api/v1/events/{id}/",
]


@pytest.mark.django_db
def test_schema_is_served_with_every_path(client: Any, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("schema-reader"))  # production: signed-in users only
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(PATHS) <= set(schema["paths"])
    post = schema["components"]["schemas"]["PostRequest"]["properties"]
    assert {"kind", "text", "channels", "publish_at", "media", "link", "event", "poll"} <= set(post)
    channel_out = schema["components"]["schemas"]["Channel"]["properties"]
    assert "credentials" not in channel_out and "has_credentials" in channel_out
    assert "credentials" in schema["components"]["schemas"]["ChannelRequest"]["properties"]
    assert set(schema["paths"]["/api/v1/posts/{id}/"]) >= {"get", "patch", "delete"}
    assert "put" not in schema["paths"]["/api/v1/posts/{id}/"]


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/posts/{id}/approve/" in out.read_text()

"""A real client works from the published schema: openapi-python-client generates a Python package from
/api/schema/ (offline, into a temporary folder), and that package — nothing hand-written — takes a token, reads
units and pages, uploads a photo, composes a post with it, submits it, has it approved and reads its deliveries,
over HTTP against a live server."""

from __future__ import annotations

import importlib
import io
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from filial.conftest import PASSWORD
from filial.core.tests.test_api_support import jpeg_bytes

PACKAGE = "filial_api_client"


def generate_client(schema_url: str, tmp_path: Path, headers: dict[str, str]) -> Any:
    """The client package generated from the schema the server publishes (to signed-in users), imported."""
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "openapi-python-client")
    if generator is None:
        pytest.skip("openapi-python-client is not installed (a dev dependency: pip install -e '.[dev]')")
    schema = tmp_path / "schema.json"
    answer = httpx.get(schema_url, params={"format": "json"}, headers=headers, timeout=30).raise_for_status()
    schema.write_bytes(answer.content)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [generator, "generate", "--path", str(schema), "--meta", "none", "--output-path",
         str(tmp_path / PACKAGE)], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))


def _api(client_package: Any, module: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def test_a_generated_client_runs_the_whole_flow(transactional_db: Any, live_server: Any, net: Any,
                                                tmp_path: Path) -> None:
    started = time.monotonic()
    reader_key = httpx.post(f"{live_server.url}/api/v1/auth/token/", timeout=30, json={
        "username": net.users["editor_central"].username, "password": PASSWORD}).raise_for_status().json()["token"]
    pkg = generate_client(f"{live_server.url}/api/schema/", tmp_path, {"Authorization": f"Token {reader_key}"})
    generated = time.monotonic() - started
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")

    def token(username: str) -> str:
        anonymous = pkg.Client(base_url=live_server.url, raise_on_unexpected_status=True)
        answer = _api(pkg, "auth.auth_token_create").sync(
            client=anonymous, body=models.TokenRequest(username=username, password=PASSWORD))
        assert isinstance(answer, models.TokenResponse), answer
        return str(answer.token)

    def as_user(username: str) -> Any:
        return pkg.AuthenticatedClient(base_url=live_server.url, token=token(username), prefix="Token",
                                       raise_on_unexpected_status=True)

    editor = as_user(net.users["editor_children"].username)
    methodologist = as_user(net.users["methodologist"].username)

    units = _api(pkg, "units.units_list").sync(client=editor)
    assert isinstance(units, models.PaginatedUnitList) and net.children.pk in {u.id for u in units.results}
    pages = _api(pkg, "channels.channels_list").sync(client=editor, unit=net.children.pk)
    assert isinstance(pages, models.PaginatedChannelList)
    page_ids = sorted(p.id for p in pages.results)
    assert page_ids == sorted([net.channels["children_ok"].pk, net.channels["children_tg"].pk])

    photo = _api(pkg, "media.media_create").sync(client=editor, body=models.MediaUploadRequest(
        file=types.File(payload=io.BytesIO(jpeg_bytes()), file_name="afisha.jpg", mime_type="image/jpeg"),
        unit=net.children.pk, alt_text="Афиша недели детской книги"))
    assert isinstance(photo, models.Media), photo

    publish_at = datetime(2031, 3, 24, 10, 0)  # the unit's wall clock (no offset)
    post = _api(pkg, "posts.posts_create").sync(client=editor, body=models.PostRequest(
        kind=models.PostKindEnum("afisha"), text="Неделя детской книги: приходите!", unit=net.children.pk,
        channels=page_ids, media=[photo.id], publish_at=publish_at))
    assert isinstance(post, models.Post), post
    assert (post.state, post.media, post.channels) == ("draft", [photo.id], page_ids)

    submitted = _api(pkg, "posts.posts_submit_create").sync(client=editor, id=post.id)
    assert isinstance(submitted, models.Post) and submitted.state == "pending"
    refused = _api(pkg, "posts.posts_approve_create").sync_detailed(
        client=editor, id=post.id, body=models.CommentRequest(comment="сам себе"))
    assert refused.status_code == 403 and isinstance(refused.parsed, models.Error) and refused.parsed.detail
    approved = _api(pkg, "posts.posts_approve_create").sync(
        client=methodologist, id=post.id, body=models.CommentRequest(comment="Хорошо"))
    assert isinstance(approved, models.Post) and approved.state == "scheduled", approved

    deliveries = _api(pkg, "deliveries.deliveries_list").sync(client=editor, post=post.id)
    assert isinstance(deliveries, models.PaginatedDeliveryList) and deliveries.count == 2
    assert {(d.channel, d.state) for d in deliveries.results} == {(pk, "scheduled") for pk in page_ids}
    assert all(d.url is None and d.due_at == publish_at.replace(tzinfo=d.due_at.tzinfo)
               and d.due_at.utcoffset() == timedelta(hours=5) for d in deliveries.results)
    print(f"openapi-python-client: generated in {generated:.1f} s, whole test {time.monotonic() - started:.1f} s")

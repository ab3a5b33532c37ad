from __future__ import annotations

import pytest

from filial.publishing import services
from filial.publishing.models import Post
from filial.publishing.selectors import posts_matching
from filial.publishing.services import PostData


@pytest.mark.parametrize("query", ["медногорск", "МЕДНОГОРСК", "ногорСКую", "Ёлку", "ёЛКу"])
def test_search_ignores_case_in_cyrillic_anywhere_in_the_text(net, query) -> None:  # type: ignore[no-untyped-def]
    services.post_create(actor=net.users["editor_branch4"], data=PostData(
        unit=net.branch4, kind="note", channels=[], title="Праздник",
        text="Приглашаем в Медногорскую библиотеку на ЁЛКУ!"))
    services.post_create(actor=net.users["editor_branch4"], data=PostData(
        unit=net.branch4, kind="note", channels=[], text="Совсем другое"))
    found = list(posts_matching(Post.objects.all(), query).values_list("title", flat=True))
    assert found == ["Праздник"]

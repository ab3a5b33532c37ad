"""What the publishing API's topics share: local times, related fields, duplicates."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

LOCAL_TIME_HELP = "ISO 8601. Without an offset it is the wall-clock time of the unit's time zone."


def set_queryset(serializer: serializers.Serializer, name: str, queryset: QuerySet[Any]) -> None:
    field: Any = serializer.fields[name]
    target: Any = field.child_relation if isinstance(field, serializers.ManyRelatedField) else field
    target.queryset = queryset


def no_duplicates(values: list[Any], message: str) -> list[Any]:
    if len({v.pk for v in values}) != len(values):
        raise serializers.ValidationError(message)
    return values

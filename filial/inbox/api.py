"""API: conversations of the inbox. Members read the conversations of the units they may read; those who write for
a unit reply, assign and change the state. Readers' texts come back as plain strings (escape them when shown)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.models import User
from filial.channels.models import Network
from filial.core.api import choice_params, id_field, int_param
from filial.inbox import selectors, services
from filial.inbox.models import Conversation, InboxItem, Note


# Conversation kinds and states are described, not enumerated, in the schema: enum components are named after the
# field, and "kind" and "state" already name the posts' ones.
@extend_schema_field({"type": "string", "description": "comments or dialogue"})
class ConversationKindField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "description": "new, in_progress, answered or closed"})
class ConversationStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Conversation.State.choices, **kwargs)


class ItemSerializer(serializers.ModelSerializer):
    delivery_state = serializers.SerializerMethodField(help_text="Our reply: the engine's state of its message.")
    delivery_error = serializers.SerializerMethodField()

    class Meta:
        model = InboxItem
        fields = ["id", "direction", "kind", "external_id", "author_id", "author_name", "text", "at", "edited_at",
                  "attachments", "handled_by", "echo", "removed_at", "outgoing", "delivery_state", "delivery_error"]

    def to_representation(self, instance: InboxItem) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["attachments"] = [{k: v for k, v in a.items() if k in ("type", "name", "size", "content_type")}
                               for a in instance.attachments or []]  # never the network's address or our path
        return data

    def get_delivery_state(self, item: InboxItem) -> str | None:
        return item.outgoing.state if item.outgoing_id and item.outgoing else None

    def get_delivery_error(self, item: InboxItem) -> str:
        return item.outgoing.last_error if item.outgoing_id and item.outgoing else ""


class NoteSerializer(serializers.ModelSerializer):
    author: Any = serializers.StringRelatedField()

    class Meta:
        model = Note
        fields = ["id", "author", "text", "created_at"]


class ConversationSerializer(serializers.ModelSerializer):
    overdue = serializers.BooleanField(read_only=True)
    network = serializers.CharField(source="channel.network", read_only=True)
    kind = ConversationKindField(read_only=True)
    state = ConversationStateField(read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "kind", "channel", "network", "unit", "post", "delivery", "post_external_id", "person_id",
                  "person_name", "state", "assignee", "urgent", "waiting_since", "due_at", "overdue", "last_item_at",
                  "last_text", "items_count"]


class ConversationDetailSerializer(ConversationSerializer):
    items = ItemSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "items", "notes"]


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4096)
    item = id_field(required=False, help_text="The reader's item to answer (default: the newest).")


class AssignSerializer(serializers.Serializer):
    assignee = id_field(allow_null=True, help_text="A user id, or null for nobody.")


class StateSerializer(serializers.Serializer):
    state = ConversationStateField()


FILTERS = [
    OpenApiParameter("unit", OpenApiTypes.INT), OpenApiParameter("channel", OpenApiTypes.INT),
    OpenApiParameter("network", OpenApiTypes.STR, enum=Network.values),
    OpenApiParameter("state", OpenApiTypes.STR, description="a state, or 'open' (new and in progress)"),
    OpenApiParameter("overdue", OpenApiTypes.BOOL), OpenApiParameter("mine", OpenApiTypes.BOOL),
    OpenApiParameter("search", OpenApiTypes.STR, description="in the readers' texts and names"),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS, summary="Conversations you may see"),
                    retrieve=extend_schema(summary="A conversation with its items and notes"))
@extend_schema(tags=["inbox"])
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ConversationSerializer
    queryset = Conversation.objects.none()

    def get_serializer_class(self) -> Any:
        return ConversationDetailSerializer if self.action != "list" else ConversationSerializer

    def get_queryset(self) -> QuerySet[Conversation]:
        if self.action != "list":
            return selectors.conversations_visible(self.request.user)
        params = self.request.query_params
        flags = {"1", "true", "yes"}
        state = params.get("state", "")
        if state and state != "open":
            state = choice_params(state, Conversation.State.values, "state")[0]
        f = selectors.InboxFilters(
            unit=int_param(params["unit"], "unit") if params.get("unit") else None,
            channel=int_param(params["channel"], "channel") if params.get("channel") else None,
            network=choice_params(params["network"], Network.values, "network")[0] if params.get("network") else "",
            state=state, overdue=params.get("overdue", "").lower() in flags,
            mine=params.get("mine", "").lower() in flags, q=params.get("search", ""))
        return selectors.conversations_filtered(self.request.user, f)

    def _conversation(self, pk: Any) -> Conversation:
        found = selectors.conversation_get(self.request.user, int(pk))
        if found is None:
            get_object_or_404(Conversation.objects.none(), pk=pk)
        assert found is not None
        return found

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(kwargs["pk"])

    def _answer(self, pk: Any, code: int = status.HTTP_200_OK) -> Response:
        return Response(ConversationDetailSerializer(self._conversation(pk),
                                                     context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=ReplySerializer, responses={201: ConversationDetailSerializer},
                   summary="Reply (sent by the engine; the conversation is answered once the network accepted it)")
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: Any = None) -> Response:
        conversation = self._conversation(pk)
        body = ReplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = None
        if body.validated_data.get("item"):
            target = next((i for i in conversation.items.all() if i.pk == body.validated_data["item"]), None)
            if target is None:
                raise serializers.ValidationError({"item": ["No such item in this conversation."]})
        services.conversation_reply(actor=request.user, conversation=conversation, text=body.validated_data["text"],
                                    to=target)
        return self._answer(pk, status.HTTP_201_CREATED)

    @extend_schema(request=AssignSerializer, responses=ConversationDetailSerializer, summary="Assign to a person")
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: Any = None) -> Response:
        conversation = self._conversation(pk)
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignee = None
        if body.validated_data["assignee"] is not None:
            assignee = User.objects.filter(pk=body.validated_data["assignee"], is_active=True).first()
            if assignee is None:
                raise serializers.ValidationError({"assignee": ["No such user."]})
        services.conversation_assign(actor=request.user, conversation=conversation, assignee=assignee)
        return self._answer(pk)

    @extend_schema(request=StateSerializer, responses=ConversationDetailSerializer, summary="Change the state")
    @action(detail=True, methods=["post"])
    def state(self, request: Request, pk: Any = None) -> Response:
        conversation = self._conversation(pk)
        body = StateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.conversation_set_state(actor=request.user, conversation=conversation,
                                        state=body.validated_data["state"])
        return self._answer(pk)

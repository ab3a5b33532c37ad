"""The three kinds of rows publishing hands to the outbox, registered with it (``outbox.jobs.register``):
``Delivery`` (a post on a page, done state ``published``), ``OutgoingMessage`` (a direct message or a reply
sent through a page, done state ``sent``) and ``DeliveryEdit`` (a change of a published post on one page, done
state ``done``); and how publishing queues them (:func:`deliveries_on_commit`, :func:`post_on_commit`,
:func:`messages_on_commit`, :func:`edits_on_commit`). The outbox tells publishing of a delivery's success through
the kind's outcome hook (``on_done``: the post is published once its last delivery is)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from filial.channels.models import Channel
from filial.networks import registry
from filial.networks.base import Connector, InboundItem, Photo, PollSpec, PostPayload, Published
from filial.networks.ratelimit import Claim, message_claims, publish_claims
from filial.outbox import queue
from filial.outbox.jobs import Job, register
from filial.outbox.models import Attempt
from filial.publishing.models import Delivery, DeliveryEdit, OutgoingMessage, Post
from filial.publishing.payloads import build_payload, reply_item, request_summary

State = Delivery.State
Outcome = Attempt.Outcome


def edit_claims(channel: Channel, payload: PostPayload, credentials: dict[str, Any] | None = None) -> list[Any]:
    """The budget of one edit (the connector's ``edit_claims``: as a publication of the same content, plus what
    the network reads first). ``credentials``: the page's, when the caller has them decrypted already."""
    return registry.connector_class(channel.network).edit_claims(
        channel.external_id, channel.credentials if credentials is None else credentials, payload)


class DeliveryJob(Job):
    name = "delivery"
    model = Delivery
    states = Delivery.State
    done = Delivery.State.PUBLISHED
    done_at = "published_at"
    attempt_fk = "delivery_id"
    send_kind = Attempt.Kind.PUBLISH
    done_outcome = Outcome.PUBLISHED
    attempt_field = "delivery"
    noun = "post"
    task = "publish_delivery"
    related = ("channel__unit", "post")
    can_lookup = True

    def prepare(self, row: Delivery) -> PostPayload:
        return build_payload(row)

    def summary(self, row: Delivery, payload: PostPayload | None) -> dict[str, Any]:
        return request_summary(row, payload)

    def claims(self, channel: Channel, row: Delivery, payload: PostPayload) -> list[Claim]:
        return publish_claims(channel.network, channel.external_id, channel.credentials, payload)

    def send(self, connector: Connector, row: Delivery, payload: PostPayload) -> Published:
        return connector.publish(payload)

    def find(self, connector: Connector, row: Delivery, payload: PostPayload) -> Published | None:
        return connector.find_published(payload)

    def done_fields(self, row: Delivery, published: Published) -> dict[str, Any]:
        return {"external_id": published.external_id[:100], "url": published.url[:500]}

    def on_done(self, row: Delivery) -> None:
        complete_post(row.post_id)

    def delivery_of(self, row: Delivery) -> int | None:
        return row.pk

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        summary = attempt.request or {}
        shape = PostPayload(text="x" * int(summary.get("text_chars") or 1), key="",
                            photos=[Photo(b"", "")] * int(summary.get("photos") or 0),
                            link="x" if summary.get("link") else "",
                            poll=PollSpec("q", ["a", "b"]) if summary.get("poll") else None)
        channel = self.row_of(attempt).channel
        if attempt.kind == Attempt.Kind.EDIT:
            return edit_claims(channel, shape, credentials)
        return publish_claims(channel.network, channel.external_id, credentials, shape)

    def row_of(self, attempt: Attempt) -> Any:
        return attempt.delivery


class MessageJob(Job):
    name = "message"
    model = OutgoingMessage
    states = OutgoingMessage.State
    done = OutgoingMessage.State.SENT
    done_at = "delivered_at"
    attempt_fk = "message_id"
    send_kind = Attempt.Kind.SEND
    done_outcome = Outcome.SENT
    attempt_field = "message"
    noun = "message"
    task = "send_message"
    related = ("channel__unit",)

    def prepare(self, row: OutgoingMessage) -> InboundItem | None:
        """The item a reply answers (None for a direct message)."""
        if row.kind != OutgoingMessage.Kind.REPLY:
            return None
        return reply_item(row.reply_to)

    def summary(self, row: OutgoingMessage, payload: Any) -> dict[str, Any]:
        return {"network": row.channel.network, "page": row.channel.external_id, "key": row.key,
                "kind": row.kind, "recipient": row.recipient_id, "text_chars": len(row.text)}

    def claims(self, channel: Channel, row: OutgoingMessage, payload: InboundItem | None) -> list[Claim]:
        return message_claims(channel.network, channel.external_id, channel.credentials, row.recipient_id,
                              comment=payload is not None and payload.kind == "comment")

    def send(self, connector: Connector, row: OutgoingMessage, payload: InboundItem | None) -> Published:
        if payload is not None:
            return Published(external_id=str(connector.reply(payload, row.text, row.key)))
        return Published(external_id=str(connector.send_message(row.recipient_id, row.text, row.key)))

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        message = self.row_of(attempt)
        channel = message.channel
        return message_claims(channel.network, channel.external_id, credentials, message.recipient_id,
                              comment=str((message.reply_to or {}).get("kind") or "") == "comment")

    def row_of(self, attempt: Attempt) -> Any:
        return attempt.message


class EditJob(Job):
    """A change of a published post on one page (``edits.request_edits`` makes the rows): the connector's ``edit``
    of the delivery's post, at the budget of a publication (:func:`edit_claims`), each try an ``Attempt`` of the
    delivery (kind ``edit``). An edit is safe to repeat: a try whose outcome is unknown is a temporary error."""

    name = "edit"
    model = DeliveryEdit
    states = DeliveryEdit.State
    done = DeliveryEdit.State.DONE
    done_at = "finished_at"
    attempt_fk = "delivery_id"
    send_kind = Attempt.Kind.EDIT
    done_outcome = Outcome.EDITED
    attempt_field = "delivery"
    noun = "edit"
    task = "edit_delivery"
    related = ("channel__unit", "delivery__post", "requested_by")
    safe_to_repeat = True

    def prepare(self, row: DeliveryEdit) -> PostPayload:
        return build_payload(row.delivery)

    def summary(self, row: DeliveryEdit, payload: PostPayload | None) -> dict[str, Any]:
        return {**request_summary(row.delivery, payload), "method": "edit", "edit": row.pk, "changes": row.changes}

    def claims(self, channel: Channel, row: DeliveryEdit, payload: PostPayload) -> list[Claim]:
        return edit_claims(channel, payload)

    def send(self, connector: Connector, row: DeliveryEdit, payload: PostPayload) -> Published:
        connector.edit(row.delivery.external_id, payload)
        return Published(external_id=row.delivery.external_id)

    def done_fields(self, row: DeliveryEdit, published: Published) -> dict[str, Any]:
        return {}

    def attempt_columns(self, pk: int, row: DeliveryEdit | None = None) -> dict[str, Any]:
        """An edit's tries are attempts of its delivery, by the person who asked for the edit."""
        if row is None or row.pk != pk:
            row = DeliveryEdit.objects.select_related("delivery", "requested_by").get(pk=pk)
        actor = row.requested_by
        return {"delivery_id": row.delivery_id, "external_id": row.delivery.external_id[:100],
                "actor": actor if actor is not None and actor.is_active else None}

    def error_outcome(self, outcome: str) -> str:
        return Outcome.EDIT_FAILED

    def end_fields(self, state: str, now: Any) -> dict[str, Any]:
        return {"finished_at": now} if state == DeliveryEdit.State.FAILED else {}

    def delivery_of(self, row: DeliveryEdit) -> int | None:
        return row.delivery_id

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        return DELIVERY.prime_claims(attempt, credentials)  # an edit's attempts are its delivery's

    def row_of(self, attempt: Attempt) -> Any:
        return attempt.delivery


def complete_post(post_id: int) -> bool:
    """The post is published when every live (not cancelled) delivery of it is: one UPDATE that checks both."""
    deliveries = Delivery.objects.filter(post_id=OuterRef("pk"))
    return Post.objects.filter(
        Exists(deliveries.exclude(state=State.CANCELLED)),
        ~Exists(deliveries.exclude(state__in=[State.CANCELLED, State.PUBLISHED])),
        pk=post_id, state=Post.State.SCHEDULED,
    ).update(state=Post.State.PUBLISHED, updated_at=timezone.now()) == 1


DELIVERY = register(DeliveryJob())
MESSAGE = register(MessageJob())
EDIT = register(EditJob())


def deliveries_on_commit(delivery_ids: Any) -> None:
    """After deliveries were created or reopened: queue those due soon once the transaction commits."""
    queue.enqueue_on_commit(DELIVERY, delivery_ids)


def messages_on_commit(message_ids: Any) -> None:
    """After messages were created or reopened: queue those due soon once the transaction commits."""
    queue.enqueue_on_commit(MESSAGE, message_ids)


def edits_on_commit(edit_ids: Any) -> None:
    """After edits were requested: queue them once the transaction commits (their pages' lanes)."""
    queue.enqueue_on_commit(EDIT, edit_ids)


def post_on_commit(post: Post) -> None:
    """After deliveries of ``post`` were created or moved: queue those due soon once the transaction commits."""
    post_id = post.pk
    queue.enqueue_query_on_commit(DELIVERY, lambda: Delivery.objects.filter(
        post_id=post_id, state=State.SCHEDULED).values_list("pk", flat=True))

"""``DeliveryEdit`` becomes a kind of the outbox's row (``outbox.models.EngineRow``): its lease and retry columns
(``lease_owner``, ``lease_until``, ``failures``, ``next_attempt_at``, ``last_error``) were already the row's and keep
their data; the row's other columns are added, its page (``channel``: the delivery's, for the page's lane) and due
time (``due_at``: when it was requested) filled from what it has; its states take the outbox's stored values
(``pending`` → ``scheduled``, ``editing`` → ``sending``)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

STATES = {"pending": "scheduled", "editing": "sending"}


def forward(apps, schema_editor):
    DeliveryEdit = apps.get_model("publishing", "DeliveryEdit")
    Delivery = apps.get_model("publishing", "Delivery")
    DeliveryEdit.objects.update(
        channel_id=Subquery(Delivery.objects.filter(pk=OuterRef("delivery_id")).values("channel_id")[:1]),
        due_at=F("requested_at"), created_at=F("requested_at"))
    for old, new in STATES.items():
        DeliveryEdit.objects.filter(state=old).update(state=new)


def backward(apps, schema_editor):
    DeliveryEdit = apps.get_model("publishing", "DeliveryEdit")
    for old, new in STATES.items():
        DeliveryEdit.objects.filter(state=new).update(state=old)


class Migration(migrations.Migration):

    dependencies = [
        ("channels", "0003_inbox_polling"),
        ("publishing", "0005_attempt_to_outbox"),
    ]

    operations = [
        migrations.AddField("deliveryedit", "channel", models.ForeignKey(
            null=True, on_delete=django.db.models.deletion.PROTECT, related_name="delivery_edits",
            to="channels.channel")),
        migrations.AddField("deliveryedit", "due_at", models.DateTimeField(null=True, verbose_name="due")),
        migrations.AddField("deliveryedit", "created_at", models.DateTimeField(null=True)),
        migrations.AddField("deliveryedit", "updated_at", models.DateTimeField(auto_now=True)),
        migrations.AddField("deliveryedit", "attempts", models.PositiveIntegerField(default=0)),
        migrations.AddField("deliveryedit", "deferrals", models.PositiveIntegerField(default=0)),
        migrations.AddField("deliveryedit", "generation", models.PositiveIntegerField(default=0)),
        migrations.AddField("deliveryedit", "enqueued_eta", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("deliveryedit", "sent_at", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("deliveryedit", "external_id", models.CharField(blank=True, max_length=100)),
        migrations.AddField("deliveryedit", "last_error_code", models.CharField(blank=True, max_length=50)),
        migrations.AlterField("deliveryedit", "state", models.CharField(
            choices=[("pending", "Waiting"), ("editing", "Editing"), ("scheduled", "Waiting"),
                     ("sending", "Editing"), ("done", "Edited"), ("failed", "Edit failed"),
                     ("superseded", "Replaced by a newer edit")],
            db_index=True, default="scheduled", max_length=20, verbose_name="state")),
        migrations.RunPython(forward, backward),
        migrations.AlterField("deliveryedit", "channel", models.ForeignKey(
            on_delete=django.db.models.deletion.PROTECT, related_name="delivery_edits", to="channels.channel")),
        migrations.AlterField("deliveryedit", "due_at", models.DateTimeField(db_index=True, verbose_name="due")),
        migrations.AlterField("deliveryedit", "created_at", models.DateTimeField(auto_now_add=True)),
        migrations.AlterField("deliveryedit", "state", models.CharField(
            choices=[("scheduled", "Waiting"), ("sending", "Editing"), ("done", "Edited"), ("failed", "Edit failed"),
                     ("superseded", "Replaced by a newer edit")],
            db_index=True, default="scheduled", max_length=20, verbose_name="state")),
        migrations.AddIndex("deliveryedit", models.Index(fields=["state", "due_at"], name="deliveryedit_state_due")),
    ]

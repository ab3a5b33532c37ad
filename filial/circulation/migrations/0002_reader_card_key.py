"""``Reader.card_key``: the card number as the readers' dialogue matches it (``circulation/cards.py``), filled for
the readers already stored, with an index on (system, key): one indexed lookup however many readers there are."""

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    from filial.circulation.cards import card_key

    Reader = apps.get_model("circulation", "Reader")
    last = 0
    while True:
        batch = list(Reader.objects.filter(pk__gt=last).order_by("pk").only("pk", "card")[:BATCH])
        if not batch:
            return
        for reader in batch:
            reader.card_key = card_key(reader.card)
        Reader.objects.bulk_update(batch, ["card_key"], batch_size=BATCH)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("circulation", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="reader", name="card_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=64)),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="reader", index=models.Index(fields=["system", "card_key"], name="reader_card_key_idx")),
    ]

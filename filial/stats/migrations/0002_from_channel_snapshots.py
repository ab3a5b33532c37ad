"""The audience samples of ``channels.ChannelSnapshot`` become ``stats.PageDay`` rows (ChannelSnapshot is removed by
the channels app's next migration).

A sample's day is its time in the page's unit's zone; of several samples on one day the latest is kept. A sample
taken before the page was connected to Filial (the demo's history) was not measured by the job: its source is
``seed``; the others ``job``.
"""

from zoneinfo import ZoneInfo

from django.db import migrations


def copy_snapshots(apps, schema_editor):
    ChannelSnapshot = apps.get_model("channels", "ChannelSnapshot")
    PageDay = apps.get_model("stats", "PageDay")
    latest: dict = {}
    rows = (ChannelSnapshot.objects.select_related("channel__unit__system")
            .order_by("channel_id", "at", "pk").iterator(chunk_size=2000))
    zones: dict = {}
    for snap in rows:
        channel = snap.channel
        name = channel.unit.timezone or channel.unit.system.timezone
        zone = zones.setdefault(name, ZoneInfo(name))
        day = snap.at.astimezone(zone).date()
        source = "seed" if channel.created_at and snap.at < channel.created_at else "job"
        latest[(channel.pk, day)] = PageDay(channel_id=channel.pk, day=day, audience=snap.followers,
                                            measured_at=snap.at, source=source, error="")
    existing = set(PageDay.objects.values_list("channel_id", "day"))
    PageDay.objects.bulk_create([row for key, row in latest.items() if key not in existing], batch_size=1000)


def copy_back(apps, schema_editor):
    ChannelSnapshot = apps.get_model("channels", "ChannelSnapshot")
    PageDay = apps.get_model("stats", "PageDay")
    ChannelSnapshot.objects.bulk_create(
        [ChannelSnapshot(channel_id=row.channel_id, at=row.measured_at, followers=row.audience)
         for row in PageDay.objects.filter(audience__isnull=False).iterator(chunk_size=2000)],
        batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("stats", "0001_initial"),
        ("channels", "0003_inbox_polling"),
        ("libraries", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_snapshots, copy_back),
    ]

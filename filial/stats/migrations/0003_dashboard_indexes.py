"""Indexes the statistics dashboards read through.

``publishing_delivery`` has no index on the time a delivery was published: the dashboards count the publications
of a period per page and per kind (``state = 'published'``, ``published_at`` in the period). The index leads with
the time (a network-wide period is one range scan) and carries the page and the post (the counts read the index
only). It is partial (published rows only) and created here, by the app that reads through it, in SQL both
databases accept.
"""

from django.db import migrations

INDEX = "stats_delivery_published_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0002_from_channel_snapshots"),
        ("publishing", "0006_delivery_edit_outbox_row"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {INDEX} ON publishing_delivery (published_at, channel_id, post_id) "
                "WHERE state = 'published'",
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]

"""``Attempt`` moves to the ``outbox`` app: removed from this app's state only; its table stays
(``publishing_attempt``, see ``outbox.0001_attempt``)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('publishing', '0004_posts_edits_series_slots'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Attempt')],
            database_operations=[],
        ),
    ]

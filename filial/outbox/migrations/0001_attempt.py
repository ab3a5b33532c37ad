"""``Attempt`` comes from ``publishing`` with its table (``publishing_attempt``): a change of Django's state only, no
change of the database; its content type follows it, so permissions and admin log entries keep pointing at it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model="attempt").exists():
        content_type.objects.filter(app_label=old, model="attempt").update(app_label=new)


def move_content_type(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "publishing", "outbox")


def move_content_type_back(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "outbox", "publishing")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('publishing', '0005_attempt_to_outbox'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='Attempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('publish', 'Publication'), ('send', 'Sending'), ('lookup', 'Check on the network'), ('sweeper', 'Recovery'), ('human', 'Person'), ('edit', 'Edit on the network')], default='publish', max_length=20)),
                ('started_at', models.DateTimeField(db_index=True, verbose_name='started')),
                ('duration_ms', models.PositiveIntegerField(default=0, verbose_name='duration, ms')),
                ('request', models.JSONField(blank=True, default=dict, verbose_name='request')),
                ('outcome', models.CharField(choices=[('published', 'Published'), ('sent', 'Sent'), ('found', 'Found on the network'), ('not_found', 'Not found on the network'), ('confirmed', 'Confirmed by a person'), ('resend', 'Sent again by a person'), ('retry', 'Retried by a person'), ('retry_later', "Waiting for the network's limit"), ('transient', 'Temporary error'), ('failed', 'Failed'), ('needs_reauth', 'Needs re-authorisation'), ('uncertain', 'Outcome unknown'), ('lookup_failed', 'Check failed'), ('lease_expired', 'Worker lost'), ('duplicate', 'Published twice'), ('edited', 'Edited on the network'), ('edit_failed', 'Edit failed')], max_length=20, verbose_name='outcome')),
                ('error_code', models.CharField(blank=True, max_length=50, verbose_name='error code')),
                ('error_message', models.TextField(blank=True, verbose_name='error')),
                ('external_id', models.CharField(blank=True, max_length=100)),
                ('worker', models.CharField(blank=True, max_length=100)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('delivery', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='publishing.delivery')),
                ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='publishing.outgoingmessage')),
            ],
            options={
                'verbose_name': 'attempt',
                'verbose_name_plural': 'attempts',
                'db_table': 'publishing_attempt',
                'ordering': ['started_at', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('delivery__isnull', False), ('message__isnull', True)), models.Q(('delivery__isnull', True), ('message__isnull', False)), _connector='OR'), name='attempt_delivery_or_message')],
            },
        )], database_operations=[]),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]

"""The readers' models come from ``circulation`` with their tables (``circulation_*``, ``db_table`` kept): a change
of Django's state only, no change of the database. Their content types follow them (permissions and admin log
entries keep pointing at them), and so do the audit entries written about them (``AuditEntry.object_type``: the
readers' personal data stays shown to the system's administrators only, ``accounts.selectors.READER_DATA_TYPES``)."""

import datetime
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MODELS = ["consenttext", "linkcode", "readerconsent", "readeridentity", "dialoguestate", "dialogueaction",
          "reminderrule", "reminder"]


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    audit_entry = apps.get_model("accounts", "AuditEntry")
    for model in MODELS:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)
        audit_entry.objects.filter(object_type=f"{old}.{model}").update(object_type=f"{new}.{model}")


def move_labels(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "circulation", "readers")


def move_labels_back(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "readers", "circulation")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('channels', '0003_inbox_polling'),
        ('circulation', '0005_readers_to_own_app'),
        ('libraries', '0001_initial'),
        ('accounts', '0002_api_tokens'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('publishing', '0005_attempt_to_outbox'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='ConsentText',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('version', models.PositiveIntegerField(verbose_name='version')),
                    ('purpose', models.TextField(verbose_name='purpose')),
                    ('text', models.TextField(verbose_name='consent text')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consent_texts', to='libraries.librarysystem')),
                ],
                options={
                    'verbose_name': 'consent text',
                    'verbose_name_plural': 'consent texts',
                    'db_table': 'circulation_consenttext',
                    'ordering': ['system', '-version'],
                },
            ),
            migrations.CreateModel(
                name='DialogueAction',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('person_id', models.CharField(blank=True, max_length=100)),
                    ('kind', models.CharField(choices=[('reply', 'Reply'), ('renew', 'Renewal'), ('loans', 'My loans'), ('relay', "Librarian's answer")], max_length=10)),
                    ('heard', models.TextField(blank=True)),
                    ('argument', models.CharField(blank=True, max_length=100)),
                    ('text', models.TextField(blank=True)),
                    ('state', models.CharField(choices=[('pending', 'Pending'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=10)),
                    ('renewals', models.JSONField(blank=True, default=list)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('done_at', models.DateTimeField(blank=True, null=True)),
                    ('channel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='channels.channel')),
                    ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='publishing.outgoingmessage')),
                    ('reader', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='dialogue_actions', to='circulation.reader')),
                ],
                options={
                    'db_table': 'circulation_dialogueaction',
                    'ordering': ['created_at', 'id'],
                },
            ),
            migrations.CreateModel(
                name='LinkCode',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code_hash', models.CharField(db_index=True, max_length=64)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('expires_at', models.DateTimeField()),
                    ('used_at', models.DateTimeField(blank=True, null=True)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('reader', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='link_codes', to='circulation.reader')),
                ],
                options={
                    'db_table': 'circulation_linkcode',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='DialogueState',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('person_id', models.CharField(max_length=100)),
                    ('step', models.CharField(choices=[('idle', 'Idle'), ('card', 'Asked for the card number'), ('code', 'Asked for the code'), ('consent', 'Asked for consent')], default='idle', max_length=10)),
                    ('card', models.CharField(blank=True, max_length=64)),
                    ('failures', models.PositiveSmallIntegerField(default=0)),
                    ('locked_until', models.DateTimeField(blank=True, null=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('channel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='channels.channel')),
                    ('reader', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='circulation.reader')),
                    ('code', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='readers.linkcode')),
                ],
                options={
                    'db_table': 'circulation_dialoguestate',
                },
            ),
            migrations.CreateModel(
                name='ReaderConsent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('person_id', models.CharField(blank=True, max_length=100)),
                    ('version', models.PositiveIntegerField(verbose_name='version')),
                    ('given_at', models.DateTimeField(verbose_name='given')),
                    ('withdrawn_at', models.DateTimeField(blank=True, null=True, verbose_name='withdrawn')),
                    ('erased_at', models.DateTimeField(blank=True, null=True, verbose_name='erased')),
                    ('channel', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='channels.channel', verbose_name='page')),
                    ('consent_text', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consents', to='readers.consenttext')),
                    ('reader', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='consents', to='circulation.reader')),
                    ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='libraries.librarysystem')),
                ],
                options={
                    'db_table': 'circulation_readerconsent',
                    'ordering': ['-given_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='ReaderIdentity',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('person_id', models.CharField(max_length=100)),
                    ('person_name', models.CharField(blank=True, max_length=200)),
                    ('linked_at', models.DateTimeField(verbose_name='linked')),
                    ('stopped_at', models.DateTimeField(blank=True, null=True, verbose_name='reminders stopped')),
                    ('channel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reader_identities', to='channels.channel', verbose_name='page')),
                    ('consent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='readers.readerconsent')),
                    ('reader', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='identities', to='circulation.reader')),
                ],
                options={
                    'verbose_name': 'reader identity',
                    'verbose_name_plural': 'reader identities',
                    'db_table': 'circulation_readeridentity',
                    'ordering': ['linked_at', 'id'],
                },
            ),
            migrations.CreateModel(
                name='Reminder',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('date', models.DateField(verbose_name='date')),
                    ('steps', models.JSONField(blank=True, default=dict)),
                    ('state', models.CharField(default='scheduled', max_length=20, verbose_name='state')),
                    ('planned_at', models.DateTimeField(auto_now_add=True)),
                    ('channel', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='channels.channel')),
                    ('loans', models.ManyToManyField(blank=True, related_name='reminders', to='circulation.loan')),
                    ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='publishing.outgoingmessage')),
                    ('reader', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reminders', to='circulation.reader')),
                    ('unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='libraries.unit')),
                ],
                options={
                    'verbose_name': 'reminder',
                    'verbose_name_plural': 'reminders',
                    'db_table': 'circulation_reminder',
                    'ordering': ['-date', '-id'],
                },
            ),
            migrations.CreateModel(
                name='ReminderRule',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('enabled', models.BooleanField(default=True, verbose_name='send reminders')),
                    ('pre_due_days', models.PositiveSmallIntegerField(default=3, verbose_name='days before the due date (0: none)')),
                    ('on_due', models.BooleanField(default=True, verbose_name='on the due date')),
                    ('overdue_steps', models.CharField(default='1,7,30', help_text='Comma-separated, e.g. 1, 7, 30.', max_length=100, verbose_name='days overdue')),
                    ('quiet_start', models.TimeField(default=datetime.time(21, 0), verbose_name='quiet hours from')),
                    ('quiet_end', models.TimeField(default=datetime.time(9, 0), verbose_name='quiet hours until')),
                    ('template', models.TextField(blank=True, verbose_name='message template')),
                    ('return_window_days', models.PositiveSmallIntegerField(default=7, verbose_name='a return counts for a reminder within (days)')),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reminder_rules', to='libraries.librarysystem')),
                    ('unit', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reminder_rule', to='libraries.unit', verbose_name='unit')),
                    ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'reminder rule',
                    'verbose_name_plural': 'reminder rules',
                    'db_table': 'circulation_reminderrule',
                },
            ),
            migrations.AddConstraint(
                model_name='consenttext',
                constraint=models.UniqueConstraint(fields=('system', 'version'), name='consent_text_unique_version'),
            ),
            migrations.AddConstraint(
                model_name='dialoguestate',
                constraint=models.UniqueConstraint(fields=('channel', 'person_id'), name='dialogue_state_unique'),
            ),
            migrations.AddIndex(
                model_name='readerconsent',
                index=models.Index(fields=['person_id'], name='reader_consent_person_idx'),
            ),
            migrations.AddConstraint(
                model_name='readeridentity',
                constraint=models.UniqueConstraint(fields=('channel', 'person_id'), name='reader_identity_unique'),
            ),
            migrations.AddIndex(
                model_name='reminder',
                index=models.Index(fields=['unit', 'date', 'state'], name='reminder_unit_date_idx'),
            ),
            migrations.AddConstraint(
                model_name='reminder',
                constraint=models.UniqueConstraint(fields=('reader', 'channel', 'date'), name='reminder_one_per_day'),
            ),
            migrations.AddConstraint(
                model_name='reminderrule',
                constraint=models.UniqueConstraint(condition=models.Q(('unit__isnull', True)), fields=('system',), name='reminder_rule_one_per_system'),
            ),
        ], database_operations=[]),
        migrations.RunPython(move_labels, move_labels_back),
    ]

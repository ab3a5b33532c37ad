"""The readers' side moves to the ``readers`` app: its models leave this app's state only; their tables stay
(``circulation_*``, see ``readers.0001_from_circulation``)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('circulation', '0004_reader_card_key'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='readerconsent',
                name='consent_text',
            ),
            migrations.RemoveField(
                model_name='dialogueaction',
                name='channel',
            ),
            migrations.RemoveField(
                model_name='dialogueaction',
                name='message',
            ),
            migrations.RemoveField(
                model_name='dialogueaction',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='dialoguestate',
                name='channel',
            ),
            migrations.RemoveField(
                model_name='dialoguestate',
                name='code',
            ),
            migrations.RemoveField(
                model_name='dialoguestate',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='linkcode',
                name='created_by',
            ),
            migrations.RemoveField(
                model_name='linkcode',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='readerconsent',
                name='channel',
            ),
            migrations.RemoveField(
                model_name='readerconsent',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='readerconsent',
                name='system',
            ),
            migrations.RemoveField(
                model_name='readeridentity',
                name='consent',
            ),
            migrations.RemoveField(
                model_name='readeridentity',
                name='channel',
            ),
            migrations.RemoveField(
                model_name='readeridentity',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='reminder',
                name='channel',
            ),
            migrations.RemoveField(
                model_name='reminder',
                name='loans',
            ),
            migrations.RemoveField(
                model_name='reminder',
                name='message',
            ),
            migrations.RemoveField(
                model_name='reminder',
                name='reader',
            ),
            migrations.RemoveField(
                model_name='reminder',
                name='unit',
            ),
            migrations.RemoveField(
                model_name='reminderrule',
                name='system',
            ),
            migrations.RemoveField(
                model_name='reminderrule',
                name='unit',
            ),
            migrations.RemoveField(
                model_name='reminderrule',
                name='updated_by',
            ),
            migrations.DeleteModel(
                name='ConsentText',
            ),
            migrations.DeleteModel(
                name='DialogueAction',
            ),
            migrations.DeleteModel(
                name='DialogueState',
            ),
            migrations.DeleteModel(
                name='LinkCode',
            ),
            migrations.DeleteModel(
                name='ReaderConsent',
            ),
            migrations.DeleteModel(
                name='ReaderIdentity',
            ),
            migrations.DeleteModel(
                name='Reminder',
            ),
            migrations.DeleteModel(
                name='ReminderRule',
            ),
        ], database_operations=[]),
    ]

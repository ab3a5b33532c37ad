"""API tokens stored as digests (filial/accounts/tokens.py). The keys of DRF's plain ``authtoken_token`` table
(before this migration) are moved over as digests, each valid FILIAL_API_TOKEN_DAYS from now, and the plain keys
are deleted from the database."""

import hashlib
from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

PLAIN_TABLE = "authtoken_token"


def hash_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if PLAIN_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    User = apps.get_model("accounts", "User")
    now = timezone.now()
    expires = now + timedelta(days=float(settings.FILIAL_API_TOKEN_DAYS))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {PLAIN_TABLE}")  # noqa: S608 - a fixed table name
        rows = cursor.fetchall()
    passwords = dict(User.objects.filter(pk__in=[r[1] for r in rows]).values_list("pk", "password"))
    ApiToken.objects.bulk_create([
        ApiToken(user_id=user_id, digest=hashlib.sha256(key.encode("utf-8")).hexdigest(),
                 password_mark=hashlib.sha256(f"filial-api-token:{passwords[user_id]}".encode()).hexdigest(),
                 created_at=now, expires_at=expires)
        for key, user_id in rows if user_id in passwords
    ])
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {PLAIN_TABLE}")  # noqa: S608 - a fixed table name


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64, unique=True)),
                ('password_mark', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'verbose_name_plural': 'API tokens',
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(hash_plain_tokens, migrations.RunPython.noop),
    ]

"""The default customer categories for the library systems that exist already (new ones get them on creation:
``filial/paid/signals.py``)."""

from django.db import migrations

DEFAULT_CATEGORIES = (
    ("education", "Учреждение образования", False),
    ("culture", "Учреждение культуры", False),
    ("council", "Совет депутатов", False),
    ("mfc", "МФЦ", False),
    ("organisation", "Другая организация", False),
    ("individual", "Физическое лицо", True),
)


def seed(apps, schema_editor):
    LibrarySystem = apps.get_model("libraries", "LibrarySystem")
    CustomerCategory = apps.get_model("paid", "CustomerCategory")
    for system in LibrarySystem.objects.all():
        existing = set(CustomerCategory.objects.filter(system=system).values_list("code", flat=True))
        CustomerCategory.objects.bulk_create([
            CustomerCategory(system=system, code=code, name=name, is_individual=individual, position=i)
            for i, (code, name, individual) in enumerate(DEFAULT_CATEGORIES) if code not in existing
        ])


class Migration(migrations.Migration):
    dependencies = [("paid", "0001_initial"), ("libraries", "0002_librarysystem_inn_librarysystem_legal_name")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

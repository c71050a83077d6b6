"""Create the default collection, the one the REST publish API writes to."""

from django.db import migrations

# Fixed so that a TAXII client configured against one install works against a fresh one.
DEFAULT_COLLECTION_ID = "6b1f1a53-4c5e-4a5b-9b7d-2f0c6c1de001"


def create_default_collection(apps, schema_editor):
    Collection = apps.get_model("signatures", "Collection")
    Collection.objects.get_or_create(
        is_default=True,
        defaults={
            "id": DEFAULT_COLLECTION_ID,
            "title": "Distillation signatures",
            "description": "Signatures of AI distillation campaigns published by member labs.",
            "alias": "distillation",
            "media_types": ["application/stix+json;version=2.1"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("signatures", "0001_initial")]

    operations = [migrations.RunPython(create_default_collection, migrations.RunPython.noop)]

# The outbox model now lives in the signatures app (signatures 0005); the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('fanout', '0001_subscriptions_outbox_deliveries'),
        ('signatures', '0005_outbox_entry_moved_from_fanout'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OutboxEntry')],
            database_operations=[],
        ),
    ]

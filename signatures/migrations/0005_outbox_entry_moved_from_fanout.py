# The outbox is written in the publish transaction, so its model moves from the fan-out app
# to this one. Only Django's state moves: the table keeps its name (db_table), and its rows.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fanout', '0001_subscriptions_outbox_deliveries'),
        ('signatures', '0004_per_publisher_copies_of_creatorless_objects'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('dispatched_at', models.DateTimeField(blank=True, null=True)),
                        ('collection_entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='signatures.collectionentry')),
                    ],
                    options={
                        'db_table': 'fanout_outboxentry',
                        'verbose_name_plural': 'outbox entries',
                        'indexes': [models.Index(condition=models.Q(('dispatched_at__isnull', True)), fields=['id'], name='outbox_pending'), models.Index(fields=['dispatched_at'], name='outbox_dispatched')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

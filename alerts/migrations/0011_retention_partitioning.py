"""Retention: no FK constraints point at episodes or deliveries, and on PostgreSQL both tables
become partitioned by month (alerts/retention/partitions.py). SQLite keeps plain tables; Django's
model state only records the `db_constraint=False` changes."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.state import StateApps
from django.utils import timezone


def partition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from alerts.retention.partitions import partition_table

    now = timezone.now()
    with schema_editor.connection.cursor() as cursor:
        for table in ("alerts_episode", "alerts_delivery"):
            partition_table(cursor, table, now)


def unpartition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Nothing was done on SQLite; on PostgreSQL turning partitions back into one table (with FK
    # constraints to it again) is not provided: restore a backup taken before the upgrade.
    if schema_editor.connection.vendor == "postgresql":
        raise IrreversibleError(
            "alerts.0011 partitioned episodes and deliveries; it cannot be reversed on PostgreSQL"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0010_evaluation_trigger"),
    ]

    operations = [
        migrations.AlterField(
            model_name="engagement",
            name="episode",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="engagements",
                to="alerts.episode",
            ),
        ),
        migrations.AlterField(
            model_name="episode",
            name="first_delivery",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="alerts.delivery",
            ),
        ),
        migrations.AlterField(
            model_name="feedback",
            name="episode",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="feedback",
                to="alerts.episode",
            ),
        ),
        # Not reversible: turning partitioned tables back into plain ones is not worth a
        # second code path (restore from a backup taken before migrating instead).
        migrations.RunPython(partition, reverse_code=unpartition, elidable=False),
    ]

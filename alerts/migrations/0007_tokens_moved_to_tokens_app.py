
import django.db.models.deletion
from django.db import migrations, models

MOVED = ["apitoken", "integration"]


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label=old, model__in=MOVED).update(app_label=new)


def content_types_to_tokens(apps, schema_editor) -> None:
    _relabel(apps, "alerts", "tokens")


def content_types_to_alerts(apps, schema_editor) -> None:
    _relabel(apps, "tokens", "alerts")


class Migration(migrations.Migration):
    """Integration and ApiToken now belong to the tokens app (state only: no table changes).

    Their content types follow, so permissions granted on them keep working."""


    dependencies = [
        ('alerts', '0006_review_unique_scope'),
        ('tokens', '0001_tokens_from_alerts'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='delivery',
                    name='token',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='tokens.apitoken'),
                ),
                migrations.RemoveField(
                    model_name='integration',
                    name='owner_team',
                ),
                migrations.AlterField(
                    model_name='delivery',
                    name='integration',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='tokens.integration'),
                ),
                migrations.DeleteModel(
                    name='ApiToken',
                ),
                migrations.DeleteModel(
                    name='Integration',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_tokens, content_types_to_alerts),
    ]


from django.db import migrations

MOVED = ["slo", "scorecardsnapshot"]


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label=old, model__in=MOVED).update(app_label=new)


def content_types_to_coverage(apps, schema_editor) -> None:
    _relabel(apps, "fleet", "coverage")


def content_types_to_fleet(apps, schema_editor) -> None:
    _relabel(apps, "coverage", "fleet")


class Migration(migrations.Migration):
    """SLO and ScorecardSnapshot now belong to the coverage app (state only: no table changes).

    Their content types follow, so permissions granted on them keep working."""


    dependencies = [
        ('fleet', '0002_slo_slo_scorecards'),
        ('coverage', '0001_slo_scorecards_from_fleet'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='slo',
                    name='owner_team',
                ),
                migrations.RemoveField(
                    model_name='slo',
                    name='runbook',
                ),
                migrations.RemoveField(
                    model_name='slo',
                    name='system',
                ),
                migrations.DeleteModel(
                    name='ScorecardSnapshot',
                ),
                migrations.DeleteModel(
                    name='SLO',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_coverage, content_types_to_fleet),
    ]

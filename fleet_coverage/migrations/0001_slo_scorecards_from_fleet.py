
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):
    """SLO and ScorecardSnapshot move from the fleet app; their tables keep their names, so only
    Django's model state changes (fleet 0003 removes them from the fleet app's state)."""


    initial = True

    dependencies = [
        ('fleet', '0002_slo_slo_scorecards'),
        ('runbooks', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ScorecardSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('week', models.CharField(help_text='ISO week, e.g. 2026-W47.', max_length=8)),
                        ('score', models.PositiveSmallIntegerField()),
                        ('missing', models.JSONField(blank=True, default=list, help_text='Codes of missing items.')),
                        ('taken_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scorecard_snapshots', to='fleet.aisystem')),
                    ],
                    options={
                        'db_table': 'fleet_scorecardsnapshot',
                        'ordering': ['-week', 'system_id'],
                        'indexes': [models.Index(fields=['week'], name='snapshot_week')],
                        'constraints': [models.UniqueConstraint(fields=('system', 'week'), name='snapshot_unique_system_week')],
                    },
                ),
                migrations.CreateModel(
                    name='SLO',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('slug', models.SlugField(help_text='Unique per system; becomes the `slo` label.')),
                        ('description', models.TextField(blank=True)),
                        ('good_query', models.TextField(blank=True, help_text='PromQL rate of good events over $window (with total_query).')),
                        ('total_query', models.TextField(blank=True, help_text='PromQL rate of all events over $window (with good_query).')),
                        ('ratio_query', models.TextField(blank=True, help_text='Alternative to good/total: PromQL ratio of good events (0–1) over $window.')),
                        ('objective', models.DecimalField(decimal_places=4, help_text='Target share of good events in percent, e.g. 99.5.', max_digits=7, validators=[django.core.validators.MinValueValidator(Decimal('0.0001')), django.core.validators.MaxValueValidator(Decimal('99.9999'))])),
                        ('window_days', models.PositiveSmallIntegerField(choices=[(28, '28 days'), (30, '30 days')], default=30)),
                        ('layer', models.CharField(choices=[('infra', 'Infrastructure (L1)'), ('ml', 'ML operation (L2)'), ('business', 'Business outcome (L3)')], default='infra', max_length=10)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('owner_team', models.ForeignKey(blank=True, help_text="Empty: the system's owner team.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='slos', to='fleet.team')),
                        ('runbook', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='slos', to='runbooks.runbook')),
                        ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='slos', to='fleet.aisystem')),
                    ],
                    options={
                        'verbose_name': 'SLO',
                        'db_table': 'fleet_slo',
                        'ordering': ['system__slug', 'slug'],
                        'indexes': [models.Index(fields=['owner_team'], name='slo_owner_team')],
                        'constraints': [models.UniqueConstraint(fields=('system', 'slug'), name='slo_unique_system_slug'), models.CheckConstraint(condition=models.Q(('objective__gt', 0), ('objective__lt', 100)), name='slo_objective_between_0_and_100')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

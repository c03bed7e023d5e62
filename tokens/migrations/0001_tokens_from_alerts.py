
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Integration and ApiToken move from the alerts app; their tables keep their names, so only
    Django's model state changes (alerts 0007 removes them from the alerts app's state)."""


    initial = True

    dependencies = [
        ('fleet', '0002_slo_slo_scorecards'),
        ('alerts', '0006_review_unique_scope'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Integration',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120, unique=True)),
                        ('source', models.CharField(choices=[('prometheus', 'Prometheus / Alertmanager'), ('grafana', 'Grafana alerting'), ('datadog', 'Datadog'), ('whylabs', 'WhyLabs'), ('evidently', 'Evidently'), ('generic', 'Generic JSON'), ('manual', 'Registered by hand')], max_length=12)),
                        ('signing_secret', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('owner_team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='integrations', to='fleet.team')),
                    ],
                    options={
                        'db_table': 'alerts_integration',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=120)),
                        ('scope', models.CharField(choices=[('ingest', 'Ingest (alert webhooks)'), ('read', 'Read'), ('write', 'Read and write')], max_length=8)),
                        ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('prefix', models.CharField(editable=False, help_text='First characters, to tell tokens apart.', max_length=12)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                        ('team', models.ForeignKey(blank=True, help_text="Writes are limited to this team's objects; empty for a fleet-wide token.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='fleet.team')),
                        ('integration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='tokens.integration')),
                    ],
                    options={
                        'verbose_name': 'API token',
                        'db_table': 'alerts_apitoken',
                        'ordering': ['-created_at'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

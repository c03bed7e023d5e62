"""The audit log refuses UPDATE and DELETE on PostgreSQL (a trigger; TRUNCATE, which only an
operator or the test runner issues, is left alone), and the switch singleton exists."""

from typing import Any

from django.db import migrations

_CREATE = """
CREATE OR REPLACE FUNCTION automation_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'automation_automationevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER automation_event_append_only
    BEFORE UPDATE OR DELETE ON automation_automationevent
    FOR EACH ROW EXECUTE FUNCTION automation_event_append_only();
"""
_DROP = """
DROP TRIGGER IF EXISTS automation_event_append_only ON automation_automationevent;
DROP FUNCTION IF EXISTS automation_event_append_only();
"""


def _trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CREATE, params=None)


def _untrigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_DROP, params=None)


def _switch(apps: Any, schema_editor: Any) -> None:
    apps.get_model("automation", "AutomationSwitch").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]

    operations = [
        migrations.RunPython(_trigger, _untrigger),
        migrations.RunPython(_switch, migrations.RunPython.noop),
    ]

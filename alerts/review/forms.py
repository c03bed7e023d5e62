"""Forms of the review page. Choices for people and teams are computed once per page and
handed to every form, so rendering 300 agenda items does not run 300 queries."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.contrib.auth.models import User

from alerts.models import Decision
from fleet.models import Team

Choices = list[tuple[str, str]]


def user_choices() -> Choices:
    users = User.objects.filter(is_active=True).order_by("username")
    return [("", "—")] + [
        (str(u.pk), u.get_full_name() or u.get_username())
        for u in users.only("pk", "username", "first_name", "last_name")
    ]


def team_choices() -> Choices:
    return [("", "—")] + [(str(t.pk), t.name) for t in Team.objects.only("pk", "name")]


class DecisionForm(forms.Form):
    """Reads the fields; decision_record validates the decision (errors land on these fields)."""

    kind = forms.ChoiceField(label="Decision", choices=Decision.Kind.choices)
    note = forms.CharField(
        label="Note (the reason, for keep)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    owner = forms.TypedChoiceField(
        label="Action owner", required=False, coerce=int, empty_value=None
    )
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    mute_until = forms.DateField(
        label="Mute until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reassign_to = forms.TypedChoiceField(
        label="Reassign to team", required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, users: Choices, teams: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = users  # type: ignore[attr-defined]
        self.fields["reassign_to"].choices = teams  # type: ignore[attr-defined]

    def mute_until_datetime(self) -> datetime | None:
        """Muted through the chosen day: until the next midnight UTC."""
        day = self.cleaned_data.get("mute_until")
        if day is None:
            return None
        return datetime.combine(day, time.max, tzinfo=UTC)


class MeetingForm(forms.Form):
    attendees = forms.TypedMultipleChoiceField(
        label="Attendees",
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    notes = forms.CharField(
        label="Meeting notes",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, users: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].choices = [c for c in users if c[0]]  # type: ignore[attr-defined]

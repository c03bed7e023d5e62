"""Forms of the review page. Choices for people and teams are computed by the view and handed
to the forms; people pickers list the team's members first, so nobody scrolls past the whole
company to find a colleague."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.contrib.auth.models import User

from alerts.models import Decision
from fleet.models import Membership, Team

# (value, label) pairs, or (group label, [(value, label), ...]) for an <optgroup>.
Choices = list[tuple[str, Any]]


def user_choices(team: Team | None = None) -> Choices:
    """Active users, by name; with a team, its members first in their own group. Two queries."""
    users = User.objects.filter(is_active=True).only("pk", "username", "first_name", "last_name")
    everyone = sorted(
        ((str(u.pk), u.get_full_name() or u.get_username()) for u in users),
        key=lambda choice: (choice[1].casefold(), choice[0]),
    )
    if team is None:
        return [("", "—"), *everyone]
    member_ids = {
        str(pk) for pk in Membership.objects.filter(team=team).values_list("user_id", flat=True)
    }
    members = [choice for choice in everyone if choice[0] in member_ids]
    others = [choice for choice in everyone if choice[0] not in member_ids]
    groups: Choices = [("", "—")]
    if members:
        groups.append((f"{team.name} members", members))
    if others:
        groups.append(("Everyone else" if members else "Everyone", others))
    return groups


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
    tune_for = forms.CharField(
        label="Tune: new for (e.g. 10m; 0s removes it)", required=False, max_length=20
    )
    tune_keep_firing_for = forms.CharField(
        label="Tune: new keep_firing_for (e.g. 5m; 0s removes it)", required=False, max_length=20
    )

    def __init__(self, *args: Any, users: Choices, teams: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = users  # type: ignore[attr-defined]
        self.fields["reassign_to"].choices = teams  # type: ignore[attr-defined]

    def proposed_change(self) -> dict[str, str]:
        """A tune's new `for` / `keep_firing_for` (validated by decision_record)."""
        change = {
            "for": self.cleaned_data.get("tune_for") or "",
            "keep_firing_for": self.cleaned_data.get("tune_keep_firing_for") or "",
        }
        return {key: value.strip() for key, value in change.items() if value.strip()}

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
        # Checkboxes, not a multi-select: nobody has to know about Ctrl-click.
        widget=forms.CheckboxSelectMultiple,
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

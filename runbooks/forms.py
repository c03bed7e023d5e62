from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import slugify

from fleet.access import is_fleet_admin
from runbooks.models import Runbook
from runbooks.selectors import teams_for_owner_choice

# Path segments under /runbooks/ that are pages, not runbooks.
RESERVED_SLUGS = frozenset({"new", "for"})

RUNBOOK_TEMPLATE = """[TOC]

## Summary
What this alert means, in one or two sentences. Which SLO or signal it protects.

## Impact
Who or what is affected while it fires (users, revenue, downstream systems), and how fast it
gets worse.

## Diagnosis
1. Open the dashboard linked above for the firing window.
2. Check what else fired on the same system (infrastructure first, then ML, then business).
3. Commands or queries that confirm the cause:

```
kubectl -n <namespace> get pods
```

## Mitigation
Steps that stop the bleeding, safest first.

## Rollback
How to return to the last known good model, feature pipeline or release.

## Escalation
Who to call when the steps above do not help, and after how long.
"""


class RunbookForm(forms.ModelForm):  # type: ignore[type-arg]
    note = forms.CharField(
        max_length=300, required=False, help_text="What changed, for the revision history."
    )

    class Meta:
        model = Runbook
        fields = ["title", "slug", "owner_team", "review_interval_days", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 28, "cols": 100})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner_team"]
        assert isinstance(owner, forms.ModelChoiceField)  # noqa: S101 - narrows for mypy
        owner.queryset = teams_for_owner_choice(user)
        # Only staff may leave a runbook without an owner team.
        owner.required = not is_fleet_admin(user)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Leave empty to derive it from the title."

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data.get("slug") or slugify(self.data.get("title", ""))[:50]
        if not slug:
            raise forms.ValidationError("Give the runbook a title or a slug.")
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"“{slug}” is reserved; choose another slug.")
        return slug


class FeedbackForm(forms.Form):
    episode = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    verdict = forms.ChoiceField(choices=[("actionable", "Actionable"), ("noise", "Noise")])
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)

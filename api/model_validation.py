"""API writes validated by the model, as the admin validates them.

`ModelCleanSerializer.validate` applies the payload to a copy of the instance (or a new one)
and runs `full_clean()`: field checks, the model's `clean()` and its unique constraints, so a
rule the admin refuses is refused by the API with the same messages. Django's ValidationError
becomes a DRF 400 with per-field errors (`non_field_errors` for the model-wide ones). Values
that `clean()` derives (e.g. a rule's `muted_at`) are saved with the payload.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers
from rest_framework.settings import api_settings

M = TypeVar("M", bound=Model)


def drf_validation_error(error: DjangoValidationError) -> serializers.ValidationError:
    """Django's error as DRF's, field by field."""
    if not hasattr(error, "error_dict"):
        return serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})
    return serializers.ValidationError(
        {
            api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
            for field, messages in error.message_dict.items()
        }
    )


class ModelCleanSerializer(serializers.ModelSerializer[M]):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: type[M] = self.Meta.model
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        before = {f.attname: getattr(candidate, f.attname) for f in fields}
        writable = {field.source for field in self.fields.values() if not field.read_only}
        try:
            # Fields the API does not write are the model's business (as a ModelForm excludes
            # the fields it does not show); clean() and the constraints still see them.
            candidate.full_clean(exclude=[f.name for f in fields if f.name not in writable])
        except DjangoValidationError as error:
            raise drf_validation_error(error) from error
        derived = {
            f.name: getattr(candidate, f.name)
            for f in fields
            if not f.is_relation and getattr(candidate, f.attname) != before[f.attname]
        }
        return {**attrs, **derived}

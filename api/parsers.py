"""The REST API's JSON parser: DRF's, through the one bounded reader (core.jsonparse)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from api.exceptions import LimitExceeded
from core.jsonparse import JsonBadText, JsonTooDeep, json_parse


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_parse(stream.read().decode(encoding))
        except JsonTooDeep as error:
            raise LimitExceeded(str(error)) from None
        except JsonBadText as error:
            raise ParseError(str(error)) from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None

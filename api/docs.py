"""OpenAPI descriptions and examples shared by the catalog viewsets (drf-spectacular)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view

READ_RULE = "Needs a `read` or `write` token, or a logged-in user."
WRITE_RULE = (
    "Needs a `write` token or a logged-in user allowed to edit the owning team "
    "(member, that team's token, staff or a fleet-wide token); `ingest` tokens get 403."
)


def catalog_docs(
    noun: str,
    example: dict[str, Any],
    *,
    writable: bool = True,
    write_rule: str = WRITE_RULE,
    note: str = "",
) -> Any:
    """extend_schema_view for a catalog viewset: a description and an example per action."""
    sample = [OpenApiExample(f"A {noun}", value=example, response_only=True)]
    request = [OpenApiExample(f"A {noun}", value=example, request_only=True)]
    tail = f" {note}" if note else ""
    actions: dict[str, Any] = {
        "list": extend_schema(
            description=f"List {noun}s (paginated, filterable, `?ordering=`). {READ_RULE}{tail}",
            examples=sample,
        ),
        "retrieve": extend_schema(description=f"One {noun}. {READ_RULE}{tail}", examples=sample),
    }
    if writable:
        actions.update(
            create=extend_schema(
                description=f"Create a {noun}. {write_rule}", examples=request + sample
            ),
            update=extend_schema(
                description=f"Replace a {noun}. {write_rule}", examples=request + sample
            ),
            partial_update=extend_schema(
                description=f"Change some fields of a {noun}. {write_rule}",
                examples=request + sample,
            ),
            destroy=extend_schema(description=f"Delete a {noun}. {write_rule}"),
        )
    return extend_schema_view(**actions)


def allow_blank_formats(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: optional URL and e-mail fields are "" when unset, which
    `format: uri|email` would reject; describe them as plain strings that may be empty."""
    for component in result.get("components", {}).get("schemas", {}).values():
        for prop in component.get("properties", {}).values():
            if prop.get("type") == "string" and prop.get("format") in ("uri", "email"):
                kind = "URL" if prop.pop("format") == "uri" else "E-mail address"
                prop["description"] = f"{prop.get('description', '')} {kind}, or empty.".strip()
    return result


_DETAIL = re.compile(r"^(?P<list>.+/)\{(?P<key>\w+)\}/$")


def add_created_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: OpenAPI links from each "create" answer (201) to the operations on
    the object created (`/teams/` → `/teams/{slug}/`), so that clients and stateful API tests
    know the identifier in the body is the one the detail path takes."""
    paths = result.get("paths", {})
    for path, operations in paths.items():
        match = _DETAIL.match(path)
        if match is None:
            continue
        created = paths.get(match["list"], {}).get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        for method, operation in operations.items():
            created.setdefault("links", {})[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": {match["key"]: f"$response.body#/{match['key']}"},
                "description": f"{method.upper()} the object just created.",
            }
    return result

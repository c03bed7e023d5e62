from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponseBase

# These prefixes authenticate themselves (API tokens) or must answer anonymous probes.
_SELF_AUTHENTICATED_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/static/")


class PagesLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login unless marked `login_not_required`.

    The API is left to DRF, whose token authentication and permissions answer 401/403 in JSON
    instead of redirecting to the login form.
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(_SELF_AUTHENTICATED_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

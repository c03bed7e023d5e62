"""The project's URLs plus views that fail on purpose, for the error page tests.

`from config.urls import *` brings the handler400/403/404/500 settings along: Django reads them
from the root URLconf.
"""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_protect

from config.urls import *  # noqa: F403
from config.urls import urlpatterns as project_urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the view failed on purpose")


def refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Only members of the owning team or staff can change this runbook.")


def malformed(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a forged request")


@csrf_protect
def form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("saved")


urlpatterns = [
    path("boom/", fail),
    path("forbidden/", refuse),
    path("malformed/", malformed),
    path("form/", form),
    path("api/v1/boom/", fail),
    path("api/v1/forbidden/", refuse),
    path("api/v1/malformed/", malformed),
    path("api/v1/form/", form),
    *project_urlpatterns,
]

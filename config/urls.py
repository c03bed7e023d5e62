from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alerts.oncall import urls as oncall_urls
from runbooks import urls as runbook_urls

# Admin pages of models that moved app (tokens from alerts, SLOs and scorecards from fleet) keep
# answering at their old addresses, so bookmarks and runbook links still work.
MOVED_ADMIN = [
    re_path(
        rf"^admin/{old}/(?P<model>{models})/(?P<rest>.*)$",
        RedirectView.as_view(url=f"/admin/{new}/%(model)s/%(rest)s", query_string=True),
    )
    for old, new, models in [
        ("alerts", "tokens", "apitoken|integration"),
        ("fleet", "coverage", "slo|scorecardsnapshot"),
    ]
]

urlpatterns = [
    *MOVED_ADMIN,
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("review/", include("alerts.review.urls")),
    path("automation/", include("alerts.automation.urls")),
    # The demo's automation receiver: 404 unless STEWARD_DEMO (DEBUG only).
    path("demo/", include("demo.urls")),
    path("", include("ops.urls")),
    path("api/v1/integrations/", include("alerts.ingest.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A browser page: without a session it sends the visitor to the login form rather than
    # answering DRF's 401; the UI then fetches the schema with the session cookie.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("alerts/", include("alerts.urls")),
    path("silences/", include("alerts.silences.urls")),
    path("", include("fleet_coverage.dashboards.urls")),
    path("", include((oncall_urls.urlpatterns + runbook_urls.urlpatterns, "runbooks"))),
    path("", include("fleet_coverage.slo.urls")),
]

# JSON error bodies under /api/, the site's styled pages elsewhere (config.error_pages).
handler400 = "config.error_pages.bad_request"
handler403 = "config.error_pages.permission_denied"
handler404 = "config.error_pages.page_not_found"
handler500 = "config.error_pages.server_error"

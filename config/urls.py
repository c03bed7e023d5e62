from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("review/", include("alerts.review.urls")),
    path("", include("ops.urls")),
    path("api/v1/integrations/", include("alerts.integrations.urls")),
    path("", include("fleet.urls")),
    path("", include("runbooks.urls")),
    path("", include("fleet.slo_urls")),
    path("api/v1/", include("fleet.api_slo_urls")),
]

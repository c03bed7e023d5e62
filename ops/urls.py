from django.contrib.auth.decorators import login_not_required
from django.urls import path

from ops import views

urlpatterns = [
    path("healthz", login_not_required(views.healthz), name="healthz"),
    path("readyz", login_not_required(views.readyz), name="readyz"),
    path("metrics", login_not_required(views.metrics), name="metrics"),
]

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.rule_list, name="rule_list"),
    path("<int:pk>/", views.rule_detail, name="rule_detail"),
]

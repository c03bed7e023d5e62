from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("receiver/traffic-shift/", views.traffic_shift_receiver, name="receiver-traffic-shift"),
]

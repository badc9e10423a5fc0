from __future__ import annotations

from django.urls import path

from tweethub import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
]

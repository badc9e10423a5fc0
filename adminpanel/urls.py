from __future__ import annotations

from django.urls import path

from adminpanel import views

app_name = "adminpanel"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("figures.json", views.figures_json, name="figures"),
]

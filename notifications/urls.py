from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notifications_list, name="list"),
    path("read/", views.mark_all_read, name="mark_all_read"),
]

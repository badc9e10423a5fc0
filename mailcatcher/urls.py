from __future__ import annotations

from django.urls import path

from mailcatcher import views

app_name = "mailcatcher"

urlpatterns = [
    path("", views.mail_list, name="list"),
    path("<int:mail_id>/", views.mail_detail, name="detail"),
    path("<int:mail_id>/html/", views.mail_html, name="html"),
]

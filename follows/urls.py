from __future__ import annotations

from django.urls import re_path

from follows import views

app_name = "follows"

# The same username pattern as the profile page (tweethub/urls.py); lookups are case-insensitive.
USER = r"^@(?P<username>[A-Za-z0-9_]{1,15})"

urlpatterns = [
    re_path(rf"{USER}/follow/$", views.follow, name="follow"),
    re_path(rf"{USER}/unfollow/$", views.unfollow, name="unfollow"),
    re_path(rf"{USER}/followers/$", views.followers, name="followers"),
    re_path(rf"{USER}/following/$", views.following, name="following"),
]

from __future__ import annotations

from django.urls import path, re_path

from follows import views
from tweethub.usernames import USERNAME_REGEX

app_name = "follows"

# The same username pattern as the profile page (tweethub/urls.py); lookups are case-insensitive.
USER = f"^@(?P<username>{USERNAME_REGEX})"

urlpatterns = [
    path("discover/", views.discover, name="discover"),
    path("discover/nearby/", views.nearby, name="nearby"),
    path("discover/<slug:which>/", views.discover_list, name="discover_list"),
    re_path(rf"{USER}/follow/$", views.follow, name="follow"),
    re_path(rf"{USER}/unfollow/$", views.unfollow, name="unfollow"),
    re_path(rf"{USER}/block/$", views.block, name="block"),
    re_path(rf"{USER}/unblock/$", views.unblock, name="unblock"),
    re_path(rf"{USER}/mute/$", views.mute, name="mute"),
    re_path(rf"{USER}/unmute/$", views.unmute, name="unmute"),
    re_path(rf"{USER}/followers/$", views.followers, name="followers"),
    re_path(rf"{USER}/following/$", views.following, name="following"),
]

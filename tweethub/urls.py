from __future__ import annotations

from django.urls import include, path, re_path

from accounts import views as accounts_views
from follows import views as follows_views
from timelines import views as timelines_views
from tweethub import health, views
from tweethub.usernames import USERNAME_REGEX
from tweets import views as tweets_views

urlpatterns = [
    path("", timelines_views.home, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("api.urls")),
    path("settings/tokens/", include("api.settings_urls")),
    path("settings/profile/", accounts_views.settings_profile, name="settings_profile"),
    path("settings/location/", accounts_views.settings_location, name="settings_location"),
    path("settings/location/stop/", accounts_views.settings_location_stop, name="settings_location_stop"),
    path("settings/blocked/", follows_views.settings_blocked, name="settings_blocked"),
    path("settings/muted/", follows_views.settings_muted, name="settings_muted"),
    path("", include("moderation.urls")),  # /report/... and the staff pages under /admin/
    path("admin/", include("adminpanel.urls")),
    path("admin/mails/", include("mailcatcher.urls")),
    path("", include("tweets.urls")),
    path("", include("follows.urls")),
    path("search/", tweets_views.search, name="search"),
    path("messages/", include("messaging.urls")),
    path("notifications/", include("notifications.urls")),
    # Uploaded avatars (our own re-encoded WebP files). A deployment with a CDN or object storage
    # would serve these elsewhere; here Django serves them, read-only, from MEDIA_ROOT.
    re_path(r"^media/(?P<path>avatars/.+)$", views.media, name="media"),
    re_path(f"^@(?P<username>{USERNAME_REGEX})/$", tweets_views.profile, name="profile"),
]

# The site's own error pages (tweethub.views), with DEBUG on too (tweethub.middleware.ErrorPagesMiddleware).
# A database outage answers 503 with a readable page; other unhandled errors 500.
handler400 = "tweethub.views.bad_request"
handler403 = "tweethub.views.permission_denied"
handler404 = "tweethub.views.page_not_found"
handler500 = "tweethub.views.server_error"

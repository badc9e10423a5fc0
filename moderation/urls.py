from __future__ import annotations

from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    # Any member: report what they see.
    path("report/<str:kind>/<int:target_id>/", views.report, name="report"),
    # Staff only (moderation.views.staff_only).
    path("admin/moderation/", views.queue, name="queue"),
    path("admin/moderation/log/", views.log, name="log"),
    path("admin/moderation/reports/<int:report_id>/dismiss/", views.dismiss, name="dismiss"),
    path("admin/moderation/tweets/<int:tweet_id>/delete/", views.tweet_delete, name="tweet_delete"),
    path("admin/users/", views.users, name="users"),
    path("admin/users/<int:user_id>/suspend/", views.suspend, name="suspend"),
    path("admin/users/<int:user_id>/unsuspend/", views.unsuspend, name="unsuspend"),
]

from __future__ import annotations

from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    # Two path segments, so it can never shadow a user called "c".
    path("c/<int:conversation_id>/", views.permalink, name="permalink"),
    path("<str:username>/", views.conversation, name="conversation"),
]

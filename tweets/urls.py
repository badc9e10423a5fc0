from __future__ import annotations

from django.urls import path, re_path

from tweethub.usernames import USERNAME_REGEX
from tweets import repost_views, views

app_name = "tweets"

urlpatterns = [
    path("tweets/", views.create, name="create"),
    path("tweets/<int:tweet_id>/", views.detail, name="detail"),
    path("tweets/<int:tweet_id>/reply/", views.reply, name="reply"),
    path("tweets/<int:tweet_id>/repost/", repost_views.repost, name="repost"),
    path("tweets/<int:tweet_id>/unrepost/", repost_views.unrepost, name="unrepost"),
    path("tweets/<int:tweet_id>/quote/", repost_views.quote, name="quote"),
    path("tweets/<int:tweet_id>/delete/", views.delete, name="delete"),
    path("tweets/<int:tweet_id>/pin/", views.pin, name="pin"),
    path("tweets/<int:tweet_id>/unpin/", views.unpin, name="unpin"),
    path("tweets/<int:tweet_id>/like/", views.like, name="like"),
    path("tweets/<int:tweet_id>/unlike/", views.unlike, name="unlike"),
    path("tweets/<int:tweet_id>/bookmark/", views.bookmark, name="bookmark"),
    path("tweets/<int:tweet_id>/unbookmark/", views.unbookmark, name="unbookmark"),
    path("bookmarks/", views.bookmarks, name="bookmarks"),
    re_path(f"^@(?P<username>{USERNAME_REGEX})/likes/$", views.likes, name="likes"),
    path("tags/<str:tag>/", views.tag, name="tag"),
    path("trending/", views.trending, name="trending"),
]

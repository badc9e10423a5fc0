"""#Running, #running and #RUNNING are one tag everywhere a reader meets it (issue 16): each tweet
shows the tag as its author wrote it but links to the one tag page, the trends (sidebar and
/trending/) count them together under the canonical name, and the tag page lists them all.

Tweets are posted through the compose form, so the whole path is covered: parsing at write time
(tweets.parsing.hashtags), trend counting on commit, rendering (tweets.text)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

WRITTEN = {"ann": "Morning #Running club", "bob": "Rest day from #running", "cat": "#RUNNING in the rain"}


def _tag_links(html: str) -> list[tuple[str, str]]:
    """(href, text) of the tag links inside tweet texts."""
    return re.findall(r'<a class="tweet-tag" href="([^"]+)">([^<]+)</a>', html)


def _trend_names(html: str) -> list[str]:
    """Tags named by the trends: the sidebar card and the /trending/ table alike."""
    return re.findall(r'<a (?:class="trend-name" )?href="/tags/[^"]+/"><bdi>#([^<]+)</bdi></a>', html)


@pytest.fixture
def posted(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.TRENDS_SIDEBAR_SECONDS = 0  # the sidebar as Redis has it now, not this process's copy
    for username, text in WRITTEN.items():
        client = Client()
        client.force_login(make_user(username))
        with django_capture_on_commit_callbacks(execute=True):  # trends are counted on commit
            assert client.post("/tweets/", {"text": text}).status_code == 302


@pytest.mark.usefixtures("posted")
def test_every_spelling_links_to_the_one_tag_page_that_lists_them_all() -> None:
    for spelling in ("running", "Running", "RUNNING"):
        html = Client().get(f"/tags/{spelling}/").content.decode()
        assert html.count('<article class="tweet') == 3, spelling
        assert sorted(_tag_links(html)) == [
            ("/tags/running/", "#RUNNING"),
            ("/tags/running/", "#Running"),
            ("/tags/running/", "#running"),
        ]


@pytest.mark.usefixtures("posted")
def test_the_trends_count_one_tag() -> None:
    page = Client().get("/trending/").content.decode()
    main = page.split('class="trend-table', 1)[1].split("</ol>", 1)[0]
    assert _trend_names(main) == ["running"]
    sidebar = Client().get("/tags/running/").content.decode().split('class="card trends-card"', 1)[1]
    assert _trend_names(sidebar.split("</section>", 1)[0]) == ["running"]

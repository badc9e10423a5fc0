"""The public profile page: exact counts, follow button, pinned tweet first, paged tweets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from follows.services import follow_create, follow_delete
from tests.factories import make_user
from tweets.services import tweet_create, tweet_delete, tweet_pin

pytestmark = pytest.mark.django_db


def _counts(html: str) -> dict[str, int]:
    found = re.findall(r"<strong>(\d+)</strong> (followers?|following|tweets?)<", html)
    return {label.rstrip("s") if label != "following" else label: int(n) for n, label in found}


def _tweet_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-tweet-id="(\d+)"', html)]


def _next_cursor(html: str) -> str | None:
    match = re.search(r'href="\?before=(\d+)"', html)
    return match.group(1) if match else None


def test_counts_are_exact_after_follow_unfollow_tweet_and_delete(client: Client) -> None:
    ann, bob, cat = make_user("ann"), make_user("bob"), make_user("cat")
    assert _counts(client.get("/@ann/").content.decode()) == {"follower": 0, "following": 0, "tweet": 0}

    follow_create(follower=bob, followee=ann)
    follow_create(follower=cat, followee=ann)
    follow_create(follower=ann, followee=bob)
    follow_create(follower=bob, followee=ann)  # again: changes nothing
    tweets = [tweet_create(author=ann, text=f"tweet {n}") for n in range(3)]
    assert _counts(client.get("/@ann/").content.decode()) == {"follower": 2, "following": 1, "tweet": 3}

    follow_delete(follower=cat, followee=ann)
    follow_delete(follower=cat, followee=ann)  # again: changes nothing
    tweet_delete(tweet_id=tweets[0].pk, user=ann)
    html = client.get("/@ann/").content.decode()
    assert _counts(html) == {"follower": 1, "following": 1, "tweet": 2}
    assert "<strong>1</strong> follower<" in html
    assert 'href="/@ann/followers/"' in html
    assert 'href="/@ann/following/"' in html


def test_follow_button_for_each_kind_of_viewer(client: Client) -> None:
    ann, fan = make_user("ann"), make_user("fan")
    follow_create(follower=fan, followee=ann)

    html = client.get("/@ann/").content.decode()
    assert "Log in to follow" in html
    assert 'href="/accounts/login/?next=/%40ann/"' in html

    client.force_login(make_user("newbie", verified=False))
    html = client.get("/@ann/").content.decode()
    assert re.search(r"<button [^>]*disabled[^>]*>Follow</button>", html)
    assert "Confirm your email to follow" in html
    assert "/@ann/follow/" not in html

    client.force_login(fan)
    html = client.get("/@ann/").content.decode()
    assert 'action="/@ann/unfollow/"' in html
    assert ">Unfollow</button>" in html
    assert '<input type="hidden" name="next" value="/@ann/">' in html

    client.force_login(make_user("stranger"))
    assert 'action="/@ann/follow/"' in client.get("/@ann/").content.decode()

    client.force_login(ann)
    html = client.get("/@ann/").content.decode()
    assert "Edit profile" in html
    assert "/@ann/follow/" not in html
    assert "Log in to follow" not in html


def test_pinned_tweet_comes_first_and_pages_miss_nothing(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 3
    ann = make_user("ann")
    ids = [tweet_create(author=ann, text=f"tweet number {n}").pk for n in range(8)]
    newest_first = ids[::-1]

    # A pinned tweet from the newest page: shown above, and not again in the first page's list.
    tweet_pin(tweet_id=ids[6], user=ann)
    first = client.get("/@ann/").content.decode()
    assert _tweet_ids(first) == [ids[6], ids[7], ids[5], ids[4]]
    # The label's markup belongs to tweets/_tweet.html; only its class is relied on here.
    assert first.count('class="tweet-pinned"') == 1
    assert first.index('class="tweet-pinned"') < first.index(f'data-tweet-id="{ids[7]}"')
    listed = _walk(client)
    assert listed == [ids[6], *[i for i in newest_first if i != ids[6]]]

    # An old pinned tweet: above on the first page, and in its place on a later page (unlabelled).
    tweet_pin(tweet_id=ids[0], user=ann)
    listed = _walk(client)
    assert listed == [ids[0], *newest_first]
    last_page = client.get("/@ann/", {"before": ids[2]}).content.decode()
    assert _tweet_ids(last_page) == [ids[1], ids[0]]
    assert 'class="tweet-pinned"' not in last_page


def _walk(client: Client) -> list[int]:
    seen: list[int] = []
    cursor: str | None = ""
    while cursor is not None:
        html = client.get("/@ann/", {"before": cursor} if cursor else {}).content.decode()
        seen += _tweet_ids(html)
        cursor = _next_cursor(html)
    return seen


def test_exactly_one_page_has_no_older_link(client: Client, settings: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 3
    ann = make_user("ann")
    ids = [tweet_create(author=ann, text=f"t{n}").pk for n in range(4)]
    tweet_pin(tweet_id=ids[3], user=ann)
    # Pinned + three others: everything fits on the first page.
    html = client.get("/@ann/").content.decode()
    assert _tweet_ids(html) == [ids[3], ids[2], ids[1], ids[0]]
    assert _next_cursor(html) is None


def test_empty_profile_and_bad_cursor(client: Client) -> None:
    make_user("ann")
    assert "@ann has not tweeted yet." in client.get("/@ann/").content.decode()
    assert client.get("/@ann/", {"before": "nope"}).status_code == 400
    assert client.get("/@nobody/").status_code == 404
    response = client.get("/@ANN/", {"before": "5"})
    assert response.status_code == 301
    assert response["Location"] == "/@ann/"


def test_tweets_are_escaped(client: Client) -> None:
    ann = make_user("ann")
    tweet_create(author=ann, text="<script>alert('x')</script> & #fun")
    html = client.get("/@ann/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp;" in html


def test_constant_number_of_queries(client: Client, settings: Any, django_assert_max_num_queries: Any) -> None:
    settings.TIMELINE_PAGE_SIZE = 30
    ann, viewer = make_user("ann"), make_user("viewer")
    ids = [tweet_create(author=ann, text=f"tweet {n} #tag @viewer").pk for n in range(30)]
    tweet_pin(tweet_id=ids[10], user=ann)
    follow_create(follower=viewer, followee=ann)
    client.force_login(viewer)
    client.get("/@viewer/")  # a session's first request may record last_active; not this page's cost
    # session user, profile, pinned, tweets, counts, is-following; cold: plus one query for the
    # missing cards of the list and one for the pinned card, and for each of those two renderings
    # one query for which of the mentioned accounts exist (tweets.rendering; none once cached)
    # issue 21: + the unread badges, + the likes of the pinned card and of the list (one query each)
    with django_assert_max_num_queries(13):
        html = client.get("/@ann/").content.decode()
    assert len(_tweet_ids(html)) == 30  # the pinned one and 29 others
    with django_assert_max_num_queries(9):  # issue 21: + badges, + likes of the pinned card and of the list
        assert len(_tweet_ids(client.get("/@ann/").content.decode())) == 30

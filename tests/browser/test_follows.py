"""Finding someone, following them from the results, and unfollowing, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.selectors import stats_for
from follows.models import Follow
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import PASSWORD, make_user
from tweets.services import tweet_create, tweet_pin

pytestmark = pytest.mark.browser


def test_search_follow_see_the_count_then_unfollow(page: Page, live: LiveServer) -> None:
    alice = make_user("alice", name="Alice Liddell", bio="Curiouser and curiouser.")
    rabbit = make_user("rabbit", name="White Rabbit", bio="Late for a very important date. Always.")
    make_user("rabbitfan", name="March Hare", bio="Tea at six, every day.")
    make_user("hatter", name="Mad Hatter")
    tweet_create(author=rabbit, text="Oh dear! Oh dear! I shall be too late! #late")
    pinned = tweet_create(author=rabbit, text="Read this first: the Queen's croquet game starts at noon.")
    tweet_pin(tweet_id=pinned.pk, user=rabbit)
    tweet_create(author=rabbit, text="The Duchess! She'll get me executed. #wonderland")

    log_in(page, live, "alice")
    page.goto(live.url + "/search/")
    screenshot(page, "search-empty")
    page.get_by_label("Search people and tweets").fill("white rab")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/search/\?q=white\+rab$"))

    row = page.get_by_role("article", name="White Rabbit", exact=True)
    expect(row).to_be_visible()
    expect(row.get_by_text("Late for a very important date.")).to_be_visible()
    screenshot(page, "search-people")
    row.get_by_role("button", name="Follow", exact=True).click()

    # Back on the same results, with a message and the button turned into Unfollow.
    expect(page.get_by_text("You follow @rabbit")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search/\?q=white\+rab$"))
    expect(row.get_by_role("button", name="Unfollow")).to_be_visible()
    screenshot(page, "search-followed")
    assert Follow.objects.filter(follower=alice, followee=rabbit).exists()

    row.get_by_role("link", name="White Rabbit @rabbit").click()
    expect(page.get_by_role("heading", name="White Rabbit", level=1)).to_be_visible()
    expect(page.locator("#followers-count")).to_have_text("1 follower")
    expect(page.locator("#tweets-count")).to_have_text("3 tweets")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    # The pinned tweet comes first, labelled, then the rest newest first.
    tweets = page.locator(".tweet-list .tweet-text")
    expect(tweets).to_have_text(
        [
            "Read this first: the Queen's croquet game starts at noon.",
            "The Duchess! She'll get me executed. #wonderland",
            "Oh dear! Oh dear! I shall be too late! #late",
        ]
    )
    expect(page.locator(".tweet-list .tweet-pinned")).to_have_count(1)
    screenshot(page, "profile-following")

    page.locator("#followers-count").click()
    expect(page.get_by_role("heading", name="Followers")).to_be_visible()
    expect(page.get_by_role("article", name="Alice Liddell")).to_be_visible()
    expect(page.get_by_role("link", name="1 follower")).to_have_attribute("aria-current", "page")
    screenshot(page, "follows-followers")

    page.get_by_role("link", name="White Rabbit @rabbit").click()
    page.get_by_role("button", name="Unfollow").click()
    expect(page.get_by_text("You no longer follow @rabbit")).to_be_visible()
    expect(page.locator("#followers-count")).to_have_text("0 followers")
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    screenshot(page, "profile-unfollowed")
    assert not Follow.objects.exists()
    assert stats_for(rabbit.pk).followers == 0
    assert stats_for(alice.pk).following == 0

    page.goto(live.url + "/@alice/following/")
    expect(page.get_by_text("@alice does not follow anyone yet.")).to_be_visible()
    screenshot(page, "follows-following-empty")
    assert_clean(page)


def test_visitor_logs_in_to_follow_and_unverified_member_cannot(
    page: Page, other_page: Page, live: LiveServer
) -> None:
    cat = make_user("cheshire", name="Cheshire Cat", bio="We're all mad here.")
    reader = make_user("reader", name="Dora Reader")
    make_user("newbie", name="New Person", verified=False)

    page.goto(live.url + "/@cheshire/")
    expect(page.locator("#tweets-count")).to_have_text("0 tweets")
    expect(page.get_by_text("@cheshire has not tweeted yet.")).to_be_visible()
    screenshot(page, "profile-visitor")
    page.get_by_role("link", name="Log in to follow").click()
    page.get_by_label("Username or email").fill("reader")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Back on the profile, now with the real button.
    expect(page).to_have_url(re.compile(r"/@cheshire/$"))
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_text("You follow @cheshire")).to_be_visible()
    assert Follow.objects.filter(follower=reader, followee=cat).exists()

    log_in(other_page, live, "newbie")
    other_page.goto(live.url + "/@cheshire/followers/")
    row = other_page.get_by_role("article", name="Dora Reader")
    expect(row.get_by_role("button", name="Follow")).to_be_disabled()
    expect(row.get_by_text("Confirm your email to follow")).to_be_visible()
    screenshot(other_page, "follows-followers-unverified")
    other_page.set_viewport_size({"width": 390, "height": 844})
    other_page.goto(live.url + "/@cheshire/")
    expect(other_page.get_by_role("button", name="Follow")).to_be_disabled()
    screenshot(other_page, "profile-unverified-mobile")
    assert_clean(page)
    assert_clean(other_page)

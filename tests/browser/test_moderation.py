"""Moderation in a real browser: a member reports a tweet and a message; staff work the queue,
suspend the account (its tweets leave the member's timeline, it cannot log in), find it in the user
list, lift the suspension (the tweets come back) and read the audit log."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from follows.services import follow_create
from messaging.services import message_send
from moderation.models import Report
from tests.browser.conftest import LiveServer, assert_clean, log_in, screenshot
from tests.factories import PASSWORD, make_user
from tweets.services import tweet_create

pytestmark = pytest.mark.browser

SPAM = "Buy 10,000 followers today at spam.example"


def test_report_suspend_and_unsuspend(page: Page, other_page: Page, browser: Browser, live: LiveServer) -> None:
    alice = make_user("alice", name="Alice Example")
    bob = make_user("bob", name="Bob Spammer")
    make_user("mod", name="Mo Derator", is_staff=True)
    follow_create(follower=alice, followee=bob)
    spam = tweet_create(author=bob, text=SPAM)
    message_send(sender=bob, recipient=alice, text="psst, cheap followers")

    # Alice reports the tweet from her timeline.
    log_in(page, live, "alice")
    tweet = page.locator(f"#tweet-{spam.pk}")
    expect(tweet).to_contain_text(SPAM)
    screenshot(page, "moderation-home-report-link", full_page=False)
    tweet.get_by_role("link", name="Report this tweet").click()
    expect(page.get_by_role("heading", name="Report this tweet")).to_be_visible()
    expect(page.locator(".report-item")).to_contain_text(SPAM)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Choose a reason.")).to_be_visible()  # nothing chosen: said, nothing sent
    page.get_by_label("Spam or scam").check()
    page.get_by_label("Anything our team should know (optional)").fill("sells followers")
    screenshot(page, "moderation-report-form")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you. Our team will review your report.")).to_be_visible()
    assert_clean(page)

    # And the message, from the conversation.
    page.goto(live.url + "/messages/bob/")
    page.get_by_role("link", name="Report this message from Bob Spammer").click()
    page.get_by_label("Harassment or hate").check()
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you. Our team will review your report.")).to_be_visible()
    assert Report.objects.count() == 2

    # Staff find both in the queue, the message with its conversation.
    log_in(other_page, live, "mod")
    other_page.goto(live.url + "/admin/")
    other_page.get_by_role("link", name="Reports").first.click()
    expect(other_page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(other_page.get_by_text("2 open reports")).to_be_visible()
    expect(other_page.locator(".report-row").first).to_contain_text(SPAM)
    expect(other_page.locator(".report-thread")).to_contain_text("psst, cheap followers")
    screenshot(other_page, "moderation-queue")
    other_page.once("dialog", lambda dialog: dialog.accept())  # "Suspend @bob? ..."
    other_page.locator(".report-row").first.get_by_role("button", name="Suspend @bob").click()
    expect(other_page.get_by_text("Account suspended.")).to_be_visible()
    expect(other_page.get_by_text("No open reports.")).to_be_visible()
    assert_clean(other_page)

    # Bob's tweets are gone from Alice's timeline, his profile says why, he cannot log in.
    page.goto(live.url + "/")
    expect(page.get_by_text(SPAM)).to_have_count(0)
    page.goto(live.url + "/@bob/")
    expect(page.get_by_role("heading", name="Account suspended")).to_be_visible()
    screenshot(page, "moderation-suspended-profile")
    context = browser.new_context()
    bob_page = context.new_page()
    bob_page.goto(live.url + "/accounts/login/")
    bob_page.get_by_label("Username or email").fill("bob")
    bob_page.get_by_label("Password").fill(PASSWORD)
    bob_page.get_by_role("button", name="Log in").click()
    expect(bob_page.get_by_text("This account is suspended.")).to_be_visible()
    context.close()

    # Staff find him in the user list and lift the suspension.
    other_page.get_by_role("link", name="Users").click()
    other_page.get_by_label("Find an account").fill("bob")
    other_page.get_by_role("button", name="Search").click()
    row = other_page.locator("tr", has_text="@bob")
    expect(row).to_contain_text("Suspended")
    screenshot(other_page, "moderation-users")
    row.get_by_role("button", name="Unsuspend @bob").click()
    expect(other_page.get_by_text("Suspension lifted.")).to_be_visible()
    expect(other_page.locator("tr", has_text="@bob")).to_contain_text("Verified")

    # Back in Alice's timeline at once.
    page.goto(live.url + "/")
    expect(page.locator(f"#tweet-{spam.pk}")).to_contain_text(SPAM)

    # The audit log says who did what.
    other_page.get_by_role("link", name="Audit log").click()
    rows = other_page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Lifted a suspension")
    expect(rows.nth(1)).to_contain_text("Suspended an account")
    expect(rows.nth(1)).to_contain_text("@mod")
    screenshot(other_page, "moderation-audit-log")
    assert_clean(other_page)

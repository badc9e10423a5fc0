"""The home timeline always equals the plain SQL answer, whatever happens in between.

A hypothesis state machine runs random sequences of sign-up, follow, unfollow, tweet, reply (to
others: the reply rule; to oneself: threads), block, unblock, mute, unmute, delete, profile edits, pins, Redis flush, users going inactive and coming back, accounts crossing the
celebrity threshold both ways, and staff suspending accounts and lifting suspensions (a suspended
account's tweets leave every timeline and come back). After EVERY step it reads every user's home timeline the way the
site does (the view's read path, rebuilding missing feeds and author lists as the queued tasks
would) and compares the first page and all deeper pages with the oracle: own + followees' tweets,
newest first, straight from SQL, and every card's text, time, author name, username and pin with
the rows in Postgres (the cards are served from Redis on the fast path).

Settings are shrunk so every mechanism is exercised constantly: feeds of 4 ids (trimming, floors
and the SQL continuation below them), pages of 3, celebrities above 2 followers. Celery tasks run
eagerly (synchronously, on commit) so each step has settled before the check; their code is the
real task code. Redis and Postgres are the real servers.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from accounts import services as account_services
from accounts.models import FanoutMode, User, UserStats
from follows import services as follow_services
from follows.blocks import blocked_either_way
from follows.models import Block, Follow, Mute
from moderation import services as moderation_services
from tests.conftest import flush_feeds
from tests.oracles import home_timeline_oracle as oracle
from timelines import services as timeline_services
from timelines.selectors import home_timeline
from tweets import reposts as repost_services
from tweets import services as tweet_services
from tweets.models import Tweet

PAGE = 3
MIN_TOTAL_STEPS = 300


def _card_matches_postgres(cards: list[Any]) -> None:
    """Each card shows its tweet's row; a repost entry shows its original's, and who reposted it."""
    wanted = [card.id for card in cards] + [card.entry for card in cards]
    rows = {tweet.id: tweet for tweet in Tweet.objects.filter(id__in=wanted).select_related("author")}
    for card in cards:
        row = rows[card.id]
        pinned = row.pinned and card.reposted_by is None
        shown = (card.text, card.created_at, card.author_id, card.author.username, card.author.name, card.pinned)
        assert shown == (row.text, row.created_at, row.author_id, row.author.username, row.author.name, pinned)
        entry = rows[card.entry]
        if entry.repost_of is not None:
            assert (entry.repost_of, entry.author_id) == (card.id, card.reposted_by.id)
            assert card.reposted_by.name == entry.author.name
        else:
            assert card.reposted_by is None
            assert card.entry == card.id


def read_all_pages(user_id: int) -> list[list[int]]:
    """Read like the site: the view's read path; a missing feed or author list is built after the
    page is served (as the queued tasks would), so later pages and later steps exercise them."""
    pages: list[list[int]] = []
    before = None
    missing: list[int] = []
    lists: list[int] = []
    while True:
        page = home_timeline(
            user_id=user_id, before=before, limit=PAGE, on_missing_feed=missing.append, on_missing_list=lists.append
        )
        pages.append([tweet.entry for tweet in page.items])
        _card_matches_postgres(page.items)
        if page.source == "feed":
            TimelineMachine.seen["pages from one round trip"] += 1
            if UserStats.objects.filter(
                user_id__in={card.author_id for card in page.items}, fanout_mode=FanoutMode.PULL
            ).exists():
                TimelineMachine.seen["celebrities merged in one round trip"] += 1
        if page.next_cursor is None:
            break
        before = page.next_cursor
        assert len(pages) < 200, "pagination does not end"
    for uid in set(missing):
        timeline_services.feed_rebuild(user_id=uid)
    for author_id in set(lists):
        timeline_services.author_list_rebuild(author_id=author_id)
    return pages


class TimelineMachine(RuleBasedStateMachine):
    users = Bundle("users")
    steps_run = 0
    # How often the risky situations actually happened across the run: the test asserts minimums,
    # so a change that stops exercising one of them cannot pass silently.
    seen: Counter[str] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.active: dict[int, bool] = {}

    @initialize(target=users)
    def first_users(self) -> object:
        """A small cast from the start, one of them already a celebrity (everyone follows them),
        so the pull, demotion and re-promotion paths come up in every example; more users still
        sign up along the way."""
        ids = [self.sign_up() for _ in range(4)]
        self.everyone_follows(ids[0])
        return multiple(*ids)

    @rule(target=users)
    def sign_up(self) -> int:
        self.count += 1
        user = User(
            username=f"u{self.count}",
            email=f"u{self.count}@example.com",
            name=f"User {self.count}",
            verified_at=timezone.now(),
            last_active=timezone.now(),
        )
        user.set_unusable_password()
        user.save()
        self.active[user.pk] = True
        return user.pk

    def moderator(self) -> User:
        """Staff, outside the cast: never follows, tweets or reads."""
        moderator = User.objects.filter(username="moderator").first()
        if moderator is None:
            moderator = User(username="moderator", email="mod@example.com", name="Mod", is_staff=True)
            moderator.set_unusable_password()
            moderator.save()
        return moderator

    def suspended(self, *user_ids: int) -> bool:
        return User.objects.filter(pk__in=user_ids, is_active=False).exists()

    def cast(self) -> Any:
        return User.objects.filter(is_staff=False)

    @rule(a=users, b=users)
    def follow(self, a: int, b: int) -> None:
        if self.suspended(a, b):
            # A suspended account cannot act, nor be followed.
            with pytest.raises((PermissionDenied, ValidationError)):
                follow_services.follow_create(follower=User.objects.get(pk=a), followee=User.objects.get(pk=b))
            return
        if a == b:
            with pytest.raises(Exception, match="cannot follow yourself"):
                follow_services.follow_create(follower=User.objects.get(pk=a), followee=User.objects.get(pk=b))
            return
        if blocked_either_way(a, b):
            with pytest.raises(ValidationError, match="cannot follow this account"):
                follow_services.follow_create(follower=User.objects.get(pk=a), followee=User.objects.get(pk=b))
            TimelineMachine.seen["follows refused by a block"] += 1
            return
        follow_services.follow_create(follower=User.objects.get(pk=a), followee=User.objects.get(pk=b))

    @rule(a=users, b=users)
    def unfollow(self, a: int, b: int) -> None:
        follow_services.follow_delete(follower=User.objects.get(pk=a), followee=User.objects.get(pk=b))

    @rule(a=users, text=st.sampled_from(["hello", "#tag one", "@u1 hi", "more #news"]))
    def tweet(self, a: int, text: str) -> None:
        mode = UserStats.objects.filter(user_id=a).values_list("fanout_mode", flat=True).first()
        if self.suspended(a):
            with pytest.raises(PermissionDenied):
                tweet_services.tweet_create(author=User.objects.get(pk=a), text=text)
            return
        if mode == FanoutMode.PULL:
            TimelineMachine.seen["celebrity tweets"] += 1
        tweet_services.tweet_create(author=User.objects.get(pk=a), text=text)

    def _reply(self, a: int, parent_id: int, text: str) -> bool:
        """Reply as `a`; True if it was posted. A refusal (suspended either side, a block) must
        change nothing, which the invariant checks like any other step."""
        parent = Tweet.objects.filter(pk=parent_id).values_list("author_id", flat=True).first()
        original = Tweet.objects.filter(pk=parent_id).values_list("repost_of", flat=True).first()
        if original is not None:  # answering a repost answers its original
            parent = Tweet.objects.filter(pk=original).values_list("author_id", flat=True).first()
        if parent is None:
            return False
        if self.suspended(a):
            with pytest.raises(PermissionDenied):
                tweet_services.tweet_create(author=User.objects.get(pk=a), text=text, in_reply_to=parent_id)
            return False
        if self.suspended(parent) or blocked_either_way(a, parent):
            with pytest.raises(Tweet.DoesNotExist):
                tweet_services.tweet_create(author=User.objects.get(pk=a), text=text, in_reply_to=parent_id)
            TimelineMachine.seen["replies refused"] += 1
            return False
        tweet_services.tweet_create(author=User.objects.get(pk=a), text=text, in_reply_to=parent_id)
        return True

    @rule(a=users, data=st.data())
    def reply(self, a: int, data: st.DataObject) -> None:
        """`a` answers someone else's tweet: the reply reaches only followers of both (or the person
        answered). Self-replies have rules of their own."""
        ids = list(Tweet.objects.exclude(author_id=a).order_by("id").values_list("id", "author_id"))
        if not ids:
            return
        parent_id, _parent_author = data.draw(st.sampled_from(ids))
        if not self._reply(a, parent_id, "@u1 a reply"):
            return
        TimelineMachine.seen["replies to others"] += 1
        if UserStats.objects.filter(user_id=a, fanout_mode=FanoutMode.PULL).exists():
            TimelineMachine.seen["celebrity replies"] += 1

    @rule(a=users, data=st.data())
    def reply_again(self, a: int, data: st.DataObject) -> None:
        """Twice, for the swarm (see suspend_again): replies are what the reply rule needs."""
        self.reply(a, data)

    @rule(data=st.data())
    def reply_past_a_follower(self, data: st.DataObject) -> None:
        """The case the reply rule exists for, drawn on purpose (random pairs rarely make it): an
        author with a follower who does not follow the person answered."""
        pairs = sorted(
            Follow.objects.filter(follower__is_active=True, followee__is_active=True).values_list(
                "followee_id", "follower_id"
            )
        )
        if not pairs:
            return
        author, fan = data.draw(st.sampled_from(pairs))
        followed = Follow.objects.filter(follower_id=fan).values("followee_id")
        others = list(
            Tweet.objects.exclude(author_id__in=followed)
            .exclude(author_id__in=[author, fan])
            .filter(author__is_active=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not others:  # a stranger to the fan says something
            stranger = User.objects.get(pk=cast(int, self.sign_up()))
            others = [tweet_services.tweet_create(author=stranger, text="a stranger asks").pk]
        if self._reply(author, data.draw(st.sampled_from(others)), "an answer"):
            TimelineMachine.seen["replies kept from a follower"] += 1

    @rule(data=st.data())
    def reply_past_a_follower_again(self, data: st.DataObject) -> None:
        """A twin (see suspend_again): one run with a single rule kept only 2 replies from a follower."""
        self.reply_past_a_follower(data)

    @rule(a=users, data=st.data())
    def self_reply(self, a: int, data: st.DataObject) -> None:
        """`a` continues a thread of their own: every follower gets it."""
        if self.suspended(a):
            return
        ids = list(Tweet.objects.filter(author_id=a).order_by("id").values_list("id", flat=True))
        if not ids:  # a thread starts with a tweet
            ids = [tweet_services.tweet_create(author=User.objects.get(pk=a), text="a thread").pk]
        if self._reply(a, data.draw(st.sampled_from(ids)), "1/ thread"):
            TimelineMachine.seen["self-replies"] += 1

    @rule(a=users, data=st.data())
    def self_reply_again(self, a: int, data: st.DataObject) -> None:
        self.self_reply(a, data)

    @rule(a=users, b=users)
    def block(self, a: int, b: int) -> None:
        if self.suspended(a):  # a suspended account cannot act
            with pytest.raises(PermissionDenied):
                follow_services.block_create(blocker=User.objects.get(pk=a), blocked=User.objects.get(pk=b))
            return
        if a == b:
            with pytest.raises(ValidationError):
                follow_services.block_create(blocker=User.objects.get(pk=a), blocked=User.objects.get(pk=b))
            return
        if Block.objects.filter(blocker_id=a, blocked_id=b).exists():
            # Blocked already: lift it (see mute: a lift needs no rule of its own to be drawn).
            if follow_services.block_delete(blocker=User.objects.get(pk=a), blocked=User.objects.get(pk=b)):
                TimelineMachine.seen["unblocks"] += 1
            return
        follows_before = Follow.objects.filter(follower_id__in=[a, b], followee_id__in=[a, b]).exists()
        if follow_services.block_create(blocker=User.objects.get(pk=a), blocked=User.objects.get(pk=b)):
            TimelineMachine.seen["blocks"] += 1
            if follows_before:
                TimelineMachine.seen["blocks that removed follows"] += 1

    @rule(a=users, b=users)
    def block_again(self, a: int, b: int) -> None:
        """Twins for the swarm (see suspend_again): with one rule each, some runs drew 2 mutes."""
        self.block(a, b)

    @rule(a=users, b=users)
    def mute_again(self, a: int, b: int) -> None:
        self.mute(a, b)

    @rule(data=st.data())
    def unmute_again(self, data: st.DataObject) -> None:
        self.unmute(data)

    @rule(data=st.data())
    def unblock(self, data: st.DataObject) -> None:
        """An existing block (if any) is lifted: the follows it removed stay removed."""
        pairs = sorted(Block.objects.filter(blocker__is_active=True).values_list("blocker_id", "blocked_id"))
        if pairs:
            a, b = data.draw(st.sampled_from(pairs))
            if follow_services.block_delete(blocker=User.objects.get(pk=a), blocked=User.objects.get(pk=b)):
                TimelineMachine.seen["unblocks"] += 1

    @rule(data=st.data())
    def unblock_again(self, data: st.DataObject) -> None:
        """A twin, as unsuspend_again: one run with a single unblock rule drew none (swarm testing)."""
        self.unblock(data)

    @rule(a=users, b=users)
    def mute(self, a: int, b: int) -> None:
        """Mutes `b`, or lifts the mute if there is one: a lift then needs no rule of its own to be
        drawn (hypothesis's swarm switched both unmute rules off for whole runs: 0 lifts in 19 mutes)."""
        muter, muted = User.objects.get(pk=a), User.objects.get(pk=b)
        if a == b or self.suspended(a):
            return
        if Mute.objects.filter(muter_id=a, muted_id=b).exists():
            if follow_services.mute_delete(muter=muter, muted=muted):
                TimelineMachine.seen["unmutes"] += 1
        elif follow_services.mute_create(muter=muter, muted=muted):
            TimelineMachine.seen["mutes"] += 1

    @rule(data=st.data())
    def unmute(self, data: st.DataObject) -> None:
        """An existing mute (if any) is lifted: what it hid comes back to the feed (the backfill)."""
        pairs = sorted(Mute.objects.filter(muter__is_active=True).values_list("muter_id", "muted_id"))
        if pairs:
            a, b = data.draw(st.sampled_from(pairs))
            if follow_services.mute_delete(muter=User.objects.get(pk=a), muted=User.objects.get(pk=b)):
                TimelineMachine.seen["unmutes"] += 1

    @rule(a=users, n=st.integers(min_value=2, max_value=6))
    def tweet_burst(self, a: int, n: int) -> None:
        """Several tweets in a row: one author then has more than a feed holds (TIMELINE_LENGTH)."""
        for _ in range(n):
            self.tweet(a, "burst #many")

    @rule(star=users)
    def everyone_follows(self, star: int) -> None:
        """An account becomes popular at once (crosses the celebrity threshold upwards)."""
        star_user = User.objects.get(pk=star)
        if not star_user.is_active:
            return
        for fan in self.cast().filter(is_active=True).exclude(pk=star):
            if not blocked_either_way(fan.pk, star):
                follow_services.follow_create(follower=fan, followee=star_user)

    @rule(star=users)
    def everyone_unfollows(self, star: int) -> None:
        """An account loses its audience (crosses the threshold downwards: demotion)."""
        star_user = User.objects.get(pk=star)
        was = UserStats.objects.filter(user_id=star).values_list("fanout_mode", flat=True).first()
        for fan in self.cast().exclude(pk=star):
            follow_services.follow_delete(follower=fan, followee=star_user)
        if was == FanoutMode.PULL:
            TimelineMachine.seen["demotions"] += 1

    @rule(data=st.data())
    def a_celebrity_tweets(self, data: st.DataObject) -> None:
        """A current celebrity (if any) tweets: not fanned out, merged by readers."""
        stars = list(
            UserStats.objects.filter(fanout_mode=FanoutMode.PULL, user__is_active=True).values_list(
                "user_id", flat=True
            )
        )
        if stars:
            self.tweet(data.draw(st.sampled_from(sorted(stars))), "famous #words")

    @rule(data=st.data())
    def demote_a_celebrity(self, data: st.DataObject) -> None:
        """Pick a current celebrity (if any) and let all but one follower go: the demotion path,
        with a follower left whose feed must receive the backfill."""
        stars = list(UserStats.objects.filter(fanout_mode=FanoutMode.PULL).values_list("user_id", flat=True))
        if not stars:
            return
        star = User.objects.get(pk=data.draw(st.sampled_from(sorted(stars))))
        fans = list(User.objects.filter(following_set__followee=star).order_by("pk"))
        for fan in fans[1:]:
            follow_services.follow_delete(follower=fan, followee=star)
        TimelineMachine.seen["demotions"] += 1

    @rule(data=st.data())
    def demote_a_celebrity_again(self, data: st.DataObject) -> None:
        """A twin (see suspend_again): one run with a single rule saw 4 demotions in all."""
        self.demote_a_celebrity(data)

    @rule(a=users, name=st.sampled_from(["Ann", "Bob <b>", "Cleo"]))
    def edit_profile(self, a: int, name: str) -> None:
        """A new display name: every card of theirs must show it on the next page."""
        user = User.objects.get(pk=a)
        account_services.profile_update(user=user, name=name, bio="", location="", website="")
        TimelineMachine.seen["profile edits"] += 1

    @rule(a=users, name=st.sampled_from(["Ann", "Bob <b>", "Cleo"]))
    def edit_profile_again(self, a: int, name: str) -> None:
        """Twice, as suspend_again says: with one rule, 2 edits in a whole run were seen."""
        self.edit_profile(a, name)

    def _repost(self, a: int, tweet_id: int) -> int | None:
        """Repost as `a`; the repost's id, or None when it was refused (which must change nothing)."""
        target = Tweet.objects.filter(pk=tweet_id).values_list("repost_of", "author_id").first()
        if target is None:
            return None
        original = Tweet.objects.filter(pk=target[0] or tweet_id).values_list("id", "author_id").first()
        if original is None:
            return None
        if self.suspended(a):
            with pytest.raises(PermissionDenied):
                repost_services.repost_create(user=User.objects.get(pk=a), tweet_id=tweet_id)
            return None
        if self.suspended(original[1]) or blocked_either_way(a, original[1]):
            with pytest.raises(Tweet.DoesNotExist):
                repost_services.repost_create(user=User.objects.get(pk=a), tweet_id=tweet_id)
            TimelineMachine.seen["reposts refused"] += 1
            return None
        repost = repost_services.repost_create(user=User.objects.get(pk=a), tweet_id=tweet_id)
        assert repost.repost_of == original[0]
        TimelineMachine.seen["reposts"] += 1
        # How often the de-duplication rule held it back from someone who gets the reposter's posts.
        for fan in Follow.objects.filter(followee_id=a).values_list("follower_id", flat=True):
            shown = Tweet.objects.timeline_of(fan).filter(pk=repost.pk).exists()
            if not shown and Tweet.objects.timeline_entries_of(fan).filter(pk=repost.pk).exists():
                TimelineMachine.seen["reposts held back"] += 1
        return repost.pk

    @rule(a=users, data=st.data())
    def repost(self, a: int, data: st.DataObject) -> None:
        """`a` reposts any tweet (a repost drawn stands for its original), their own ones too."""
        ids = list(Tweet.objects.order_by("id").values_list("id", flat=True))
        if ids:
            self._repost(a, data.draw(st.sampled_from(ids)))

    @rule(data=st.data())
    def repost_what_a_follower_has(self, data: st.DataObject) -> None:
        """The case the de-duplication rule exists for, drawn on purpose: X reposts a tweet that a
        follower of X already has (by someone they follow, their own, or reposted by a followee),
        then maybe a second followee of that follower reposts it too, and maybe the first undoes
        theirs (the second then shows where nothing else holds it back)."""
        pairs = sorted(Follow.objects.filter(follower__is_active=True).values_list("follower_id", "followee_id"))
        if not pairs:
            return
        fan, first = data.draw(st.sampled_from(pairs))
        followed = list(Follow.objects.filter(follower_id=fan).values_list("followee_id", flat=True))
        theirs = list(
            Tweet.objects.filter(author_id__in=[*followed, fan], repost_of__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not theirs:
            return
        original = data.draw(st.sampled_from(theirs))
        first_repost = self._repost(first, original)
        others = [followee for followee in followed if followee != first]
        second: bool = data.draw(st.booleans())
        if others and second:
            self._repost(data.draw(st.sampled_from(sorted(others))), original)
        undo = first_repost is not None and data.draw(st.booleans())
        if undo and repost_services.repost_delete(user=User.objects.get(pk=first), tweet_id=original):
            TimelineMachine.seen["reposts undone after another"] += 1
            TimelineMachine.seen["reposts undone"] += 1

    @rule(data=st.data())
    def repost_what_a_follower_has_again(self, data: st.DataObject) -> None:
        self.repost_what_a_follower_has(data)

    @rule(a=users, data=st.data())
    def repost_again(self, a: int, data: st.DataObject) -> None:
        """Twins for the swarm (see suspend_again): with one rule each, a run drew 10 reposts."""
        self.repost(a, data)

    @rule(data=st.data())
    def unrepost(self, data: st.DataObject) -> None:
        """A repost (if any) is undone by its author: it leaves every feed; the reposts it held back
        come in where nothing else holds them back."""
        reposts = list(
            Tweet.objects.filter(repost_of__isnull=False).order_by("id").values_list("author_id", "repost_of")
        )
        if reposts:
            author, original = data.draw(st.sampled_from(reposts))
            assert original is not None
            if repost_services.repost_delete(user=User.objects.get(pk=author), tweet_id=original):
                TimelineMachine.seen["reposts undone"] += 1

    @rule(a=users, data=st.data())
    def quote(self, a: int, data: st.DataObject) -> None:
        """`a` quotes a tweet: an ordinary tweet for the timeline (the card embeds the quoted one)."""
        ids = list(Tweet.objects.order_by("id").values_list("id", flat=True))
        if not ids or self.suspended(a):
            return
        tweet_id = data.draw(st.sampled_from(ids))
        try:
            tweet_services.tweet_create(author=User.objects.get(pk=a), text="so true", quote_of=tweet_id)
        except Tweet.DoesNotExist:
            return  # a block either way, or a suspended author: refused, nothing written
        TimelineMachine.seen["quotes"] += 1

    @rule(data=st.data(), unpin=st.booleans())
    def pin(self, data: st.DataObject, unpin: bool) -> None:
        ids = list(Tweet.objects.filter(repost_of__isnull=True).order_by("id").values_list("id", "author_id"))
        if not ids:
            return
        tweet_id, author_id = data.draw(st.sampled_from(ids))
        change = tweet_services.tweet_unpin if unpin else tweet_services.tweet_pin
        change(tweet_id=tweet_id, user=User.objects.get(pk=author_id))

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        ids = list(Tweet.objects.order_by("id").values_list("id", "author_id"))
        if not ids:
            return
        tweet_id, author_id = data.draw(st.sampled_from(ids))
        tweet_services.tweet_delete(tweet_id=tweet_id, user=User.objects.get(pk=author_id))

    @rule(a=users)
    def suspend(self, a: int) -> None:
        """Staff suspend an account: its tweets leave every timeline (at once for readers; feeds
        are cleaned by the task), whatever its fan-out mode."""
        if moderation_services.account_suspend(moderator=self.moderator(), user_id=a):
            mode = UserStats.objects.filter(user_id=a).values_list("fanout_mode", flat=True).first()
            TimelineMachine.seen["suspensions"] += 1
            if mode == FanoutMode.PULL:
                TimelineMachine.seen["celebrity suspensions"] += 1

    @rule(a=users)
    def suspend_again(self, a: int) -> None:
        """The same rule twice: hypothesis disables a random subset of rules in each example
        ("swarm testing"), so with one rule whole runs drew only 2-3 suspensions. A rule and its
        twin are switched off together in about one example in three instead of one in two."""
        self.suspend(a)

    @rule(data=st.data())
    def unsuspend(self, data: st.DataObject) -> None:
        """A suspension (if any) is lifted: every tweet of the account is back where it was."""
        suspended = sorted(User.objects.filter(suspended_at__isnull=False).values_list("pk", flat=True))
        if suspended and moderation_services.account_unsuspend(
            moderator=self.moderator(), user_id=data.draw(st.sampled_from(suspended))
        ):
            TimelineMachine.seen["unsuspensions"] += 1

    @rule(data=st.data())
    def unsuspend_again(self, data: st.DataObject) -> None:
        """The same rule twice: hypothesis picks rules uniformly, and a lift needs a suspension
        first, so with one rule too few examples would reach it."""
        self.unsuspend(data)

    @rule()
    def flush_redis(self) -> None:
        """Redis lost everything (restart without persistence, FLUSHALL)."""
        TimelineMachine.seen["redis flushes"] += 1
        flush_feeds()

    @rule(a=users)
    def go_inactive(self, a: int) -> None:
        """Not seen for longer than ACTIVE_DAYS; the periodic sweep then drops their feed."""
        from django.conf import settings

        User.objects.filter(pk=a).update(last_active=timezone.now() - timedelta(days=settings.ACTIVE_DAYS + 1))
        self.active[a] = False
        timeline_services.drop_inactive_feeds()

    @rule(a=users)
    def come_back(self, a: int) -> None:
        """Any request marks them active again (the middleware), before any page is read."""
        User.objects.filter(pk=a).update(last_active=timezone.now())
        self.active[a] = True

    @invariant()
    def every_timeline_equals_sql(self) -> None:
        TimelineMachine.steps_run += 1
        for user_id, active in self.active.items():
            expected = oracle(user_id)
            if not active:
                # An inactive user cannot read (reading makes them active); what a read WOULD show
                # right now must still be right, without rebuilding their feed.
                page = home_timeline(user_id=user_id, before=None, limit=PAGE)
                assert [t.entry for t in page.items] == expected[:PAGE]
                continue
            pages = read_all_pages(user_id)
            if len(pages) > 1:
                TimelineMachine.seen["multi-page reads"] += 1
            assert pages[0] == expected[:PAGE], f"first page of {user_id}"
            flat = [tweet_id for page in pages for tweet_id in page]
            assert flat == expected, f"deep pages of {user_id}"
            assert all(len(page) == PAGE for page in pages[:-1]), "short page before the end"

    def teardown(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE accounts_user, tweets_tweet, follows_follow, follows_block, follows_mute,"
                " accounts_userstats CASCADE"
            )
        flush_feeds()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
# Longer than the suite's 300 s: with replies, blocks and mutes it runs ~1,200-1,350 steps, and on
# the 3-node cluster (make pytest-feeds) under a loaded machine one run passed 300 s.
@pytest.mark.timeout(900)
def test_home_timeline_equals_sql_under_random_histories(settings: Any) -> None:
    settings.TIMELINE_LENGTH = 4
    settings.TIMELINE_TRIM_SLACK = 1  # feeds overflow and trim often, with and without slack left
    settings.TIMELINE_PAGE_SIZE = PAGE
    settings.CELEBRITY_THRESHOLD = 2
    settings.CELEBRITY_HYSTERESIS = 0.5
    settings.FANOUT_BATCH_SIZE = 2  # several batches per fan-out, even among six users
    settings.RATE_LIMIT_TWEETS_PER_USER = "100000/1h"
    settings.RATE_LIMIT_BLOCKS_PER_USER = "100000/1h"
    TimelineMachine.steps_run = 0
    TimelineMachine.seen = Counter()

    # A fixed seed by default: hypothesis's swarm testing switches a random subset of rules off in
    # each example, and with 41 rules the same situation was seen 1 time in one run and 120 in the
    # next, so the floors below failed about one run in two. Derandomized, the same ~1,300 steps
    # run every time and a floor fails only when a change stops exercising something.
    # TIMELINE_PROPERTY_RANDOM=1 explores fresh histories instead, asserting the timelines but not
    # the floors: the shard and cluster reruns of `make test` do, so every run also explores anew
    # (both bugs found on the cluster on 2026-12-08 came from such runs).
    explore = bool(os.environ.get("TIMELINE_PROPERTY_RANDOM"))
    run_state_machine_as_test(
        TimelineMachine,
        settings=hypothesis_settings(
            derandomize=not explore,
            max_examples=int(os.environ.get("TIMELINE_PROPERTY_EXAMPLES", "50")),
            stateful_step_count=30,
            deadline=None,
            # Mutation checks (does the test catch a broken feed?) only need a failure, not its
            # shrunk form, which takes minutes: TIMELINE_PROPERTY_NO_SHRINK=1 skips shrinking.
            phases=[Phase.generate] if os.environ.get("TIMELINE_PROPERTY_NO_SHRINK") else list(Phase),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    seen = TimelineMachine.seen
    print(f"timeline property: {TimelineMachine.steps_run} steps checked; {dict(seen)}")  # noqa: T201
    assert TimelineMachine.steps_run >= MIN_TOTAL_STEPS, TimelineMachine.steps_run
    if explore:
        return
    for situation in (
        "celebrity tweets", "demotions", "redis flushes", "multi-page reads", "profile edits",
        "pages from one round trip", "celebrities merged in one round trip", "suspensions",
        "replies to others", "replies kept from a follower", "self-replies", "blocks", "mutes",
        "reposts", "reposts held back", "reposts undone",
    ):  # fmt: skip
        assert seen[situation] >= 5, f"only {seen[situation]} {situation}: the machine no longer exercises them"
    # A lift needs a suspension drawn first: 1-15 per run were seen, so a floor of 5 failed about
    # one run in three. tests/moderation covers the lift deterministically; this guards that the
    # machine still reaches it at all.
    assert seen["unsuspensions"] >= 1, "the machine no longer lifts suspensions"
    # The same for lifting a mute or a block: they need one drawn first (tests/follows covers both
    # deterministically).
    assert seen["unmutes"] >= 1, "the machine no longer lifts mutes"
    assert seen["unblocks"] >= 1, "the machine no longer lifts blocks"
    # Reposts: an undo that releases a held-back repost needs two reposts drawn first; quotes are
    # ordinary tweets to the feed (one rule, so swarm runs vary: 6-92 were seen).
    assert seen["reposts undone after another"] >= 1, "the machine no longer undoes a repost that held one back"
    assert seen["quotes"] >= 1, "the machine no longer quotes"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_tasks")
def test_celebrity_modes_are_exercised(settings: Any) -> None:
    """Guard for the property test: with its settings, accounts do cross the threshold both ways."""
    settings.CELEBRITY_THRESHOLD = 2
    settings.CELEBRITY_HYSTERESIS = 0.5
    machine = TimelineMachine()
    star, *fans = [cast(int, machine.sign_up()) for _ in range(4)]
    for fan in fans:
        machine.follow(fan, star)
    assert UserStats.objects.get(user_id=star).fanout_mode == FanoutMode.PULL
    machine.unfollow(fans[0], star)
    assert UserStats.objects.get(user_id=star).fanout_mode == FanoutMode.PULL  # hysteresis
    machine.unfollow(fans[1], star)
    # Demotion ran (eagerly): backfilled and back to push.
    assert UserStats.objects.get(user_id=star).fanout_mode == FanoutMode.PUSH
    machine.every_timeline_equals_sql()

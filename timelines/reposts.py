"""Keeping reposts in home feeds true to the repost rule (tweets.reposts, Tweet.timeline_of) when
something other than the repost's own fan-out changes who should see it: a reader's follows, mutes
or blocks (reposts_reconcile, one reader), an undone repost (reposts_refresh: what it held back comes
in), a suspension or its lifting (reposts_account_changed). Every function is idempotent."""

from __future__ import annotations

from django.conf import settings

from timelines import followers as followers_read
from timelines import pushing, store
from tweets.models import Tweet


def reposts_reconcile(*, user_id: int) -> None:
    """Make the reposts in a user's feed agree with the de-duplication rule again after their
    timeline's entries changed (a follow, unfollow, mute, block or their undoing): an entry that
    came in may now hold back a repost the feed shows, one that went may release one it held back.
    Reads the feed (at most TIMELINE_LENGTH + TIMELINE_TRIM_SLACK ids above its floor) and, in one
    query each, which of its ids are reposts and which reposts above its floor the timeline takes;
    removes the first not in the second and pushes the second. Idempotent; no feed: nothing."""
    size = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    feed = store.page(user_id=user_id, before=None, limit=size)
    if feed is None:
        return
    held = set(Tweet.objects.filter(id__in=feed.ids, repost_of__isnull=False).values_list("id", flat=True))
    reposts = Tweet.objects.timeline_of(user_id).filter(repost_of__isnull=False, id__gt=feed.floor)
    wanted = list(reposts.order_by("-id").values_list("id", flat=True)[:size])
    oldest = wanted[-1] if len(wanted) == size else 0  # below it, `wanted` was cut: judge nothing there
    store.remove(tweet_ids=[i for i in held if i not in wanted and i >= oldest], user_ids=[user_id])
    store.push(tweet_ids=[i for i in wanted if i not in held], user_ids=[user_id])


def repost_reevaluate(*, repost_id: int) -> None:
    """Make every feed the repost may be in agree with the repost rule as it stands now: pushed to
    the reposter's followers (and the reposter) it reaches, removed from the others. For changes
    that move reposts both ways at once (a suspension or its lifting). Walks the reposter's
    followers twice; idempotent."""
    row = Tweet.objects.filter(pk=repost_id).values_list("author_id", flat=True).first()
    if row is None:
        return  # gone: its retraction removes it
    author_id = row
    card = pushing.tweet_to_fan_out(repost_id)
    audience = pushing.audience(card) if card is not None else None
    reaching = (
        {user for batch in followers_read.follower_batches(author_id=author_id, audience=audience) for user in batch}
        if audience is not None
        else set()
    )
    for batch in followers_read.follower_batches(author_id=author_id):
        store.remove(tweet_ids=[repost_id], user_ids=[user for user in batch if user not in reaching])
    if reaching:
        ordered = sorted(reaching)
        for start in range(0, len(ordered), settings.FANOUT_BATCH_SIZE):
            store.push(tweet_ids=[repost_id], user_ids=ordered[start : start + settings.FANOUT_BATCH_SIZE])
    own = audience is not None and not followers_read.shadowed(audience=audience, user_id=author_id)
    if own:
        store.push(tweet_ids=[repost_id], user_ids=[author_id])
    else:
        store.remove(tweet_ids=[repost_id], user_ids=[author_id])


def reposts_account_changed(*, user_id: int) -> None:
    """After an account's suspension or its lifting committed: its reposts, the reposts of its
    tweets, and the other reposts of the same tweets (which those may hold back, or no longer)
    are re-evaluated in every feed (repost_reevaluate). Bounded to the newest tweets and reposts
    a feed can hold (TIMELINE_LENGTH + TIMELINE_TRIM_SLACK of each kind). A rare staff action."""
    limit = settings.TIMELINE_LENGTH + settings.TIMELINE_TRIM_SLACK
    own_reposts = Tweet.objects.filter(author_id=user_id, repost_of__isnull=False).order_by("-id")
    originals = set(own_reposts.values_list("repost_of", flat=True)[:limit])
    reposted = Tweet.objects.filter(repost_of_author_id=user_id).order_by("-id")
    originals |= set(reposted.values_list("repost_of", flat=True)[:limit])
    related = Tweet.objects.filter(repost_of__in=originals).order_by("id").values_list("id", flat=True)
    for repost_id in related:
        repost_reevaluate(repost_id=repost_id)


def reposts_refresh(*, original_id: int, repost_id: int, reposter_id: int) -> None:
    """After a repost was undone: the reposts of the same original that it held back (later ones
    within the window) enter the feeds where nothing else holds them back now. Each is fanned out
    again to the followers of its author who also follow the undoing reposter (only there could
    this repost have been the reason), and pushed to the reposter's own feed if it belongs there.
    Pushes are idempotent and the audience rule is evaluated now, so a re-run does no harm."""
    window = followers_read.dedup_window()
    later = Tweet.objects.filter(repost_of=original_id, id__gt=repost_id, id__lte=repost_id + window)
    for later_id, author_id in later.values_list("id", "author_id"):
        card = pushing.tweet_to_fan_out(later_id)
        audience = pushing.audience(card, also_follows=reposter_id) if card is not None else None
        if card is None or audience is None:
            continue
        pushing.push_to_followers(author_id=author_id, tweet_ids=[later_id], audience=audience)
        if not followers_read.shadowed(audience=audience, user_id=author_id):
            store.push(tweet_ids=[later_id], user_ids=[author_id])
    reposts_reconcile(user_id=reposter_id)

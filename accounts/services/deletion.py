"""Account deletion."""

from __future__ import annotations

from django.db import connection, transaction

from accounts import authcache, geo
from accounts import cards as author_cards
from accounts.models import User
from accounts.services.location import geo_write
from accounts.services.stats import follower_shard
from accounts.sessions_end import sessions_end
from tweethub import outbox


def _uncount_follows(*, user_id: int) -> None:
    """Take the account's follows out of the other side's counts, before its rows cascade away:
    three statements whatever the number of follows (follows_follow is reached by table name:
    follows sits above accounts in the layer contract).

    The accounts it followed lose a follower on the deleted account's shard, so deleting someone
    who followed a celebrity never waits on (or locks) the celebrity's counter rows; the people who
    followed it lose one `following` each, one UPDATE over all their rows; its own shards go.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_followershard AS f (user_id, shard, followers)
            SELECT followee_id, %(shard)s, -1 FROM follows_follow WHERE follower_id = %(user)s
            ON CONFLICT (user_id, shard) DO UPDATE SET followers = f.followers + EXCLUDED.followers
            """,
            {"user": user_id, "shard": follower_shard(user_id)},
        )
        cursor.execute(
            """
            UPDATE accounts_userstats SET following = GREATEST(following - 1, 0)
            WHERE user_id IN (SELECT follower_id FROM follows_follow WHERE followee_id = %s)
            """,
            [user_id],
        )
        cursor.execute("DELETE FROM accounts_followershard WHERE user_id = %s", [user_id])


def _uncount_likes(*, user_id: int) -> None:
    """Take the account's likes out of the liked tweets' counters before its likes cascade away (one
    statement; tweets_like and tweets_tweet reached by table name: tweets sits above accounts). Its
    own tweets go with it. The tweets' row locks are taken in the order a like takes them (the
    tweet first), so a like racing the deletion waits instead of deadlocking. After the commit the
    cached counts of those tweets' cards go (tweets.tasks, by name: run here, not queued)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tweets_tweet t SET like_count = GREATEST(t.like_count - 1, 0)
            FROM tweets_like l WHERE l.tweet_id = t.id AND l.user_id = %(user)s AND t.author_id <> %(user)s
            RETURNING t.id
            """,
            {"user": user_id},
        )
        liked = [row[0] for row in cursor.fetchall()]
    if liked:
        outbox.run_after_commit("tweets.tasks.likes_uncounted_task", *liked)


def user_delete(*, user: User) -> None:
    """Delete an account and everything it wrote (tweets, follows, stats cascade in Postgres);
    after commit its feed keys go. Ids of its tweets still sitting in followers' feeds no longer
    hydrate: readers skip them and queue their removal (timelines.selectors)."""
    user_id = user.pk
    with transaction.atomic():
        _uncount_follows(user_id=user_id)
        _uncount_likes(user_id=user_id)
        user.delete()
        # A cached row would keep the account's sessions logged in after it is gone.
        authcache.forget_after_commit(user_ids=[user_id])
        # Their tweets' cards stay until they expire, but without the author card none is shown
        # from cache: a reader misses, finds no row in Postgres and drops the id.
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
        # Feeds, author list and pull sets: timelines' business, reached like every other
        # after-commit effect on it (the outbox), so accounts never imports timelines.
        outbox.enqueue("timelines.tasks.feeds_drop_task", user_id)
        transaction.on_commit(lambda: sessions_end(user_id=user_id), robust=True)
        transaction.on_commit(lambda: geo_write(lambda: geo.remove(user_id=user_id)))

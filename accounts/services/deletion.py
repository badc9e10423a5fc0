"""Account deletion."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from accounts import authcache, geo
from accounts import cards as author_cards
from accounts.models import User, UserStats
from accounts.services.location import geo_write
from accounts.sessions_end import sessions_end
from tweethub import outbox


def user_delete(*, user: User) -> None:
    """Delete an account and everything it wrote (tweets, follows, stats cascade in Postgres);
    after commit its feed keys go. Ids of its tweets still sitting in followers' feeds no longer
    hydrate: readers skip them and queue their removal (timelines.selectors)."""
    user_id = user.pk
    with transaction.atomic():
        # Counts of the people it followed and who followed it drop with the follow rows: one
        # UPDATE each way, through the reverse relations of the user model (follows' Follow rows,
        # reached without importing follows, which sits above accounts).
        UserStats.objects.filter(user__follower_set__follower_id=user_id).update(
            followers=Greatest(F("followers") - 1, 0)
        )
        UserStats.objects.filter(user__following_set__followee_id=user_id).update(
            following=Greatest(F("following") - 1, 0)
        )
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

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Follow(models.Model):
    # db_index=False: each column leads a composite index below (follower: follows_unique_pair and
    # follows_follower_id_desc; followee: follows_followee_follower and follows_followee_id_desc),
    # which serve every lookup a single-column index would, foreign-key checks and cascades too.
    # The single-column twins Django adds by default only cost every follow two more index writes.
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set", db_index=False
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index for "whom does X follow" (follower first).
            models.UniqueConstraint(fields=["follower", "followee"], name="follows_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follows_not_self"),
        ]
        indexes = [
            # Fan-out pages through a followee's followers in follower-id order.
            models.Index(fields=["followee", "follower"], name="follows_followee_follower"),
            # Followers/following pages, newest follow first (cursor on id). The other side is
            # included so the two-hop discovery lists (follows.selectors._reached_sql), which read
            # up to 500 x 200 of these entries, are index-only scans with no heap fetch per row.
            models.Index(fields=["followee", "-id"], name="follows_followee_id_desc", include=["follower"]),
            models.Index(fields=["follower", "-id"], name="follows_follower_id_desc", include=["followee"]),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class Block(models.Model):
    """`blocker` blocked `blocked`: no follows either way (removed by the block, refused after), no
    replies or mentions between them, no messages; each is hidden from the other's feeds, searches
    and suggestions (follows.selectors.hidden_author_ids)."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index for "whom did X block", newest first by id through the settings page.
            models.UniqueConstraint(fields=["blocker", "blocked"], name="blocks_unique_pair"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="blocks_not_self"),
        ]
        # "Who blocked X" (the other direction of every check).
        indexes = [models.Index(fields=["blocked", "blocker"], name="blocks_blocked_blocker")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Mute(models.Model):
    """`muter` muted `muted`: the muted account's tweets (and replies to it) leave the muter's home
    feed, silently: nothing changes for the muted account, follows stay."""

    muter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    muted = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="mutes_unique_pair"),
            models.CheckConstraint(condition=~Q(muter=F("muted")), name="mutes_not_self"),
        ]
        # "Who muted X": the fan-out leaves them out.
        indexes = [models.Index(fields=["muted", "muter"], name="mutes_muted_muter")]

    def __str__(self) -> str:
        return f"{self.muter_id} mutes {self.muted_id}"

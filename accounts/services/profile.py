"""Profile edits (name, bio, links, avatar)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts import authcache
from accounts import cards as author_cards
from accounts.avatars import process_avatar
from accounts.models import User
from accounts.services.common import refuse_nul
from tweethub.ratelimit import hit, rate_setting


def profile_update(
    *,
    user: User,
    name: str,
    bio: str,
    location: str,
    website: str,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
    dm_policy: str | None = None,
) -> User:
    """Update the editable profile fields. Validates everything before writing anything.
    `dm_policy` (who may message the user, accounts.models.DmPolicy) is left as it is when None.

    A new avatar is checked and re-encoded (accounts.avatars) before the transaction; the old file
    is deleted only after the new row committed, so a failure never leaves a profile without one.
    Rate-limited per user (RateLimited), every attempt counted, refused ones included: each may carry
    an image to decode.
    """
    hit(
        scope="profile-user",
        key=str(user.pk),
        rate=rate_setting("RATE_LIMIT_PROFILE_PER_USER"),
        message="You have changed your profile many times in a short while. Please try again later.",
    )
    refuse_nul(name=name, bio=bio, location=location, website=website)
    processed = process_avatar(avatar) if avatar is not None else None
    old_avatar_name = user.avatar.name if user.avatar else ""
    user.name, user.bio, user.location, user.website = (
        name.strip(),
        bio.strip(),
        location.strip(),
        website.strip(),
    )
    fields = ["name", "bio", "location", "website"]
    if dm_policy is not None:
        user.dm_policy = dm_policy
        fields.append("dm_policy")
    user.full_clean(exclude=["password", "username", "email", "avatar"])
    with transaction.atomic():
        if processed is not None:
            user.avatar.save("avatar.webp", processed, save=False)
            fields.append("avatar")
        elif remove_avatar and old_avatar_name:
            user.avatar = None
            fields.append("avatar")
        user.save(update_fields=fields)
        authcache.forget_after_commit(user_ids=[user.pk])
        # Tweet cards show the name and avatar: their author card goes, and so do (by digest) the
        # cached renderings of every tweet of theirs.
        user_id = user.pk
        transaction.on_commit(lambda: author_cards.forget(user_ids=[user_id]))
    if "avatar" in fields and old_avatar_name:
        storage, name_to_delete = user.avatar.storage, old_avatar_name
        transaction.on_commit(lambda: storage.delete(name_to_delete))
    return user

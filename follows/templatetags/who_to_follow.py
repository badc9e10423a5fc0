"""{% who_to_follow user as rows %}: people to offer a member whose home timeline is empty.

Asked for by timelines/_timeline.html only when there is no tweet to show, so a home page with
tweets (nearly every one) makes no query for it. A member who follows nobody yet (every new
account, and every unconfirmed one: following needs a confirmed email) has no friends of friends,
so the most followed accounts fill the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from accounts.models import User, UserStats
from follows.models import Follow
from follows.selectors import suggestions

register = template.Library()

# How many people the empty home page offers.
WHO_TO_FOLLOW_COUNT = 5


@dataclass(frozen=True)
class Offer:
    """Someone the viewer does not follow yet, and why they are offered (plain text)."""

    person: User
    note: str


def most_followed(*, viewer_id: int, leave_out: set[int], limit: int) -> list[Offer]:
    """Active accounts with the most followers (ties: newest first), without the viewer, the
    accounts the viewer follows, `leave_out` and accounts nobody follows yet. One query."""
    followed = Follow.objects.filter(follower_id=viewer_id).values("followee_id")
    stats = (
        UserStats.objects.filter(user__is_active=True, followers__gt=0)
        .exclude(user_id__in=[viewer_id, *leave_out])
        .exclude(user_id__in=followed)
        .select_related("user")
        .order_by("-followers", "-user_id")[:limit]
    )
    return [
        Offer(person=row.user, note=f"{row.followers} follower{'' if row.followers == 1 else 's'}") for row in stats
    ]


def offers_for(*, viewer_id: int, limit: int = WHO_TO_FOLLOW_COUNT) -> list[Offer]:
    """Friends of friends first (follows.selectors.suggestions), then the most followed accounts.
    Three queries at most; the viewer follows none of them."""
    offers = [Offer(person=s.person, note=s.note) for s in suggestions(viewer_id=viewer_id, limit=limit)]
    if len(offers) < limit:
        shown = {offer.person.pk for offer in offers}
        offers += most_followed(viewer_id=viewer_id, leave_out=shown, limit=limit - len(offers))
    return offers


@register.simple_tag
def who_to_follow(user: Any) -> list[Offer]:
    if user is None or not user.is_authenticated:
        return []
    return offers_for(viewer_id=user.pk)

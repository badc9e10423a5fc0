"""{% who_to_follow user as rows %}: people to offer a member whose home timeline is empty.

Asked for by timelines/_timeline.html only when there is no tweet to show, so a home page with
tweets (nearly every one) makes no query for it. The reads are follows.selectors.who_to_follow.
"""

from __future__ import annotations

from typing import Any

from django import template

from follows import selectors

register = template.Library()

# How many people the empty home page offers.
WHO_TO_FOLLOW_COUNT = 5


@register.simple_tag
def who_to_follow(user: Any) -> list[selectors.Offer]:
    if user is None or not user.is_authenticated:
        return []
    return selectors.who_to_follow(viewer_id=user.pk, limit=WHO_TO_FOLLOW_COUNT)

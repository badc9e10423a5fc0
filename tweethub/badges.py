"""The unread badges in the nav and the count in the page title, for the page chrome.

tweethub is the bottom layer, so it cannot import the app that counts (notifications); that app
registers its counting function here when it starts (notifications.apps), as apps register their
websocket handlers with the consumer. `for_request` asks it at most once per request (the header
and the title share the answer): one SQL statement per page a member opens, none for visitors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Counts(Protocol):
    @property
    def notifications_label(self) -> str: ...

    @property
    def messages_label(self) -> str: ...

    @property
    def total(self) -> int: ...

    def label(self, count: int) -> str: ...


_provider: Callable[[int], Counts] | None = None
_ATTRIBUTE = "_tweethub_badges"


def set_provider(provider: Callable[[int], Counts]) -> None:
    global _provider
    _provider = provider


def for_request(request: Any) -> Counts | None:
    """The badge counts of the member making `request`, None for a visitor (or no provider)."""
    if request is None or _provider is None:
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    counts: Counts | None = getattr(request, _ATTRIBUTE, None)
    if counts is None:
        counts = _provider(user.pk)
        setattr(request, _ATTRIBUTE, counts)
    return counts

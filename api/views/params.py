"""Parameter types shared by the operations, with the bounds the schema states."""

from __future__ import annotations

from typing import Annotated

from ninja import Path, Query

from tweethub.ids import MAX_ID
from tweethub.usernames import USERNAME_MAX_LENGTH

Cursor = Annotated[
    str | None,
    Query(description="A next_cursor from the previous page; omit for the first page.", max_length=64),
]
TweetId = Annotated[int, Path(ge=1, le=MAX_ID, description="A tweet's id.")]
Username = Annotated[
    str,
    Path(
        min_length=1,
        max_length=USERNAME_MAX_LENGTH + 1,
        description="A username (a leading @ is allowed).",
        examples=["bob"],
    ),
]
SearchQuery = Annotated[str, Query(max_length=1000, description="What to search for.")]
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A token's id.")]

"""Pages of lists, newest first: the one page type every list selector returns, and the one place
that pages by an id cursor (?before=<id>, read by tweethub.cursors).

A page reads one row more than it shows: that spare row says whether an older page exists, so an
"Older" link never leads to an empty page, and the last page needs no extra query to know it is the
last. The cursor is the key of the last row shown; the next page starts strictly below it, so pages
neither skip nor repeat a row, whatever was written in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet

from tweethub.cursors import next_query

T = TypeVar("T")
U = TypeVar("U")
# The cursor: an id for most lists; a ranked list keeps its own (follows: (connections, user id)).
C = TypeVar("C", int, tuple[int, int])


@dataclass(frozen=True)
class Page(Generic[T, C]):
    """One page of a list: its items, in the order shown, and where the next page starts.
    `Page[Row, int]` for the lists paged by id (older_than), the same type whatever the list."""

    items: list[T]
    next_cursor: C | None  # None on the last page

    @property
    def next_query(self) -> str:
        """The next page's query string ("before=<id>", or "after=..." for a ranked list); "" on
        the last page. The inverse of tweethub.cursors' readers."""
        return "" if self.next_cursor is None else next_query(self.next_cursor)

    def with_items(self, items: list[U]) -> Page[U, C]:
        """The same page showing other items (the rows shaped from these), same cursor."""
        return Page(items=items, next_cursor=self.next_cursor)


def fetch_size(limit: int) -> int:
    """How many rows to read for a page of `limit`: one more, the spare that says whether an older
    page exists."""
    return limit + 1


def cut(rows: Sequence[T], *, limit: int, cursor: Callable[[T], C]) -> Page[T, C]:
    """The page from the first `fetch_size(limit)` rows of a list, in the order shown: the first
    `limit`, and the cursor of the last of them only if a spare row followed."""
    shown = list(rows[:limit])
    return Page(items=shown, next_cursor=cursor(shown[-1]) if len(rows) > limit else None)


def newest_before(queryset: QuerySet[Any, T], *, before: int | None, key: str = "id") -> QuerySet[Any, T]:
    """The query's rows with `key` < `before` (all of them for the first page), highest key first.
    The key must be unique and indexed in that order with the query's filters (an index range scan
    that stops after the page, wherever the page is)."""
    if before is not None:
        queryset = queryset.filter(**{f"{key}__lt": before})
    return queryset.order_by(f"-{key}")


def older_than(queryset: QuerySet[Any, T], *, before: int | None, limit: int, key: str = "id") -> Page[T, int]:
    """The page of the query's rows older than the cursor `before`, newest (highest `key`) first,
    in ONE query. Rows are model instances, or the key itself (`values_list(key, flat=True)`)."""
    rows = list(newest_before(queryset, before=before, key=key)[: fetch_size(limit)])
    return cut(rows, limit=limit, cursor=lambda row: row if isinstance(row, int) else getattr(row, key))

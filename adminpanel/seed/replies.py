"""Replies and threads for both seeds, in a phase of their own after the tweets are loaded.

What tweets.services.tweet_create guarantees for a reply is guaranteed here by construction and
checked by tests/adminpanel/test_seed_replies.py: `in_reply_to` is an earlier tweet (a smaller id),
`conversation_root` is the first tweet of the chain (null for a tweet that starts one),
`reply_to_author` is the author of the tweet answered, and every tweet's `reply_count` equals the
number of its replies. Feeds are built afterwards by the seeds' usual feeds_bulk_build, which
applies the reply rule (a reply reaches followers of both people only), as every feed build does.

- seed_data (link_graph_replies): set-based SQL over the tweets just loaded. A share of them
  become replies: to the author's own tweet of the day before (a self-thread) or to the newest
  recent tweet of someone they follow (drawn among their followees, who are drawn by popularity:
  replies gather on popular accounts, as they do). Chains form where the tweet answered was itself
  made a reply: threads. The tweet count the caller asked for is unchanged.
- seed_demo (add_demo_replies): drawn in Python (a few hundred rows) and COPYed as new tweets:
  replies from followers with words that fit, back-and-forth between people who follow each other,
  and self-threads, each posted minutes to hours after the tweet it answers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction

from adminpanel.seed.common import HOUR_US, SECOND_US, Meter
from adminpanel.seed.loading import _load_settings, existing_ids, inside_ms, parsed, tweet_rows
from adminpanel.seed.personas import REPLIES
from tweethub.ids import EPOCH, SEQUENCE_BITS

# seed_data: how many loaded tweets are TRIED as replies, and how many of those answer oneself.
# About a fifth of the tries find no recent tweet to answer and stay plain tweets: the share of
# replies ends near 30% (measured in tests/adminpanel/test_seed_replies.py).
GRAPH_REPLY_TRIES = 0.33
GRAPH_SELF_SHARE = 0.2
# How many followees a reply to someone else looks at for a recent tweet to answer.
GRAPH_FOLLOWEES_TRIED = 6
# How far back a reply looks for the tweet it answers (people answer what is recent). As an id
# distance (ids are time-sortable, tweethub.ids), so the bound is in the index scan, not a filter
# that would read back through a prolific author's whole history.
GRAPH_REPLY_WINDOW_MS = 2 * 24 * 3600 * 1000


@dataclass(frozen=True)
class ReplyStats:
    """What a seed's replies phase made: replies, how many answer oneself, the deepest chain."""

    replies: int
    self_replies: int
    deepest: int


def link_graph_replies(author_ids: Sequence[int], meter: Meter, *, random_seed: int) -> ReplyStats:
    """Turn a share of these authors' tweets into replies and threads (see the module's text), then
    set conversation roots and reply counts, in one transaction of set-based statements. The
    authors' tweets must have no replies yet (a fresh load)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _load_settings(cursor)
        # Reproducible for a seed; random() in these statements follows it (one session, one scan order).
        cursor.execute("SELECT setseed(%s)", [(random_seed % 1000) / 1000])
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_authors ON COMMIT DROP AS SELECT unnest(%s::bigint[]) AS id",
            [list(author_ids)],
        )
        cursor.execute("ANALYZE seed_authors")
        cursor.execute(
            """
            CREATE TEMPORARY TABLE seed_reply_tries ON COMMIT DROP AS
            SELECT t.id, t.author_id, t.created_at, random() < %(self)s AS own
            FROM tweets_tweet t JOIN seed_authors a ON a.id = t.author_id
            WHERE random() < %(tries)s
            """,
            {"self": GRAPH_SELF_SHARE, "tries": GRAPH_REPLY_TRIES},
        )
        # The person answered: oneself, or the newest recent tweet among GRAPH_FOLLOWEES_TRIED
        # followees in a row from a random place in the follower's index entries (userstats holds
        # how many they follow): most followees post rarely, one drawn alone seldom has a recent
        # tweet. Each probe is one index scan (tweets_author_id_desc), so the phase
        # costs a few scans per try, whatever the graph's size.
        cursor.execute(
            """
            CREATE TEMPORARY TABLE seed_reply_links ON COMMIT DROP AS
            SELECT DISTINCT ON (r.id) r.id, r.author_id, p.id AS parent_id, p.author_id AS parent_author
            FROM seed_reply_tries r
            JOIN accounts_userstats s ON s.user_id = r.author_id
            CROSS JOIN LATERAL (
                SELECT r.author_id AS answered WHERE r.own OR s.following = 0
                UNION ALL (
                    SELECT f.followee_id FROM follows_follow f WHERE f.follower_id = r.author_id AND NOT r.own
                    ORDER BY f.followee_id
                    OFFSET floor(random() * greatest(s.following - %(tried)s, 0))::int LIMIT %(tried)s
                )
            ) who
            JOIN LATERAL (
                SELECT t.id, t.author_id FROM tweets_tweet t
                WHERE t.author_id = who.answered AND t.id < r.id AND t.id > r.id - %(window)s
                ORDER BY t.id DESC LIMIT 1
            ) p ON true
            ORDER BY r.id, p.id DESC
            """,
            {"tried": GRAPH_FOLLOWEES_TRIED, "window": GRAPH_REPLY_WINDOW_MS << SEQUENCE_BITS},
        )
        cursor.execute(
            """
            UPDATE tweets_tweet t SET in_reply_to = l.parent_id, reply_to_author_id = l.parent_author
            FROM seed_reply_links l WHERE t.id = l.id
            """
        )
        stats = _roots_and_counts(cursor)
        meter.advance(meter.total)  # every loaded tweet was considered
    return stats


def _roots_and_counts(cursor: object) -> ReplyStats:
    """Conversation roots (each reply's chain walked up, one level per statement: first the tweet
    answered, then its root while it has one) and exact reply counts, for the replies in
    seed_reply_links. Returns what was made."""
    run = cursor.execute  # type: ignore[attr-defined]
    run(
        """
        UPDATE tweets_tweet t SET conversation_root = t.in_reply_to
        FROM seed_reply_links l WHERE t.id = l.id
        """
    )
    deepest = 1
    while True:
        run(
            """
            UPDATE tweets_tweet t SET conversation_root = p.in_reply_to
            FROM seed_reply_links l, tweets_tweet p
            WHERE t.id = l.id AND p.id = t.conversation_root AND p.in_reply_to IS NOT NULL
            """
        )
        if not cursor.rowcount:  # type: ignore[attr-defined]
            break
        deepest += 1
    run(
        """
        UPDATE tweets_tweet p SET reply_count = c.n
        FROM (SELECT in_reply_to AS id, count(*) AS n FROM tweets_tweet t JOIN seed_reply_links l USING (id)
              GROUP BY 1) c
        WHERE p.id = c.id
        """
    )
    run("SELECT count(*), count(*) FILTER (WHERE parent_author = author_id) FROM seed_reply_links")
    replies, own = cursor.fetchone()  # type: ignore[attr-defined]
    return ReplyStats(replies=replies, self_replies=own, deepest=deepest)


# --- seed_demo -----------------------------------------------------------------------------------

# How many people answer a tweet (first replies), how many self-threads, and the chances that the
# person answered answers back (when they follow the replier) and that the replier goes on.
DEMO_FIRST_REPLIES = 36
DEMO_SELF_THREADS = 6
DEMO_ANSWER_BACK = 0.55
DEMO_GO_ON = 0.45

ANSWERS = (
    "{mention} thank you! 😊", "{mention} ha, right? Next time you're coming along.", "{mention} exactly my thought.",
    "{mention} glad it helped!", "{mention} I'll send you the details later.", "{mention} you're too kind 🙏",
    "{mention} tell me how it goes!", "{mention} noted, trying that next time.", "{mention} deal. Coffee's on me ☕",
    "{mention} took me years to learn that one 😅", "{mention} yes! Let's do it this weekend.",
)  # fmt: skip
THREAD_MIDDLES = (
    "More on this: the small things add up faster than you'd think.",
    "The part nobody tells you: ask for help early. People are kinder than you expect.",
    "Also, write it down. If it isn't written down, it didn't happen.",
    "And rest is part of the work, not a break from it.",
    "What changed my mind was doing it badly first, then a little less badly.",
)
THREAD_ENDS = ("That's the thread. Questions welcome!", "Anyway, that's all for today. Thanks for reading 🙏")


@dataclass
class _Node:
    """A reply to be written: its time, author and text, and what it answers (a loaded tweet's id,
    or another node's index)."""

    us: int
    author: int
    text: str
    parent_id: int | None = None
    parent_node: int | None = None


def add_demo_replies(
    rng: random.Random,
    *,
    ids: Sequence[int],
    usernames: dict[int, str],
    following: dict[int, list[int]],
    seen: dict[int, int],
    demo_id: int,
    now_us: int,
    meter: Meter,
) -> ReplyStats:
    """Write the demo's replies and threads as new tweets beside the tweets already loaded for
    `ids` (COPY, then exact reply counts). First replies favour tweets and repliers the demo
    account follows, so its home shows conversations at once. Every reply is posted after the
    tweet it answers and before its author's last visit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, author_id, created_at FROM tweets_tweet WHERE author_id = ANY(%s) ORDER BY id", [list(ids)]
        )
        loaded = [(tweet_id, author, created) for tweet_id, author, created in cursor.fetchall()]
    if not loaded:
        return ReplyStats(replies=0, self_replies=0, deepest=0)
    base = {tweet_id: (author, (created - EPOCH) // timedelta(microseconds=1)) for tweet_id, author, created in loaded}
    nodes = _draw_demo_nodes(rng, base, following, seen, demo_id, now_us)
    return _write_nodes(nodes, base, usernames, now_us, meter)


def _draw_demo_nodes(
    rng: random.Random,
    base: dict[int, tuple[int, int]],
    following: dict[int, list[int]],
    seen: dict[int, int],
    demo_id: int,
    now_us: int,
) -> list[_Node]:
    """The replies to write, parents before children (each later than what it answers)."""
    latest = now_us - 60 * SECOND_US
    followers: dict[int, list[int]] = {}
    for follower, followees in following.items():
        for followee in followees:
            followers.setdefault(followee, []).append(follower)
    demo_follows = set(following.get(demo_id, []))
    people = [tweet_id for tweet_id, (author, _us) in base.items() if author != demo_id]
    nodes: list[_Node] = []

    def add(node: _Node, after_us: int) -> int | None:
        """Append `node` unless its time falls after its author's last visit (or now)."""
        if node.us <= after_us or node.us >= min(seen.get(node.author, latest), latest):
            return None
        nodes.append(node)
        return len(nodes) - 1

    def later(us: int, low_min: int, high_min: int) -> int:
        return inside_ms(us + rng.randint(low_min * 60, high_min * 60) * SECOND_US, rng)

    # Self-threads: 2-4 more tweets under a recent tweet of someone the demo account follows.
    starts = [t for t in people if base[t][0] in demo_follows and base[t][1] > now_us - 10 * 24 * HOUR_US]
    for start in rng.sample(starts, min(DEMO_SELF_THREADS, len(starts))):
        author, us = base[start]
        middles = rng.sample(THREAD_MIDDLES, rng.randint(1, 3))
        parent: tuple[int | None, int | None] = (start, None)
        for text in [*middles, rng.choice(THREAD_ENDS)]:
            node = _Node(later(us, 1, 6), author, text, parent_id=parent[0], parent_node=parent[1])
            index = add(node, us)
            if index is None:
                break
            parent, us = (None, index), node.us

    # First replies by followers of the person answered, then back-and-forth between people who
    # follow each other. Tweets of people the demo follows, and repliers it follows, 3 times in 4.
    for _ in range(DEMO_FIRST_REPLIES):
        pool = [t for t in people if base[t][0] in demo_follows] if rng.random() < 0.75 else people
        target = max(rng.sample(pool, min(3, len(pool))))  # the newest of three: replies go to recent tweets
        author, us = base[target]
        fans = [f for f in followers.get(author, []) if f != demo_id]
        liked = [f for f in fans if f in demo_follows]
        if not fans:
            continue
        replier = rng.choice(liked if liked and rng.random() < 0.75 else fans)
        node = _Node(later(us, 3, 8 * 60), replier, rng.choice(REPLIES), parent_id=target)
        index = add(node, us)
        talkers = (author, replier)
        turn = 0
        while index is not None and talkers[turn] in following.get(talkers[1 - turn], []):
            # The one answered replies to the reply if they follow its author, and so on.
            if rng.random() >= (DEMO_ANSWER_BACK if turn == 0 else DEMO_GO_ON):
                break
            us = nodes[index].us
            node = _Node(later(us, 2, 3 * 60), talkers[turn], rng.choice(ANSWERS), parent_node=index)
            index = add(node, us)
            turn = 1 - turn
    return nodes


def _write_nodes(
    nodes: list[_Node],
    base: dict[int, tuple[int, int]],
    usernames: dict[int, str],
    now_us: int,
    meter: Meter,
) -> ReplyStats:
    """COPY the nodes as replies ("{mention}" becomes the person answered), then set the reply
    counts of every tweet they answer."""
    order = sorted(range(len(nodes)), key=lambda index: nodes[index].us)
    plan = [(nodes[index].us, nodes[index].author, nodes[index].text) for index in order]
    window = (plan[0][0] - SECOND_US, now_us) if plan else (now_us, now_us)
    row_of: dict[int, int] = {}  # node index -> tweet id
    author_of = {tweet_id: author for tweet_id, (author, _us) in base.items()}
    root_of: dict[int, int] = {}  # tweet id -> its conversation's first tweet
    rows = []
    deepest, own = 0, 0
    depth: dict[int, int] = {}
    for index, row in zip(order, tweet_rows(plan, existing=existing_ids(*window)), strict=True):
        node = nodes[index]
        parent = node.parent_id if node.parent_id is not None else row_of[node.parent_node]  # type: ignore[index]
        row_of[index] = row.id
        author_of[row.id] = node.author
        root_of[row.id] = root_of.get(parent, parent)
        depth[row.id] = depth.get(parent, 0) + 1
        deepest = max(deepest, depth[row.id])
        own += author_of[parent] == node.author
        text = node.text.replace("{mention}", f"@{usernames[author_of[parent]]}")
        rows.append((row.id, node.author, text, row.created_at, parent, root_of[row.id], author_of[parent]))
    meter.total = len(rows)
    with connection.cursor() as cursor:
        sql = (
            "COPY tweets_tweet (id, author_id, text, tags, mentions, created_at, pinned, in_reply_to,"
            " conversation_root, reply_to_author_id) FROM STDIN"
        )
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(
                ["int8", "int8", "text", "varchar[]", "varchar[]", "timestamptz", "bool", "int8", "int8", "int8"]
            )
            for tweet_id, author, text, created, parent, root, answered in rows:
                tags, mentions = parsed(text)
                copy.write_row((tweet_id, author, text, tags, mentions, created, False, parent, root, answered))
                meter.advance()
        cursor.execute(
            """
            UPDATE tweets_tweet p SET reply_count = c.n
            FROM (SELECT in_reply_to AS id, count(*) AS n FROM tweets_tweet WHERE id = ANY(%s) GROUP BY 1) c
            WHERE p.id = c.id
            """,
            [[row[0] for row in rows]],
        )
    return ReplyStats(replies=len(rows), self_replies=own, deepest=deepest)

"""The home page's read: feed ids, pull-mode followees' author lists, tweet cards, author cards and
unfollow tombstones, from ONE Lua call when the feed lives on the feeds server (one server, the
default), else from two: the feed's server, then the feeds server (timelines.selectors decides
what it all means)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts import cards as author_cards
from follows import feedstate
from timelines.store import scripts
from timelines.store.keys import Kind, feed_key, feed_prefix, feed_ttl_ms
from tweethub.redis import Role, feed_shards, feeds, url
from tweethub.redis import script as redis_script
from tweets import cards as tweet_cards

# What the home page gathers besides the feed, given the feed's floor and the ids taken from it:
# the pull-mode followees' author lists (each a sorted set with its floor inside, like a feed),
# the candidate page (newest `limit` of everything taken), its tweet cards and author cards, and
# the reader's unfollow tombstones. Expects tlp, tlu, tlpv (keys), limit, ttl, bound, floor, taken,
# card_prefix, author_prefix, html_field, list_prefix as Lua variables.
# Returns {floor, ids taken from the feed, pull version (or false), 1 if the reader's pull set is
# current else 0, per pull-mode followee [id, list floor or false, ids taken], the page's ids, their
# cards, the cards' authors, the author cards, the reader's unfollow tombstones}. The caller
# decides whether that is the exact page (timelines.selectors): the script only gathers.
_GATHER = (
    """
local all, seen_ids = {}, {}
for _, id in ipairs(taken) do
  seen_ids[id] = true
  all[#all + 1] = id
end
local version = redis.call('GET', tlpv)
local pull = redis.call('GET', tlp)
local current, sources = 0, {}
if version and pull then
  local bar = string.find(pull, '|', 1, true)
  if bar and string.sub(pull, 1, bar - 1) == version then
    current = 1
    for author in string.gmatch(string.sub(pull, bar + 1), '%d+') do
      local list = list_prefix .. '{' .. author .. '}'
      local author_floor = redis.call('ZSCORE', list, 'f')
      if author_floor then
        redis.call('PEXPIRE', list, ttl)
        local ids = redis.call('ZREVRANGEBYSCORE', list, bound, '(' .. author_floor, 'LIMIT', 0, limit)
        sources[#sources + 1] = {author, author_floor, #ids}
        for _, id in ipairs(ids) do
          if not seen_ids[id] then
            seen_ids[id] = true
            all[#all + 1] = id
          end
        end
      else
        sources[#sources + 1] = {author, false, 0}
      end
    end
  end
end
if #sources > 0 then
  table.sort(all, function(a, b) return tonumber(a) > tonumber(b) end)
end
local card_ids = {}
for i = 1, math.min(limit, #all) do card_ids[i] = all[i] end
"""
    + tweet_cards.CARDS_LUA
    + """
return {floor, taken, version or false, current, sources, card_ids, cards, card_authors, author_raws,
        redis.call('HGETALL', tlu)}
"""
)

# ARGV shared by both forms: before (exclusive, a number or +inf), limit, ttl_ms, tweet card
# prefix, author card prefix, the HTML field wanted, author list prefix.
_ARGUMENTS = """
local limit, ttl, bound = tonumber(ARGV[2]), ARGV[3], '(' .. ARGV[1]
local card_prefix, author_prefix, html_field, list_prefix = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
"""

# One feed server holding every feed, the feeds server's own: the whole page in ONE round trip.
# KEYS: tl, tlp, tlu, tlpv of the reader. Returns false without a feed, else as _GATHER.
_HOME_PAGE = (
    _ARGUMENTS
    + """
local tlp, tlu, tlpv = KEYS[2], KEYS[3], KEYS[4]
local floor = redis.call('ZSCORE', KEYS[1], 'f')
if not floor then
  return false
end
redis.call('PEXPIRE', KEYS[1], ttl)
local taken = redis.call('ZREVRANGEBYSCORE', KEYS[1], bound, '(' .. floor, 'LIMIT', 0, limit)
"""
    + _GATHER
)

# Feeds on other servers (shards, a cluster): the feed was read from its server first (scripts.PAGE);
# this is the second and last round trip, on the feeds server. KEYS: tlp, tlu, tlpv of the reader.
# ARGV: as _HOME_PAGE, then the feed's floor and the ids taken from it.
_GATHER_AFTER_FEED = (
    _ARGUMENTS
    + """
local tlp, tlu, tlpv = KEYS[1], KEYS[2], KEYS[3]
local floor, taken = ARGV[8], {}
for i = 9, #ARGV do taken[#taken + 1] = ARGV[i] end
"""
    + _GATHER
)


@dataclass(frozen=True)
class PullSource:
    author_id: int
    floor: int | None  # None: the author's list does not exist (to be rebuilt)
    taken: int  # ids taken from it


@dataclass(frozen=True)
class HomeRead:
    """What the home page script gathered (see _HOME_PAGE); timelines.selectors decides."""

    floor: int
    taken: int  # ids taken from the feed itself
    pull_version: str | None
    pull_current: bool
    sources: list[PullSource]
    ids: list[int]  # newest first: the candidate page
    cards: list[Any]
    card_authors: list[Any]
    author_raws: list[Any]
    tombstones: list[Any]


def home_page(*, user_id: int, before: int | None, limit: int, variant: str) -> HomeRead | None:
    """Everything the home page needs from Redis in ONE call per server involved (one, or two when
    the feed lives on a feed shard or cluster node apart from the feeds server): the feed's ids, the pull-mode
    followees' newest ids from their author lists, the merged candidate page with its tweet cards
    and author cards (tweets.cards), and the reader's unfollow tombstones. None if the user has no
    feed. Reading extends the life of the feed and of the author lists read."""
    state_keys = [feedstate.pull_set_key(user_id), feedstate.tombstones_key(user_id), feedstate.PULL_VERSION_KEY]
    args: list[str | int] = [
        "+inf" if before is None else str(before),
        limit,
        feed_ttl_ms(),
        tweet_cards.PREFIX,
        author_cards.PREFIX,
        tweet_cards.html_field(variant),
        feed_prefix(Kind.AUTHOR),
    ]
    shards = feed_shards()
    if shards.url_of(user_id) == url(Role.FEEDS):
        result = redis_script(feeds(), _HOME_PAGE)(keys=[feed_key(user_id), *state_keys], args=args)
    else:
        # The reader's feed is on a server of its own: one round trip there, then one here.
        feed = redis_script(shards.client(user_id), scripts.PAGE)(keys=[feed_key(user_id)], args=args[:3])
        if not feed:
            return None
        floor, taken = feed
        result = redis_script(feeds(), _GATHER_AFTER_FEED)(keys=state_keys, args=[*args, floor, *taken])
    if not result:
        return None
    floor, taken, version, current, sources, ids, cards, card_authors, author_raws, tombstones = result
    return HomeRead(
        floor=int(floor),
        taken=len(taken),
        pull_version=None if version is None else (version.decode() if isinstance(version, bytes) else str(version)),
        pull_current=bool(current),
        sources=[
            PullSource(author_id=int(author), floor=None if author_floor is None else int(author_floor), taken=int(n))
            for author, author_floor, n in sources
        ],
        ids=[int(tweet_id) for tweet_id in ids],
        cards=cards,
        card_authors=card_authors,
        author_raws=author_raws,
        tombstones=tombstones,
    )

"""The Lua scripts of feeds and author lists (timelines.store.feeds runs them).

A feed is ONE sorted set: tweet ids (member and score both the id) plus the floor member
(keys.FLOOR_MEMBER, "f") whose score is the floor. Every id is above the floor, so the floor member
is always rank 0 and `ZREVRANK tl f` is the number of ids the feed holds: one call gives a push the
floor, the size (for the trim) and whether the feed exists at all.

Why this shape (issue 20, make bench): inside a script each `redis.call` costs far more than the
command it runs (~20 us of Lua and argument handling against ~2.3 us for a ZADD), so the fan-out's
cost is the number of calls per follower. The previous layout (a floor key beside the set) needed
GET floor + ZADD + ZCARD, three calls and three keys per follower; this one needs ZREVRANK + ZADD,
and a trim (three calls) only once every TIMELINE_TRIM_SLACK + 1 pushes.
"""

from __future__ import annotations

# Cluster nodes run the push with the followers' keys built from ids in ARGV (see PUSH): a script
# may touch undeclared keys of many slots only with this flag, and only keys of its own node.
CLUSTER_FLAGS = "#!lua flags=allow-cross-slot-keys\n"

# Trim back to `cap` ids once a feed holds more (ranks 1..drop are its oldest ids; rank 0 is the
# floor member), raising the floor to the highest id removed. Returns the ids held afterwards.
_TRIM = """
local function trim(tl, held, cap)
  if held <= cap then
    return held
  end
  local drop = held - cap
  local highest = redis.call('ZRANGE', tl, drop, drop)[1]
  redis.call('ZREMRANGEBYRANK', tl, 1, drop)
  redis.call('ZADD', tl, highest, 'f')
  return cap
end
"""

# No KEYS: the keys are built from the user ids, so a call carries ~8 bytes per follower instead of
# three key names, and a cluster node can take every follower it holds in one call (CLUSTER_FLAGS).
# ARGV: list prefix, buffer prefix, cap, min_floor, slack, n, then n tweet ids, then the user ids.
# min_floor > 0 first raises each floor to it (dropping ids at or below): a backfill that adds only
# the newest N of someone's tweets must not let the feed claim the older ones.
# Returns the 1-based positions (among the user ids) of the users NOT reached: reached are those whose
# feed took at least one new id, or already held one above its floor (a push repeated: see
# feeds.push), or whose feed is being rebuilt (the buffer took it). The misses, because nearly every
# follower of a fan-out has a feed: the reply stays a few bytes instead of one integer per follower.
PUSH = (
    _TRIM
    + """
local list_open, buffer_open = ARGV[1] .. '{', ARGV[2] .. '{'
local cap, min_floor, slack, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ids, values = {}, {}
for j = 1, n do
  ids[j] = ARGV[6 + j]
  values[j] = tonumber(ids[j])
end
local first = 7 + n
local missed = {}
for i = first, #ARGV do
  local tl = list_open .. ARGV[i] .. '}'
  -- The one read per follower: how many ids the feed holds and its floor, or nil without a feed.
  local found = redis.call('ZREVRANK', tl, 'f', 'WITHSCORE')
  if found then
    local held, floor = found[1], tonumber(found[2])
    if min_floor > floor then
      held = held - redis.call('ZREMRANGEBYSCORE', tl, '(' .. found[2], min_floor)
      redis.call('ZADD', tl, min_floor, 'f')
      floor = min_floor
    end
    local took = 0
    if n == 1 then
      if values[1] > floor then
        took = redis.call('ZADD', tl, ids[1], ids[1])
      end
    else
      local members = {}
      for j = 1, n do
        if values[j] > floor then
          members[#members + 1] = ids[j]
          members[#members + 1] = ids[j]
        end
      end
      if #members > 0 then
        took = redis.call('ZADD', tl, unpack(members))
      end
    end
    if took > 0 then
      -- Amortised: the trim's three calls run once the feed is `slack` ids over its cap.
      if held + took > cap + slack then
        trim(tl, held + took, cap)
      end
    else
      -- Nothing new: this push was made before (a fan-out run again after its worker died). Those
      -- already holding the tweet still count, since the run that wrote it may not have announced it.
      local holds = false
      for j = 1, n do
        if values[j] > floor and redis.call('ZSCORE', tl, ids[j]) then
          holds = true
          break
        end
      end
      if not holds then
        missed[#missed + 1] = i - first + 1
      end
    end
  else
    local tlb = buffer_open .. ARGV[i] .. '}'
    if redis.call('EXISTS', tlb) == 1 then
      -- A rebuild is reading Postgres (begin_rebuild removed the feed, so a feed and a buffer never
      -- exist together and the common case, a feed, costs no check here). The rebuilt feed will
      -- hold the tweet, so the user counts as reached: a page open meanwhile hears of it live.
      for j = 1, n do
        redis.call('ZADD', tlb, ids[j], ids[j])
      end
    else
      missed[#missed + 1] = i - first + 1
    end
  end
end
return missed
"""
)

# KEYS: tl.  ARGV: before (exclusive, a number or +inf), limit, ttl_ms.
# Returns false when the feed does not exist, else {floor, ids newest first (floor < id < before)}.
PAGE = """
local floor = redis.call('ZSCORE', KEYS[1], 'f')
if not floor then
  return false
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '(' .. floor, 'LIMIT', 0, ARGV[2])
return {floor, ids}
"""

# KEYS: tl, tlb, tlr.  ARGV: the rebuild's token, lock seconds. Takes the lock (else false), drops
# the feed and opens the buffer (its marker member "_" scores -1, below any floor), in one call.
BEGIN_BUILD = """
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return false
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[2], -1, '_')
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""

# KEYS: tl, tlb, tlr.  ARGV: cap, ttl_ms, floor, the rebuild's token, then the ids read from
# Postgres. Returns the feed's size (ids), or false (nothing written) if the lock is no longer this
# rebuild's.
FINISH_BUILD = (
    _TRIM
    + """
local tl, tlb, tlr = KEYS[1], KEYS[2], KEYS[3]
local cap, ttl, floor = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call('GET', tlr) ~= ARGV[4] then
  -- Redis lost the lock (flushed, restarted) and the buffer with it, or another rebuild holds it
  -- now: tweets pushed while Postgres was read may be gone, so this feed cannot be vouched for.
  return false
end
redis.call('DEL', tl)
redis.call('ZADD', tl, floor, 'f')
-- Only ids above the floor: the floor member must stay the lowest (rank 0) for ZREVRANK and trim.
local lowest = tonumber(floor)
for j = 5, #ARGV do
  if tonumber(ARGV[j]) > lowest then
    redis.call('ZADD', tl, ARGV[j], ARGV[j])
  end
end
-- Tweets fanned out while Postgres was being read: none of them may be lost.
local pushed = redis.call('ZRANGEBYSCORE', tlb, '(' .. floor, '+inf')
for _, id in ipairs(pushed) do
  redis.call('ZADD', tl, id, id)
end
redis.call('DEL', tlb, tlr)
redis.call('PEXPIRE', tl, ttl)
return trim(tl, redis.call('ZCARD', tl) - 1, cap)
"""
)

# KEYS: tlb, tlr.  ARGV: the rebuild's token. Releases the rebuild only if the lock is still its own.
ABANDON_BUILD = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
end
"""

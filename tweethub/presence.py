"""Who has an open websocket right now: a Redis set of user ids with per-user socket counts.

Fan-out uses it to send live events only to users who can receive them (a 100K-follower fan-out
must not become 100K channel-layer sends), and the admin panel counts open connections with it.

Keys (the counters Redis, tweethub.redis.counters; none has a TTL, so a volatile eviction policy never takes them):
- `ws:online`: sorted set, user id -> open sockets over all web processes. What readers read.
- `ws:online:<process>`: hash, user id -> that web process's open sockets: its share of the sum.
- `ws:procs`: sorted set, process -> when it last wrote (epoch ms).

Each web process writes absolute figures, its own count for a user, and a Lua call moves the sum by
the difference from the share it last wrote. A write can then be repeated, and a process can always
put its whole share back, without counting anything twice. That is how presence heals
(issue 17): after a FLUSHALL, or a Redis restarted empty, nothing made open sockets register
again, so their users looked offline and got no live tweets until they reloaded. Now every process
checks each LIVE_SWEEP_SECONDS that its share is still there (one round trip) and writes it back
whole if not; it does the same after a write that failed. The same check drops the shares of
processes that stopped writing for STALE_SWEEPS periods (killed with SIGKILL, so their sockets were
never counted down) and subtracts them from the sum; a live process that was only slow puts its
share back at its next check.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from typing import cast

import redis.asyncio
from django.conf import settings

from tweethub.redis import Role, counters, url
from tweethub.rediskeys import KeyFamily

ONLINE = "ws:online"  # sorted set: user id -> number of open sockets
SHARE_PREFIX = "ws:online:"  # + process id: hash, user id -> that process's open sockets
PROCESSES = "ws:procs"  # sorted set: process id -> last write (epoch ms)
# Never purged: they count the sockets open right now (people still connected would look offline).
REDIS_KEYS = (
    KeyFamily(
        key=ONLINE,
        role=Role.COUNTERS,
        holds="user id -> number of open websockets (presence)",
        rebuilt_by=(
            "each web process writes its share back at its next sweep (`LIVE_SWEEP_SECONDS`) "
            "and makes its sockets catch up"
        ),
    ),
    KeyFamily(
        key=f"{SHARE_PREFIX}<process>",
        role=Role.COUNTERS,
        holds="one web process's share of presence",
        rebuilt_by="rewritten by its process at each sweep; a dead process's share is dropped",
    ),
    KeyFamily(key=PROCESSES, role=Role.COUNTERS, holds="the web processes alive", rebuilt_by="as their shares"),
)
# A process that has not written for this many sweep periods is gone: its share is removed.
STALE_SWEEPS = 4

# KEYS: ws:online, this process's share, ws:procs. ARGV: now (ms), process id, "1" when the pairs
# are the whole share (users not listed drop to 0), then user id, count pairs.
_SET_SHARE = """
local function set(user, count)
  local old = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  if count == old then return end
  local total = tonumber(redis.call('ZINCRBY', KEYS[1], count - old, user))
  if total <= 0 then redis.call('ZREM', KEYS[1], user) end
  if count > 0 then redis.call('HSET', KEYS[2], user, count) else redis.call('HDEL', KEYS[2], user) end
end
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
local listed = {}
for i = 4, #ARGV, 2 do
  listed[ARGV[i]] = true
  set(ARGV[i], tonumber(ARGV[i + 1]))
end
if ARGV[3] == '1' then
  for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
    if not listed[user] then set(user, 0) end
  end
end
return 1
"""

# KEYS: ws:online, this process's share, ws:procs. ARGV: now (ms), process id, stale before (ms).
# Records that this process is alive, removes the shares of processes gone quiet, and says whether
# this process's share is still there (0: lost, or never written) and how many it removed.
_CHECK = """
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
local removed = 0
for _, process in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])) do
  if process ~= ARGV[2] then
    local share = 'ws:online:' .. process
    local counts = redis.call('HGETALL', share)
    for i = 1, #counts, 2 do
      local total = tonumber(redis.call('ZINCRBY', KEYS[1], -tonumber(counts[i + 1]), counts[i]))
      if total <= 0 then redis.call('ZREM', KEYS[1], counts[i]) end
    end
    redis.call('DEL', share)
    redis.call('ZREM', KEYS[3], process)
    removed = removed + 1
  end
end
return {redis.call('EXISTS', KEYS[2]), removed}
"""


class ProcessShare:
    """One web process's part of presence (one per live-event hub, so per event loop). Callers
    serialise the writes (tweethub.livehub holds a lock): each carries the count read just before."""

    def __init__(self) -> None:
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._client = redis.asyncio.Redis.from_url(
            url(Role.COUNTERS),
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
        self._set_share = self._client.register_script(_SET_SHARE)
        self._check = self._client.register_script(_CHECK)
        self._keys = [ONLINE, SHARE_PREFIX + self.process_id, PROCESSES]

    async def write(self, counts: Mapping[int, int], *, whole: bool = False) -> None:
        """Set this process's open sockets for the listed users (0 removes them); `whole`: these
        are all of them. Idempotent. Raises redis errors."""
        pairs = [str(value) for user_id, count in counts.items() for value in (user_id, count)]
        await self._set_share(keys=self._keys, args=[_now_ms(), self.process_id, "1" if whole else "0", *pairs])

    async def check(self, *, stale_seconds: float) -> bool:
        """One round trip: mark this process alive, remove the shares of processes silent for
        `stale_seconds`, and say whether this process's share is still in Redis. Raises redis errors."""
        now = _now_ms()
        present, _removed = await self._check(
            keys=self._keys, args=[now, self.process_id, now - int(stale_seconds * 1000)]
        )
        return bool(present)

    async def close(self) -> None:
        await self._client.aclose()


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- Outside a web process (tests, tools): a count that no process owns ------------------------------


def connected(user_id: int) -> None:
    counters().zincrby(ONLINE, 1, str(user_id))


def disconnected(user_id: int) -> None:
    client = counters()
    remaining = float(client.zincrby(ONLINE, -1, str(user_id)) or 0)
    if remaining <= 0:
        client.zrem(ONLINE, str(user_id))


# --- Readers ------------------------------------------------------------------------------------------


def online_among(user_ids: Sequence[int]) -> list[int]:
    """The subset of `user_ids` with at least one open socket, in one round trip."""
    if not user_ids:
        return []
    scores = counters().zmscore(ONLINE, [str(user_id) for user_id in user_ids])
    return [user_id for user_id, score in zip(user_ids, scores, strict=True) if score and score > 0]


def online_user_ids() -> list[int]:
    return [int(member) for member in cast(list[bytes], counters().zrange(ONLINE, 0, -1))]


def open_sockets() -> int:
    """Open websocket connections across all web processes."""
    pairs = cast(list[tuple[bytes, float]], counters().zrange(ONLINE, 0, -1, withscores=True))
    return int(sum(score for _, score in pairs))

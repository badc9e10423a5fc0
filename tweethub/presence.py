"""Who has an open websocket right now, and where: user id -> the channel names of their sockets.

Fan-out uses it to send live events only to users who can receive them (a 100K-follower fan-out
must not become 100K sends), and to address them: a channel name says which web process holds the
socket (tweethub.channel_layer), so one event costs one message per process that holds a
recipient. The admin panel counts open connections with it.

Keys (the counters Redis, tweethub.redis.counters; none has a TTL, so a volatile eviction policy
never takes them):
- `ws:online`: sorted set, user id -> open sockets over all web processes (counts, for readers).
- `ws:chans`: hash, user id -> the channel names of all their open sockets, space-separated.
- `ws:online:<process>`: hash, user id -> that web process's channel names: its share of both.
- `ws:procs`: sorted set, process -> when it last wrote (epoch ms).

Each web process writes absolute figures, its own channels for a user, and a Lua call moves the
sums by the difference from the share it last wrote. A write can then be repeated, and a process
can always put its whole share back, without counting anything twice. That is how presence heals
(issue 17): after a FLUSHALL, or a Redis restarted empty, nothing made open sockets register
again, so their users looked offline and got no live tweets until they reloaded. Now every process
checks each LIVE_SWEEP_SECONDS that its share is still there (one round trip) and writes it back
whole if not; it does the same after a write that failed. The same check drops the shares of
processes that stopped writing for STALE_SWEEPS periods (killed with SIGKILL, so their sockets were
never counted down) and takes their channels out of the sums; a live process that was only slow
puts its share back at its next check.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import redis.asyncio
from django.conf import settings

from tweethub.redis import Role, counters, script, url
from tweethub.rediskeys import KeyFamily

ONLINE = "ws:online"  # sorted set: user id -> number of open sockets
CHANNELS = "ws:chans"  # hash: user id -> channel names of their open sockets, space-separated
SHARE_PREFIX = "ws:online:"  # + process id: hash, user id -> that process's channel names
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
        key=CHANNELS,
        role=Role.COUNTERS,
        holds="user id -> the channel names of their open websockets (presence, for addressing)",
        rebuilt_by=f"as `{ONLINE}`",
    ),
    KeyFamily(
        key=f"{SHARE_PREFIX}<process>",
        role=Role.COUNTERS,
        holds="one web process's share of presence (user id -> its channel names there)",
        rebuilt_by="rewritten by its process at each sweep; a dead process's share is dropped",
    ),
    KeyFamily(key=PROCESSES, role=Role.COUNTERS, holds="the web processes alive", rebuilt_by="as their shares"),
)
# A process that has not written for this many sweep periods is gone: its share is removed.
STALE_SWEEPS = 4
# Users looked up per HMGET; the batches of one lookup share one round trip (a pipeline), so a
# 100K-recipient fan-out does not send one 100K-argument command.
LOOKUP_BATCH = 5000

# Moving one user's channels in the sums: take `old` (space-separated names) out, put `new` in.
_MOVE = """
local function words(text)
  local list = {}
  for word in string.gmatch(text or '', '%S+') do list[#list + 1] = word end
  return list
end
local function move(user, old, new)
  local before, after = words(old), words(new)
  local total = tonumber(redis.call('ZINCRBY', KEYS[1], #after - #before, user))
  if total <= 0 then redis.call('ZREM', KEYS[1], user) end
  local gone = {}
  for _, name in ipairs(before) do gone[name] = true end
  local kept = {}
  for _, name in ipairs(words(redis.call('HGET', KEYS[4], user))) do
    if not gone[name] then kept[#kept + 1] = name end
  end
  for _, name in ipairs(after) do kept[#kept + 1] = name end
  if #kept > 0 then redis.call('HSET', KEYS[4], user, table.concat(kept, ' '))
  else redis.call('HDEL', KEYS[4], user) end
end
"""

# KEYS: ws:online, this process's share, ws:procs, ws:chans. ARGV: now (ms), process id, "1" when
# the pairs are the whole share (users not listed drop to none), then user id, channel names pairs.
_SET_SHARE = (
    _MOVE
    + """
local function set(user, names)
  local old = redis.call('HGET', KEYS[2], user) or ''
  if names == old then return end
  move(user, old, names)
  if names ~= '' then redis.call('HSET', KEYS[2], user, names) else redis.call('HDEL', KEYS[2], user) end
end
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
local listed = {}
for i = 4, #ARGV, 2 do
  listed[ARGV[i]] = true
  set(ARGV[i], ARGV[i + 1])
end
if ARGV[3] == '1' then
  for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
    if not listed[user] then set(user, '') end
  end
end
return 1
"""
)

# KEYS: ws:online, this process's share, ws:procs, ws:chans. ARGV: now (ms), process id, stale
# before (ms). Records that this process is alive, removes the shares of processes gone quiet, and
# says whether this process's share is still there (0: lost, or never written) and how many it removed.
_CHECK = (
    _MOVE
    + """
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
local removed = 0
for _, process in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])) do
  if process ~= ARGV[2] then
    local share = 'ws:online:' .. process
    local shares = redis.call('HGETALL', share)
    for i = 1, #shares, 2 do
      move(shares[i], shares[i + 1], '')
    end
    redis.call('DEL', share)
    redis.call('ZREM', KEYS[3], process)
    removed = removed + 1
  end
end
return {redis.call('EXISTS', KEYS[2]), removed}
"""
)


class ProcessShare:
    """One web process's part of presence (one per event loop: tweethub.livesockets). Callers
    serialise the writes (livesockets holds a lock): each carries the channels read just before."""

    def __init__(self) -> None:
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.client = redis.asyncio.Redis.from_url(
            url(Role.COUNTERS),
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
        self._set_share = self.client.register_script(_SET_SHARE)
        self._check = self.client.register_script(_CHECK)
        self._keys = [ONLINE, SHARE_PREFIX + self.process_id, PROCESSES, CHANNELS]

    async def write(self, channels: Mapping[int, Iterable[str]], *, whole: bool = False) -> None:
        """Set the channel names of this process's open sockets for the listed users (none removes
        them); `whole`: these are all of them. Idempotent. Raises redis errors."""
        pairs = [value for user_id, names in channels.items() for value in (str(user_id), " ".join(sorted(names)))]
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
        await self.client.aclose()


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- Outside a web process (tests, tools): a socket that no process owns -------------------------------


def connected(user_id: int, channel: str = "specific.nowhere!test") -> None:
    """Count `channel` as an open socket of the user (a test's stand-in for a web process)."""
    script(counters(), _SET_SHARE)(
        keys=[ONLINE, SHARE_PREFIX + "test", PROCESSES, CHANNELS],
        args=[_now_ms(), "test", "0", str(user_id), channel],
    )


# --- Readers ------------------------------------------------------------------------------------------


def channels_of(user_ids: Sequence[int]) -> dict[int, list[str]]:
    """The channel names of the open sockets of those of `user_ids` who have any, in one round trip."""
    if not user_ids:
        return {}
    pipe = counters().pipeline(transaction=False)
    for start in range(0, len(user_ids), LOOKUP_BATCH):
        pipe.hmget(CHANNELS, [str(user_id) for user_id in user_ids[start : start + LOOKUP_BATCH]])
    values = [value for batch in cast(list[list[bytes | None]], pipe.execute()) for value in batch]
    return {user_id: value.decode().split() for user_id, value in zip(user_ids, values, strict=True) if value}


def online_among(user_ids: Sequence[int]) -> list[int]:
    """The subset of `user_ids` with at least one open socket, in one round trip."""
    online = channels_of(user_ids)
    return [user_id for user_id in user_ids if user_id in online]


def online_user_ids() -> list[int]:
    return [int(member) for member in cast(list[bytes], counters().zrange(ONLINE, 0, -1))]


def open_sockets() -> int:
    """Open websocket connections across all web processes."""
    pairs = cast(list[tuple[bytes, float]], counters().zrange(ONLINE, 0, -1, withscores=True))
    return int(sum(score for _, score in pairs))

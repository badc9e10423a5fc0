"""The channel layer: channels-redis's RedisChannelLayer, with one documented extension, routed sends.

Every websocket consumer has a channel name `specific.<process prefix>!<random>`: all the sockets of
one web process share ONE Redis inbox (the part up to "!"), which that process reads and hands out
to its sockets by the full names a message carries in `__asgi_channel__`. `group_send` already
bundles a group's members that way: one message per process inbox, naming the channels that live
there. `send_to_channels` does the same for a list of channel names the caller already knows
(presence maps online users to their channels: tweethub.presence), so one live event costs one
message per web process that holds at least one recipient, the payload in it once, whatever the
number of recipients in that process; a process holding none gets nothing. It is `group_send`
without the group: the bundling is the layer's own (`_map_channel_keys_to_connection`), the send
is the same capacity-checked Lua, returning which inboxes were full instead of only how many, so
the caller can tell those sockets, and only those, to catch up.

Receiving survives Redis going away: the layer's own `receive` raises, which would end the
consumer without its disconnect handler (its presence never counted down); here it waits for Redis
with backoff and then hands the socket {"type": "live.catch_up"}: events sent meanwhile may be lost,
so the page asks for what it missed (accounts.consumers).

Two ways in: `send_to_channels` (async, the layer's own pools: web processes) and
`send_to_channels_sync` (redis-py's blocking client on the same servers: Celery workers, which
have no event loop, and where async_to_sync would start one and a new connection per event).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

import redis
from channels_redis.core import RedisChannelLayer

from tweethub.redis import Role, client_for, script
from tweethub.rediskeys import KeyFamily

logger = logging.getLogger(__name__)
CATCH_UP = {"type": "live.catch_up"}
READ_MARGIN_SECONDS = 3  # how much longer a read may wait than the layer's blocking pop
# channels-redis's keys, under the prefix settings.CHANNEL_LAYERS gives it ("live:"). Never purged:
# messages on their way, and the groups of sockets open right now.
REDIS_KEYS = (
    KeyFamily(
        key="live:specific.<process>!",
        role=Role.CHANNELS,
        holds="one web process's channel-layer inbox: messages for its sockets (`LIVE_MESSAGE_EXPIRY`)",
        rebuilt_by="nothing to rebuild: its sockets catch up from Postgres once Redis answers again",
    ),
    KeyFamily(
        key="live:specific.<process>!$inflight",
        role=Role.CHANNELS,
        holds="channels-redis's copy of a message being handed to the process (until it is taken)",
        rebuilt_by="n/a",
    ),
    KeyFamily(
        key="live::group:session.<digest>",
        role=Role.CHANNELS,
        holds="the channels of one session's sockets (channels-redis group, one day)",
        rebuilt_by="nothing to rebuild; the sweep re-checks every socket's session anyway",
    ),
)

# KEYS: the process inboxes. ARGV: one message per inbox, then one capacity per inbox, then now
# (epoch seconds) and the expiry (seconds). Drops messages older than the expiry (as the layer's
# own sends do, there in a separate round trip), then adds each message unless its inbox is full.
# Returns the 1-based positions of the full inboxes.
_SEND = """
local n = #KEYS
local now, expiry = tonumber(ARGV[2 * n + 1]), tonumber(ARGV[2 * n + 2])
local full = {}
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, now - expiry)
  if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
    redis.call('ZADD', KEYS[i], now, ARGV[i])
    redis.call('EXPIRE', KEYS[i], expiry)
  else
    full[#full + 1] = i
  end
end
return full
"""


class RoutedRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """RedisChannelLayer plus sends addressed to many channels at once, bundled per process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Shorter channel names: channels-redis makes them from two UUIDs ("specific.<32 hex>!<32
        # hex>", 74 characters), and every name travels three times per event (presence to the
        # sender, the sender into the message, the message to the process): at 10,000 recipients
        # that was most of an event's bytes (bench section "live"). 48 random bits tell the
        # processes apart; within one, a counter tells its sockets apart.
        self.client_prefix = secrets.token_hex(6)
        self._local_ids = itertools.count(1)
        # An idle inbox's read is one BZPOPMIN that Redis answers after brpop_timeout (5 s) with
        # nothing. redis-py's own read timeout is also 5 s by default, so the read used to fail
        # at the same instant: the socket was told to catch up for nothing, and a message Redis
        # popped just then was lost with the connection (channels-redis writes its in-flight copy
        # only after the reply), for every socket it named. The read must outlast the pop; a
        # hung Redis is still noticed, a few seconds later.
        for host in self.hosts:
            host.setdefault("socket_timeout", self.brpop_timeout + READ_MARGIN_SECONDS)

    async def new_channel(self, prefix: str = "specific") -> str:
        return f"{prefix}.{self.client_prefix}!{next(self._local_ids):x}"

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            message: dict[str, Any] = await super().receive(channel)
            return message
        except (redis.RedisError, OSError) as error:
            logger.warning("channel layer: receive failed (%s); waiting for Redis", error)
        index = self.consistent_hash(self.non_local_name(channel))
        backoff = 0.5
        while True:
            await asyncio.sleep(backoff)
            try:
                await self.connection(index).ping()
                return dict(CATCH_UP)
            except (redis.RedisError, OSError):
                backoff = min(backoff * 2, 10.0)

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        """The layer's blocking pop, refusing to run for a task whose cancellation was swallowed.

        Python 3.11's asyncio.wait_for returns the inner result instead of raising when it is
        cancelled just as the inner call finishes (CPython gh-86296, fixed in 3.12), and redis-py
        sends every command under wait_for: a consumer cancelled at that instant (a socket closed,
        a loop shutting down) carries on with its cancellation pending, and channels-redis's
        receive loops on empty pops for good. Before the read outlasted the pop, the read's own
        timeout ended that loop by accident; now nothing would. The task still says it is being
        cancelled (Task.cancelling()), so honour it here, before the pop and after it: a message
        already popped stays in the layer's in-flight copy, which the next receive puts back.
        """
        self._raise_if_cancelling()
        member = await super()._brpop_with_clean(index, channel, timeout)
        self._raise_if_cancelling()
        return member

    @staticmethod
    def _raise_if_cancelling() -> None:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError

    def _bundles(self, channels: Sequence[str], message: dict[str, Any]) -> list[tuple[int, list[str], list[Any]]]:
        """Per Redis host: (host index, inbox keys, ARGV for _SEND)."""
        by_host, payloads, capacities = self._map_channel_keys_to_connection(list(channels), message)
        now = time.time()
        return [
            (
                index,
                keys,
                [*(payloads[key] for key in keys), *(capacities[key] for key in keys), now, int(self.expiry)],
            )
            for index, keys in by_host.items()
        ]

    def _channels_in(self, full_keys: list[str], channels: Sequence[str]) -> list[str]:
        """The channel names whose inbox is among `full_keys`."""
        full = set(full_keys)
        return [name for name in channels if self.prefix + self.non_local_name(name) in full]

    async def send_to_channels(self, channels: Sequence[str], message: dict[str, Any]) -> list[str]:
        """Send `message` to each of `channels` (specific channel names), one message per process
        inbox, one Redis round trip per layer host. Returns the channels it could not reach (their
        process's inbox was full): nothing raised for them, the caller decides."""
        assert "__asgi_channel__" not in message
        full: list[str] = []
        for index, keys, args in self._bundles(channels, message):
            positions = await self.connection(index).eval(_SEND, len(keys), *keys, *args)
            full += [keys[int(position) - 1] for position in positions]
        return self._channels_in(full, channels)

    def send_to_channels_sync(self, channels: Sequence[str], message: dict[str, Any]) -> list[str]:
        """`send_to_channels` from synchronous code (Celery tasks), on redis-py's blocking client."""
        assert "__asgi_channel__" not in message
        full: list[str] = []
        for index, keys, args in self._bundles(channels, message):
            client = client_for(self.hosts[index]["address"])
            positions = script(client, _SEND)(keys=keys, args=args)
            full += [keys[int(position) - 1] for position in positions]
        return self._channels_in(full, channels)

    def group_channels_sync(self, group: str) -> list[str]:
        """The channels of a group, as `group_send` reads them (members older than group_expiry
        dropped first), from synchronous code: for a send to them with send_to_channels_sync."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        client = client_for(self.hosts[self.consistent_hash(group)]["address"])
        pipe = client.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = pipe.execute()
        return [member.decode() for member in members]

    @staticmethod
    def process_of(channel: str) -> str:
        """The process part of a specific channel name (its inbox): 'specific.<prefix>!'."""
        return channel.partition("!")[0] + "!"

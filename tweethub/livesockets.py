"""This web process's open websockets: presence, and a sweep that keeps them honest.

Delivery is the channel layer's (channels-redis, tweethub.channel_layer): each socket is a consumer
with its own channel name, and events reach it through its process's inbox. What the layer cannot
know is kept here, one registry per event loop (tests run several loops):

- Presence: which users have sockets here, under which channel names (tweethub.presence), written
  as sockets join and leave, so senders address exactly the processes holding recipients.
- The sweep, every LIVE_SWEEP_SECONDS:
  - presence checked (one round trip) and written back whole when Redis lost it (issue 17: after
    a FLUSHALL open pages silently stopped receiving live tweets); those sockets are then told to
    catch up, since events sent meanwhile found nobody;
  - the channels a sender could not reach (their inbox was full: tweethub.realtime records them)
    are told to catch up, and only those;
  - the sessions of all sockets re-checked in batches: an expired session, or one deleted while no
    announcement could reach its sockets, closes them within a sweep (issue 17).

"Catch up" is an event, not a reconnect: the page asks for what it missed since its newest item,
after a random delay within CATCH_UP_SPREAD_SECONDS, so a thousand sockets told at once reach
Postgres spread over that window, not in one burst.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Protocol

import redis
from channels.db import database_sync_to_async
from django.conf import settings

from tweethub import presence
from tweethub.redis import Role, counters
from tweethub.rediskeys import KeyFamily

# Sessions re-checked per call of the sweep (one Redis round trip each batch).
SWEEP_BATCH = 500
# Channels whose sender found their inbox full: set per process inbox, drained by that process.
MISSED_PREFIX = "ws:missed:"
REDIS_KEYS = (
    KeyFamily(
        key=f"{MISSED_PREFIX}<process inbox>",
        role=Role.COUNTERS,
        holds="channels a send found full (1 h), told to catch up at their process's next sweep",
        rebuilt_by="n/a: read and cleared by that process's next sweep",
    ),
)
logger = logging.getLogger(__name__)


class Receiver(Protocol):
    # The key of the session the socket was opened with, and the socket's channel name.
    session_key: str
    channel_name: str

    async def catch_up(self) -> None: ...

    async def session_ended(self, *, reconnect: bool) -> None: ...

    # Which of these (session key, user id) pairs still hold a live session, in order: the sweep's
    # batched check. Supplied by the receivers' class (accounts.consumers), so this module, which
    # sits below accounts, never imports the session rules.
    @staticmethod
    def sessions_alive(*, sockets: Sequence[tuple[str, int]]) -> list[bool]: ...


def session_group(session_key: str) -> str:
    """The channel-layer group of the sockets opened with a session. Named by a digest: a group
    name is stored in Redis, and the key itself is a credential."""
    return "session." + hashlib.sha256(f"tweethub.live:{session_key}".encode()).hexdigest()[:32]


def session_digest(session_key: str) -> str:
    return session_group(session_key).removeprefix("session.")


def missed_key(process_inbox: str) -> str:
    return MISSED_PREFIX + process_inbox


def record_missed(channels: Iterable[str]) -> None:
    """Remember channels an event could not reach, under their process, for its next sweep. One
    round trip. Best effort: a failure is logged (those sockets catch up at their next reconnect)."""
    by_process: dict[str, list[str]] = defaultdict(list)
    for name in channels:
        by_process[name.partition("!")[0] + "!"].append(name)
    if not by_process:
        return
    try:
        pipe = counters().pipeline(transaction=False)
        for process, names in by_process.items():
            pipe.sadd(missed_key(process), *names)
            pipe.expire(missed_key(process), 3600)  # a process gone for good leaves nothing behind
        pipe.execute()
    except (redis.RedisError, OSError):
        logger.warning(
            "live events: %d channels missed an event and could not be told", sum(map(len, by_process.values()))
        )


def sweep_seconds() -> float:
    """settings.LIVE_SWEEP_SECONDS, read at each sweep (tests shorten it per test)."""
    return float(settings.LIVE_SWEEP_SECONDS)


class LiveSockets:
    def __init__(self) -> None:
        self.sockets: dict[int, set[Receiver]] = defaultdict(set)
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs until done (asyncio keeps weak ones)
        self.presence = presence.ProcessShare()
        # Presence writes carry the channels read just before: one at a time, so none is overtaken.
        self._presence_lock = asyncio.Lock()
        self._presence_dirty = False  # a write failed: what Redis holds is unknown
        self._healing: asyncio.Task[None] | None = None

    async def join(self, user_id: int, receiver: Receiver) -> None:
        """Register a socket under its user and count it in presence. Redis down: it joins anyway
        (the sweep writes presence back, and tells it to catch up)."""
        self.sockets[user_id].add(receiver)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep(), name="livesockets-sweep")
        await self._write_presence(user_id)

    async def leave(self, user_id: int, receiver: Receiver) -> None:
        """Forget a socket (idempotent) and count it out of presence."""
        receivers = self.sockets.get(user_id)
        if receivers is not None:
            receivers.discard(receiver)
            if not receivers:
                del self.sockets[user_id]
        await self._write_presence(user_id)

    def _channels(self, user_id: int) -> list[str]:
        return [receiver.channel_name for receiver in self.sockets.get(user_id, ())]

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def redis_came_back(self) -> None:
        """The channel layer lost Redis and has it again (tweethub.channel_layer): Redis may have
        restarted empty, taking presence with it, and waiting for the sweep to notice would leave
        these users looking offline for up to LIVE_SWEEP_SECONDS. The whole share is written back
        now, once for all the sockets that report it (their pages catch up after a random delay,
        by when presence is back: what is posted meanwhile reaches them live)."""
        self._presence_dirty = True
        if self._healing is None or self._healing.done():
            self._healing = asyncio.create_task(self._check_presence(), name="livesockets-heal")

    async def _catch_up_all(self, receivers: Iterable[Receiver]) -> int:
        told = 0
        for receiver in receivers:
            self._spawn(receiver.catch_up())
            told += 1
        return told

    # --- The sweep: presence, missed events and sessions, every LIVE_SWEEP_SECONDS ----------------

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(sweep_seconds())
            await self.sweep_once()

    async def sweep_once(self) -> None:
        await self._check_presence()
        try:
            await self.tell_missed()
        except (redis.RedisError, OSError):
            logger.warning("live events: missed deliveries not read", exc_info=True)
        try:
            await self.recheck_sessions()
        except Exception:  # Redis and Postgres both unreachable, say: try again next period
            logger.warning("live events: sessions of open sockets not re-checked", exc_info=True)

    async def _write_presence(self, user_id: int) -> None:
        async with self._presence_lock:
            try:
                await self.presence.write({user_id: self._channels(user_id)})
            except (redis.RedisError, OSError):
                self._presence_dirty = True  # the sweep writes the whole share back
                logger.warning("presence not updated for user %s; rewritten by the sweep", user_id)

    async def _check_presence(self) -> None:
        """One small round trip when all is well. When Redis lost this process's share of presence
        (a flush, a restart, this process taken for dead) its users looked offline, so fan-out sent
        them nothing meanwhile: the share is written back and the sockets told to catch up, which
        also has their feeds rebuilt. After a write that failed, the whole share is written back."""
        lost = False
        async with self._presence_lock:
            try:
                present = await self.presence.check(stale_seconds=presence.STALE_SWEEPS * sweep_seconds())
                channels = {
                    user_id: self._channels(user_id) for user_id, receivers in self.sockets.items() if receivers
                }
                lost = bool(channels) and not present
                if lost or self._presence_dirty:
                    await self.presence.write(channels, whole=True)
                    self._presence_dirty = False
            except (redis.RedisError, OSError):
                self._presence_dirty = True
                logger.warning("presence not checked: Redis unavailable", exc_info=True)
        if lost:
            logger.warning("live events: presence was lost in Redis (flushed, or restarted empty?)")
            await self._catch_up_all(receiver for receivers in self.sockets.values() for receiver in receivers)

    async def tell_missed(self) -> int:
        """Tell the sockets of this process that an event could not reach to catch up; returns how
        many. One round trip per process inbox in use (one, in production)."""
        inboxes = {receiver.channel_name.partition("!")[0] + "!" for rs in self.sockets.values() for receiver in rs}
        if not inboxes:
            return 0
        missed: set[str] = set()
        client = self.presence.client
        for inbox in inboxes:
            async with client.pipeline(transaction=True) as pipe:
                pipe.smembers(missed_key(inbox))
                pipe.delete(missed_key(inbox))
                members, _ = await pipe.execute()
            missed |= {member.decode() for member in members}
        if not missed:
            return 0
        receivers = [receiver for rs in self.sockets.values() for receiver in rs if receiver.channel_name in missed]
        logger.warning(
            "live events: %d sockets missed an event (inbox full); telling them to catch up", len(receivers)
        )
        return await self._catch_up_all(receivers)

    async def recheck_sessions(self) -> int:
        """Close the sockets whose session ended without telling this process (expired, deleted
        while no announcement reached it, or by hand); returns how many."""
        sockets = [(receiver, user_id) for user_id, receivers in self.sockets.items() for receiver in receivers]
        closed = 0
        for start in range(0, len(sockets), SWEEP_BATCH):
            batch = sockets[start : start + SWEEP_BATCH]
            # One check per kind of receiver (in production one kind: one call per batch).
            by_check: dict[Any, list[tuple[Receiver, int]]] = defaultdict(list)
            for receiver, user_id in batch:
                by_check[type(receiver).sessions_alive].append((receiver, user_id))
            for check, group in by_check.items():
                alive = await database_sync_to_async(check)(
                    sockets=[(receiver.session_key, user_id) for receiver, user_id in group]
                )
                for (receiver, _), ok in zip(group, alive, strict=True):
                    if not ok:
                        self._spawn(receiver.session_ended(reconnect=False))
                        closed += 1
        return closed


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveSockets] = weakref.WeakKeyDictionary()


def live_sockets() -> LiveSockets:
    """This event loop's registry (one per web process in production)."""
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = LiveSockets()
    return _registries[loop]

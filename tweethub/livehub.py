"""The receiving end of live events in each web process: one Redis subscription for all sockets.

Why not a channel-layer group per user (the first design): a tweet reaching 1,000 online
followers cost the worker 1,000 sequential group_send calls (~1 s), put 1,000 messages per web
process into one channels_redis queue whose capacity then dropped the excess, and `make bench`
saw a delivery p99 of 16 s with 2-4% of events lost. Now tweethub.realtime PUBLISHes ONE message
per event carrying its recipients' ids; every web process hears it once, here, and hands it to its
own sockets of those users. Who receives what is still decided by services: a socket is registered
under its authenticated user only, and gets only the events that list that user.

Pub/sub forgets what nobody heard, so a subscription that broke (Redis restarted) closes every
registered socket with 1012 once it is back: browsers reconnect and catch up from Postgres
(timelines.live), so nothing is missed. One hub per event loop (tests run several loops).

The hub also keeps this process's share of presence in Redis (tweethub.presence): written as its
sockets join and leave, and checked every LIVE_SWEEP_SECONDS by a sweep, which writes it back when
Redis lost it (issue 17: after a FLUSHALL open pages silently stopped receiving live tweets).

Sessions end, sockets close (issue 17: a socket opened with a stolen cookie outlived logout and a
password change). The hub also listens on SESSIONS_CHANNEL, where `sessions_ended` announces
sessions that are gone (logout, a rotated key: accounts.sessions; every session of a user:
accounts.sessions_end). A socket is registered under its session too, by a digest of the key, so
session keys never travel over pub/sub. A missed announcement (the subscription was down) is
covered twice: the hub resyncs every socket when its subscription is back, which re-authenticates
them, and the sweep re-checks the sessions of all its sockets in batches (which is also how an
expired session's socket closes). A later issue moves live events to channels-redis; this channel
is the one piece to carry over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import weakref
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, Protocol

import redis
import redis.asyncio
from channels.db import database_sync_to_async
from django.conf import settings

from tweethub import presence
from tweethub.redis import Role, channels, url
from tweethub.rediskeys import KeyFamily

CHANNEL = "live:events"
# "These sessions ended: close their sockets." {"ended": [digest], "moved": [digest], "user": id or
# null, "keep": digest or null}: "user" ends every socket of that user but those of "keep";
# "moved" sockets close with CLOSE_SERVICE_RESTART (their browser holds the session's new key).
SESSIONS_CHANNEL = "live:sessions"
CLOSE_SERVICE_RESTART = 1012  # RFC 6455: the client should reconnect (and catch up)
# Sessions re-checked per call of the sweep (one Redis round trip each batch).
SWEEP_BATCH = 500

# Pub/sub channels: names, never stored keys.
REDIS_KEYS = (
    KeyFamily(
        key=CHANNEL,
        role=Role.CHANNELS,
        holds="pub/sub channel (no stored data): one message per live event, naming its recipients",
        rebuilt_by=(
            "nothing to rebuild; a web process whose subscription broke makes its sockets reconnect and catch up"
        ),
        channel=True,
    ),
    KeyFamily(
        key=SESSIONS_CHANNEL,
        role=Role.CHANNELS,
        holds='pub/sub channel (no stored data): "these sessions ended", heard by every web process',
        rebuilt_by="nothing to rebuild; the sweep re-checks every socket's session anyway",
        channel=True,
    ),
)
logger = logging.getLogger(__name__)


class Receiver(Protocol):
    # The key of the session the socket was opened with.
    session_key: str

    async def deliver(self, event: str, payload: dict[str, Any]) -> None: ...

    async def resync(self) -> None: ...

    async def session_ended(self, *, reconnect: bool) -> None: ...

    # Which of these (session key, user id) pairs still hold a live session, in order: the sweep's
    # batched check. Supplied by the receivers' class (accounts.consumers), so this module, which
    # sits below accounts, never imports the session rules.
    @staticmethod
    def sessions_alive(*, sockets: Sequence[tuple[str, int]]) -> list[bool]: ...


def session_digest(session_key: str) -> str:
    """What names a session on SESSIONS_CHANNEL: the key itself is a credential."""
    return hashlib.sha256(f"tweethub.livehub:{session_key}".encode()).hexdigest()[:32]


def sessions_ended(
    *,
    ended: Iterable[str] = (),
    moved: Iterable[str] = (),
    user_id: int | None = None,
    keep: str | None = None,
) -> None:
    """Close, in every web process, the sockets opened with the `ended` session keys (4401) or
    the `moved` ones (1012: reconnect with the new key), and, given `user_id`, every socket of that
    user but those opened with `keep`. Call after the sessions are deleted. One PUBLISH.

    Best effort, like every live event: a failure is logged, and the sockets still close at their
    next message or the next sweep, which find the session gone."""
    message = {
        "ended": [session_digest(key) for key in ended],
        "moved": [session_digest(key) for key in moved],
        "user": user_id,
        "keep": session_digest(keep) if keep else None,
    }
    try:
        channels().publish(SESSIONS_CHANNEL, json.dumps(message, separators=(",", ":")))
    except (redis.RedisError, OSError):
        logger.warning("sessions ended, but the web processes were not told (sweep closes their sockets)")


def sweep_seconds() -> float:
    """settings.LIVE_SWEEP_SECONDS, read at each sweep (tests shorten it per test)."""
    return float(settings.LIVE_SWEEP_SECONDS)


class Hub:
    def __init__(self) -> None:
        self.sockets: dict[int, set[Receiver]] = defaultdict(set)
        self.by_session: dict[str, set[Receiver]] = defaultdict(set)
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs until done (asyncio keeps weak ones)
        self.presence = presence.ProcessShare()
        # Presence writes carry the count read just before: one at a time, so none is overtaken.
        self._presence_lock = asyncio.Lock()
        self._presence_dirty = False  # a write failed: what Redis holds is unknown

    async def join(self, user_id: int, receiver: Receiver, *, wait: float = 3.0) -> None:
        """Register a socket under its user and session, and count it in presence. Waits (bounded)
        until the subscription is live, so an event sent after the socket was accepted is never
        missed; Redis down: it joins anyway, and the resync after the subscription comes back makes
        the browser catch up (presence is written back by the sweep)."""
        self.sockets[user_id].add(receiver)
        self.by_session[session_digest(receiver.session_key)].add(receiver)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="livehub")
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep(), name="livehub-sweep")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=wait)
        except TimeoutError:
            logger.warning("live events: subscription not ready, socket of user %s joins anyway", user_id)
        await self._write_presence(user_id)

    async def leave(self, user_id: int, receiver: Receiver) -> None:
        """Forget a socket (idempotent) and count it out of presence."""
        receivers = self.sockets.get(user_id)
        if receivers is not None:
            receivers.discard(receiver)
            if not receivers:
                del self.sockets[user_id]
        digest = session_digest(receiver.session_key)
        same_session = self.by_session.get(digest)
        if same_session is not None:
            same_session.discard(receiver)
            if not same_session:
                del self.by_session[digest]
        await self._write_presence(user_id)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def dispatch(self, raw: bytes | str) -> int:
        """Hand one published event to this process's sockets of its recipients; returns how
        many sockets got it. Each delivery is its own task: a slow client delays nobody else."""
        message = json.loads(raw)
        recipients: list[int] = message["to"]
        local = self.sockets
        if len(recipients) > len(local):  # walk the smaller side
            wanted = set(recipients)
            targets = [receiver for user_id, rs in local.items() if user_id in wanted for receiver in rs]
        else:
            targets = [receiver for user_id in recipients for receiver in local.get(user_id, ())]
        for receiver in targets:
            self._spawn(receiver.deliver(message["event"], message["payload"]))
        return len(targets)

    def end_sessions(self, raw: bytes | str) -> int:
        """Close this process's sockets of the sessions a SESSIONS_CHANNEL message names; returns
        how many. Each close is its own task, created in message order: an event published after
        the announcement is handed to the socket after its close began (and dropped by it)."""
        message = json.loads(raw)
        closing: dict[Receiver, bool] = {}  # receiver -> reconnect
        for digest in message.get("moved") or ():
            for receiver in self.by_session.get(digest, ()):
                closing.setdefault(receiver, True)
        for digest in message.get("ended") or ():
            for receiver in self.by_session.get(digest, ()):
                closing.setdefault(receiver, False)
        if message.get("user") is not None:
            keep = message.get("keep")
            for receiver in self.sockets.get(int(message["user"]), ()):
                if session_digest(receiver.session_key) != keep:
                    closing.setdefault(receiver, False)
        for receiver, reconnect in closing.items():
            self._spawn(receiver.session_ended(reconnect=reconnect))
        return len(closing)

    async def _listen(self) -> None:
        backoff, broken = 0.5, False
        while True:
            client = redis.asyncio.Redis.from_url(
                url(Role.CHANNELS),
                # No read timeout: a quiet channel is normal. A dead server closes the socket.
                socket_timeout=None,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            )
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL, SESSIONS_CHANNEL)  # one command: both or neither
                    await pubsub.get_message(timeout=settings.REDIS_SOCKET_TIMEOUT)  # the confirmation
                    self._ready.set()
                    backoff = 0.5
                    if broken:
                        await self._resync_all()
                        broken = False
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._safe_dispatch(message["channel"], message["data"])
            except Exception as error:  # whatever broke it, the hub must come back
                self._ready.clear()
                broken = True
                logger.warning(
                    "live events: subscription lost (%s), retrying in %.1f s", error, backoff, exc_info=True
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await client.aclose()

    def _safe_dispatch(self, channel: bytes | str, raw: bytes) -> None:
        try:
            if channel in (SESSIONS_CHANNEL, SESSIONS_CHANNEL.encode()):
                self.end_sessions(raw)
            else:
                self.dispatch(raw)
        except (ValueError, KeyError, TypeError):
            logger.exception("live events: malformed message dropped")

    async def _resync_all(self) -> None:
        receivers = [receiver for rs in self.sockets.values() for receiver in rs]
        logger.info("live events: asking %d sockets to reconnect and catch up", len(receivers))
        await asyncio.gather(*(receiver.resync() for receiver in receivers), return_exceptions=True)

    # --- The sweep: presence and sessions, every LIVE_SWEEP_SECONDS ------------------------------

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(sweep_seconds())
            await self._check_presence()
            try:
                await self.recheck_sessions()
            except Exception:  # Redis and Postgres both unreachable, say: try again next period
                logger.warning("live events: sessions of open sockets not re-checked", exc_info=True)

    async def _write_presence(self, user_id: int) -> None:
        async with self._presence_lock:
            try:
                await self.presence.write({user_id: len(self.sockets.get(user_id, ()))})
            except (redis.RedisError, OSError):
                self._presence_dirty = True  # the sweep writes the whole share back
                logger.warning("presence not updated for user %s; rewritten by the sweep", user_id)

    async def _check_presence(self) -> None:
        """One small round trip when all is well. When Redis lost this process's share of presence
        (a flush, a restart, this process taken for dead) its users looked offline, so fan-out sent
        them nothing meanwhile: the share is written back, and the sockets are asked to reconnect
        and catch up (as after a broken subscription), which also has their feeds rebuilt. After a
        write that failed, the whole share is written back."""
        lost = False
        async with self._presence_lock:
            try:
                present = await self.presence.check(stale_seconds=presence.STALE_SWEEPS * sweep_seconds())
                counts = {user_id: len(receivers) for user_id, receivers in self.sockets.items() if receivers}
                lost = bool(counts) and not present
                if lost or self._presence_dirty:
                    await self.presence.write(counts, whole=True)
                    self._presence_dirty = False
            except (redis.RedisError, OSError):
                self._presence_dirty = True
                logger.warning("presence not checked: Redis unavailable", exc_info=True)
        if lost:
            logger.warning("live events: presence was lost in Redis (flushed, or restarted empty?)")
            await self._resync_all()

    async def recheck_sessions(self) -> int:
        """Close the sockets whose session ended without telling this process (expired, deleted
        while the subscription was down, or by hand); returns how many."""
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


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (one per web process in production)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]

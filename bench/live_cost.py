"""Part 2 of section "live" (bench/live.py): Redis commands, messages and bytes per live event, for
a number of recipients over a number of stand-in web processes, on whichever live design the code
has (routed: channels-redis inboxes; hub: one PUBLISH heard by every process). Counted from INFO
stats and commandstats deltas, INFO's own share removed; no server runs."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings

from bench import realtime
from bench.data import ensure_users

if TYPE_CHECKING:  # the routed design's; imported where it runs, as the hub's code has another
    from tweethub.presence import ProcessShare

# Recipients: ids no seeded user has (7 digits, as at 1M users).
FIRST_USER_ID = 1_000_000
SHARE_PREFIX = "ws:online:"  # presence: a web process's share (both designs)
PROCESSES = "ws:procs"  # presence: web processes, by last write (both designs)


def design() -> str:
    return "hub" if importlib.util.find_spec("tweethub.livehub") else "routed"


@dataclass
class Sample:
    """One interval's counts on the Redis server (INFO's own share taken out)."""

    commands: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0

    def __add__(self, other: Sample) -> Sample:
        return Sample(self.commands + other.commands, self.bytes_in + other.bytes_in, self.bytes_out + other.bytes_out)


class Meter:
    """Counts what the Redis server did between two calls of `mark`, from INFO stats and
    commandstats (no MONITOR): the INFO call's own command and bytes, measured on idle intervals,
    are taken out."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.last = self._read()
        idle = []
        for _ in range(7):
            self.last = self._read()
            idle.append(self.mark(raw=True))
        self.in_overhead = int(statistics.median(s.bytes_in for s in idle))
        self.out_overhead = int(statistics.median(s.bytes_out for s in idle))
        self.last = self._read()

    def _read(self) -> tuple[dict[str, int], int, int]:
        info = self.client.info("stats", "commandstats")
        calls = {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in info.items()
                 if name.startswith("cmdstat_")}  # fmt: skip
        return calls, int(info["total_net_input_bytes"]), int(info["total_net_output_bytes"])

    def mark(self, *, raw: bool = False) -> Sample:
        """What happened since the last mark (INFO's share removed unless `raw`)."""
        now = self._read()
        (calls0, in0, out0), (calls1, in1, out1) = self.last, now
        self.last = now
        commands = Counter({name: count - calls0.get(name, 0) for name, count in calls1.items()})
        commands.pop("info", None)
        sample = Sample(+commands, in1 - in0, out1 - out0)
        if not raw:
            sample.bytes_in -= self.in_overhead
            sample.bytes_out -= self.out_overhead
        return sample

    def close(self) -> None:
        self.client.close()


class Routed:
    """W stand-in web processes of the routed design: each an inbox, its recipients' channels in
    presence (written by a ProcessShare per process, as the processes do), and a reader."""

    def __init__(self, processes: int, user_ids: list[int]) -> None:
        from tweethub import realtime as live

        self.layer = live.layer()
        # Real names, made by one layer per stand-in process as the web processes' layers make them.
        self.loop = asyncio.new_event_loop()
        layers = [channel_layers.make_backend(DEFAULT_CHANNEL_LAYER) for _ in range(processes)]
        self.inboxes = [self.loop.run_until_complete(layer.new_channel()).partition("!")[0] + "!" for layer in layers]
        self.user_ids = user_ids
        self.channels = {
            uid: self.loop.run_until_complete(layers[n % processes].new_channel()) for n, uid in enumerate(user_ids)
        }
        # One loop for the stand-ins' presence writes, setup to teardown (their async clients are bound to it).
        self.shares = self.loop.run_until_complete(self._shares(processes))
        self.loop.run_until_complete(self._write(online=True))
        self.readers = [redis.Redis.from_url(settings.CHANNELS_REDIS_URL) for _ in range(processes)]
        self.held = {inbox for inbox in self.inboxes if any(c.startswith(inbox) for c in self.channels.values())}

    @staticmethod
    async def _shares(processes: int) -> list[ProcessShare]:
        from tweethub import presence

        return [presence.ProcessShare() for _ in range(processes)]

    async def _write(self, *, online: bool) -> None:
        for w, share in enumerate(self.shares):
            inbox = self.inboxes[w]
            await share.write(
                {uid: [name] if online else [] for uid, name in self.channels.items() if name.startswith(inbox)}
            )

    def send(self, payload: dict[str, Any]) -> None:
        from tweethub import realtime as live

        live.send_now(event="tweet.new", payload=payload, user_ids=self.user_ids)

    def receive(self) -> tuple[int, int]:
        """Each process reads its inbox once, as the layer does (BZPOPMIN). Returns (messages read,
        recipients' channel names they carried, each counted once: a name that is not a recipient's
        or repeats is not counted)."""
        messages, names = 0, []
        for inbox, reader in zip(self.inboxes, self.readers, strict=True):
            if inbox not in self.held:
                continue
            popped = reader.bzpopmin(self.layer.prefix + inbox, timeout=5)
            if popped is None:
                continue
            messages += 1
            names += self.layer.deserialize(popped[1])["__asgi_channel__"]
        return messages, len(set(names) & set(self.channels.values())) - (len(names) - len(set(names)))

    def close(self) -> None:
        self.loop.run_until_complete(self._close())
        self.loop.close()
        keys = [self.layer.prefix + inbox for inbox in self.inboxes]
        self.readers[0].delete(*keys)
        for reader in self.readers:
            reader.close()

    async def _close(self) -> None:
        from tweethub import presence

        await self._write(online=False)
        for share in self.shares:
            await share.client.zrem(presence.PROCESSES, share.process_id)
            await share.close()


class Hub:
    """W stand-in web processes of the hub design: W subscribers of its channel; the recipients
    counted online in presence."""

    def __init__(self, processes: int, user_ids: list[int]) -> None:
        from tweethub.redis import feeds

        livehub: Any = importlib.import_module("tweethub.livehub")
        self.user_ids = user_ids
        self.feeds = feeds()
        pipe = self.feeds.pipeline(transaction=False)
        for uid in user_ids:
            pipe.zincrby("ws:online", 1, str(uid))
        pipe.execute()
        self.clients = [redis.Redis.from_url(settings.CHANNELS_REDIS_URL) for _ in range(processes)]
        self.subscribers = [client.pubsub() for client in self.clients]  # type: ignore[no-untyped-call]
        for subscriber in self.subscribers:
            subscriber.subscribe(livehub.CHANNEL)
            while subscriber.get_message(timeout=5) is None:  # the subscribe confirmation
                pass

    def send(self, payload: dict[str, Any]) -> None:
        presence: Any = importlib.import_module("tweethub.presence")
        live: Any = importlib.import_module("tweethub.realtime")
        online = presence.online_among(self.user_ids)  # as timelines.announce did, then send_now
        live.send_now(event="tweet.new", payload=payload, user_ids=online)

    def receive(self) -> tuple[int, int]:
        messages, ids = 0, 0
        for subscriber in self.subscribers:
            message = subscriber.get_message(timeout=5)
            if message is None or message["type"] != "message":
                continue
            messages += 1
            ids += len(json.loads(message["data"])["to"])
        return messages, ids

    def close(self) -> None:
        for subscriber, client in zip(self.subscribers, self.clients, strict=True):
            subscriber.close()
            client.close()
        self.feeds.zrem("ws:online", *[str(uid) for uid in self.user_ids])


@dataclass
class Cost:
    events: int
    sender: Sample
    readers: Sample
    messages: int  # messages the processes read, all events
    addressed: int  # recipients named in what they read (routed: channel names; hub: user ids)
    expected_messages: int

    def per_event(self, value: float) -> float:
        return value / self.events

    @property
    def total(self) -> Sample:
        return self.sender + self.readers


def payload() -> dict[str, Any]:
    """A tweet.new payload as fan-out sends it: a real tweet of 140 characters, rendered."""
    from timelines.announce import render_tweet
    from tweets import cards
    from tweets.models import Tweet

    (author,) = ensure_users([realtime.AUTHOR])
    tweet = Tweet.objects.create(author=author, text=("Live cost check " + "x" * 140)[:140])
    return {"id": tweet.pk, "html": render_tweet(cards.load_from_db([tweet.pk])[tweet.pk])}


def redis_cost(processes: int, recipients: int, events: int, message: dict[str, Any]) -> Cost:
    user_ids = list(range(FIRST_USER_ID, FIRST_USER_ID + recipients))
    stand_in = Routed(processes, user_ids) if design() == "routed" else Hub(processes, user_ids)
    meter = Meter(settings.CHANNELS_REDIS_URL)
    try:
        for _ in range(2):  # warm: scripts loaded, connections open
            stand_in.send(message)
            stand_in.receive()
        meter.mark()
        sender, readers, messages, addressed = Sample(), Sample(), 0, 0
        for _ in range(events):
            stand_in.send(message)
            sender += meter.mark()
            read, named = stand_in.receive()
            readers += meter.mark()
            messages += read
            addressed += named
    finally:
        meter.close()
        stand_in.close()
    held = min(processes, recipients)  # recipients are spread round-robin over the processes
    expected = events * (held if design() == "routed" else processes)
    return Cost(events, sender, readers, messages, addressed, expected)


def commands_text(sample: Sample, events: int) -> str:
    counts = ", ".join(f"{name} {count / events:g}" for name, count in sorted(sample.commands.items()))
    return counts or "none (pub/sub pushes it)"

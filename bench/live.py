"""Section "live": issue 19's targets for live delivery, measured on whichever design the code has.

Two designs have carried live events; the section finds which one it runs on, so the same code
measures both (each on its own commit):
- "routed" (tweethub.channel_layer): channels-redis, one message per web-process inbox that holds a
  recipient, carrying the payload once and that process's channel names.
- "hub" (tweethub.livehub, until e1cfcf3): one Redis PUBLISH per event naming every recipient id,
  heard whole by every web process.

1. Delivery: 1,000 websockets spread over 2, then 4 web processes (uvicorn --workers N) with a real
   Celery worker: from the POST of a tweet to its arrival on every socket (bench/realtime.py does
   the posting and listening), p50/p99/max, and deliveries received against expected. Baseline: the
   same server, one socket open, same run.
2. Redis cost per event, for 10 and for 10,000 online recipients over W = 2 and 4 processes, with no
   server: presence says the recipients are online (routed: each with one channel name of the real
   format in one of W process inboxes; hub: counted online), and W readers stand for the web
   processes (routed: one BZPOPMIN per inbox, as the layer reads; hub: W pub/sub subscribers). The
   event goes out as the code sends it (routed: realtime.send_now, which reads presence then sends;
   hub: presence.online_among then realtime.send_now, as its timelines.announce did). Counted from
   INFO on the Redis server (commands, as INFO counts them: those a Lua script runs included; bytes
   in and out, network only), less the INFO calls' own share, split into the sender's part and the
   readers'. Baseline: the same event to ONE recipient, same W, same run. Presence and the channel
   layer share one Redis server here, so the presence lookup is in the figures (named apart in the
   notes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

import redis
import redis.asyncio
from django.conf import settings

from bench import realtime, servers
from bench.core import Context, Figure, Target, percentile
from bench.data import session_cookies
from bench.live_cost import SHARE_PREFIX, Cost, commands_text, design, payload, redis_cost
from bench.load import run_async

SECTION = "live"
P99_TARGET = Target("<=", 250, "ms")  # issue 19: p99 under 250 ms
DESCRIPTION = {
    "routed": "channels-redis, one message per process inbox holding a recipient",
    "hub": "one PUBLISH per event, heard by every process",
}


# --- 1. Delivery over W web processes ---------------------------------------------------------------


async def _socket_spread(client: redis.asyncio.Redis) -> list[int]:
    """Open sockets per web process, from the processes' own shares of presence (hub: counts per
    user; routed: channel names per user)."""
    counts = []
    async for key in client.scan_iter(match=SHARE_PREFIX + "*"):
        values = await client.hvals(key)
        counts.append(sum(int(v) if v.isdigit() else len(v.split()) for v in values))
    return sorted(counts, reverse=True)


async def _watch_spread(
    session: Coroutine[Any, Any, realtime.Outcome], sockets: int
) -> tuple[realtime.Outcome, list[int]]:
    """Run the session; meanwhile note how its sockets spread over the processes, polling only until
    all are registered (the polling must not share the measured phase)."""
    client = redis.asyncio.Redis.from_url(settings.FEEDS_REDIS_URL)
    task = asyncio.ensure_future(session)
    spread: list[int] = []
    try:
        while not task.done() and sum(spread) < sockets:
            found = await _socket_spread(client)
            if sum(found) > sum(spread):
                spread = found
            await asyncio.wait({task}, timeout=0.5)
        return await task, spread
    finally:
        await client.aclose()


def _delivery_figures(processes: int, outcome: realtime.Outcome, spread: list[int]) -> list[Figure]:
    full, one = outcome.full, outcome.baseline
    n = full.sockets
    label = f"{design()}: {n:,} websockets over {processes} web processes"
    baseline_name = f"1 socket open, same {processes}-process server and worker"
    notes = (
        f"{DESCRIPTION[design()]}; uvicorn --workers {processes}, Celery prefork worker (2 processes), one "
        f"asyncio client holding every socket, all on 2 shared cores; {full.tweets} tweets "
        f"{realtime.SPACING_SECONDS} s apart, timed from the POST to each arrival; sockets per process "
        f"(presence): {spread}; opened in {outcome.connect_seconds:.1f} s; p50 over tweets (1 socket in "
        f"brackets): POST answered {percentile(full.post_ms, 50):.0f} ms ({percentile(one.post_ms, 50):.0f}), "
        f"first socket reached {percentile(full.first_ms, 50):.0f} ms ({percentile(one.first_ms, 50):.0f}), "
        f"fan-out task {percentile(full.task_ms, 50):.0f} ms ({percentile(one.task_ms, 50):.0f}), first to "
        f"last socket {percentile(full.spread_ms, 50):.0f} ms"
        + (f"; {len(outcome.refused)} sockets REFUSED: {outcome.refused[:3]}" if outcome.refused else "")
    )
    extra = {"design": design(), "processes": processes, "sockets": n, "spread": spread, "tweets": full.tweets,
             "expected": full.expected, "delivered": full.delivered, "missing": full.missing,
             "duplicates": full.duplicates, "refused": len(outcome.refused), "post_ms": full.post_ms,
             "first_ms": full.first_ms, "spread_ms": full.spread_ms, "task_ms": full.task_ms,
             "baseline_latencies_ms": one.latencies_ms, "closed_by_server": len(full.closed),
             "server_errors": full.server_errors}  # fmt: skip
    p99 = percentile(full.latencies_ms, 99)
    met, margin = P99_TARGET.check(p99)
    lost = full.expected - full.delivered
    problems = realtime._missing_note(full)
    return [
        Figure(SECTION, f"{label}: delivery p50", round(percentile(full.latencies_ms, 50), 1), "ms",
               baseline=round(percentile(one.latencies_ms, 50), 1), baseline_name=baseline_name, notes=notes,
               extra=extra),
        Figure(SECTION, f"{label}: delivery p99", round(p99, 1), "ms",
               baseline=round(percentile(one.latencies_ms, 99), 1), baseline_name=baseline_name,
               target="p99 < 250 ms", met=bool(met) and p99 < 250, margin=margin, notes=notes, extra=extra),
        Figure(SECTION, f"{label}: delivery max", round(max(full.latencies_ms, default=0.0), 1), "ms",
               baseline=round(max(one.latencies_ms, default=0.0), 1), baseline_name=baseline_name, extra=extra),
        Figure(SECTION, f"{label}: deliveries received", full.delivered, "messages",
               baseline=full.expected, baseline_name="expected: tweets posted x sockets open",
               target="0 lost", met=lost == 0 and not full.duplicates,
               margin=f"{lost:,} lost, {full.duplicates} duplicated",
               notes=problems or "none missing, none duplicated", extra=extra),
    ]  # fmt: skip


def delivery(ctx: Context, processes: int, author_cookie: str, cookies: list[str]) -> list[Figure]:
    env = realtime.SERVER_ENV
    with (
        servers.running_server("uvicorn", ctx.port, env=env, workers=processes) as server,
        servers.running_worker() as worker,
    ):
        ctx.say(f"live: uvicorn with {processes} workers and a Celery worker are up")
        session = realtime._session(ctx, server, worker, author_cookie, cookies)
        outcome, spread = run_async(_watch_spread(session, len(cookies)))
    return _delivery_figures(processes, outcome, spread)


# --- 2. Redis cost per event ------------------------------------------------------------------------


def _cost_figures(processes: int, recipients: int, cost: Cost, one: Cost, payload_bytes: int) -> list[Figure]:
    label = f"{design()}: 1 event to {recipients:,} online recipients over {processes} processes"
    baseline_name = f"the same event to 1 recipient, {processes} processes"
    e, b = cost.events, one.events
    notes = (
        f"{DESCRIPTION[design()]}; per event over {e} events, INFO's own share removed; payload "
        f"(rendered tweet, JSON) {payload_bytes:,} B; sender (presence lookup + send): "
        f"{commands_text(cost.sender, e)}; readers: {commands_text(cost.readers, e)}; messages read "
        f"{cost.messages / e:g} per event (expected {cost.expected_messages / e:g}), recipients named in "
        f"them {cost.addressed / e:,.0f} per event; presence and channel layer on one Redis server"
    )
    extra = {"design": design(), "processes": processes, "recipients": recipients, "events": e,
             "sender_commands": dict(cost.sender.commands), "reader_commands": dict(cost.readers.commands),
             "sender_bytes_in": cost.sender.bytes_in / e, "sender_bytes_out": cost.sender.bytes_out / e,
             "reader_bytes_in": cost.readers.bytes_in / e, "reader_bytes_out": cost.readers.bytes_out / e,
             "messages": cost.messages / e, "expected_messages": cost.expected_messages / e,
             "addressed": cost.addressed / e, "payload_bytes": payload_bytes}  # fmt: skip
    total, base = cost.total, one.total
    lost = cost.expected_messages - cost.messages
    return [
        Figure(SECTION, f"{label}: Redis commands", sum(total.commands.values()) / e, "commands",
               baseline=sum(base.commands.values()) / b, baseline_name=baseline_name, notes=notes, extra=extra),
        Figure(SECTION, f"{label}: channel-layer messages read by the processes", cost.messages / e, "messages",
               baseline=one.messages / b, baseline_name=baseline_name,
               target="0 lost", met=lost == 0, margin=f"{lost} lost", extra=extra),
        Figure(SECTION, f"{label}: bytes into Redis", round(total.bytes_in / e), "B",
               baseline=round(base.bytes_in / b), baseline_name=baseline_name,
               notes=f"sender {cost.sender.bytes_in / e:,.0f} B, readers {cost.readers.bytes_in / e:,.0f} B",
               extra=extra),
        Figure(SECTION, f"{label}: bytes out of Redis", round(total.bytes_out / e), "B",
               baseline=round(base.bytes_out / b), baseline_name=baseline_name,
               notes=f"to the sender {cost.sender.bytes_out / e:,.0f} B, to the processes "
               f"{cost.readers.bytes_out / e:,.0f} B", extra=extra),
    ]  # fmt: skip


def run(ctx: Context) -> list[Figure]:
    ctx.say(f"live: design {design()!r}; preparing an author with {ctx.scale.websockets:,} followers")
    author, audience = realtime.prepare_audience(ctx.scale.websockets)
    figures: list[Figure] = []
    for processes in ctx.scale.live_processes:
        cookies = session_cookies([author, *audience])  # fresh sessions: the last run's are closed
        figures += delivery(ctx, processes, cookies[author.pk], [cookies[f.pk] for f in audience])
    message = payload()
    payload_bytes = len(json.dumps(message, separators=(",", ":")))
    for processes in ctx.scale.live_processes:
        ctx.say(f"live: Redis cost per event, {processes} processes, 1 recipient (baseline)")
        one = redis_cost(processes, 1, ctx.scale.live_events, message)
        for recipients in ctx.scale.live_recipients:
            ctx.say(f"live: Redis cost per event, {processes} processes, {recipients:,} recipients")
            cost = redis_cost(processes, recipients, ctx.scale.live_events, message)
            figures += _cost_figures(processes, recipients, cost, one, payload_bytes)
    return figures

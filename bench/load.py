"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams (uvloop when installed).

wrk and locust need root or compilers here; this client is cheap enough to share the two cores
with the server under test. It still takes CPU from the server, so absolute req/s are lower than
wrk would show on a separate machine: compare figures of the same run (ratios), not across runs.

Each of N connections loops: send GET with the given headers, read the status line, headers and
body (Content-Length or chunked), record the latency. A connection the server closes (or that
fails) is counted as an error and reopened; a response slower than the timeout is counted as a
timeout and its connection reopened. A run lasts a duration, or until a fixed number of requests
were answered (to divide the server's CPU time by).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench.core import percentile

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop: uvloop if installed (uvicorn[standard] brings
    it), else asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order (Set-Cookie may repeat)
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def cookies(self) -> dict[str, str]:
        """name -> value of every Set-Cookie in the response (attributes dropped)."""
        found = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, cookie = pair.partition("=")
                found[name.strip()] = cookie.strip()
        return found


class ConnectionClosed(Exception):
    """The server closed the connection (or answered with Connection: close)."""


async def read_response(reader: asyncio.StreamReader, *, head: bool = False) -> tuple[Response, bool]:
    """One HTTP/1.1 response from the stream; also whether the connection may be reused."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise ConnectionClosed("closed before a response") from error
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status = int(rest[:3])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    response = Response(status=status, headers=headers, body=b"")
    keep_alive = version == "HTTP/1.1" and (response.header("connection") or "").lower() != "close"
    length = response.header("content-length")
    if head or status in (204, 304) or 100 <= status < 200:
        return response, keep_alive
    if length is not None:
        response.body = await reader.readexactly(int(length))
    elif "chunked" in (response.header("transfer-encoding") or "").lower():
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from our servers: the final CRLF
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        response.body = b"".join(chunks)
    else:  # no length: the body runs to the end of the connection
        response.body = await reader.read()
        keep_alive = False
    return response, keep_alive


def build_request(method: str, path: str, *, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def fetch(
    host: str, port: int, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> Response:
    """One request on its own connection (setup steps, checks), not for load."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = build_request(method, path, host=f"{host}:{port}", headers=headers or {}, body=body)
        writer.write(request)
        response, _ = await read_response(reader, head=method == "HEAD")
        return response
    finally:
        writer.close()


@dataclass
class LoadResult:
    requests: int  # completed responses (any status)
    seconds: float
    non_2xx: int
    errors: int  # connections that failed or were closed by the server (then reopened)
    latencies_ms: list[float] = field(repr=False)
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0  # requests unanswered after the timeout (their connection is reopened)
    sent: int = 0  # requests written, warm-up included (a fixed-count run stops at its count)

    @classmethod
    def merged(cls, results: list[LoadResult]) -> LoadResult:
        """Several runs of the same load as one (counts and durations added, latencies pooled)."""
        merged = cls(requests=0, seconds=0.0, non_2xx=0, errors=0, latencies_ms=[])
        for result in results:
            merged.requests += result.requests
            merged.seconds += result.seconds
            merged.non_2xx += result.non_2xx
            merged.errors += result.errors
            merged.timeouts += result.timeouts
            merged.sent += result.sent
            merged.latencies_ms += result.latencies_ms
            merged.statuses.update(result.statuses)
        return merged

    @property
    def failed(self) -> int:
        """Requests that did not get a 2xx: other statuses, broken connections, timeouts."""
        return self.non_2xx + self.errors + self.timeouts

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)


async def _connection_loop(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    result: LoadResult,
    record_after: float,
    *,
    timeout: float,
    limit: int | None,
) -> None:
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < deadline and (limit is None or result.sent < limit):
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    result.errors += 1
                    await asyncio.sleep(0.01)
                    continue
            started = time.perf_counter()
            result.sent += 1
            try:
                writer.write(request)
                async with asyncio.timeout(timeout):
                    response, keep_alive = await read_response(reader)
            except TimeoutError:
                result.timeouts += 1
                writer.close()
                writer = None
                continue
            except (OSError, ConnectionClosed, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                writer.close()
                writer = None
                continue
            finished = time.perf_counter()
            if started >= record_after:  # responses to requests sent during warm-up are not counted
                result.requests += 1
                result.latencies_ms.append((finished - started) * 1000)
                result.statuses[response.status] += 1
                if not 200 <= response.status < 300:
                    result.non_2xx += 1
            if not keep_alive:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


async def _load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    warmup: float,
    timeout: float,
    limit: int | None,
) -> LoadResult:
    request = build_request("GET", path, host=f"{host}:{port}", headers=headers)
    result = LoadResult(requests=0, seconds=seconds, non_2xx=0, errors=0, latencies_ms=[])
    start = time.perf_counter()
    record_after = start + warmup
    deadline = record_after + seconds
    await asyncio.gather(
        *(
            _connection_loop(host, port, request, deadline, result, record_after, timeout=timeout, limit=limit)
            for _ in range(connections)
        )
    )
    # Requests still in flight at the deadline finish after it: count the time they took too.
    result.seconds = time.perf_counter() - record_after
    return result


def load(
    *,
    host: str = "127.0.0.1",
    port: int,
    path: str,
    connections: int,
    seconds: float,
    warmup: float = 1.0,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """GET `path` over `connections` keep-alive connections for `seconds` (after `warmup` seconds
    whose requests are not counted); returns counts, throughput and latencies."""
    return run_async(_load(host, port, path, headers or {}, connections, seconds, warmup, timeout, None))


def load_count(
    *,
    host: str = "127.0.0.1",
    port: int,
    path: str,
    connections: int,
    requests: int,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """Exactly `requests` GETs of `path` over `connections` keep-alive connections, all counted
    (no warm-up): what the server did in between is the work of these requests and nothing else."""
    return run_async(_load(host, port, path, headers or {}, connections, 3600.0, 0.0, timeout, requests))

"""Writes of the admin panel app: worker heartbeats and the nightly demo purge."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.db.models import Count, F, FileField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import authcache
from accounts.models import FanoutMode, User, UserStats
from adminpanel import rediskeys
from adminpanel.models import PURGE_KINDS, PurgeRun, WorkerHeartbeat
from follows.models import Follow
from mailcatcher.models import CapturedMail
from messaging.models import Conversation, Message
from tweethub.outbox import BROKER_ERRORS, task_named
from tweethub.redis import servers
from tweethub.rediskeys import KeyFamily
from tweets.models import Tweet

logger = logging.getLogger(__name__)

# Cache key held while a heartbeat asked for by heartbeat_request is on its way.
HEARTBEAT_REQUEST_KEY = "adminpanel:heartbeat-requested"


def heartbeat_record(*, worker: str) -> WorkerHeartbeat:
    """Record that `worker` is alive now. Idempotent per call; safe under concurrent workers
    (the row is created once, then updated with an atomic increment)."""
    now = timezone.now()
    with transaction.atomic():
        beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
            worker=worker, defaults={"last_seen": now, "beats": 1}
        )
        if not created:
            WorkerHeartbeat.objects.filter(pk=beat.pk).update(last_seen=now, beats=F("beats") + 1)
            beat.refresh_from_db(fields=["last_seen", "beats"])
    return beat


def heartbeat_request() -> bool:
    """Queue one heartbeat_task now, so that a worker running without beat (or just started) is
    seen as online a poll later instead of never. At most once per WORKER_HEARTBEAT_SECONDS across
    every process (a cache key taken with add()); returns whether this call queued it.

    Never waits on the broker: no publish retries, and a refused send is logged and dropped (the
    next request after the period tries again). Nothing is written here, so there is no commit to
    wait for; the task itself goes broker -> worker -> Postgres like the scheduled ones.
    """
    if not cache.add(HEARTBEAT_REQUEST_KEY, 1, timeout=settings.WORKER_HEARTBEAT_SECONDS):
        return False
    try:
        # By name: adminpanel.tasks imports this module.
        task_named("adminpanel.tasks.heartbeat_task").apply_async(retry=False)
    except BROKER_ERRORS:
        logger.warning("heartbeat request not queued: broker unreachable", exc_info=True)
        return False
    return True


# --- Demo purge ----------------------------------------------------------------------------------
#
# The purge is a maintenance operation over every app's tables, so it deletes rows wholesale here
# instead of calling each app's per-row services (tweet_delete would queue one retraction per
# tweet; user_delete one counter update per follow). It restores what those services maintain
# instead: counters are recounted from the remaining rows, and feeds are dropped from Redis to be
# rebuilt from Postgres on the next read.

# Advisory lock that keeps two purges from overlapping (any process, any machine: Postgres holds
# it). Two int4 keys, like tweets.services.PIN_LOCK_NAMESPACE (7301); the second key is unused.
PURGE_LOCK_NAMESPACE = 7302
PURGE_LOCK_KEY = 0
# Rows per delete transaction, and Redis keys per UNLINK: short transactions keep the site usable
# while a purge runs, and each batch is one progress line.
PURGE_BATCH_SIZE = 500
# COUNT hint for SCAN: keys Redis examines per call (never KEYS, which blocks the server).
REDIS_SCAN_COUNT = 1000
# Where accounts.models.avatar_path stores uploads; the purge deletes under this folder only.
AVATAR_DIR = "avatars"

# Redis keys that hold user data: the families their owners declare with `purge` (collected in
# adminpanel.rediskeys). The others stay, because the same Redis may serve them (a FLUSHDB would
# take them too): the Celery broker, the Django cache and session copies (a deleted user's session
# resolves to nobody, a staff member stays logged in), and presence (tweethub.presence), which
# counts the sockets open right now: without it, people still connected would look offline and get
# no live events until they reconnect. Entries of purged users go when their sockets close.


Progress = Callable[[str], None]


class PurgeAlreadyRunning(Exception):
    """Another purge holds the lock; this one did nothing."""

    def __init__(self) -> None:
        super().__init__("Another demo purge is running right now; nothing was done. Try again when it has finished.")


class PurgeNotAllowed(Exception):
    """A real purge was asked for outside DEMO_MODE without `force`."""

    def __init__(self) -> None:
        super().__init__("DEMO_MODE is off: this looks like a real site, so nothing was deleted.")


def _ignore(line: str) -> None:
    pass


def _purgeable_users() -> QuerySet[User]:
    # Staff and superusers are the operators' accounts: they survive (their content does not).
    return User.objects.filter(is_staff=False, is_superuser=False)


def _db_steps() -> list[tuple[str, QuerySet[Any]]]:
    """(kind, rows) in deletion order: dependants first, so each batch deletes only its own table
    (and stays a bounded statement), and users last, when little is left to cascade."""
    return [
        ("mails", CapturedMail.objects.all()),
        ("messages", Message.objects.all()),
        ("conversations", Conversation.objects.all()),
        ("follows", Follow.objects.all()),
        ("tweets", Tweet.objects.all()),
        ("users", _purgeable_users()),
    ]


@contextmanager
def _purge_lock() -> Iterator[None]:
    """Hold the purge's advisory lock, or raise PurgeAlreadyRunning.

    On a connection of its own, outside Django's pool, inside a transaction held open for the whole
    purge, with a transaction-scoped lock: it ends with that transaction, also when the process dies
    (Postgres ends the session) and behind PgBouncer in transaction mode, which keeps one server
    connection for a transaction and would have left a session-level lock on a pooled server
    connection for whoever got it next. The purge's own writes go through Django's connection.
    """
    lock_connection = psycopg.connect(**connection.get_connection_params(), autocommit=False)
    try:
        row = lock_connection.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (PURGE_LOCK_NAMESPACE, PURGE_LOCK_KEY)
        ).fetchone()
        if not (row and row[0]):
            raise PurgeAlreadyRunning()
        yield
    finally:
        lock_connection.rollback()
        lock_connection.close()


def _avatar_storage() -> Storage:
    field = User._meta.get_field("avatar")
    assert isinstance(field, FileField)
    return field.storage


def _avatar_tree(storage: Storage, folder: str = AVATAR_DIR) -> tuple[list[str], list[str]]:
    """(files, folders) under `folder`, deepest folders first (the order to remove them in)."""
    if not storage.exists(folder):
        return [], []
    subfolders, names = storage.listdir(folder)
    files = [f"{folder}/{name}" for name in names]
    folders: list[str] = []
    for sub in subfolders:
        sub_files, sub_folders = _avatar_tree(storage, f"{folder}/{sub}")
        files += sub_files
        folders += sub_folders
    return files, [*folders, folder]


def _redis_keys(family: KeyFamily) -> set[bytes]:
    # A set: SCAN may return a key twice while the keyspace changes.
    return {
        key
        for server in servers(family.role)
        for key in server.scan_iter(match=family.pattern, count=REDIS_SCAN_COUNT)
    }


def _count(say: Progress) -> dict[str, int]:
    """What a purge would remove now, per PURGE_KINDS key."""
    counts = {kind: rows.count() for kind, rows in _db_steps()}
    counts["avatars"] = len(_avatar_tree(_avatar_storage())[0])
    counts["redis_keys"] = sum(len(_redis_keys(family)) for family in rediskeys.purged())
    for kind, label in PURGE_KINDS:
        say(f"{label}: {counts[kind]} to remove")
    return counts


def _delete_rows(*, kind: str, rows: QuerySet[Any], total: int, say: Progress) -> int:
    """Delete `rows` in batches of PURGE_BATCH_SIZE, one transaction each (with their cascades).
    Returns how many rows of the model itself went, including rows created while it ran."""
    label = rows.model._meta.label
    removed = 0
    after: Any = None
    while True:
        page = rows.order_by("pk")
        # Keyset, not OFFSET or "the first N again": every batch is one index range scan, however
        # many dead (just deleted, not yet vacuumed) index entries precede it.
        if after is not None:
            page = page.filter(pk__gt=after)
        with transaction.atomic():
            ids = list(page.values_list("pk", flat=True)[:PURGE_BATCH_SIZE])
            if not ids:
                return removed
            # `rows.filter`, not `model.objects`: a row that stopped matching (a user made staff
            # meanwhile) is not deleted.
            _, per_model = rows.filter(pk__in=ids).delete()
        if rows.model is User:
            # Their cached rows would keep their sessions logged in (accounts.authcache).
            authcache.forget(user_ids=ids)
        removed += per_model.get(label, 0)
        after = ids[-1]
        say(f"{kind}: {removed}/{total}")


def _recount_stats() -> int:
    """Set every remaining account's counters (staff, after the purge) to the exact counts of its
    remaining rows, and put accounts back on fan-out. Returns the rows recounted.

    The rows are locked first, in their own statement: a tweet or follow committed before we got
    the locks is then visible to the recount, and one committed after waits for us and adds its
    own +1 on top, so no concurrent write is lost or counted twice.
    """

    def count_of(rows: QuerySet[Any], column: str) -> Coalesce:
        per_user = rows.filter(**{column: OuterRef("user_id")}).order_by().values(column)
        return Coalesce(Subquery(per_user.annotate(n=Count("pk")).values("n")), 0)

    with transaction.atomic():
        locked = len(list(UserStats.objects.select_for_update().values_list("pk", flat=True)))
        # Follows count followers in shards (accounts.models.FollowerShard), not on these rows: keep
        # new changes out of the shards until the recount commits, and drop the pending ones, which
        # the recount includes (or, uncommitted, will add after it).
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE accounts_followershard IN EXCLUSIVE MODE")
            cursor.execute("DELETE FROM accounts_followershard")
        UserStats.objects.update(
            tweets=count_of(Tweet.objects.all(), "author_id"),
            followers=count_of(Follow.objects.all(), "followee_id"),
            following=count_of(Follow.objects.all(), "follower_id"),
        )
        # Celebrities lost their followers with the purge. Straight back to push (no DEMOTING
        # backfill): every feed is dropped below and rebuilt from Postgres anyway.
        UserStats.objects.filter(followers__lte=settings.CELEBRITY_THRESHOLD).exclude(
            fanout_mode=FanoutMode.PUSH
        ).update(fanout_mode=FanoutMode.PUSH)
    return locked


def _delete_avatars(*, total: int, say: Progress) -> int:
    """Forget the surviving accounts' avatars, then delete every file under AVATAR_DIR.

    Runs after the users are gone, so no remaining row points at a deleted file. Folders go only
    once empty: an upload arriving meanwhile must not turn the purge into an error.
    """
    User.objects.exclude(avatar="").update(avatar="")
    # Only staff remain now: a handful of rows to drop from the auth-user cache.
    authcache.forget(user_ids=User.objects.values_list("pk", flat=True))
    storage = _avatar_storage()
    files, folders = _avatar_tree(storage)
    for done, name in enumerate(files, start=1):
        storage.delete(name)
        if done % PURGE_BATCH_SIZE == 0 or done == len(files):
            say(f"avatars: {done}/{total}")
    for folder in folders:
        subfolders, names = storage.listdir(folder)
        if not subfolders and not names:
            storage.delete(folder)
    return len(files)


def _unlink_redis_keys(*, total: int, say: Progress) -> int:
    """UNLINK every key of the purged families (adminpanel.rediskeys), PURGE_BATCH_SIZE keys per call.

    SCAN walks the keyspace in small steps, so Redis keeps serving the site (and the broker and
    the channel layer) meanwhile; UNLINK frees memory in the background. Returns the keys removed.
    """
    removed = 0
    for family in rediskeys.purged():
        # A role may span servers (sharded feeds, a cluster's nodes: tweethub.redis.servers).
        for server in servers(family.role):
            batch: list[bytes] = []
            for key in server.scan_iter(match=family.pattern, count=REDIS_SCAN_COUNT):
                batch.append(key)
                if len(batch) == PURGE_BATCH_SIZE:
                    removed += _unlink(server, batch)
                    batch = []
                    say(f"Redis keys: {removed}/{total}")
            if batch:
                removed += _unlink(server, batch)
        say(f"Redis keys: {removed}/{total} ({family.pattern} done)")
    return removed


def _unlink(server: redis.Redis, keys: list[bytes]) -> int:
    """UNLINK these keys of one server: one key per command, pipelined (one round trip), since a
    cluster node refuses a multi-key command over keys of several slots."""
    pipe = server.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    return sum(int(count) for count in pipe.execute())


def _remove(*, counts: dict[str, int], removed: dict[str, int], say: Progress) -> None:
    """Delete everything, filling `removed` as it goes (so a failure still records what went)."""
    for kind, rows in _db_steps():
        removed[kind] = _delete_rows(kind=kind, rows=rows, total=counts[kind], say=say)
    # After the users: follows of purged accounts went with them without touching counters.
    say(f"counters recounted for {_recount_stats()} remaining accounts")
    removed["avatars"] = _delete_avatars(total=counts["avatars"], say=say)
    # Redis last: a feed rebuilt from Postgres meanwhile would still hold purged tweet ids.
    removed["redis_keys"] = _unlink_redis_keys(total=counts["redis_keys"], say=say)


def _finish(run: PurgeRun, *, status: str, counts: dict[str, int], error: str = "") -> None:
    run.status, run.counts, run.error, run.finished_at = status, counts, error, timezone.now()
    run.save(update_fields=["status", "counts", "error", "finished_at"])


def purge_demo_data(*, dry_run: bool = False, force: bool = False, progress: Progress | None = None) -> PurgeRun:
    """Delete all user-created data: every account but staff and superusers, every tweet, follow,
    conversation, message and captured mail (staff's included), every uploaded avatar, and the
    Redis keys derived from them (the families declared with `purge`, adminpanel.rediskeys). Staff
    accounts survive with their counters recounted exactly and their avatar cleared. Returns the
    run, recorded as a PurgeRun.

    Preconditions: DEMO_MODE, or `force` (else PurgeNotAllowed, before anything is read). No other
    purge running: the advisory lock is held for the whole run (else PurgeAlreadyRunning, with
    nothing written). A run left "running" by a process that died is marked failed first.

    Idempotent: a second run removes nothing and records zero counts. Data created while it runs
    is mostly caught (batches continue past the first count) and otherwise goes the next night.
    Not one transaction: each batch commits, so an error leaves a partial purge that the next run
    completes; the run is recorded failed with the error and the counts removed so far, and the
    error propagates.

    `dry_run`: only counts (allowed without DEMO_MODE, since it changes nothing) and records a run
    marked dry_run, so the panel can tell "checked" from "purged". `progress` receives one line per
    count and per batch ("users: 500/1200").
    """
    if not dry_run and not settings.DEMO_MODE and not force:
        raise PurgeNotAllowed()
    say = progress or _ignore
    with _purge_lock():
        # We hold the lock, so no other purge is running: a "running" row is a dead one.
        PurgeRun.objects.filter(status=PurgeRun.Status.RUNNING).update(
            status=PurgeRun.Status.FAILED, error="interrupted: the process running it stopped before it finished"
        )
        run = PurgeRun.objects.create(started_at=timezone.now(), dry_run=dry_run)
        removed = {kind: 0 for kind, _label in PURGE_KINDS}
        try:
            counts = _count(say)
            if dry_run:
                removed = counts
            else:
                _remove(counts=counts, removed=removed, say=say)
        except BaseException as error:
            # BaseException: Ctrl-C on the command is recorded too. Re-raised, never swallowed.
            _finish(run, status=PurgeRun.Status.FAILED, counts=removed, error=f"{type(error).__name__}: {error}")
            raise
        _finish(run, status=PurgeRun.Status.DONE, counts=removed)
    return run

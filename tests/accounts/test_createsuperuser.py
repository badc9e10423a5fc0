"""`manage.py createsuperuser` on our User: a verified staff account, the display name optional."""

from __future__ import annotations

import builtins
import getpass
import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.test import Client

from accounts.management.commands.createsuperuser import Command
from accounts.models import User
from tests.factories import make_user
from tweets.models import Tweet
from tweets.services import tweet_create

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def superuser_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)


def _create(*args: str, stdin: io.StringIO | None = None) -> str:
    # The command object itself: which app's createsuperuser `manage.py` runs is a setting
    # (test_manage_py_runs_ours), what ours does is tested here.
    out = io.StringIO()
    call_command(Command(), *args, stdout=out, stderr=out, **({"stdin": stdin} if stdin else {}))
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("superuser_password")
def test_without_input_the_superuser_is_verified_staff_and_can_tweet(client: Client) -> None:
    output = _create("--noinput", "--username", "Boss", "--email", "boss@example.com")

    assert "Superuser created successfully." in output
    user = User.objects.get()
    assert (user.username, user.name, user.email) == ("Boss", "Boss", "boss@example.com")
    assert (user.is_superuser, user.is_staff, user.is_active, user.is_verified) == (True, True, True, True)
    tweet_create(author=user, text="Hello from the operator")
    assert Tweet.objects.get().author == user
    assert client.login(username="boss", password=PASSWORD)


@pytest.mark.django_db
@pytest.mark.usefixtures("superuser_password")
def test_a_display_name_is_used_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    _create("--noinput", "--username", "ops", "--email", "ops@example.com", "--name", "Site Operator")
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "night")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "night@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_NAME", "Night Shift")
    _create("--noinput")

    rows = User.objects.order_by("id").values_list("username", "name", "is_superuser")
    assert list(rows) == [("ops", "Site Operator", True), ("night", "Night Shift", True)]
    assert User.objects.filter(verified_at__isnull=True).count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("superuser_password")
def test_an_email_address_in_use_is_refused_in_words() -> None:
    make_user("alice", email="alice@example.com")

    with pytest.raises(CommandError, match=r"^An account with that email address already exists\.$"):
        _create("--noinput", "--username", "boss", "--email", "ALICE@example.com")
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@pytest.mark.django_db
def test_no_account_but_the_new_one_is_verified() -> None:
    """Without a terminal Django's command creates nobody; an unverified superuser of that name
    who joined before stays as they were."""
    make_user("boss", is_superuser=True, is_staff=True, verified=False)

    output = _create("--username", "boss", stdin=io.StringIO())

    assert "Superuser creation skipped" in output
    assert User.objects.get().verified_at is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the person at the terminal types, in order: prompts read input(), passwords getpass()."""
    typed: list[str] = []
    asked: list[str] = []

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return typed.pop(0)

    monkeypatch.setattr(builtins, "input", answer)
    monkeypatch.setattr(getpass, "getpass", answer)
    yield typed
    assert not typed, f"not asked for {typed}; asked {asked}"


@pytest.mark.django_db
def test_at_a_terminal_a_blank_display_name_is_the_username(answers: list[str]) -> None:
    make_user("taken", email="taken@example.com")
    answers += [
        "ops",  # username
        "Taken@example.com",  # email: refused, asked again
        "ops@example.com",
        "",  # display name: the username
        PASSWORD,
        PASSWORD,
    ]

    output = _create(stdin=_Terminal())

    assert "An account with that email address already exists." in output
    user = User.objects.get(username="ops")
    assert (user.name, user.email, user.is_superuser, user.is_verified) == ("ops", "ops@example.com", True, True)


def test_manage_py_runs_ours() -> None:
    """manage.py finds accounts' command first ("accounts" is above django.contrib.auth)."""
    assert get_commands()["createsuperuser"] == "accounts"

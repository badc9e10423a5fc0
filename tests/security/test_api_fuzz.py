"""Hostile values in every parameter of every API operation never make a 5xx, and every refusal is
a problem document (application/problem+json).

The targets come from the live OpenAPI schema, so an operation added later is fuzzed without a line
here: each path parameter, each query parameter and each field of a JSON body gets the pages' fuzz
values (tests/security/test_fuzz.py: NUL and control characters, huge numbers, long strings,
plausible names), bodies also arrive with odd content types, and arrive as arbitrary JSON and as bytes that are not JSON. Callers: a
member with a token of every scope, the same member's browser session (with its CSRF token), and
an anonymous caller. Rate limits are raised
(generous_rate_limits) so that the code behind them is reached; a 429 fails the test.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.models import Scope
from api.services import token_create
from tests.security.conftest import World, logged_in
from tests.security.test_fuzz import hostile_text, segment_int

EXAMPLES = 15
Role = Literal["anonymous", "token", "session"]
ROLES: tuple[Role, ...] = ("anonymous", "token", "session")
# A session's CSRF check reads the form before any operation runs: odd body types reach it too.
CONTENT_TYPES = ["application/json", "multipart/form-data", "application/x-www-form-urlencoded", "text/plain"]

PLAUSIBLE: dict[str, list[str]] = {
    "username": ["alice", "carol", "@carol", "ALICE", "nobody", "a" * 16],
    "tag": ["hello", "Café", "2024", "a b"],
    "q": ["alice", "#hello", "@carol", "-x"],
    "cursor": ["aTE", "cjEuMQ", "aTkwMDcxOTkyNTQ3NDA5OTE", "", "=", "aQ"],
    "text": ["hello #tag @carol", "x" * 281, " \u200b "],
    "name": ["bot", "", "n" * 51],
}
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=6,
)


def _value(name: str, kind: str) -> st.SearchStrategy[Any]:
    base: st.SearchStrategy[Any] = segment_int if kind == "integer" else hostile_text.filter(bool)
    plausible = PLAUSIBLE.get(name)
    return st.one_of(base, st.sampled_from(plausible)) if plausible else base


def _body_fields(operation: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return []
    ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
    return list(schema["components"]["schemas"][ref]["properties"])


def _schema() -> dict[str, Any]:
    from api.api import api

    return dict(api.get_openapi_schema(path_prefix="/api/v1/"))


SCHEMA = _schema()
OPERATIONS = [(method.upper(), path) for path, item in SCHEMA["paths"].items() for method in item]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_input_never_makes_a_5xx(
    method: str, template: str, role: Role, world: World, generous_rate_limits: None
) -> None:
    operation = SCHEMA["paths"][template][method.lower()]
    parameters = operation.get("parameters", [])
    fields = _body_fields(operation, SCHEMA)
    headers: dict[str, str] = {}
    if role == "token":
        _, secret = token_create(user=world.alice, name="fuzz", scopes=list(Scope.values))
        client = Client(headers={"Authorization": f"Bearer {secret}"})
    elif role == "session":
        client = logged_in(world.alice, enforce_csrf_checks=True)  # the test client skips CSRF otherwise
        headers = {"X-CSRFToken": client.cookies[settings.CSRF_COOKIE_NAME].value}
    else:
        client = Client()
    client.raise_request_exception = False

    @hypothesis_settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )
    @given(data=st.data())
    def attempt(data: st.DataObject) -> None:
        path, query = template, {}
        for parameter in parameters:
            kind = parameter.get("schema", {}).get("type", "string")
            value = data.draw(_value(parameter["name"], kind), label=parameter["name"])
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", quote(str(value), safe=""))
            elif data.draw(st.booleans(), label=f"send {parameter['name']}"):
                query[parameter["name"]] = value
        body = b""
        if fields:
            shape = data.draw(st.sampled_from(["fields", "json", "bytes"]), label="body")
            if shape == "fields":
                values = {
                    field: data.draw(st.one_of(_value(field, "string"), json_value), label=field) for field in fields
                }
                body = json.dumps(values).encode()
            elif shape == "json":
                body = json.dumps(data.draw(json_value, label="json")).encode()
            else:
                body = data.draw(st.binary(max_size=200), label="bytes")
        url = path + ("?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items()) if query else "")
        content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content type") if body else "application/json"
        response = client.generic(method, url, body, content_type=content_type, headers=headers)
        where = f"{method} {url:.300} {body[:200]!r}"
        assert response.status_code < 500, f"{where} -> {response.status_code}"
        assert response.status_code != 429, f"{where} hit a rate limit"
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json", where
            assert json.loads(response.content)["status"] == response.status_code, where

    attempt()


def test_every_operation_is_fuzzed() -> None:
    """The targets are the schema's operations: as many as the API has (48 today)."""
    assert len(OPERATIONS) == len(set(OPERATIONS)) >= 48

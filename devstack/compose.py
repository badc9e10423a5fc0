"""docker-compose.yml read as Docker Compose reads it: YAML (anchors and merge keys resolved), then
every `${...}` in a value interpolated from an environment.

Docker does not run on these machines, so this is how the project reads its compose file: the
schema test validates the interpolated file (tests/deploy/test_compose.py) and the local topology
(devstack/topology.py) takes the Redis servers' settings and the workers' queues from it.

Interpolation follows the Compose Specification: `$$` is a literal `$`; `${VAR}` and `$VAR`;
`${VAR:-default}` (unset or empty), `${VAR-default}` (unset); `${VAR:?message}`, `${VAR?message}`
(required); `${VAR:+alternative}`, `${VAR+alternative}`. Defaults may themselves hold `${...}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE = re.compile(rf"\$({_NAME})")


class InterpolationError(ValueError):
    """A required variable is unset (its message is the compose file's), or `${` is malformed."""


def _braced_end(text: str, start: int) -> int:
    """The index of the `}` closing the `${` at `start`, nested `${...}` included."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unclosed '${{' in {text!r}")


def _expand(body: str, env: Mapping[str, str]) -> str:
    match = re.fullmatch(rf"({_NAME})(?:(:?[-?+])(.*))?", body, re.DOTALL)
    if match is None:
        raise InterpolationError(f"invalid interpolation '${{{body}}}'")
    name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
    value = env.get(name)
    if operator is None:
        return value or ""
    empty_counts = operator.startswith(":")
    present = value is not None and (value != "" or not empty_counts)
    kind = operator[-1]
    if kind == "-":
        return value if present and value is not None else interpolate(argument, env)
    if kind == "+":
        return interpolate(argument, env) if present else ""
    if not present or value is None:  # "?": required
        raise InterpolationError(f"{name}: {interpolate(argument, env) or 'required'}")
    return value


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with every `${...}` and `$VAR` replaced from `env`, `$$` made `$`."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _braced_end(text, i)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif (simple := _SIMPLE.match(text, i)) is not None:
            out.append(env.get(simple.group(1), ""))
            i = simple.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    """The loaded YAML with every string value interpolated (keys are left as written, as Compose
    leaves them)."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolated(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    return node


def load(env: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as Compose would run it with `env` (the shell's and .env's variables)."""
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, dict), f"{path}: not a mapping"
    return dict(interpolated(raw, env))


def raw(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as written (anchors resolved, `${...}` untouched)."""
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path}: not a mapping"
    return loaded

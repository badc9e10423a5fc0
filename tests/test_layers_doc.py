"""The layer picture in docs/architecture.md is the one the contract and the code give today."""

from __future__ import annotations

from devstack import layers


def test_the_layer_picture_in_the_docs_is_current() -> None:
    written = layers.current_block(layers.DOC.read_text())
    assert written == layers.render(), "run `python -m devstack.layers` and commit docs/architecture.md"


def test_the_picture_shows_only_downward_imports() -> None:
    stack = layers.contract_layers()
    rank = {app: depth for depth, layer in enumerate(stack) for app in layer}
    found = layers.imports_between_apps(list(rank), leave_out=layers.ROOT_MODULES)
    assert found["timelines"] >= {"tweets", "follows", "accounts", "tweethub"}
    for app, imported in found.items():
        assert all(rank[other] > rank[app] for other in imported), (app, imported)

"""The Generic Importer runs the importer kit against the reference destination on 127.0.0.1.

Each test gets its own account at the destination (a fresh grant), so every test starts empty.
"""

from __future__ import annotations

import uuid

import pytest

from connectors.generic import CONNECTOR
from connectors.registry import ConnectorContext
from connectors.testing import ImportSetup, kit_for
from tests.generic_support import RotatingTokens, start_destination


@pytest.fixture(scope="module")
def reference_destination(tmp_path_factory):
    with start_destination(tmp_path_factory.mktemp("generic-kit")) as running:
        yield running


def generic_destination(reference_destination) -> ImportSetup:
    account = f"kit-{uuid.uuid4().hex[:8]}"
    stored = reference_destination.root / account
    snapshot = lambda: sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file() and ".dedupe" not in p.parts)  # noqa: E731
    tokens = RotatingTokens(reference_destination.tokens, account=account)
    return ImportSetup(ConnectorContext(location=reference_destination.url, auth=tokens), snapshot=snapshot)


TestGenericKit = kit_for(CONNECTOR, destination=generic_destination)

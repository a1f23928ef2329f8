"""A clean stop leaves nothing in doubt: intents of items never sent are taken back exactly.

The end-to-end cases (Ctrl-C, a killed command) are in tests/test_cli.py and
tests/test_runner.py; here, the ledger's part: a withdrawn intent removes a row the item did not
have before, and gives an older row (a failure, a delivery of other content) back unchanged.
"""

from __future__ import annotations

import pytest

from flows.store import Ledger, LedgerRecord, Outcome, get_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        return Ledger(get_engine(f"sqlite:///{tmp_path / 'ledger.db'}", create=True))
    return Ledger(get_engine(request.getfixturevalue("pg_url")))


def test_withdrawn_intents_restore_what_the_ledger_said(ledger):
    scope, earlier, now = "scope", "job-1", "job-2"
    ledger.record(job_id=earlier, scope=scope, vertical="blobs", records=[
        LedgerRecord("file", "failed-before", "h1", Outcome.FAILED, "a.bin", error="disk hiccup", retryable=True),
        LedgerRecord("file", "changed", "old", Outcome.IMPORTED, "b.bin", destination_id="files/b.bin", bytes=5),
    ])
    before = ledger.known(scope, [("file", "failed-before"), ("file", "changed"), ("file", "new")])
    intents = [LedgerRecord("file", item, digest, Outcome.SENDING, item) for item, digest in (("failed-before", "h1"), ("changed", "new"), ("new", "h3"))]
    ledger.record(job_id=now, scope=scope, vertical="blobs", records=intents)
    assert ledger.in_doubt(scope) == {("file", "failed-before"), ("file", "changed"), ("file", "new")}

    ledger.withdraw(scope=scope, keys=[("file", "failed-before"), ("file", "changed"), ("file", "new")], previous=before)

    assert ledger.in_doubt(scope) == set()
    after = ledger.known(scope, [("file", "failed-before"), ("file", "changed"), ("file", "new")])
    assert after == before  # the new item has no row again; the others are as they were
    (failure,) = ledger.failures(earlier)
    assert failure.error == "disk hiccup" and failure.retryable  # an intent keeps the row's error
    assert ledger.figures(earlier).total.imported == 1 and ledger.figures(now).total.in_doubt == 0


def test_withdraw_touches_only_rows_still_in_doubt(ledger):
    ledger.record(job_id="j", scope="s", vertical="blobs", records=[LedgerRecord("file", "x", "h", Outcome.SENDING, "x")])
    ledger.record(job_id="j", scope="s", vertical="blobs", records=[LedgerRecord("file", "x", "h", Outcome.IMPORTED, "x", destination_id="x")])
    ledger.withdraw(scope="s", keys=[("file", "x")], previous={})  # it was answered after all: kept
    assert ledger.known("s", [("file", "x")])[("file", "x")].outcome == Outcome.IMPORTED

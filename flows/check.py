"""The checks made before anything moves: credentials work, the source reads, the destination writes.

One list, used twice: ``ferry check SOURCE DEST`` runs every check and reports each (Meltano's
and Airbyte's ``check``), and every transfer runs them as its first step
(:func:`flows.steps.authorize_job`), where the first failure stops the job in the state its
error calls for (ReauthRequired -> NEEDS_REAUTH, DestinationFull -> PAUSED, FatalError ->
FAILED) before a single item is listed.

Each check is cheap and leaves nothing behind: a credential is asked for a working access token
(refreshed when it is about to expire), an exporter and an importer are built (which resolves
locations and options) and asked :meth:`~connectors.base.Exporter.check` /
:meth:`~connectors.base.Importer.check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Check", "CheckResult", "transfer_checks", "run_all"]


@dataclass(frozen=True)
class Check:
    """One thing to make sure of, and how."""

    name: str
    run: Callable[[], object]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


def transfer_checks(
    *,
    source_name: str,
    destination_name: str,
    exporter: Callable[[], object],
    importer: Callable[[], object],
    access_token: Callable[[str], object],
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
) -> list[Check]:
    """The checks of a transfer, in order: each side's credential, then whether it reads or writes.

    Args:
        exporter / importer: build (or return) the source's exporter and the destination's
            importer; building one fails on a location or option that cannot work.
        access_token: ``access_token(credential_id)`` returns a working token or raises.
    """
    found: list[Check] = []
    if source_credential_id:
        found.append(Check(f"{source_name} credential {source_credential_id[:8]} works", lambda: access_token(source_credential_id)))
    found.append(Check(f"{source_name} source can be read", lambda: exporter().check()))
    if destination_credential_id:
        found.append(Check(
            f"{destination_name} credential {destination_credential_id[:8]} works", lambda: access_token(destination_credential_id)
        ))
    found.append(Check(f"{destination_name} destination can be written", lambda: importer().check()))
    return found


def run_all(checks: list[Check]) -> list[CheckResult]:
    """Run every check, each on its own (``ferry check``): one failure does not hide the next.

    ferry's own errors become a failed result with their message; anything else is a bug and
    propagates.
    """
    from connectors.errors import FerryError

    results = []
    for check in checks:
        try:
            check.run()
        except FerryError as exc:
            results.append(CheckResult(check.name, False, str(exc)))
        else:
            results.append(CheckResult(check.name, True))
    return results

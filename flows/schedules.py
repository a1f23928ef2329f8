"""Prefect schedules of recurring transfers: one schedule per recurring transfer.

All recurring transfers share the ``recurring-transfer`` deployment (prefect.yaml). Each gets its
own schedule on it, named after the recurring transfer and what it runs on
(``nightly-files (every 6h)``, ``photos (cron 0 2 * * * UTC)``: the Prefect UI shows a
schedule's slug in place of its cron), with parameters ``{"recurring_id": id}``. Operators see,
edit, pause and resume every recurring transfer's schedule in the Prefect UI (Deployments ->
recurring-transfer -> Schedules), and ``ferry recurring pause|resume`` does the same through the
API.

Why rounds survive edits made outside ferry: Prefect's schedule update stores ``parameters: {}``
whenever an update does not send them (``prefect deployment schedule pause``, the UI's toggle and
edit form), which dropped ``recurring_id`` and failed every later round. So ferry always sends
the parameters with its own updates, stores the schedule's id (stable through any edit) on the
recurring transfer, and a round started without ``recurring_id`` finds its recurring transfer
from the schedule that created it (:func:`recurring_of_schedule`), then every scheduled round
puts the parameters and the name back (:func:`mend_schedule`). A schedule edited in the UI is the
truth: its new cron or interval is copied to the recurring transfer, and a schedule switched back
on there resumes a recurring transfer that ``ferry recurring pause`` had paused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from connectors.errors import ConfigError

__all__ = [
    "DEPLOYMENT",
    "ScheduleState",
    "describe_schedule",
    "schedule_slug",
    "to_prefect_schedule",
    "deploy_schedule",
    "set_schedule_active",
    "remove_schedule",
    "schedule_state",
    "schedule_of_run",
    "recurring_of_schedule",
    "mend_schedule",
]

#: ``flow name/deployment name`` of the deployment in prefect.yaml.
DEPLOYMENT = "recurring-transfer/recurring-transfer"
_LEGACY_PREFIX = "ferry-"  # slugs were ``ferry-<recurring id>`` before schedules were named


@dataclass(frozen=True)
class ScheduleState:
    """What Prefect holds for a recurring transfer's schedule."""

    active: bool
    schedule: str  # stored form, ``cron: ...`` or ``interval: <seconds>``
    slug: str
    has_parameters: bool  # ``recurring_id`` is among the schedule's parameters


def _duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def describe_schedule(stored: str | None) -> str:
    """``cron: 0 2 * * *`` -> ``cron 0 2 * * * UTC``; ``interval: 21600`` -> ``every 6h``."""
    kind, _, value = (stored or "").partition(":")
    kind, value = kind.strip(), value.strip()
    if kind == "cron":
        return f"cron {value} UTC"
    if kind == "interval":
        return f"every {_duration(float(value))}"
    return "no schedule"


def schedule_slug(rec) -> str:
    """The schedule's name in the Prefect UI: the recurring transfer's name and its schedule."""
    return f"{rec.name} ({describe_schedule(rec.schedule)})"


def to_prefect_schedule(stored: str):
    """``cron: 0 2 * * *`` or ``interval: 3600`` (flows.recurring.parse_schedule) -> Prefect schedule."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    kind, _, value = (stored or "").partition(":")
    kind, value = kind.strip(), value.strip()
    if kind == "cron":
        return CronSchedule(cron=value, timezone="UTC")
    if kind == "interval":
        return IntervalSchedule(interval=timedelta(seconds=float(value)))
    raise ConfigError(f"stored schedule {stored!r} is neither 'cron: ...' nor 'interval: ...'")


def _stored_form(schedule) -> str:
    """A Prefect schedule in ferry's stored form (what ``ferry recurring show`` prints)."""
    if getattr(schedule, "cron", None):
        return f"cron: {schedule.cron}"
    if getattr(schedule, "interval", None) is not None:
        return f"interval: {schedule.interval.total_seconds():g}"
    return str(schedule)


def _deployment(client, name: str):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise ConfigError(
            f"Prefect has no deployment {name!r}; from the repository root run "
            "`prefect --no-prompt deploy --all` (docs/operators.md)"
        ) from None


def _find(client, deployment_id, rec):
    """The recurring transfer's schedule: by its stored id, else by its (current or old) slug."""
    names = {schedule_slug(rec), f"{_LEGACY_PREFIX}{rec.id}"}
    for schedule in client.read_deployment_schedules(deployment_id):
        if rec.schedule_id and str(schedule.id) == rec.schedule_id or schedule.slug in names:
            return schedule
    return None


def _parameters(rec) -> dict:
    return {"recurring_id": rec.id}


def deploy_schedule(rec, *, active: bool = True, deployment: str = DEPLOYMENT) -> tuple[str, str]:
    """Create or update the recurring transfer's schedule; returns ``(deployment id, schedule id)``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    if not rec.schedule:
        raise ConfigError(f"recurring transfer {rec.name!r} has no schedule; give --cron or --every")
    schedule = to_prefect_schedule(rec.schedule)
    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, rec)
        if existing is None:
            created = client.create_deployment_schedules(
                dep.id,
                [DeploymentScheduleCreate(schedule=schedule, active=active, parameters=_parameters(rec), slug=schedule_slug(rec))],
            )
            return str(dep.id), str(created[0].id)
        client.update_deployment_schedule(
            dep.id, existing.id, active=active, schedule=schedule, parameters=_parameters(rec), slug=schedule_slug(rec)
        )
        return str(dep.id), str(existing.id)


def set_schedule_active(rec, active: bool, *, deployment: str = DEPLOYMENT) -> bool:
    """Pause or resume the schedule; False when the recurring transfer has none in Prefect.

    Sends the parameters too: an update without them stores ``{}`` (see the module docstring).
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, rec)
        if existing is None:
            return False
        client.update_deployment_schedule(dep.id, existing.id, active=active, parameters=_parameters(rec), slug=schedule_slug(rec))
        return True


def schedule_state(rec, *, deployment: str = DEPLOYMENT) -> ScheduleState | None:
    """The schedule as Prefect has it, or None when it has none for this recurring transfer."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, rec)
        if existing is None:
            return None
        return ScheduleState(
            active=bool(existing.active),
            schedule=_stored_form(existing.schedule),
            slug=existing.slug or "",
            has_parameters=(existing.parameters or {}).get("recurring_id") == rec.id,
        )


def remove_schedule(rec, *, deployment: str = DEPLOYMENT) -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, rec)
        if existing is None:
            return False
        client.delete_deployment_schedule(dep.id, existing.id)
        return True


def schedule_of_run(flow_run_id: str | None) -> tuple[str | None, str]:
    """The id and slug of the schedule that created flow run ``flow_run_id`` (None: not a schedule)."""
    if not flow_run_id:
        return None, ""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        created_by = client.read_flow_run(flow_run_id).created_by
    if created_by is None or created_by.type != "SCHEDULE" or created_by.id is None:
        return None, ""
    return str(created_by.id), created_by.display_value or ""


def recurring_of_schedule(store, schedule_id: str | None, slug: str = ""):
    """The recurring transfer a schedule belongs to, by its stored id (or an old ``ferry-<id>`` slug).

    For a round whose ``recurring_id`` parameter an edit made outside ferry wiped; None for a
    schedule ferry does not know.
    """
    from .store import RecurringNotFound

    rec = store.by_schedule(schedule_id) if schedule_id else None
    if rec is None and slug.startswith(_LEGACY_PREFIX):
        try:
            rec = store.get(slug.removeprefix(_LEGACY_PREFIX))
        except RecurringNotFound:
            rec = None
    return rec


def mend_schedule(store, rec, schedule_id: str, *, deployment_id: str | None = None) -> bool:
    """Put the schedule's parameters and name back after an edit made outside ferry.

    Copies an edited cron or interval to the recurring transfer first (the UI is the truth for
    when it runs), then names the schedule after it. Returns True when something was mended.
    Touches Prefect only when something differs: any schedule update makes Prefect drop the
    deployment's future auto-scheduled runs (its scheduler creates them again).
    """
    from prefect.client.orchestration import get_client

    from .store import RecurringState

    with get_client(sync_client=True) as client:
        dep_id = deployment_id or rec.deployment_id or str(_deployment(client, DEPLOYMENT).id)
        found = next((s for s in client.read_deployment_schedules(dep_id) if str(s.id) == schedule_id), None)
        if found is None:
            return False
        stored = _stored_form(found.schedule)
        changes = {}
        if stored != rec.schedule:
            changes["schedule"] = stored
        if rec.schedule_id != schedule_id:
            changes["schedule_id"] = schedule_id
        if rec.deployment_id != dep_id:
            changes["deployment_id"] = dep_id
        if found.active and rec.state == RecurringState.PAUSED:  # resumed in the UI (ferry pauses both)
            changes["state"] = RecurringState.ACTIVE
        if changes:
            store.update(rec.id, **changes)
            rec = store.get(rec.id)
        if (found.parameters or {}).get("recurring_id") == rec.id and found.slug == schedule_slug(rec):
            return bool(changes)
        client.update_deployment_schedule(dep_id, found.id, parameters=_parameters(rec), slug=schedule_slug(rec))
        return True

"""Prefect schedules of recurring transfers: one schedule per recurring transfer.

All recurring transfers share the ``recurring-transfer`` deployment (prefect.yaml). Each gets its
own schedule on it, with slug ``ferry-<recurring id>`` and parameters ``{"recurring_id": id}``, so
operators see, edit, pause and resume every recurring transfer's schedule in the Prefect UI
(Deployments -> recurring-transfer -> Schedules), and ``ferry recurring pause|resume`` does the
same through the API. Pausing a schedule makes Prefect drop its future scheduled runs.
"""

from __future__ import annotations

from connectors.errors import ConfigError

__all__ = ["DEPLOYMENT", "schedule_slug", "to_prefect_schedule", "deploy_schedule", "set_schedule_active", "remove_schedule", "schedule_state"]

#: ``flow name/deployment name`` of the deployment in prefect.yaml.
DEPLOYMENT = "recurring-transfer/recurring-transfer"


def schedule_slug(recurring_id: str) -> str:
    return f"ferry-{recurring_id}"


def to_prefect_schedule(stored: str):
    """``cron: 0 2 * * *`` or ``interval: 3600`` (flows.recurring.parse_schedule) -> Prefect schedule."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    kind, _, value = (stored or "").partition(":")
    kind, value = kind.strip(), value.strip()
    if kind == "cron":
        return CronSchedule(cron=value, timezone="UTC")
    if kind == "interval":
        from datetime import timedelta

        return IntervalSchedule(interval=timedelta(seconds=float(value)))
    raise ConfigError(f"stored schedule {stored!r} is neither 'cron: ...' nor 'interval: ...'")


def _deployment(client, name: str):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise ConfigError(
            f"Prefect has no deployment {name!r}; from the repository root run "
            "`prefect --no-prompt deploy --all` (docs/operators.md)"
        ) from None


def _find(client, deployment_id, slug: str):
    for schedule in client.read_deployment_schedules(deployment_id):
        if schedule.slug == slug:
            return schedule
    return None


def deploy_schedule(rec, *, active: bool = True, deployment: str = DEPLOYMENT) -> str:
    """Create or update the recurring transfer's schedule; returns the deployment id."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    if not rec.schedule:
        raise ConfigError(f"recurring transfer {rec.name!r} has no schedule; give --cron or --every")
    schedule = to_prefect_schedule(rec.schedule)
    slug = schedule_slug(rec.id)
    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, slug)
        if existing is None:
            client.create_deployment_schedules(
                dep.id,
                [DeploymentScheduleCreate(schedule=schedule, active=active, parameters={"recurring_id": rec.id}, slug=slug)],
            )
        else:
            client.update_deployment_schedule(dep.id, existing.id, active=active, schedule=schedule, parameters={"recurring_id": rec.id})
        return str(dep.id)


def set_schedule_active(rec, active: bool, *, deployment: str = DEPLOYMENT) -> bool:
    """Pause or resume the schedule; False when the recurring transfer has none in Prefect."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, schedule_slug(rec.id))
        if existing is None:
            return False
        client.update_deployment_schedule(dep.id, existing.id, active=active)
        return True


def schedule_state(rec, *, deployment: str = DEPLOYMENT) -> dict | None:
    """``{"active": bool, "schedule": str}`` as Prefect has it, or None when not deployed."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, schedule_slug(rec.id))
        if existing is None:
            return None
        sched = existing.schedule
        text = f"cron: {sched.cron}" if hasattr(sched, "cron") else f"interval: {sched.interval.total_seconds():g}" if hasattr(sched, "interval") else str(sched)
        return {"active": bool(existing.active), "schedule": text}


def remove_schedule(rec, *, deployment: str = DEPLOYMENT) -> bool:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        dep = _deployment(client, deployment)
        existing = _find(client, dep.id, schedule_slug(rec.id))
        if existing is None:
            return False
        client.delete_deployment_schedule(dep.id, existing.id)
        return True

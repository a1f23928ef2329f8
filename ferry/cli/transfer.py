"""``ferry transfer``, ``ferry resume``, ``ferry cancel`` and ``ferry demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._common import ExitCode, console, context, fail, friendly_errors, human_bytes, is_tty, load
from ._safe_text import safe


def _parse_options(values: list[str]) -> dict:
    """``connector.key=value`` pairs -> ``{connector: {key: value}}``."""
    options: dict[str, dict[str, str]] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        connector, dot, name = key.partition(".")
        if not sep or not dot or not connector or not name:
            fail(f"--option {raw!r} must look like CONNECTOR.KEY=VALUE, e.g. meta.page_size=500")
        options.setdefault(connector, {})[name] = value
    return options


def _add_filters(source: str, options: dict, include: list[str], exclude: list[str]) -> None:
    """``--include``/``--exclude`` become the folder source's options (only a folder source has them)."""
    from connectors.folder.filters import parse_patterns
    from connectors.registry import parse_endpoint

    parse_patterns(include, "include"), parse_patterns(exclude, "exclude")  # a bad glob: exit 2 now
    if parse_endpoint(source, role="source").connector.name != "folder":
        fail(f"--include/--exclude select files of a folder source; {source!r} is not one")
    folder = options.setdefault("folder", {})
    if include:
        folder["include"] = list(include)
    if exclude:
        folder["exclude"] = list(exclude)


def _where(destination: str) -> str:
    from connectors.registry import parse_endpoint

    endpoint = parse_endpoint(destination, role="destination")
    location = endpoint.location
    if "://" not in location:
        return str(Path(location).expanduser().resolve())
    return location


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def transfer(
        source: Annotated[str, typer.Argument(help="Where the data comes from: NAME:LOCATION (meta:~/facebook.zip) or a path/URL ferry recognises.")],
        destination: Annotated[str, typer.Argument(help="Where it goes: a folder, an fsspec URL (s3://bucket/x) or NAME:LOCATION (generic:https://dest/dtp).")],
        types: Annotated[list[str], typer.Option("--types", "-t", help="Data types: photos, videos, media, social-posts (posts), calendar (events), blobs (files). Comma-separated or repeated. Default: everything both sides support (a folder source: its files).")] = [],
        source_credential: Annotated[Optional[str], typer.Option(help="Credential id for the source (see `ferry auth list`).")] = None,
        destination_credential: Annotated[Optional[str], typer.Option(help="Credential id for the destination.")] = None,
        option: Annotated[list[str], typer.Option("--option", "-o", help="Connector option CONNECTOR.KEY=VALUE (repeatable).")] = [],
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")] = False,
        wait: Annotated[bool, typer.Option("--wait/--no-wait", help="When the source prepares data asynchronously (TikTok), keep this process waiting and finish the transfer; otherwise exit 4 and let `ferry wake` or a webhook resume it.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would move (items and bytes per type); write nothing, create no job.")] = False,
        include: Annotated[list[str], typer.Option("--include", help="Folder sources: transfer only files matching this glob (rclone syntax: *.jpg, 2020/**, /top.txt anchored at the root, {a,b}). Repeatable.")] = [],
        exclude: Annotated[list[str], typer.Option("--exclude", help="Folder sources: leave out files matching this glob (a folder ending in /: all of it). Repeatable; an exclude always wins over an include.")] = [],
    ) -> None:
        """Move data from SOURCE to DESTINATION once, with progress, resumable if interrupted."""
        options = _parse_options(option)
        if include or exclude:
            _add_filters(source, options, include, exclude)
        if dry_run:
            from .preview import dry_run as preview

            return preview(context(), source, destination, types, options=options, source_credential=source_credential,
                           destination_credential=destination_credential, as_json=as_json)
        # the request is checked before the settings are read: bad input answers without them
        request = _transfer_request(source, destination, types, options, source_credential, destination_credential)
        settings = load()
        shown = f"{safe(source)} → {safe(destination)}"

        def announce(job: dict) -> None:
            if not as_json:
                console.print(f"Job [bold]{job['id'][:8]}[/]: {shown} ({', '.join(job['types'])})")

        _run_and_report(settings, request, progress=progress and is_tty() and not as_json, as_json=as_json, wait=wait, on_job=announce)

    @app.command()
    @friendly_errors
    def wake(
        loop: Annotated[bool, typer.Option("--loop", help="Keep checking until no transfer is waiting.")] = False,
        interval: Annotated[float, typer.Option(help="Seconds between checks with --loop.")] = 30.0,
    ) -> None:
        """Resume transfers whose source said it would be ready by now (polling fallback to webhooks)."""
        import time

        from flows.wakeups import wake_due_jobs

        settings = load()
        ctx = context(settings)
        while True:
            wake_due_jobs(ctx, resume=lambda job_id: _wake_one(settings, ctx, job_id))
            left = ctx.jobs.waiting()
            if not loop or not left:
                break
            console.print(f"{len(left)} transfer(s) still waiting; next check in {interval:.0f} s")
            time.sleep(interval)

    @app.command()
    @friendly_errors
    def resume(
        job: Annotated[str, typer.Argument(help="Job id (or a unique prefix).")],
        force: Annotated[bool, typer.Option(help="Take the job over even if another runner's lease is still valid.")] = False,
        retry_failed: Annotated[bool, typer.Option(help="Also retry items that failed (re-reads the source; delivered items are not sent again).")] = False,
        wait: Annotated[bool, typer.Option("--wait/--no-wait", help="If the source is still preparing data, keep waiting here.")] = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Resume a stopped, failed, paused or killed transfer where it stopped."""
        settings = load()
        request = {"op": "resume", "job": job, "force": force, "retry_failed": retry_failed}
        _run_and_report(settings, request, progress=progress and is_tty() and not as_json, as_json=as_json, wait=wait, on_job=lambda job: None)

    @app.command()
    @friendly_errors
    def cancel(job: Annotated[str, typer.Argument(help="Job id (or a unique prefix).")]) -> None:
        """Cancel a transfer: a running one stops after its current page; the source's pending request is canceled, staged data removed, unused credentials revoked."""
        from flows.cancel import cancel_job

        ctx = context()
        found = ctx.jobs.get(job)
        if found.state.is_final:
            fail(f"job {found.id[:8]} is already {found.state.value}")
        cleaned = cancel_job(ctx, found.id)
        console.print(f"Job {found.id[:8]} canceled." + ("" if cleaned else " Its runner stops after the current page."))

    @app.command()
    @friendly_errors
    def demo(
        out: Annotated[Path, typer.Option(help="Folder that receives the transferred data.")] = Path("ferry-demo"),
        photos: Annotated[int, typer.Option(help="Photos in the generated sample archive.")] = 40,
        size_mb: Annotated[float, typer.Option(help="Total size of the sample photos in MB (1 MB = 1,000,000 bytes).")] = 20.0,
        progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    ) -> None:
        """Generate a sample Meta archive and transfer it into a local folder (SQLite job store)."""
        from connectors.meta.sample import write_sample_archive

        settings = load()
        archive = settings.data_dir.resolve() / "demo" / "facebook-sample.zip"
        archive.parent.mkdir(parents=True, exist_ok=True)
        sample = write_sample_archive(archive, photos=photos, size_mb=size_mb, seed=7)
        from .sample import sample_counts

        console.print(f"Sample archive: [bold]{safe(archive)}[/] ({human_bytes(sample.archive_bytes)}), items per type as the summary counts them:")
        console.print("  " + ", ".join(f"{vertical} {text}" for vertical, text in sample_counts(sample).items()))
        request = _transfer_request(f"meta:{archive}", f"folder:{out.expanduser().resolve()}", [], {}, None, None, settings=settings)

        def announce(job: dict) -> None:
            console.print(f"Job [bold]{job['id'][:8]}[/]: {safe(archive.name)} → {safe(out)} ({', '.join(job['types'])})")

        try:
            _run_and_report(settings, request, progress=progress and is_tty(), as_json=False, on_job=announce)
        except typer.Exit as done:
            expected = set(sample.missing_media_ids)
            if done.exit_code == ExitCode.ITEM_FAILURES and _only_expected_failures(_last_summary, expected):
                console.print(
                    "[dim]The failed item is deliberate: the sample archive has a post that points at a "
                    "missing file, to show how ferry reports it and carries on.[/]"
                )
                raise typer.Exit(ExitCode.OK)
            raise


def _wake_one(settings, ctx, job_id: str) -> None:
    """Resume one due job the way ``ferry resume`` does: in ferry's runner (or here with the runner
    off), so its flow run shows like any other; Ctrl-C stops it after the item in flight (exit 130)."""
    from .run_view import run_request

    request = {"op": "resume", "job": job_id, "force": False, "retry_failed": False}
    outcome = run_request(settings, request, show_progress=False, on_job=lambda job: None, ctx_factory=lambda: ctx)
    if outcome.interrupted:
        console.print(f"[yellow]interrupted[/]: job {job_id[:8]} stopped after the item in flight")
        console.print(f"Resume with: ferry resume {job_id[:8]}")
        raise typer.Exit(ExitCode.INTERRUPTED)
    console.print(f"resumed {job_id[:8]}: {outcome.summary.state}")


def _transfer_request(source, destination, types, options, source_credential, destination_credential, *, settings=None) -> dict:
    """Validate a transfer here, before anything heavy (no Prefect, no settings or database unless a
    credential id was given), and build the request the runner (or this process) runs; exit 2 if it is bad."""
    from connectors.errors import ConfigError
    from flows.requests import absolute_endpoint, require_credential, validate_request

    try:
        checked = validate_request(source, destination, types, options)
        require_credential(checked.source, source_credential, "source")
        require_credential(checked.destination, destination_credential, "destination")
        if source_credential or destination_credential:
            from flows.requests import check_credential

            engine = context(settings or load()).engine
            source_credential = check_credential(engine, checked.source, source_credential, "source")
            destination_credential = check_credential(engine, checked.destination, destination_credential, "destination")
        return {
            "op": "transfer",
            "source": absolute_endpoint(source, "source"),
            "destination": absolute_endpoint(destination, "destination"),
            "types": checked.types if types else [],
            "options": options,
            "source_credential_id": source_credential,
            "destination_credential_id": destination_credential,
        }
    except ConfigError as exc:
        fail(str(exc))


#: The summary of the last run of this command (``ferry demo`` explains its deliberate failure).
_last_summary = None


def _only_expected_failures(summary, expected: set[str]) -> bool:
    return summary is not None and bool(summary.errors) and all(e.item_id in expected for e in summary.errors) and not summary.unreadable


def _run_and_report(settings, request: dict, *, progress: bool, as_json: bool, on_job, wait: bool = False) -> None:
    import time

    from .run_view import exit_code, print_summary, run_request

    global _last_summary
    outcome = run_request(settings, request, show_progress=progress, on_job=on_job, ctx_factory=lambda: context(settings))
    while wait and not outcome.interrupted and outcome.summary.state == "WAITING":
        delay = outcome.wake_in or 0.0
        console.print(f"{safe(outcome.summary.reason)}; checking again in {delay:.0f} s (Ctrl-C is safe: `ferry wake` continues later)")
        time.sleep(delay)
        again = {"op": "resume", "job": outcome.job["id"], "force": False, "retry_failed": False}
        outcome = run_request(settings, again, show_progress=progress, on_job=lambda job: None, ctx_factory=lambda: context(settings))
    summary = _last_summary = outcome.summary
    if as_json:
        console.print_json(summary.model_dump_json())
        code = exit_code(summary, interrupted=outcome.interrupted)
    else:
        code = print_summary(summary, where=_where(outcome.job.get("destination") or summary.destination), interrupted=outcome.interrupted)
    raise typer.Exit(code)

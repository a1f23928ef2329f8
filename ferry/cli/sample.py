"""``ferry sample-archive``: write a realistic fake Meta export to try ferry on (or test it with).

A thin wrapper over :func:`connectors.meta.sample.write_sample_archive`; the heavy import happens
inside the command so ``ferry --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ._common import human_bytes
from ._safe_text import safe


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def sample_counts(summary) -> dict[str, str]:
    """Per type, what a transfer's summary table will count (albums and calendars are items of
    their type there, so they are counted here too, and named)."""
    counts = summary.items_per_vertical()
    return {
        "photos": f"{counts['photos']} ({_n(summary.photos, 'photo', 'photos')} in {_n(summary.albums, 'album', 'albums')})",
        "videos": f"{counts['videos']} ({_n(summary.videos, 'video', 'videos')} in {_n(summary.video_albums, 'album', 'albums')})",
        "social-posts": f"{counts['social-posts']} (Facebook and Instagram posts)",
        "calendar": f"{counts['calendar']} ({_n(summary.events, 'event', 'events')} in {_n(summary.calendars, 'calendar', 'calendars')})",
    }


def sample_archive(
    out: Path = typer.Argument(..., metavar="OUT", help="Where to write: a .zip file, or a folder (for --folder or --parts > 1)."),
    photos: int = typer.Option(20, "--photos", min=0, help="Photo files in all (Facebook albums + Instagram)."),
    size_mb: float = typer.Option(2.0, "--size-mb", min=0, help="Total photo bytes, in MB (1 MB = 1,000,000 bytes)."),
    videos: int = typer.Option(2, "--videos", min=0, help="Video files."),
    posts: int = typer.Option(10, "--posts", min=0, help="Facebook posts (Instagram posts come on top)."),
    events: int = typer.Option(5, "--events", min=0, help="Facebook events."),
    albums: int = typer.Option(3, "--albums", min=0, help="Facebook albums."),
    as_zip: bool = typer.Option(True, "--zip/--folder", help="Write zip part(s) or a plain folder tree."),
    parts: int = typer.Option(1, "--parts", min=1, help="Split into this many zip parts (OUT is then a folder)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Same seed, same bytes."),
    instagram: bool = typer.Option(True, "--instagram/--no-instagram", help="Add an Instagram tree."),
) -> None:
    """Write a sample Facebook/Instagram 'Download Your Information' archive (JSON, with Meta's quirks)."""
    from connectors.meta.sample import write_sample_archive

    try:
        summary = write_sample_archive(
            out, photos=photos, videos=videos, posts=posts, events=events, albums=albums,
            size_mb=size_mb, zip=as_zip, seed=seed, instagram=instagram, parts=parts,
        )
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from None

    console = Console()
    table = Table(title=f"Sample Meta archive: {safe(summary.path)}", show_header=True)
    table.add_column("type")
    table.add_column("items (as a transfer's summary counts them)")
    for vertical, text in sample_counts(summary).items():
        table.add_row(vertical, text)
    console.print(table)
    console.print(f"Files: {safe(', '.join(str(f) for f in summary.files))} ({human_bytes(summary.archive_bytes)} on disk)")
    for uri, member in summary.missing_media:
        console.print(f"[yellow]Known bad on purpose:[/] {safe(uri)} is referenced by {safe(member)} but not in the archive")
    console.print(f"Try it: [bold]ferry transfer meta:{safe(summary.path)} …[/]")


def register(app: typer.Typer) -> None:
    app.command("sample-archive")(sample_archive)

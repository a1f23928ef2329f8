"""The ``catalog-build`` flow: rebuild the portmap static site from content/.

The catalog package does the work (``catalog.build_site``); this flow hands it ferry's connectors
as plain :class:`catalog.ConnectorInfo` values (the catalog must not import ``connectors``) and
publishes the build report as an artifact. Paths are relative to the working directory, which
the deployment's pull step sets to the repository root.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.portmap import connector_infos

__all__ = ["catalog_build"]


@flow(name="catalog-build", log_prints=False)
def catalog_build(
    out_dir: str = "site",
    solutions_dir: str = "content/solutions",
    services_file: str = "content/services.yaml",
    strict: bool = False,
) -> dict:
    """Build the portmap site into ``out_dir``; returns (and publishes) the build figures.

    Paths are relative to the repository root (the deployment's working directory).

    Args:
        out_dir: folder that receives the static site; files an earlier build wrote and
            this one does not are removed, other files are left alone.
        solutions_dir: folder of the Markdown solution pages.
        services_file: the YAML table of services the pages refer to.
        strict: fail the run and write nothing when the content has errors (otherwise what
            can be built is built, and the problems are listed in the build report).

    Returns:
        Build figures: pages, solutions, services, runnable solutions, errors, warnings, seconds.
    """
    from catalog import build_site

    report = build_site(Path(solutions_dir), Path(services_file), Path(out_dir), connector_infos(), strict=strict)
    errors = [p for p in report.problems if str(p.severity) == "error"]
    figures = {
        "out_dir": str(Path(report.out_dir).resolve()),
        "pages": report.pages,
        "solutions": report.solutions,
        "services": report.services,
        "runnable": report.runnable,
        "errors": len(errors),
        "warnings": len(report.problems) - len(errors),
        "seconds": round(report.seconds, 2),
    }
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:  # called as a function (tests, scripts): no artifact
        return figures
    try:
        from prefect.artifacts import create_markdown_artifact

        lines = ["# Portmap build", "", *(f"* {k}: {v}" for k, v in figures.items())]
        lines += [f"* `{p.file}:{p.line}` {p.message}" for p in errors[:50]]
        create_markdown_artifact("\n".join(lines), key="catalog-build", description="Portmap site build")
    except Exception:
        pass
    return figures

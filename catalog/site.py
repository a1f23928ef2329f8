"""Static site builder: ``build_site(solutions_dir, services_file, out_dir, connectors)``.

Writes a home page that filters in the browser, one page per solution, service and data type,
the JSON index (``index.json``) and the same index as a script (``assets/portmap-index.js``) so
the site works from ``file://`` with no server, no CDN and no network. Only files this builder
wrote before are removed on a rebuild (tracked in ``.portmap-manifest``), never anything else
in ``out_dir``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .index import build_index, datatype_url, index_json, index_script, service_url, solution_url
from .loader import Catalog, load_catalog
from .model import ConnectorInfo, Solution
from .problems import Problem, Severity
from .render import make_renderer

__all__ = ["BuildReport", "CatalogBuildError", "build_site", "write_site"]

_MANIFEST = ".portmap-manifest"


class CatalogBuildError(Exception):
    """A strict build found errors in the content; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        shown = "; ".join(str(p) for p in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} error(s) in the catalog: {shown}{more}")


@dataclass
class BuildReport:
    """What a build wrote and found.

    Attributes:
        out_dir: where the site is.
        pages: HTML pages written.
        solutions / services / datatypes: how many of each got a page.
        runnable: solutions with at least one move ferry can run.
        problems: every problem found in the content (the build went on regardless).
        seconds: wall time of load + render + write.
    """

    out_dir: Path
    pages: int = 0
    solutions: int = 0
    services: int = 0
    datatypes: int = 0
    runnable: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(p.severity is Severity.ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity is Severity.WARNING for p in self.problems)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def index_path(self) -> Path:
        return self.out_dir / "index.json"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("catalog", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(solution_url=solution_url, service_url=service_url, datatype_url=datatype_url)
    return env


class _Writer:
    """Writes files under the output folder and remembers which, for the manifest."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.written: list[str] = []

    def write(self, rel: str, text: str) -> None:
        path = self.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.written.append(rel)

    def finish(self) -> None:
        manifest = self.out_dir / _MANIFEST
        old = set(manifest.read_text(encoding="utf-8").split("\n")) if manifest.exists() else set()
        for rel in sorted(old - set(self.written)):
            stale = self.out_dir / rel
            if rel and stale.is_file() and stale.resolve().is_relative_to(self.out_dir.resolve()):
                stale.unlink()
        manifest.write_text("\n".join(sorted(self.written)), encoding="utf-8")


def write_site(catalog: Catalog, out_dir: Path | str) -> BuildReport:
    """Render a loaded catalog into ``out_dir`` (created if needed)."""
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    index = build_index(catalog)
    writer = _Writer(out)
    counts = {
        "solutions": len(catalog.solutions),
        "services": len(index["services"]),
        "datatypes": sum(1 for d in index["datatypes"] if d["count"]),
    }
    by_slug = {s.slug for s in catalog.solutions}
    render_body = make_renderer(lambda stem: f"{stem}.html" if stem in by_slug else None)

    def page(template: str, rel: str, **context: Any) -> None:
        depth = rel.count("/")
        writer.write(rel, env.get_template(template).render(root="../" * depth, counts=counts, **context))

    for rel in ("style.css", "search.js", "app.js"):
        text = resources.files("catalog").joinpath("static", rel).read_text(encoding="utf-8")
        writer.write(f"assets/{rel}", text)
    writer.write("assets/portmap-index.js", index_script(index))
    writer.write("index.json", index_json(index))

    sources = sorted({n for s in catalog.solutions for n in s.sources}, key=str.lower)
    destinations = sorted({n for s in catalog.solutions for n in s.destinations}, key=str.lower)
    page("home.html", "index.html", section="solutions", solutions=catalog.solutions,
         datatypes=index["datatypes"], sources=sources, destinations=destinations)
    for solution in catalog.solutions:
        page("solution.html", solution_url(solution), section="solutions", s=solution,
             body_html=render_body(solution.body))
    for svc in index["services"]:
        leaving = [s for s in catalog.solutions if svc["name"] in s.sources]
        arriving = [s for s in catalog.solutions if svc["name"] in s.destinations]
        page("service.html", svc["url"], section="services", svc=svc, leaving=leaving, arriving=arriving)
    page("list.html", "services/index.html", section="services", heading="Services",
         intro="Every service the catalog knows, with what can leave it and what can arrive in it.",
         items=[{"name": s["name"], "url": s["url"], "note": _service_note(s)} for s in index["services"]])
    used_types = [d for d in index["datatypes"] if d["count"]]
    for dt in index["datatypes"]:
        _datatype_page(page, dt, [s for s in catalog.solutions if s.datatype == dt["name"]])
    page("list.html", "datatypes/index.html", section="datatypes", heading="Data types",
         intro="Kinds of data, each with a map of which sources reach which destinations.",
         items=[{"name": d["name"], "url": d["url"], "note": f"{d['count']} solutions"} for d in used_types]
         + [{"name": d["name"], "url": d["url"], "note": "no solution yet"} for d in index["datatypes"] if not d["count"]])
    writer.finish()
    return BuildReport(
        out_dir=out,
        pages=sum(1 for rel in writer.written if rel.endswith(".html")),
        solutions=len(catalog.solutions),
        services=len(index["services"]),
        datatypes=len(index["datatypes"]),
        runnable=sum(1 for s in catalog.solutions if s.runnable),
        problems=list(catalog.problems),
        seconds=time.perf_counter() - started,
    )


def _service_note(svc: dict[str, Any]) -> str:
    parts = [f"{len(svc['as_source'])} out, {len(svc['as_destination'])} in"]
    if svc["exported_by"] or svc["imported_by"]:
        parts.append("ferry connector")
    return " · ".join(parts)


def _datatype_page(page: Any, dt: dict[str, Any], solutions: list[Solution]) -> None:
    matrix: dict[tuple[str, str], list[tuple[Solution, bool]]] = defaultdict(list)
    for s in solutions:
        runnable = {(p.source, p.destination) for p in s.runnable}
        for src in s.sources:
            for dst in s.destinations:
                matrix[(src, dst)].append((s, (src, dst) in runnable))
    page(
        "datatype.html", dt["url"], section="datatypes", dt=dt, solutions=solutions, matrix=matrix,
        numbers={s.slug: i for i, s in enumerate(solutions, 1)},
        sources=sorted({n for s in solutions for n in s.sources}, key=str.lower),
        destinations=sorted({n for s in solutions for n in s.destinations}, key=str.lower),
    )


def build_site(
    solutions_dir: Path | str,
    services_file: Path | str | None,
    out_dir: Path | str,
    connectors: Sequence[ConnectorInfo] = (),
    *,
    strict: bool = False,
) -> BuildReport:
    """Load, check and build the static site in one call (for the CLI and Prefect flows).

    Args:
        solutions_dir: folder of solution pages (``content/solutions``).
        services_file: the services table (``content/services.yaml``).
        out_dir: where to write the site; files from an earlier build that are no longer
            produced are removed, other files are left alone.
        connectors: ferry's connectors as :class:`ConnectorInfo`, to mark runnable moves.
        strict: raise :class:`CatalogBuildError` (writing nothing) if the content has errors;
            otherwise build what can be built and report the problems.

    Returns:
        A :class:`BuildReport` (its ``problems`` list holds errors and warnings).
    """
    started = time.perf_counter()
    catalog = load_catalog(solutions_dir, services_file, connectors)
    if strict and not catalog.ok:
        raise CatalogBuildError(catalog.problems)
    report = write_site(catalog, out_dir)
    report.seconds = time.perf_counter() - started
    return report

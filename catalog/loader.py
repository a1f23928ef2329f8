"""Loading a whole catalog: every solution page, the vocabulary, and ferry's runnable moves.

This is the one entry point the checker, the index, the site builder and the CLI share, so they
always agree on which pages exist and what is wrong with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .model import ConnectorInfo, RunnablePair, Solution, slugify
from .pages import RawPage, read_page
from .problems import Kind, Problem, Severity, display_path, has_errors
from .services import Vocabulary, load_vocabulary
from .solutions import duplicate_titles, to_solution

__all__ = ["Catalog", "load_catalog", "runnable_pairs", "check"]


@dataclass
class Catalog:
    """Solutions that could be read, the vocabulary, and every problem found (sorted)."""

    solutions: list[Solution]
    vocabulary: Vocabulary
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not has_errors(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


def runnable_pairs(solution: Solution, vocab: Vocabulary) -> tuple[RunnablePair, ...]:
    """The source -> destination moves of ``solution`` that ferry has connectors for.

    A move is runnable when the data type maps to a ferry vertical, a connector exports that
    vertical from the source service and a connector imports it into the destination service.
    The command uses each service's example ``location`` from services.yaml.
    """
    datatype = vocab.datatype(solution.datatype)
    if datatype is None or datatype.vertical is None:
        return ()
    vertical = datatype.vertical
    pairs = []
    for source in solution.sources:
        exporters = vocab.exporters(source, vertical)
        if not exporters:
            continue
        for destination in solution.destinations:
            if destination == source:
                continue
            importers = vocab.importers(destination, vertical)
            if not importers:
                continue
            exporter, importer = exporters[0], importers[0]
            command = (
                f"ferry transfer {exporter.name}:{_location(vocab, source)} "
                f"{importer.name}:{_location(vocab, destination)} --types {vertical}"
            )
            pairs.append(
                RunnablePair(
                    source=source, destination=destination, exporter=exporter.name,
                    importer=importer.name, vertical=vertical, command=command,
                )
            )
    return tuple(pairs)


def _location(vocab: Vocabulary, name: str) -> str:
    service = vocab.service(name)
    if service is not None and service.location:
        return service.location
    return f"<{slugify(name)}-location>"


def _page_files(solutions_dir: Path) -> list[Path]:
    if solutions_dir.is_file():
        return [solutions_dir]
    return sorted(p for p in solutions_dir.rglob("*.md") if p.is_file())


def load_catalog(
    solutions_dir: Path | str,
    services_file: Path | str | None,
    connectors: Sequence[ConnectorInfo] = (),
) -> Catalog:
    """Read and check every ``*.md`` under ``solutions_dir`` against ``services_file``.

    Never raises for bad content; a missing directory is reported as a problem too.

    Args:
        solutions_dir: folder of solution pages (searched recursively) or a single page.
        services_file: the services table (YAML); None uses only the built-in data types.
        connectors: ferry connectors as plain data, to mark runnable moves.
    """
    solutions_dir = Path(solutions_dir)
    services_path = Path(services_file) if services_file is not None else None
    vocab = load_vocabulary(
        services_path, connectors, shown=display_path(services_path) if services_path else None
    )
    problems = list(vocab.problems)
    if not solutions_dir.exists():

        problems.append(
            Problem(display_path(solutions_dir), 0, Severity.ERROR, Kind.NO_FRONTMATTER, "solutions folder not found")
        )
        return Catalog([], vocab, sorted(problems), 0)
    files = _page_files(solutions_dir)
    root = solutions_dir if solutions_dir.is_dir() else solutions_dir.parent
    pages: list[tuple[RawPage, Solution]] = []
    all_pages: list[RawPage] = []
    used_slugs: set[str] = set()
    for path in files:
        page = read_page(path, display_path(path))
        all_pages.append(page)
        solution = to_solution(page, vocab)
        if solution is None:
            continue
        slug = solution.slug
        if slug in used_slugs:
            slug = slugify(str(path.relative_to(root).with_suffix("")))
        used_slugs.add(slug)
        solution = solution.model_copy(update={"slug": slug, "runnable": runnable_pairs(solution, vocab)})
        pages.append((page, solution))
    duplicate_titles(pages)
    for page in all_pages:
        problems.extend(page.problems)
    solutions = sorted((s for _, s in pages), key=lambda s: (s.datatype, s.title.lower()))
    return Catalog(solutions, vocab, sorted(problems, key=_problem_order), len(files))


def _problem_order(p: Problem) -> tuple[str, int, str]:
    return (p.file, p.line, p.kind)


def check(
    solutions_dir: Path | str, services_file: Path | str | None, connectors: Sequence[ConnectorInfo] = ()
) -> list[Problem]:
    """Every problem in the catalog (errors and warnings), sorted by file and line."""
    return load_catalog(solutions_dir, services_file, connectors).problems

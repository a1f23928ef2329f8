"""Benchmark the portmap catalog: build time and search latency for 1,000 generated pages.

Run: ``.venv/bin/python bench/catalog.py [--pages 1000] [--queries 200]``. Pages are generated
in a temporary folder from ``content/services.yaml`` with a fixed seed, so runs are comparable.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog import ConnectorInfo, Searcher, build_site, load_catalog  # noqa: E402
from catalog.services import load_vocabulary  # noqa: E402

WORDS = (
    "albums archive backup export import transfer photos videos posts calendar events files zip json "
    "metadata captions dates resume schedule bucket folder cloud storage quota privacy account download"
).split()

CONNECTORS = [
    ConnectorInfo("meta", "Meta", ("Facebook", "Instagram"), frozenset({"photos", "videos", "social-posts", "calendar"})),
    ConnectorInfo("folder", "Folder", ("Local files", "Amazon S3", "Backblaze B2"), frozenset({"blobs", "photos", "videos"}),
                  frozenset({"photos", "videos", "media", "social-posts", "calendar", "blobs"})),
    ConnectorInfo("tiktok", "TikTok", ("TikTok",), frozenset({"videos", "social-posts", "blobs"})),
]


def generate(folder: Path, services_file: Path, pages: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    vocab = load_vocabulary(services_file)
    by_type: dict[str, list[str]] = {}
    for service in vocab.services:
        for offered in service.offers:
            by_type.setdefault(offered, []).append(service.name)
    types = [t for t, names in by_type.items() if len(names) >= 3]
    for i in range(pages):
        datatype = rng.choice(types)
        names = by_type[datatype]
        sources = rng.sample(names, k=min(len(names), rng.randint(1, 2)))
        others = [n for n in names if n not in sources]
        dests = rng.sample(others, k=min(len(others), rng.randint(1, 4)))
        words = " ".join(rng.choice(WORDS) for _ in range(120))
        body = (
            f"# Moving {datatype.lower()} number {i}\n\n{words}.\n\n## What this solution can do\n\n"
            f"{' '.join(rng.choice(WORDS) for _ in range(40))}. See [the home page](https://dtinit.org/articles/{i}).\n"
        )
        src = ", ".join(sources) if i % 2 else str(sources)
        (folder / f"page{i:04d}.md").write_text(
            f"---\ntitle: {datatype} from {sources[0]} to {dests[0]}, way {i}\ndatatype: {datatype}\n"
            f"sources: {src}\ndestinations: {dests}\n---\n\n{body}",
            encoding="utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    services = ROOT / "content" / "services.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "solutions"
        pages.mkdir()
        generate(pages, services, args.pages)

        started = time.perf_counter()
        catalog = load_catalog(pages, services, CONNECTORS)
        load_s = time.perf_counter() - started

        report = build_site(pages, services, Path(tmp) / "site", CONNECTORS)
        rebuild = build_site(pages, services, Path(tmp) / "site", CONNECTORS)
        index_kb = report.index_path.stat().st_size / 1024

        started = time.perf_counter()
        searcher = Searcher.from_catalog(catalog)
        searcher_s = time.perf_counter() - started

        rng = random.Random(11)
        services_used = sorted({n for s in catalog.solutions for n in s.sources})
        queries = []
        for i in range(args.queries):
            kind = i % 4
            if kind == 0:
                queries.append({"source": rng.choice(services_used)})
            elif kind == 1:
                name = rng.choice(services_used)
                queries.append({"source": name[:-1] + "x", "datatype": "photo"})  # typo + alias
            elif kind == 2:
                queries.append({"text": " ".join(rng.sample(WORDS, 2))})
            else:
                queries.append({"text": rng.choice(WORDS)[:-1] + "z backup", "destination": rng.choice(services_used)})
        latencies = []
        for query in queries:
            t0 = time.perf_counter()
            searcher.search(**query)
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"pages: {args.pages} ({len(catalog.solutions)} loaded, {len(catalog.problems)} problems)")
        print(f"load + check: {load_s:.2f} s")
        print(f"build site: {report.seconds:.2f} s ({report.pages} HTML pages, index {index_kb:.0f} KiB); rebuild {rebuild.seconds:.2f} s")
        print(f"search index: {searcher_s * 1000:.0f} ms to build")
        print(
            f"search latency over {len(latencies)} queries: median {statistics.median(latencies):.2f} ms, "
            f"p95 {p95:.2f} ms, max {latencies[-1]:.2f} ms"
        )


if __name__ == "__main__":
    main()

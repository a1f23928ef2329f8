"""Hostile Meta archives: peak memory and time of reading them, before and after the bounded reads.

Builds the archives of ``tests/hostile/archives.py`` (a 2.2 GB album-JSON zip bomb, the same with
headers that claim 2 KB, a 200 MB JSON string, bad entries among good ones) and reads each, in a
fresh process, with the Meta exporter of this checkout ("after") and of an older revision
("before", extracted with ``git archive``): list the photos and social posts, read every photo.
Prints the peak RSS of that process, the time, and what it said. Figures only: nothing here
asserts. The "before" process runs under an address-space limit (``--before-limit-gb``) so a
MemoryError, not the machine's swap, ends it.

    .venv/bin/python bench/hostile_archives.py --before b3b2fd4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile import archives as hostile  # noqa: E402

MiB = 1 << 20

_READER = r"""
import json, resource, sys, time
t = time.monotonic()
from connectors.meta import MetaArchiveExporter
from connectors.models import Vertical
photos = failed = 0
said = []
try:
    ex = MetaArchiveExporter(sys.argv[1])
    for vertical in (Vertical.PHOTOS, Vertical.SOCIAL_POSTS):
        cursor = None
        while True:
            page = ex.list_page(vertical, cursor)
            for item in page.items:
                if item.kind == "photo":
                    try:
                        with ex.open_bytes(item) as stream:
                            while stream.read(1 << 16):
                                pass
                        photos += 1
                    except Exception as exc:
                        failed += 1
                        said.append(f"{type(exc).__name__}: {exc}")
            cursor = page.next
            if cursor is None:
                break
    said += [f"{p.subject}: {p.message}" for p in ex.problems() if str(getattr(p, "kind", "failed")) == "failed"]
    outcome = "ok"
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": time.monotonic() - t,
                  "photos": photos, "outcome": outcome, "said": [s[:160] for s in said[:3]]}))
"""


def _limit(gb: float):
    def apply() -> None:
        cap = int(gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return apply


def read_with(source: Path, archive: Path, limit_gb: float | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(source))
    proc = subprocess.run(
        [sys.executable, "-c", _READER, str(archive)], env=env, capture_output=True, text=True, timeout=1800,
        preexec_fn=_limit(limit_gb) if limit_gb else None, cwd=source,
    )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        return {"peak_mib": float("nan"), "seconds": float("nan"), "photos": 0, "outcome": f"crashed: {proc.stderr[-200:]}", "said": []}
    return json.loads(lines[-1])


def extract(rev: str, into: Path) -> Path:
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "connectors"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="git revision to compare with (e.g. the commit before the bounded reads)")
    parser.add_argument("--before-limit-gb", type=float, default=8.0)
    parser.add_argument("--bomb-mb", type=int, default=2200)
    parser.add_argument("--string-mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [
            hostile.ratio_bomb(work / "a", args.bomb_mb * MiB),
            hostile.lying_header_bomb(work / "b", args.bomb_mb * MiB),
            hostile.huge_json_string(work / "c", args.string_mb * MiB),
            hostile.hostile_entries(work / "d"),
        ]
        sources = [("after", ROOT, None)]
        if args.before:
            sources.insert(0, (f"before ({args.before})", extract(args.before, Path(tempfile.mkdtemp(dir=tmp))), args.before_limit_gb))
        print(f"{'case':44} {'code':18} {'peak RSS':>10} {'time':>8} {'photos':>7}  outcome")
        for case in cases:
            for label, source, limit in sources:
                r = read_with(source, case.path, limit)
                print(f"{case.note[:44]:44} {label[:18]:18} {r['peak_mib']:8.0f} MB {r['seconds']:7.1f}s {r['photos']:>3}/{case.good_photos:<3}  {r['outcome'][:70]}")
                for said in r["said"][:2]:
                    print(f"{'':44}   {said[:130]}")


if __name__ == "__main__":
    main()

"""How long the commands that look before anything moves take, run cold as a user runs them.

``ferry ls --summary``, ``ferry check`` and ``ferry transfer --dry-run`` on a generated Meta archive
into a folder, each a fresh ``python -m ferry`` process (no runner, no Prefect: they never start
one), several times; prints the median wall time and the peak RSS of each.

    .venv/bin/python bench/preview.py --photos 200 --size-mb 50 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one cold ``python -m ferry ARGS``."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ferry", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ferry {' '.join(args)} exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1000  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()

    from connectors.meta.sample import write_sample_archive

    with tempfile.TemporaryDirectory(prefix="ferry-bench-preview-") as tmp:
        tmp = Path(tmp)
        sample = write_sample_archive(tmp / "facebook.zip", photos=opts.photos, size_mb=opts.size_mb, seed=1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "PREFECT_"))}
        env.update(FERRY_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(ROOT))
        commands = {
            "ls --summary": ["ls", f"meta:{sample.path}", "--summary"],
            "check": ["check", f"meta:{sample.path}", str(tmp / "out")],
            "transfer --dry-run": ["transfer", f"meta:{sample.path}", str(tmp / "out"), "--dry-run"],
        }
        run(["ls", f"meta:{sample.path}", "--summary"], env)  # creates the job store once
        print(f"archive: {sample.archive_bytes / 1e6:.1f} MB, {sum(sample.items_per_vertical().values())} items; "
              f"{opts.runs} cold runs each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, args in commands.items():
            figures = [run(args, env) for _ in range(opts.runs)]
            wall = statistics.median(s for s, _ in figures)
            rss = max(r for _, r in figures)
            print(f"  ferry {name:<20} median {wall:5.2f} s   peak RSS {rss:5.0f} MB")


if __name__ == "__main__":
    main()

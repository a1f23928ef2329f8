"""Benchmark the catalog on hostile pages: wall time and peak RSS of loading each one.

Run: ``.venv/bin/python bench/catalog_hostile.py [--timeout 120] [--memory-mb 2048] [CASE ...]``.
Each case (see ``tests/hostile/pages.py``) is loaded with ``load_catalog`` in a child process of
its own, so one page's peak RSS does not hide another's. The child runs under an address-space
limit (``--memory-mb``, so a runaway page cannot take the shared machine down) and is killed after
``--timeout`` seconds; the parent samples the child's VmHWM from /proc meanwhile, so even a killed
child gets a peak figure. Prints one line per case; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile.pages import GENERATORS  # noqa: E402

_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[3]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, sys.argv[4])
from catalog import load_catalog
started = time.perf_counter()
try:
    cat = load_catalog(sys.argv[1], sys.argv[2])
    errors = [str(p) for p in cat.errors]
    outcome = errors[0][:160] if errors else f"accepted ({len(cat.solutions)} solution)"
except BaseException as exc:
    outcome = f"raised {type(exc).__name__}: {str(exc)[:100]}"
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, "outcome": outcome}))
"""


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_case(name: str, folder: Path, services: Path, timeout: float, memory_mb: int) -> str:
    page = GENERATORS[name](folder / name)
    argv = [sys.executable, "-c", _CHILD, str(page.path), str(services), str(memory_mb), str(ROOT)]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _vm_hwm_mb(child.pid) or 0.0)
        if time.perf_counter() - started > timeout:
            child.kill()
            child.wait()
            return f"{name:24} {page.size / 1e6:7.2f} MB  killed after {timeout:.0f} s, peak RSS >= {peak:.0f} MB"
        time.sleep(0.05)
    out, err = child.communicate()
    try:
        row = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (err.strip().splitlines() or ["no output"])[-1]
        return f"{name:24} {page.size / 1e6:7.2f} MB  child died (rc {child.returncode}): {tail[:120]}"
    return (
        f"{name:24} {page.size / 1e6:7.2f} MB  {row['seconds']:8.3f} s  peak RSS {row['rss_mb']:6.0f} MB  "
        f"{row['outcome']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(GENERATORS), help="case names (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="kill a child after this many seconds")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of each child")
    args = parser.parse_args()
    services = ROOT / "tests" / "catalog_fixtures" / "services.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            print(run_case(name, Path(tmp), services, args.timeout, args.memory_mb), flush=True)


if __name__ == "__main__":
    main()

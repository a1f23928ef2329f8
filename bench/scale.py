"""Scale-out benchmark: the same transfers on 1, 2 and 4 Prefect process workers.

Starts the real stack once (Prefect server on PostgreSQL 127.0.0.1:5432, prefect.yaml deployed,
job store in its own database; see tests/prefect_stack.py), then for each worker count runs the
same set of transfers (a generated Meta sample archive -> a local folder, one ``transfer``
deployment run each) and prints wall time and throughput. Each worker runs one flow run at a
time (``--limit 1``), so N workers means N transfers at once.

    .venv/bin/python bench/scale.py                      # 8 transfers, 1/2/4 workers
    .venv/bin/python bench/scale.py --transfers 12 --photos 60 --workers 1,2,3

Wall time starts when the runs are submitted and ends when every job is COMPLETE, so it includes
Prefect's per-run cost (worker polling every second, a fresh Python process per run: ~3 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=8, help="transfers per round")
    parser.add_argument("--photos", type=int, default=40, help="photos in the sample archive")
    parser.add_argument("--size-mb", type=float, default=4.0, help="total photo bytes in the archive (MB)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    args = parser.parse_args()

    from ferry.prefect_env import quiet_prefect_defaults

    quiet_prefect_defaults()
    from tests.prefect_stack import FERNET_KEY, Stack

    stack = Stack()
    print(f"starting Prefect server on PostgreSQL and deploying prefect.yaml ... ({os.cpu_count()} cores)", flush=True)
    stack.start()
    try:
        os.environ.update(FERRY_DATABASE_URL=stack.database_url, FERRY_DATA_DIR=str(stack.data_dir), FERRY_SECRET_KEY=FERNET_KEY, PREFECT_API_URL=stack.api_url)
        rows = [run_round(stack, n, args) for n in (int(x) for x in args.workers.split(","))]
    finally:
        stack.stop()
    base = rows[0]["items_per_s"] or 1
    print()
    print(f"{'workers':>7} | {'transfers':>9} | {'items':>6} | {'MB':>7} | {'wall s':>7} | {'items/s':>8} | {'MB/s':>6} | {'speed-up':>8}")
    print("-" * 80)
    for r in rows:
        print(f"{r['workers']:>7} | {r['transfers']:>9} | {r['items']:>6} | {r['mb']:>7.1f} | {r['wall']:>7.1f} | {r['items_per_s']:>8.1f} | {r['mb_per_s']:>6.2f} | {r['items_per_s'] / base:>7.2f}x")


def run_round(stack, workers: int, args) -> dict:
    from prefect.deployments import run_deployment
    from sqlmodel import Session, select

    from connectors.meta.sample import write_sample_archive
    from flows.store import Job, get_engine
    from flows.transfer import create_job

    tmp = Path(tempfile.mkdtemp(prefix=f"ferry-scale-{workers}-"))
    archive = tmp / "facebook.zip"
    write_sample_archive(archive, photos=args.photos, videos=1, posts=5, events=2, albums=3, size_mb=args.size_mb, video_mb=0.2, seed=11)
    jobs = [create_job(f"meta:{archive}", f"folder:{tmp / f'out-{i}'}", ["photos", "videos"], options={"meta": {"page_size": "20"}}) for i in range(args.transfers)]
    procs = [stack.worker(f"bench-{workers}-{i}", limit=1) for i in range(workers)]
    engine = get_engine(stack.database_url)
    ids = {job.id for job in jobs}
    try:
        time.sleep(2)  # let the workers register before the clock starts
        started = time.perf_counter()
        for job in jobs:
            run_deployment("transfer/transfer", parameters={"job_id": job.id}, timeout=0)
        while True:
            with Session(engine) as session:
                rows = [j for j in session.exec(select(Job)).all() if j.id in ids]
            if all(j.state.is_final or j.state.value == "FAILED" for j in rows):
                break
            time.sleep(0.25)
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            stack.stop_worker(proc)
    items = sum(j.items_imported for j in rows)
    mb = sum(j.bytes_moved for j in rows) / 1e6
    states = {j.state.value for j in rows}
    print(f"{workers} worker(s): {len(rows)} transfers {sorted(states)} in {wall:.1f} s", flush=True)
    return {"workers": workers, "transfers": len(rows), "items": items, "mb": mb, "wall": wall, "items_per_s": items / wall, "mb_per_s": mb / wall}


if __name__ == "__main__":
    main()

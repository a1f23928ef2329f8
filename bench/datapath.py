"""The folder connector's data path, past start-up: ferry against ``cp`` and ``rclone`` on the same files.

No Prefect here (``bench/compare.py`` measures whole commands as a user runs them). Each run is a
fresh process whose own peak RSS is measured; the source files are in the page cache for every
tool alike (they were just written). Data sets:

* ``large``: 40 files of 10 MB (400 MB): MB/s, against ``cp -r`` (goal: at least 0.7x);
* ``small``: 2,000 files of 20 KB: files/s, against ``rclone copy --transfers 4`` (goal: at least 1x);
* ``mixed``: the issue's set, 200 files of 2 MB and 2,000 of 20 KB (440 MB).

Two ferry runs per set: ``ferry importer`` (the folder exporter's pages straight into the folder
importer, the bytes path alone) and ``ferry engine`` (the same through flows.steps: ledger
intents and outcomes, the exactly-once bookkeeping, still no Prefect). Local -> local, and local ->
S3 on a moto server (``--s3``). ``--rss`` compares ferry's peak RSS on a 0.4 GB and a 4 GB set
(issue 11: flat within 10%).

    .venv/bin/python bench/datapath.py                 # local sets
    .venv/bin/python bench/datapath.py --s3 --sets mixed
    .venv/bin/python bench/datapath.py --rss --s3      # 0.4 GB vs 4 GB peak RSS (needs ~9 GB of disk)

Each row gives the whole run and the part past start-up (ferry times its own export/import loop;
the runner keeps Python, imports and the job store warm, so that part is what a command pays per
transfer); the ratios compare the latter. Figures only; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "large": [(40, 10_000_000)],
    "small": [(2000, 20_000)],
    "mixed": [(200, 2_000_000), (2000, 20_000)],
    "large-4GB": [(400, 10_000_000)],  # with "large": peak RSS of multipart uploads, 0.4 vs 4 GB
}

IMPORTER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from connectors.folder.factory import make_exporter, make_importer
from connectors.base import ImportContext
from connectors.models import Vertical
from connectors.registry import ConnectorContext
options = json.loads(sys.argv[4])
exporter = make_exporter(ConnectorContext(location=sys.argv[2]))
importer = make_importer(ConnectorContext(location=sys.argv[3], options=options.get("folder", {}), storage_options=options.get("storage", {})))
ctx = ImportContext(open_bytes=exporter.open_bytes, job_id="bench")
import time
started = time.perf_counter()
cursor, failed = None, 0
while True:
    page = exporter.list_page(Vertical.BLOBS, cursor)
    failed += sum(o.status == "failed" for o in importer.import_page(list(page.items), ctx))
    if page.next is None:
        break
    cursor = page.next
print(json.dumps({"data_s": time.perf_counter() - started}))
if failed:
    raise SystemExit(f"{failed} items failed")
"""

ENGINE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from flows import steps
from flows.context import open_context
from flows.requests import create_job
from flows.runtime import open_runtime, close_runtime
options = json.loads(sys.argv[4])
ctx = open_context(data_dir=sys.argv[5], storage_options=options.get("storage", {}))
job = create_job(ctx, f"folder:{sys.argv[2]}", f"folder:{sys.argv[3]}", ["blobs"], options={"folder": options.get("folder", {})})
rt = open_runtime(ctx, job.id)
steps.authorize_job(rt)
import time
started = time.perf_counter()
for vertical in rt.routes:
    while True:
        page = steps.convert_page(rt, steps.export_page(rt, vertical))
        result = steps.import_page(rt, page)
        if page.done:
            break
close_runtime(job.id)
print(json.dumps({"data_s": time.perf_counter() - started}))
figures = ctx.ledger.figures(job.id)
if figures.total.failed:
    raise SystemExit(f"{figures.total.failed} items failed")
"""

_WRAPPER = (
    "import json,resource,subprocess,sys,time\n"
    "t=time.perf_counter();p=subprocess.run(sys.argv[1:],capture_output=True)\n"
    "e=time.perf_counter()-t\n"
    "print(json.dumps({'rc':p.returncode,'s':e,'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,'err':p.stderr.decode()[-3000:],'out':p.stdout.decode()[-3000:]}))\n"
)


def measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB) and seconds past start-up of ``cmd``, run alone under a wrapper process.

    Past start-up: ferry's runs time their own export/import loop (after Python, imports, the
    job store and the job are ready: what the background runner already has when a command
    asks it) and print it as ``{"data_s": ...}``; ``cp`` and ``rclone`` start in milliseconds,
    so their whole run counts.

    Dirty pages of the previous run are written out first (``sync``), so no run pays for the
    write-back of the one before it."""
    os.sync()
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], env=env or dict(os.environ), capture_output=True, text=True)
    data = json.loads(out.stdout)
    if data["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({data['rc']}):\n{data['err']}")
    past = next((json.loads(line)["data_s"] for line in data["out"].splitlines() if line.startswith('{"data_s"')), data["s"])
    return data["s"], data["rss"] / 1024, past


def make_set(root: Path, spec: list[tuple[int, int]], seed: int = 7) -> tuple[int, int]:
    """Files of the given counts and sizes, 50 per folder; returns (files, bytes)."""
    rng = random.Random(seed)
    files = total = 0
    block = rng.randbytes(1 << 20)
    for count, size in spec:
        for n in range(count):
            path = root / f"d{size}" / f"g{n // 50:03d}" / f"f{n:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            head = rng.randbytes(64)  # every file differs
            with open(path, "wb") as out:
                out.write(head)
                left = size - len(head)
                while left > 0:
                    out.write(block[: min(left, len(block))])
                    left -= len(block)
            files += 1
            total += size
    return files, total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            return proc, endpoint
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def runs_for(where: str, src: Path, work: Path, tag: str, moto: str | None, transfers: int) -> list[tuple[str, list[str], dict]]:
    """(name, command, env) of every tool for one set and one kind of destination."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_CA_BUNDLE", None)
    folder = {"transfers": str(transfers)}
    runs = []
    if where == "local":
        dest = lambda name: str(work / f"{tag}-{name}")  # noqa: E731
        runs.append(("cp -r", ["cp", "-r", str(src), dest("cp")], env))
        storage = {}
    else:
        import s3fs

        fs = s3fs.S3FileSystem(key="bench", secret="bench", client_kwargs={"endpoint_url": moto}, skip_instance_cache=True)
        for name in ("importer", "engine", "rclone"):
            fs.mkdir(f"{tag}-{name}".lower().replace("_", "-"))
        dest = lambda name: f"s3://{tag}-{name}".lower().replace("_", "-")  # noqa: E731
        storage = {"key": "bench", "secret": "bench", "client_kwargs": {"endpoint_url": moto}}
    options = json.dumps({"folder": folder, "storage": storage})
    runs.append(("ferry importer", [sys.executable, "-c", IMPORTER, str(ROOT), str(src), dest("importer"), options], env))
    runs.append(("ferry engine", [sys.executable, "-c", ENGINE, str(ROOT), str(src), dest("engine"), options, str(work / f"data-{tag}")], env))
    rclone = shutil.which("rclone")
    if rclone:
        target = dest("rclone") if where == "local" else ":s3:" + dest("rclone").removeprefix("s3://")
        extra = [] if where == "local" else ["--s3-provider", "Other", "--s3-endpoint", moto, "--s3-access-key-id", "bench", "--s3-secret-access-key", "bench"]
        runs.append(("rclone copy", [rclone, "copy", str(src), target, "--transfers", str(transfers), *extra], env))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["large", "small", "mixed"], choices=sorted(SETS))
    parser.add_argument("--s3", action="store_true", help="also local -> S3 on a moto server")
    parser.add_argument("--no-local", action="store_true", help="only local -> S3")
    parser.add_argument("--rss", action="store_true", help="peak RSS of ferry on a 0.4 GB and a 4 GB mixed set")
    parser.add_argument("--transfers", type=int, default=4, help="copies at once (ferry and rclone)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the fastest counts")
    parser.add_argument("--work", default=None, help="where the data goes (default: a temp dir)")
    parser.add_argument("--tools", nargs="+", default=None, help="only these runs (e.g. 'ferry importer' 'rclone copy')")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ferry-datapath-", dir=args.work))
    moto_proc, moto = start_moto() if args.s3 else (None, None)
    rows = []
    try:
        wheres = ([] if args.no_local else ["local"]) + (["s3"] if args.s3 else [])
        plan = [(name, SETS[name]) for name in args.sets]
        if args.rss:
            plan = [("rss-0.4GB", SETS["mixed"]), ("rss-4GB", [(count * 10, size) for count, size in SETS["mixed"]])]
        for name, spec in plan:
            src = work / f"src-{name}"
            files, nbytes = make_set(src, spec)
            for where in wheres:
                for tool, cmd, env in runs_for(where, src, work, f"{name}-{where}", moto, args.transfers):
                    if args.tools and tool not in args.tools:
                        continue
                    best = None
                    for attempt in range(args.repeat):
                        if attempt:  # a fresh destination each time
                            target = cmd[-2] if tool.startswith("ferry") else None
                            if target and not target.startswith("s3://"):
                                shutil.rmtree(target, ignore_errors=True)
                            if tool == "ferry engine":
                                shutil.rmtree(cmd[-1], ignore_errors=True)
                            if tool in ("cp -r", "rclone copy") and where == "local":
                                shutil.rmtree(cmd[3] if tool == "cp -r" else cmd[3], ignore_errors=True)
                        run = measured(cmd, env)
                        best = run if best is None or run[2] < best[2] else best
                    seconds, rss, past = best
                    rows.append({"set": name, "to": where, "tool": tool, "files": files, "MB": nbytes / 1e6, "s": seconds, "rss": rss, "past": past})
                    print(
                        f"  {name:>9} {where:>5} {tool:<15} {seconds:7.2f} s (past start-up {past:6.2f} s: {nbytes / 1e6 / past:8.1f} MB/s "
                        f"{files / past:8.0f} files/s) {rss:6.0f} MB RSS", file=sys.stderr,
                    )  # fmt: skip
            shutil.rmtree(src, ignore_errors=True)
            for path in work.glob(f"{name}-*"):
                shutil.rmtree(path, ignore_errors=True)
    finally:
        if moto_proc:
            moto_proc.terminate()
            moto_proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    """Whole runs, and past start-up (the ratios use the latter: what issue 11's goals are about)."""
    print("set | to | tool | files | MB | s | s past start-up | MB/s | files/s | peak RSS MB | vs cp | vs rclone")
    print("--- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:")
    for row in rows:
        same = [r for r in rows if r["set"] == row["set"] and r["to"] == row["to"]]
        cp = next((r["past"] for r in same if r["tool"] == "cp -r"), None)
        rclone = next((r["past"] for r in same if r["tool"] == "rclone copy"), None)
        ratio = lambda base: f"{base / row['past']:.2f}x" if base else ""  # noqa: E731
        print(
            f"{row['set']} | {row['to']} | {row['tool']} | {row['files']} | {row['MB']:.0f} | {row['s']:.2f} | {row['past']:.2f} | "
            f"{row['MB'] / row['past']:.1f} | {row['files'] / row['past']:.0f} | {row['rss']:.0f} | {ratio(cp)} | {ratio(rclone)}"
        )


if __name__ == "__main__":
    main()

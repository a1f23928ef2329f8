"""Transfer benchmark: ferry vs rclone on the same files, local->local and local->S3 (moto).

Builds sample archives of N photos of a given size, then measures, each in a fresh process:

* ``ferry meta->folder``: the Meta archive (zip) into a folder, through the Prefect flow;
* ``ferry folder->folder``: the same media as a plain folder tree (blobs), like rclone copy;
* ``ferry direct``: the same folder->folder steps without Prefect, to isolate orchestration cost;
* ``rclone copy``: the same folder tree, when rclone is installed (`apt-get install rclone`).

Prints items/s, MB/s, peak RSS of the process and Prefect's overhead per item. Figures only:
nothing here asserts a speed.

Every ferry command here runs in-process (``FERRY_RUNNER=off``) against a Prefect server this
script starts first, so the figures leave out what a user pays to start Prefect: they isolate the
engine and the per-run orchestration. ``bench/compare.py`` measures ferry as a user runs it
(cold, with the runner, against cp and rclone).

    .venv/bin/python bench/transfer.py --items 200 --size-kb 1024 --sizes-factor 1 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measured(cmd: list[str], env: dict) -> tuple[float, int, str]:
    """Like run_measured, but the peak RSS is the child's own (via a wrapper process)."""
    wrapper = (
        "import resource,subprocess,sys,time,json;"
        "t=time.perf_counter();p=subprocess.run(sys.argv[1:],capture_output=True);"
        "e=time.perf_counter()-t;"
        "print(json.dumps({'rc':p.returncode,'s':e,'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
        "'out':p.stdout.decode()[-20000:],'err':p.stderr.decode()[-3000:]}))"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, *cmd], env=env, capture_output=True, text=True)
    data = json.loads(result.stdout)
    if data["rc"] not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({data['rc']}):\n{data['err']}")
    return data["s"], data["rss"] // 1024, data["out"]


def media_tree_from_zip(archive: Path, out: Path) -> tuple[int, int]:
    """Extract only the media members (what rclone and folder->folder copy); returns (files, bytes)."""
    files = total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.endswith(".json"):
                continue
            target = out / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            files += 1
            total += info.file_size
    return files, total


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, endpoint


def start_prefect(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return proc, url


DIRECT = r"""
import json, sys
from flows.context import open_context
from flows.engine import run_job
from flows.requests import create_job
ctx = open_context()
job = create_job(ctx, sys.argv[1], sys.argv[2], [sys.argv[3]], options=json.loads(sys.argv[4]))
run_job(ctx, job.id)  # the engine's plain steps: no Prefect
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200, help="photos per archive")
    parser.add_argument("--size-kb", type=int, default=512, help="average photo size in KB")
    parser.add_argument("--sizes-factor", type=int, nargs="+", default=[1, 4], help="archive size multipliers (memory flatness)")
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--transfers", type=int, default=None,
                        help="copies at once for ferry's folder destination (-o folder.transfers=N) and rclone")
    args = parser.parse_args()

    from connectors.meta.sample import write_sample_archive

    work = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    prefect_proc, prefect_url = start_prefect(work / "prefect")
    moto_proc, moto_url = (None, None) if args.no_s3 else start_moto()
    env = dict(os.environ, PREFECT_API_URL=prefect_url, FERRY_PAGE_SIZE=str(args.page_size), FERRY_RUNNER="off",
               PREFECT_LOGGING_LEVEL="WARNING", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    env.pop("AWS_CA_BUNDLE", None)
    rclone = shutil.which("rclone")
    ferry_opts = ["-o", f"folder.transfers={args.transfers}"] if args.transfers else []
    direct_opts = json.dumps({"folder": {"transfers": str(args.transfers)}} if args.transfers else {})
    rclone_opts = ["--transfers", str(args.transfers)] if args.transfers else []
    rows = []
    try:
        for factor in args.sizes_factor:
            items = args.items * factor
            size_mb = items * args.size_kb / 1024
            archive = work / f"archive-{factor}.zip"
            write_sample_archive(archive, photos=items, videos=0, posts=0, events=0, albums=4, size_mb=size_mb, seed=factor, instagram=False)
            tree = work / f"tree-{factor}"
            files, nbytes = media_tree_from_zip(archive, tree)
            mb = nbytes / 1e6

            def record(name, seconds, rss, n=files):
                rows.append({"run": name, "items": n, "MB": round(mb, 1), "s": round(seconds, 2),
                             "items/s": round(n / seconds, 1), "MB/s": round(mb / seconds, 1), "peak RSS MB": rss})

            targets = [("local", lambda tag: str(work / f"out-{tag}-{factor}"))]
            if moto_url:
                targets.append(("s3", lambda tag: f"s3://bench-{tag}-{factor}"))
            for where, dest in targets:
                fenv = dict(env, FERRY_DATA_DIR=str(work / f"data-{where}-{factor}"))
                if where == "s3":
                    fenv["FERRY_STORAGE_OPTIONS"] = json.dumps({"client_kwargs": {"endpoint_url": moto_url}, "key": "x", "secret": "x"})
                    import s3fs

                    fs = s3fs.S3FileSystem(key="x", secret="x", client_kwargs={"endpoint_url": moto_url})
                    for tag in ("meta", "folder", "direct", "rclone"):
                        fs.mkdir(f"bench-{tag}-{factor}")
                s, rss, _ = measured([sys.executable, "-m", "ferry", "transfer", f"meta:{archive}", f"folder:{dest('meta')}", "-t", "photos", "--no-progress", "--json", *ferry_opts], dict(fenv, FERRY_DATA_DIR=fenv["FERRY_DATA_DIR"] + "-m"))
                record(f"ferry meta->folder ({where})", s, rss)
                s_flow, rss, _ = measured([sys.executable, "-m", "ferry", "transfer", f"folder:{tree}", f"folder:{dest('folder')}", "-t", "blobs", "--no-progress", "--json", *ferry_opts], dict(fenv, FERRY_DATA_DIR=fenv["FERRY_DATA_DIR"] + "-f"))
                record(f"ferry folder->folder ({where})", s_flow, rss)
                s_direct, rss, _ = measured([sys.executable, "-c", DIRECT, f"folder:{tree}", f"folder:{dest('direct')}", "blobs", direct_opts], dict(fenv, FERRY_DATA_DIR=fenv["FERRY_DATA_DIR"] + "-d"))
                record(f"ferry direct, no Prefect ({where})", s_direct, rss)
                rows[-1]["prefect overhead ms/item"] = round((s_flow - s_direct) * 1000 / files, 2)
                if rclone:
                    if where == "local":
                        cmd = [rclone, "copy", str(tree), dest("rclone"), *rclone_opts]
                        renv = env
                    else:
                        cmd = [rclone, "copy", str(tree), f":s3:bench-rclone-{factor}", "--s3-provider", "Other",
                               "--s3-endpoint", moto_url, "--s3-access-key-id", "x", "--s3-secret-access-key", "x", *rclone_opts]
                        renv = dict(env)
                    s, rss, _ = measured(cmd, renv)
                    record(f"rclone copy ({where})", s, rss)
    finally:
        prefect_proc.terminate()
        if moto_proc:
            moto_proc.terminate()
        shutil.rmtree(work, ignore_errors=True)
    columns = ["run", "items", "MB", "s", "items/s", "MB/s", "peak RSS MB", "prefect overhead ms/item"]
    print(" | ".join(columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in columns))


if __name__ == "__main__":
    main()

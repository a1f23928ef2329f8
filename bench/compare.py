"""ferry against cp and rclone on the same data, measured as a user runs each command.

Generates a data set (default 200 files of 2 MB and 2,000 of 20 KB, about 440 MB; ``--scale``
multiplies both counts, e.g. ``--scale 9`` for about 4 GB), then runs, each as a separate
command, timed from outside with the peak RSS of every process involved:

* ``cp -r`` (the disk's limit) and ``rclone copy --transfers 4`` (when installed);
* ``ferry transfer SRC DST`` cold in a fresh data dir (the first command ever: it starts the
  runner, whose Prefect server creates its database), the runner's start on its own
  (``ferry server start`` after ``ferry server stop``, database kept: the first command of the
  day), ferry warm (the runner up: what every later command costs), and ferry with the runner
  off (``FERRY_RUNNER=off``: Prefect imported and a temporary Prefect server in the command,
  what every command cost before the runner);
* local -> S3 on a moto server this script starts: rclone and ferry warm;
* a Meta archive -> folder: ``unzip`` of the same archive and ferry warm;
* ``ferry --help`` and a bad request (a missing source): the median of five;
* with ``--items N`` (e.g. 10000), N files of 1 KB through ferry warm and through the engine
  without Prefect (``flows.engine.run_job`` with plain steps), to show orchestration per item.

The ratio column is rclone's time divided by the run's (higher is faster; 1.00x = rclone).
Peak RSS: the command's own (wait4), and for ferry also the runner's and its Prefect server's
high-water marks (VmHWM; they grow over the runner's life, so they are read after each run).
Prints figures only; nothing here asserts a speed.

    .venv/bin/python bench/compare.py                # ~440 MB, local and S3
    .venv/bin/python bench/compare.py --scale 9      # ~4 GB
    .venv/bin/python bench/compare.py --no-s3 --items 10000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FERRY = [sys.executable, "-m", "ferry"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Result:
    def __init__(self, seconds: float, rss_mb: float, code: int, out: str):
        self.seconds, self.rss_mb, self.code, self.out = seconds, rss_mb, code, out


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run(cmd: list[str], env: dict, *, ok=(0,)) -> Result:
    """Run ``cmd`` to its end: wall seconds and its peak RSS.

    The RSS comes from GNU time (``%M``) when installed: a process forked from this (large)
    script starts with this script's pages counted, so wait4's figure would be ours, not its.
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        argv = [TIME, "-f", "%M", "-o", rss_file.name, *cmd] if TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
        try:
            rss_mb = int(rss_file.read().strip().splitlines()[-1]) / 1024
        except (ValueError, IndexError):
            rss_mb = usage.ru_maxrss / 1024
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{text[-3000:]}")
    return Result(seconds, rss_mb, code, text)


def vm_hwm(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def runner_pids(data_dir: Path) -> tuple[int | None, int | None]:
    for state in (data_dir / "runner").glob("*.json"):
        data = json.loads(state.read_text())
        return data.get("pid"), data.get("prefect_pid")
    return None, None


def make_tree(root: Path, large: int, small: int) -> tuple[int, int]:
    """``large`` files of 2 MB and ``small`` of 20 KB in nested folders (incompressible bytes)."""
    block = os.urandom(1 << 20)
    total = 0
    for n in range(large):
        path = root / "large" / f"d{n % 10}" / f"big{n:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = block[n % 1000 :] + block[: n % 1000]
        path.write_bytes(data + data)
        total += 2 << 20
    for n in range(small):
        path = root / "small" / f"d{n % 50}" / f"s{n:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = (n * 7919) % ((1 << 20) - 20_480)
        path.write_bytes(block[start : start + 20_480])
        total += 20_480
    return large + small, total


def start_moto() -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(endpoint + "/moto-api/", timeout=1)
            return proc, endpoint
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("moto did not start")


ORCHESTRATION = r"""
# Orchestration per item, measured as CPU: the same process runs the same job through the engine
# with plain steps and through the Prefect flow (as ferry's runner does: context bound, heartbeat
# off), alternating; the Prefect server's CPU is read from /proc as well.
import json, os, sys, time
from pathlib import Path

from ferry.prefect_env import quiet_prefect_defaults

quiet_prefect_defaults()
src, out_root, prefect_pid, repeats = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.context import open_context
from flows.engine import run_job
from flows.requests import create_job
from flows.runtime import bind_context
from flows.transfer import transfer

ctx = open_context()


def one(kind, n):
    job = create_job(ctx, f"folder:{src}", f"folder:{out_root / f'{kind}-{n}'}", ["blobs"])
    own, server, wall = time.process_time(), cpu(prefect_pid), time.perf_counter()
    if kind == "plain":
        run_job(ctx, job.id)
    else:
        with bind_context(job.id, ctx), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            transfer(job_id=job.id, return_state=True)
    figures = [time.process_time() - own, cpu(prefect_pid) - server, time.perf_counter() - wall]
    state = ctx.jobs.get(job.id).state.value
    if state != "COMPLETE":
        raise SystemExit(f"{kind} run {n} ended {state}")
    return figures


results = {"plain": [], "flow": []}
one("plain", "warm-up")
one("flow", "warm-up")  # the first flow run also registers the flow and opens the API client
for n in range(repeats):
    for kind in ("plain", "flow") if n % 2 == 0 else ("flow", "plain"):
        results[kind].append(one(kind, n))
print("ORCH " + json.dumps(results))
"""


def proc_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process (from /proc), or None."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, work: Path, args):
        self.work, self.args = work, args
        self.rows: list[dict] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "PREFECT_"))}
        env.pop("AWS_CA_BUNDLE", None)  # moto speaks plain HTTP; a CA bundle meant for AWS breaks rclone
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1", PYTHONPATH=str(ROOT))
        self.env = env
        self.data_dir = work / "ferry-data"
        self.ferry_env = dict(env, FERRY_DATA_DIR=str(self.data_dir), FERRY_RUNNER_IDLE_SECONDS="600")
        self.outs = 0

    def out(self, tag: str) -> Path:
        self.outs += 1
        return self.work / f"out-{self.outs}-{tag}"

    def record(self, name: str, result: Result, files: int, nbytes: int, runner: bool = False, note: str = "") -> None:
        row = {"run": name, "s": result.seconds, "files": files, "MB": nbytes / 1e6, "rss": result.rss_mb, "note": note}
        if runner:
            pid, prefect_pid = runner_pids(self.data_dir)
            row["runner_rss"], row["prefect_rss"] = vm_hwm(pid), vm_hwm(prefect_pid)
        self.rows.append(row)
        print(f"  {name}: {result.seconds:.2f} s, RSS {result.rss_mb:.0f} MB" + (f" (runner {row.get('runner_rss') or 0:.0f} MB, Prefect {row.get('prefect_rss') or 0:.0f} MB)" if runner else ""), flush=True)

    def ferry(self, args: list[str], env: dict | None = None, ok=(0,)) -> Result:
        return run(FERRY + args, env or self.ferry_env, ok=ok)

    def stop_runner(self, env: dict | None = None) -> None:
        run(FERRY + ["server", "stop"], env or self.ferry_env)


def latency(bench: Bench, name: str, args: list[str], runs: int, ok=(0,)) -> None:
    """``runs`` cold commands: median and minimum of wall time and of CPU time (user + system).

    CPU is what a busy machine inflates least; the wall time is what a user waits for.
    """
    walls, cpus = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(FERRY + args, env=bench.ferry_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(ROOT))
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) not in ok:
            raise SystemExit(f"ferry {' '.join(args)} exited {os.waitstatus_to_exitcode(status)}")
    note = f"CPU median {statistics.median(cpus):.2f} s (min {min(cpus):.2f}); wall min {min(walls):.2f} s; load {os.getloadavg()[0]:.1f}"
    bench.rows.append({"run": f"{name} (median of {runs})", "s": statistics.median(walls), "files": 0, "MB": 0, "rss": None, "note": note})
    print(f"  {name}: wall median {statistics.median(walls):.2f} s; {note}", flush=True)


def orchestration(bench: Bench, tiny: Path, items: int, repeats: int) -> None:
    """What Prefect adds per item, as CPU: the same job run ``repeats`` times through the engine
    with plain steps and through the flow, in one process against the runner's Prefect server.

    Per item = (median flow CPU - median plain CPU) / items, for that process (what the runner
    pays) and for the Prefect server (its API calls, the task-run recorder), apart.
    """
    pid, prefect_pid = runner_pids(bench.data_dir)
    state = json.loads(next((bench.data_dir / "runner").glob("*.json")).read_text())
    if not prefect_pid:
        print("  (the runner uses PREFECT_API_URL: the server's CPU is not measured)")
    env = dict(bench.ferry_env, PREFECT_API_URL=state["api_url"], FERRY_DATA_DIR=str(bench.work / "orchestration-data"))
    result = run([sys.executable, "-c", ORCHESTRATION, str(tiny), str(bench.work / "orchestration-out"), str(prefect_pid or os.getpid()), str(repeats)], env)
    figures = json.loads(result.out.split("ORCH ", 1)[1].splitlines()[0])
    plain = [statistics.median(column) for column in zip(*figures["plain"])]
    flow = [statistics.median(column) for column in zip(*figures["flow"])]
    own = (flow[0] - plain[0]) * 1000 / items
    server = (flow[1] - plain[1]) * 1000 / items if prefect_pid else float("nan")
    runs = f"median of {repeats}"
    bench.record(f"engine, plain steps, {items} x 1 KB ({runs})", Result(plain[2], result.rss_mb, 0, ""), items, items * 1024,
                 note=f"CPU {plain[0]:.2f} s")
    bench.record(f"engine as the Prefect flow, {items} x 1 KB ({runs})", Result(flow[2], result.rss_mb, 0, ""), items, items * 1024,
                 note=f"CPU {flow[0]:.2f} s + Prefect server {flow[1] - plain[1]:.2f} s: orchestration {own:.3f} ms/item in the runner, "
                 f"{server:.3f} ms/item in the Prefect server; all runs (CPU s, runner/server): "
                 f"plain {[round(r[0], 2) for r in figures['plain']]}, flow {[round(r[0], 2) for r in figures['flow']]}/{[round(r[1], 2) for r in figures['flow']]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", type=int, default=200, help="files of 2 MB")
    parser.add_argument("--small", type=int, default=2000, help="files of 20 KB")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply both counts (9: about 4 GB)")
    parser.add_argument("--no-s3", action="store_true", help="skip local -> S3 (moto)")
    parser.add_argument("--no-meta", action="store_true", help="skip the Meta archive -> folder run")
    parser.add_argument("--no-off", action="store_true", help="skip ferry with the runner off (a temporary Prefect server)")
    parser.add_argument("--items", type=int, default=0, help="also N files of 1 KB: orchestration per item")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind for the orchestration figure (median)")
    parser.add_argument("--latency-runs", type=int, default=9, help="runs of --help and of a bad request (median)")
    parser.add_argument("--only", choices=["latency", "orchestration"], default=None, help="run only that part (orchestration starts the runner)")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a new temp folder, removed after)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="ferry-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, args)
    rclone = shutil.which("rclone")
    moto = None
    try:
        if args.only is None:
            src = work / "src"
            files, nbytes = make_tree(src, int(args.large * args.scale), int(args.small * args.scale))
            print(f"data set: {files} files, {nbytes / 1e6:.0f} MB in {src}", flush=True)
            subprocess.run(["sync"], check=False)

            print("local -> local", flush=True)
            bench.record("cp -r", run(["cp", "-r", str(src), str(bench.out("cp"))], bench.env), files, nbytes)
            if rclone:
                bench.record("rclone copy --transfers 4", run([rclone, "copy", str(src), str(bench.out("rclone")), "--transfers", "4"], bench.env), files, nbytes)
            cold = bench.ferry(["transfer", str(src), str(bench.out("ferry-cold")), "--no-progress"])
            bench.record("ferry cold (fresh data dir: starts the runner, creates Prefect's database)", cold, files, nbytes, runner=True)
            bench.stop_runner()
            start = bench.ferry(["server", "start"])
            bench.record("  of which: runner start alone (Prefect database kept)", start, 0, 0, runner=True)
            bench.stop_runner()
            first = bench.ferry(["transfer", str(src), str(bench.out("ferry-first")), "--no-progress"])
            bench.record("ferry, first command of the day (runner starts, database kept)", first, files, nbytes, runner=True)
            warm = bench.ferry(["transfer", str(src), str(bench.out("ferry-warm")), "--no-progress"])
            bench.record("ferry warm (runner up)", warm, files, nbytes, runner=True)
            if not args.no_off:
                off_env = dict(bench.ferry_env, FERRY_RUNNER="off")
                off = bench.ferry(["transfer", str(src), str(bench.out("ferry-off")), "--no-progress"], off_env)
                bench.record("ferry, runner off (temporary Prefect server per command)", off, files, nbytes)

            if not args.no_s3:
                print("local -> S3 (moto)", flush=True)
                moto, endpoint = start_moto()
                import s3fs

                fs = s3fs.S3FileSystem(key="bench", secret="bench", client_kwargs={"endpoint_url": endpoint})
                fs.mkdir("bench-rclone")
                fs.mkdir("bench-ferry")
                if rclone:
                    cmd = [rclone, "copy", str(src), ":s3:bench-rclone/data", "--s3-provider", "Other", "--s3-endpoint", endpoint,
                           "--s3-access-key-id", "bench", "--s3-secret-access-key", "bench", "--transfers", "4"]
                    bench.record("rclone copy --transfers 4 -> S3", run(cmd, bench.env), files, nbytes)
                s3_env = dict(bench.ferry_env, FERRY_STORAGE_OPTIONS=json.dumps({"client_kwargs": {"endpoint_url": endpoint}, "key": "bench", "secret": "bench"}))
                s3 = bench.ferry(["transfer", f"folder:{src}", "s3://bench-ferry/data", "--no-progress"], s3_env)
                bench.record("ferry warm -> S3", s3, files, nbytes, runner=True)

            if not args.no_meta:
                print("Meta archive -> folder", flush=True)
                from connectors.meta.sample import write_sample_archive

                archive = work / "facebook.zip"
                sample = write_sample_archive(archive, photos=int(200 * args.scale), videos=int(10 * args.scale), size_mb=200 * args.scale, seed=3)
                items = sample.photos + sample.videos + sample.posts + sample.events
                bench.record("unzip -q (the archive)", run(["unzip", "-q", str(archive), "-d", str(bench.out("unzip"))], bench.env), items, sample.archive_bytes)
                meta = bench.ferry(["transfer", f"meta:{archive}", str(bench.out("ferry-meta")), "--no-progress"], ok=(0, 1))
                bench.record("ferry warm meta -> folder", meta, items, sample.archive_bytes, runner=True, note="exit 1: the sample's deliberate missing file" if meta.code == 1 else "")

        if args.only in (None, "latency"):
            print("start-up latency", flush=True)
            latency(bench, "ferry --help", ["--help"], args.latency_runs)
            latency(bench, "ferry transfer <missing file> (exit 2)", ["transfer", str(work / "no-such-file.zip"), str(work / "x")], args.latency_runs, ok=(2,))

        if args.items and args.only in (None, "orchestration"):
            print(f"orchestration: {args.items} files of 1 KB", flush=True)
            tiny = work / "tiny"
            for n in range(args.items):
                path = tiny / f"d{n % 100}" / f"t{n:06d}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(n.to_bytes(8, "big") * 128)
            if args.only:
                bench.ferry(["server", "start"])
            warm_small = bench.ferry(["transfer", str(tiny), str(bench.out("tiny-ferry")), "--no-progress"])
            bench.record(f"ferry warm, {args.items} x 1 KB", warm_small, args.items, args.items * 1024, runner=True)
            orchestration(bench, tiny, args.items, args.repeats)
    finally:
        try:
            bench.stop_runner()
        except SystemExit:
            pass
        if moto is not None:
            moto.terminate()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(bench.rows)


def print_table(rows: list[dict]) -> None:
    base = {"local": None, "s3": None}
    for row in rows:
        if row["run"] == "rclone copy --transfers 4":
            base["local"] = row["s"]
        if row["run"] == "rclone copy --transfers 4 -> S3":
            base["s3"] = row["s"]
    print()
    print("| run | time | files/s | MB/s | vs rclone | peak RSS (command) | runner | Prefect server | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        ref = base["s3"] if "S3" in row["run"] else base["local"]
        ratio = f"{ref / row['s']:.2f}x" if ref and row["files"] and "unzip" not in row["run"] and "meta" not in row["run"] and "1 KB" not in row["run"] else ""
        rate = f"{row['files'] / row['s']:.0f}" if row["files"] else ""
        mbs = f"{row['MB'] / row['s']:.0f}" if row["MB"] else ""
        rss = lambda v: f"{v:.0f} MB" if v else ""  # noqa: E731
        print(f"| {row['run']} | {row['s']:.2f} s | {rate} | {mbs} | {ratio} | {rss(row.get('rss'))} | {rss(row.get('runner_rss'))} | {rss(row.get('prefect_rss'))} | {row.get('note', '')} |")


if __name__ == "__main__":
    main()

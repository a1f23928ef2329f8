"""What a TikTok transfer costs, first and in later recurring rounds: figures, not assertions.

Runs the engine (no Prefect: flows.engine.PLAIN_STEPS, the real clock) against the fake TikTok
service (tests/fakes/tiktok.py, in this process) into a local folder: an account of ``--posts``
video posts, then ``--rounds`` recurring rounds in which the account grows by ``--growth`` posts.
For each round it prints the wall time, the items imported, what the media host served (small
probes that tell a photo from a video, and media downloads), the zip's size and the process's
peak RSS so far.

    .venv/bin/python bench/tiktok.py --posts 1000 --rounds 3 --growth 2
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--growth", type=int, default=2)
    args = parser.parse_args()

    from flows.context import open_context
    from flows.engine import run_job
    from flows.recurring import create_recurring
    from flows.requests import create_job
    from tests.fakes.tiktok import FakeTikTok
    from tests.tiktok_support import tiktok_credential

    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-tiktok-"))
    import os

    os.environ["FERRY_DATA_DIR"] = str(tmp / "data")
    with FakeTikTok() as fake:
        fake.add_posts(args.posts)
        ctx = open_context()
        credential = tiktok_credential(fake, ("portability.all.ongoing",))
        options = {"tiktok": {"api_base": fake.base_url, "poll_interval": "0", "max_poll_interval": "0", "ongoing": "true"}}
        recurring = create_recurring("bench", "tiktok:", f"folder:{tmp / 'out'}", ["videos", "posts"], options=options,
                                     source_credential_id=credential, schedule="every 7d", ctx=ctx)
        print(f"account of {args.posts} posts; {args.rounds} rounds, +{args.growth} posts each after the first")
        print(f"{'round':>5} {'seconds':>8} {'imported':>9} {'probes':>7} {'media':>6} {'zip KB':>7} {'peak MB':>8}")
        for number in range(1, args.rounds + 1):
            if number > 1:
                fake.add_posts(args.growth)
            job = create_job(ctx, recurring.source, recurring.destination, recurring.types, options=recurring.options,
                             source_credential_id=credential, recurring_id=recurring.id)
            before = dict(fake.cdn.fetches)
            started = time.monotonic()
            run_job(ctx, job.id)  # asks TikTok: WAITING
            fake.advance(max(fake.requests), "downloading", deliver=False)
            summary = run_job(ctx, job.id)
            seconds = time.monotonic() - started
            served = {token: n - before.get(token, 0) for token, n in fake.cdn.fetches.items() if n > before.get(token, 0)}
            probes = len(served)  # every link is probed once per job ...
            media = sum(served.values()) - probes  # ... and fetched once more when its bytes move
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            assert summary.state == "COMPLETE", summary.reason
            print(f"{number:>5} {seconds:>8.1f} {summary.imported:>9} {probes:>7} {media:>6} {fake.download_sizes[-1] // 1000:>7} {peak:>8.0f}")


if __name__ == "__main__":
    main()

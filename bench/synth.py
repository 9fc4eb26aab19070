"""Benchmark: generate and COPY-load N synthetic posts (target: 1,000,000 in under 60 s).

Runs ``python -m mmgov_dev.synth`` in a child process and reports its wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--database", default="mmgov_bench_synth")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "mmgov_dev.synth", "--posts", str(args.posts), "--database", args.database]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"bench-synth: {args.posts:,} posts in {wall:.1f} s wall ({args.posts / wall:,.0f} posts/s), "
        f"peak RSS {rss_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

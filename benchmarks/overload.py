"""Mixed overload on /embed: how many requests end in 200, 429 (refused at once) and 504.

`python -m benchmarks.overload [--seconds 30] [--clients 12]`: a real server on the
packaged MiniLM (1 onnxruntime thread, wait limit and deadline 10 s); `clients` keep-alive
clients send one sentence and as many send 64 sentences, back to back, without backoff.
Prints per status: count, median and max seconds. Issue 12: admission by expected queue
time should turn waits that end in 504 into immediate 429s.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from tests.live_server import LiveServer

TEXT = "the quick brown fox jumps over the lazy dog near the old stone bridge by the river"
ENV = {
    "SIMSERVE_MODELS__DEFAULT": "minilm",
    "SIMSERVE_MODELS__SERVE": '["minilm"]',
    "SIMSERVE_MODELS__INTRA_OP_THREADS": "1",
    "SIMSERVE_BATCHER__REQUEST_TIMEOUT_S": "10",
    "SIMSERVE_LIFECYCLE__REQUEST_DEADLINE_S": "10",
}


def run(models_dir: Path, seconds: float, clients: int) -> dict:
    server = LiveServer([models_dir], env=ENV).start(timeout=300)
    statuses: Counter = Counter()
    waits: dict = defaultdict(list)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    texts = [f"{TEXT} {i}" for i in range(n)]
                    status: int | str = c.post("/embed", json={"texts": texts}).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] += 1
                    waits[status].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in [1, 64] * clients]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    return {
        status: (count, round(sorted(waits[status])[len(waits[status]) // 2], 2),
                 round(max(waits[status]), 2))
        for status, count in statuses.items()
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=12, help="of each kind")
    args = parser.parse_args()
    print(run(args.models_dir, args.seconds, args.clients), "(count, median s, max s)")


if __name__ == "__main__":
    main()

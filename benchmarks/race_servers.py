"""The servers in the race: how each is started, asked for vectors, and stopped.

Every server runs as its own process group on 127.0.0.1 and is stopped with SIGTERM
(SIGKILL after a grace period) when the race leaves its ``running`` block.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ServerSpec:
    """How to run one contender. ``argv`` may contain ``{port}``."""

    name: str
    config: str  # how it was configured, for the report
    argv: tuple[str, ...]
    health_path: str
    embed_path: str
    make_body: Callable[[list[str]], dict]
    parse: Callable[[dict], np.ndarray]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    precision: str = "fp32"
    metrics_path: str | None = None  # Prometheus text with simserve's token counters


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(
    url: str, body: dict | None = None, timeout: float = 120.0
) -> tuple[int, dict | None]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


@contextmanager
def running(spec: ServerSpec, log_dir: Path, ready_timeout_s: float = 300.0) -> Iterator[str]:
    """Start ``spec`` on a free loopback port, wait for its health route, yield its base URL."""
    port = free_port()
    argv = [a.format(port=port) for a in spec.argv]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    env = {**os.environ, **spec.env}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while http_json(base + spec.health_path, timeout=2.0)[0] != 200:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{spec.name} exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{spec.name} not ready after {ready_timeout_s:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def embed(base: str, spec: ServerSpec, texts: list[str], batch: int = 32) -> np.ndarray:
    """Vectors from a running server, shape (len(texts), dim) float32, in input order."""
    parts = []
    for start in range(0, len(texts), batch):
        status, payload = http_json(
            base + spec.embed_path, spec.make_body(texts[start : start + batch])
        )
        if status != 200 or payload is None:
            raise RuntimeError(f"{spec.name}: {spec.embed_path} answered {status}")
        parts.append(spec.parse(payload))
    return np.concatenate(parts).astype(np.float32)


def token_counts(base: str, spec: ServerSpec) -> tuple[float, float] | None:
    """(real, padded) tokens the server's runs computed so far, summed over models; None
    for a server without ``metrics_path`` or when /metrics does not answer."""
    if spec.metrics_path is None:
        return None
    try:
        with urllib.request.urlopen(base + spec.metrics_path, timeout=10) as response:  # noqa: S310
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    totals = {"real": 0.0, "padded": 0.0}
    for line in text.splitlines():
        for kind in totals:
            if line.startswith(f"simserve_batch_{kind}_tokens_total{{"):
                totals[kind] += float(line.rsplit(" ", 1)[1])
    return totals["real"], totals["padded"]


def simserve(
    name: str,
    model: str,
    python: str,
    models_dirs: list[Path],
    threads: int,
    extra_env: dict[str, str] | None = None,
    *,
    precision: str,
) -> ServerSpec:
    """This service, started the way the image's CMD starts it (scripts/serve.sh);
    `precision`: fp32, int8 (dynamic) or int8-static (race_rounds.MIN_COSINE's keys)."""
    extra = extra_env or {}
    return ServerSpec(
        name=name,
        config=f"`scripts/serve.sh`, model `{model}`, onnxruntime {threads} intra-op threads, "
        "dynamic batcher defaults, vector cache off"
        + "".join(f", `{k}={v}`" for k, v in extra.items()),
        argv=("bash", str(ROOT / "scripts" / "serve.sh"), "--port", "{port}"),
        health_path="/health/ready",
        embed_path="/embed",
        make_body=lambda texts: {"texts": texts, "model": model},
        parse=lambda payload: np.asarray(payload["embeddings"], dtype=np.float32),
        env={
            "PYTHON": python,
            "SIMSERVE_SERVER__HOST": "127.0.0.1",
            "SIMSERVE_SERVER__LOG_LEVEL": "warning",
            "SIMSERVE_MODELS__DIRS": json.dumps([str(d) for d in models_dirs]),
            "SIMSERVE_MODELS__SERVE": json.dumps([model]),
            "SIMSERVE_MODELS__DEFAULT": model,
            "SIMSERVE_MODELS__INTRA_OP_THREADS": str(threads),
            # the loads replay 64 request bodies per load and round: with the vector cache
            # on, most would be hits, which no peer has (the cache is raced by bench_cache)
            "SIMSERVE_CACHE__ENABLED": "false",
            **extra,
        },
        precision=precision,
        metrics_path="/metrics",
    )


def _openai_parse(payload: dict) -> np.ndarray:
    rows = sorted(payload["data"], key=lambda d: d["index"])
    return np.asarray([d["embedding"] for d in rows], dtype=np.float32)


INFINITY_ENV = {
    "INFINITY_ANONYMOUS_USAGE_STATS": "0",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def infinity(
    engine: str, venv: Path, model_dir: Path, batch_size: int = 32, served_name: str = "minilm"
) -> ServerSpec:
    """infinity-emb v2. The optimum engine needs ``model.onnx`` at the folder root,
    ``--model-id .`` run from that folder, and ``--pooling-method mean`` (else CLS)."""
    model_id = "." if engine == "optimum" else str(model_dir)
    argv = [
        str(venv / "bin" / "infinity_emb"),
        "v2",
        "--model-id",
        model_id,
        "--served-model-name",
        served_name,
        "--engine",
        engine,
        "--device",
        "cpu",
        "--pooling-method",
        "mean",
        "--batch-size",
        str(batch_size),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
    return ServerSpec(
        name=f"infinity-{engine}",
        config=f"infinity-emb v2 `--engine {engine} --device cpu --pooling-method mean "
        f"--batch-size {batch_size}`"
        + (", `--model-id .` with model.onnx at the root" if engine == "optimum" else ""),
        argv=tuple(argv),
        health_path="/health",
        embed_path="/embeddings",
        make_body=lambda texts: {"input": texts, "model": served_name},
        parse=_openai_parse,
        env=INFINITY_ENV,
        cwd=model_dir,
    )


def st_server(python: str, model_dir: Path) -> ServerSpec:
    """Plain FastAPI + sentence-transformers server (benchmarks/race_st_server.py)."""
    return ServerSpec(
        name="fastapi-st",
        config="FastAPI + sentence-transformers `encode` per request (no cross-request batching)",
        argv=(
            python,
            "-m",
            "benchmarks.race_st_server",
            "--model",
            str(model_dir),
            "--port",
            "{port}",
        ),
        health_path="/health",
        embed_path="/embeddings",
        make_body=lambda texts: {"input": texts, "model": "minilm"},
        parse=_openai_parse,
        env={"HF_HUB_OFFLINE": "1"},
    )

"""Call trace of one `/search` (with rerank) and one augmented upsert, across the layers.

    .venv/bin/python scripts/trace_layers.py

Runs the app in process (httpx's ASGI transport on this thread, the batcher and generation
threads profiled too) on the committed demo generator `minilm-simbert` and a flat
collection in a temporary folder. Every Python call whose caller and callee are in
different layers of docs/ARCHITECTURE.md (api -> services -> engines / index / rerank /
generation) is recorded. Printed per request: the layer edges taken, with counts, and the
first call of each. Exit status 1 when a call runs back up (a lower layer calling a higher
one), i.e. when a request does not visit each layer once, top down.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import httpx

from app.api.app import create_app
from app.settings import Settings

RANK = {"app.api": 0, "app.services": 1}
LOWER = ("app.engines", "app.index", "app.rerank", "app.generation")
REPO = Path(__file__).resolve().parents[1]


def layer(module: str) -> str | None:
    for name in (*RANK, *LOWER):
        if module == name or module.startswith(name + "."):
            return name
    return None


class Recorder:
    def __init__(self) -> None:
        self.on = False
        self.edges: Counter[tuple[str, str]] = Counter()
        self.first: dict[tuple[str, str], str] = {}

    def __call__(self, frame, event, arg) -> None:
        if not self.on or event != "call" or frame.f_back is None:
            return
        callee = layer(frame.f_globals.get("__name__", ""))
        caller = layer(frame.f_back.f_globals.get("__name__", ""))
        if callee is None or caller is None or callee == caller:
            return
        edge = (caller, callee)
        self.edges[edge] += 1
        self.first.setdefault(
            edge, f"{frame.f_back.f_code.co_qualname} -> {frame.f_code.co_qualname}"
        )


def upward(edge: tuple[str, str]) -> bool:
    caller, callee = edge
    return RANK.get(callee, 2) < RANK.get(caller, 2)


async def run(recorder: Recorder) -> list[tuple[str, Counter, dict]]:
    settings = Settings(
        models={"dirs": [str(REPO / "models" / "zoo")], "serve": ["minilm-simbert"],
                "default": "minilm-simbert"},
        collections={"data_dir": tempfile.mkdtemp(prefix="trace-")},
    )  # fmt: skip
    app = create_app(settings)
    reports = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://trace") as client:
            r = await client.put("/collections/faq", json={"index": {"kind": "flat"}})
            r.raise_for_status()
            requests = [
                ("augmented upsert", "/collections/faq/documents", {
                    "documents": [{"id": "a", "text": "How do I reset my password?"},
                                  {"id": "b", "text": "Where is my order?"}],
                    "augment": {"k": 2, "n": 8, "seed": 0}}),
                ("search with rerank", "/search", {
                    "collection": "faq", "query": "I forgot my password", "top_k": 1,
                    "rerank": {"method": "wrd", "candidates": 2}}),
            ]  # fmt: skip
            for name, path, body in requests:
                recorder.edges, recorder.first = Counter(), {}
                recorder.on = True
                r = await client.post(path, json=body)
                recorder.on = False
                r.raise_for_status()
                reports.append((name, recorder.edges, recorder.first))
    return reports


def main() -> int:
    recorder = Recorder()
    sys.setprofile(recorder)
    threading.setprofile(recorder)  # threads started from here on: batcher, generation
    try:
        reports = asyncio.run(run(recorder))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    bad = 0
    for name, edges, first in reports:
        print(f"{name}:")
        for edge, count in sorted(edges.items(), key=lambda e: (RANK.get(e[0][0], 2), e[0])):
            mark = "  UPWARD" if upward(edge) else ""
            print(f"  {edge[0]} -> {edge[1]}: {count} calls (first: {first[edge]}){mark}")
            bad += upward(edge)
        if not any(e == ("app.api", "app.services") for e in edges):
            print("  no call from app.api into app.services")
            bad += 1
    print("every call runs top down" if not bad else f"{bad} upward edge(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Container.close: drains within lifecycle.drain_timeout_s, then checkpoints the indexes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from app.container import Container
from app.settings import Settings


class _Registry:
    def __init__(self, calls: list):
        self.calls = calls

    def close(self, timeout: float) -> None:
        self.calls.append(("registry.close", timeout))


class _Store:
    def __init__(self, calls: list):
        self.calls = calls

    def close(self) -> None:
        self.calls.append(("store.close",))


def test_close_drains_with_drain_timeout_then_closes_the_store():
    calls: list = []
    settings = Settings(lifecycle={"drain_timeout_s": 7.5}, batcher={"request_timeout_s": 3})
    container = Container(
        settings=settings,
        metrics=None,
        registry=_Registry(calls),
        embeddings=None,
        collections=SimpleNamespace(store=_Store(calls)),
        search=None,
        similarity=None,
        paraphrases=None,
        matching=None,
        duplicate_jobs=None,
        ready=True,
    )
    asyncio.run(container.close())
    assert calls == [("registry.close", 7.5), ("store.close",)]
    assert container.draining and not container.ready

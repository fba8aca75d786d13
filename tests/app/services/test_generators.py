"""Generators owned by ModelRegistry: built and warmed at start-up behind the backend
contract, never lazily by a request; a broken one is excluded and reported consistently
(readiness lists it, naming it answers 503 with the reason, the default skips it)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("torch")

from app.api.app import create_app  # noqa: E402
from app.engines.backend import BackendKind  # noqa: E402
from app.engines.manifest import read_manifest, write_manifest  # noqa: E402
from app.engines.registry import ModelRegistry  # noqa: E402
from app.errors import Unavailable  # noqa: E402
from app.generation.decoder import DecodeMode  # noqa: E402
from app.services import generators as generators_module  # noqa: E402
from app.services.embedding import EmbeddingService  # noqa: E402
from app.services.generators import Generator, generator_factory  # noqa: E402
from app.services.paraphrase import ParaphraseService  # noqa: E402
from app.settings import (  # noqa: E402
    BatcherSettings,
    GenerationSettings,
    LimitsSettings,
    ModelSettings,
)
from tests.app.api.conftest import tiny_settings  # noqa: E402
from tests.app.generation.tiny_simbert import build_tiny_simbert  # noqa: E402

TEXT = "how is the weather today"
GEN = BackendKind.GENERATOR


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """(good, broken): `tiny-simbert` alone, and `tiny-old`, whose generator section names
    an end token its vocabulary lacks (its encoder still works)."""
    root = tmp_path_factory.mktemp("generators")
    good = root / "good"
    build_tiny_simbert(good)
    folder = root / "broken" / "tiny-old"
    shutil.copytree(good / "tiny-simbert", folder)
    manifest = read_manifest(folder)
    generator = {**manifest.generator, "end_token": "[NOT-IN-VOCAB]"}
    write_manifest(folder, replace(manifest, name="tiny-old", generator=generator))
    return good, folder.parent


def registry(*model_dirs, warmup: bool = True) -> ModelRegistry:
    models = ModelSettings(dirs=list(model_dirs), intra_op_threads=1)
    reg = ModelRegistry(
        models,
        BatcherSettings(),
        factories={GEN: generator_factory(models, DecodeMode.CACHED)},
    )
    reg.load_all()
    if warmup:
        reg.warmup()
    return reg


def test_generators_are_built_at_start_up_and_two_first_calls_share_one(dirs, monkeypatch):
    loads: list[str] = []
    real_load = Generator.load.__func__

    def counting(cls, served, models, mode):
        loads.append(served.name)
        return real_load(cls, served, models, mode)

    monkeypatch.setattr(generators_module.Generator, "load", classmethod(counting))
    reg = registry(dirs[0])
    try:
        assert loads == ["tiny-simbert"]  # before any request
        backend = reg.backend("tiny-simbert", GEN)
        assert isinstance(backend, Generator) and backend.kind is GEN
        svc = ParaphraseService(
            reg, EmbeddingService(reg, LimitsSettings()), GenerationSettings(max_concurrent=2)
        )

        async def two_first_calls():
            call = svc.paraphrase(TEXT, n=8, k=4, seed=3, max_length=6)
            again = svc.paraphrase(TEXT, n=8, k=4, seed=3, max_length=6)
            return await asyncio.gather(call, again)

        a, b = asyncio.run(two_first_calls())
        assert loads == ["tiny-simbert"]  # no request built another session
        assert a.paraphrases == b.paraphrases and a.usage == b.usage
        assert a.vectors.shape == (len(a.paraphrases), reg.get("tiny-simbert").manifest.dimension)
    finally:
        reg.close(5.0)


def test_a_generator_that_fails_warm_up_is_excluded_with_its_reason(dirs, monkeypatch):
    def broken(self):
        raise RuntimeError("graph output has the wrong rank")

    monkeypatch.setattr(generators_module.Generator, "warmup", broken)
    reg = registry(dirs[0])
    try:
        assert reg.unavailable() == {
            "tiny-simbert/generator": "generator 'tiny-simbert' cannot be used: "
            "graph output has the wrong rank"
        }
        with pytest.raises(Unavailable, match="wrong rank"):
            reg.backend("tiny-simbert", GEN)
        assert reg.healthy  # its encoder still serves
    finally:
        reg.close(5.0)


def test_a_broken_generator_is_reported_by_readiness_and_skipped_by_the_default(dirs):
    good, broken = dirs
    settings = tiny_settings(good, models={"dirs": [broken, good], "default": "tiny-simbert"})
    with TestClient(create_app(settings)) as c:
        ready = c.get("/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["models"] == ["tiny-old", "tiny-simbert"]
        assert list(body["unavailable"]) == ["tiny-old/generator"]
        reason = body["unavailable"]["tiny-old/generator"]
        assert reason.startswith("generator 'tiny-old' cannot be used:")
        assert "end token '[NOT-IN-VOCAB]' not in vocabulary" in reason
        named = c.post("/paraphrase", json={"text": TEXT, "n": 4, "model": "tiny-old"})
        assert named.status_code == 503 and named.json()["error"]["message"] == reason
        default = c.post("/paraphrase", json={"text": TEXT, "n": 4, "k": 2, "max_length": 4})
        assert default.status_code == 200 and default.json()["model"] == "tiny-simbert"
        emb = c.post("/embed", json={"texts": [TEXT], "model": "tiny-old"})
        assert emb.status_code == 200


def test_readiness_lists_nothing_unavailable_when_every_backend_serves(dirs):
    settings = tiny_settings(dirs[0], models={"default": "tiny-simbert"})
    with TestClient(create_app(settings)) as c:
        body = c.get("/health/ready").json()
        assert body == {"status": "ready", "models": ["tiny-simbert"], "unavailable": {}}

"""ModelRegistry: discovery, selection, default resolution, lifecycle."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.engines.encoder import EncodeRequest
from app.engines.registry import ModelRegistry, discover
from app.errors import InvalidInput, ModelNotFound, NotReady
from app.settings import BatcherSettings, ModelSettings


def test_discover_finds_folders_and_earlier_dirs_win(tiny_models_dir, tmp_path):
    shutil.copytree(tiny_models_dir / "tiny-cls", tmp_path / "tiny")
    (tmp_path / "not-a-model").mkdir()
    found = discover([tmp_path, tiny_models_dir, tmp_path / "missing"])
    assert found["tiny"] == tmp_path / "tiny"  # shadowed copy wins
    assert found["tiny-fla"] == tiny_models_dir / "tiny-fla"
    assert "not-a-model" not in found


def test_serve_list_loads_only_named_models_and_rejects_missing(tiny_models_dir):
    reg = ModelRegistry(
        ModelSettings(dirs=[tiny_models_dir], serve=["tiny-cls"]), BatcherSettings()
    )
    reg.load_all()
    try:
        assert reg.names() == ["tiny-cls"]
        assert reg.get(None).name == "tiny-cls"  # the only model is the default
        with pytest.raises(ModelNotFound):
            reg.get("tiny")
    finally:
        reg.close()
    bad = ModelRegistry(ModelSettings(dirs=[tiny_models_dir], serve=["ghost"]), BatcherSettings())
    with pytest.raises(InvalidInput, match="ghost"):
        bad.load_all()


def test_default_model_and_batched_results_match_direct_runs(tiny_models_dir):
    reg = ModelRegistry(
        ModelSettings(dirs=[tiny_models_dir], default="tiny-fla"), BatcherSettings()
    )
    reg.load_all()
    try:
        reg.warmup()
        served = reg.get(None)
        assert served.name == "tiny-fla" and reg.healthy
        texts = ["a b c", "hello there world", "中文"]
        reqs = [EncodeRequest(t) for t in served.encoder.tokenize(texts)]
        via_batcher = served.batcher.submit_nowait(reqs).result(10)
        for req, got in zip(reqs, via_batcher, strict=True):
            alone = served.encoder.run([req])[0]
            np.testing.assert_allclose(got.vector, alone.vector, atol=1e-5)
    finally:
        reg.close()
    assert not reg.healthy
    with pytest.raises(NotReady):
        served.batcher.submit_nowait(reqs)


def test_no_default_and_several_models_is_a_clear_error(tiny_models_dir):
    reg = ModelRegistry(ModelSettings(dirs=[tiny_models_dir], default="absent"), BatcherSettings())
    reg.load_all()
    try:
        with pytest.raises(ModelNotFound, match="choose one of"):
            reg.get(None)
    finally:
        reg.close()

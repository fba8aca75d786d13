"""Settings: built from SIMSERVE_* env (nested with __), string modes rejected early."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import DEFAULT_BUCKETS, Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("SIMSERVE_"):
            monkeypatch.delenv(key)


def test_defaults_without_env():
    s = Settings()
    assert s.batcher.max_wait_ms == 2.0 and s.batcher.buckets == DEFAULT_BUCKETS
    assert s.lifecycle.retry_after_s == 1 and s.lifecycle.drain_timeout_s == 30.0
    assert s.models.device == "auto" and s.generation.decode_mode == "cached"


def test_nested_env_values_are_parsed_to_their_types(monkeypatch):
    monkeypatch.setenv("SIMSERVE_BATCHER__MAX_WAIT_MS", "7.5")
    monkeypatch.setenv("SIMSERVE_BATCHER__BUCKETS", "[8, 16, 32]")
    monkeypatch.setenv("SIMSERVE_MODELS__DIRS", '["a", "b/c"]')
    monkeypatch.setenv("SIMSERVE_MODELS__DEVICE", "cpu")
    monkeypatch.setenv("SIMSERVE_MODELS__WARMUP", "false")
    monkeypatch.setenv("SIMSERVE_LIFECYCLE__RETRY_AFTER_S", "7")
    monkeypatch.setenv("SIMSERVE_LIFECYCLE__DRAIN_TIMEOUT_S", "0")
    monkeypatch.setenv("SIMSERVE_COLLECTIONS__DEFAULT_INDEX", "flat")
    monkeypatch.setenv("SIMSERVE_GENERATION__DECODE_MODE", "full")
    monkeypatch.setenv("SIMSERVE_SERVER__LOG_LEVEL", "debug")
    s = Settings()
    assert s.batcher.max_wait_ms == 7.5
    assert s.batcher.buckets == (8, 16, 32)
    assert s.models.dirs == [Path("a"), Path("b/c")]
    assert s.models.device == "cpu" and s.models.warmup is False
    assert s.lifecycle.retry_after_s == 7 and s.lifecycle.drain_timeout_s == 0
    assert s.collections.default_index == "flat"
    assert s.generation.decode_mode == "full"
    assert s.server.log_level == "debug"


def test_explicit_values_win_over_env(monkeypatch):
    monkeypatch.setenv("SIMSERVE_LIFECYCLE__RETRY_AFTER_S", "7")
    assert Settings(lifecycle={"retry_after_s": 3}).lifecycle.retry_after_s == 3


@pytest.mark.parametrize(
    ("env", "value", "valid"),
    [
        ("SIMSERVE_MODELS__DEVICE", "gpu", ["auto", "cpu", "cuda"]),
        ("SIMSERVE_GENERATION__DECODE_MODE", "fast", ["cached", "full"]),
        ("SIMSERVE_COLLECTIONS__DEFAULT_BACKEND", "qdrant", ["faiss", "milvus"]),
        ("SIMSERVE_COLLECTIONS__DEFAULT_INDEX", "lsh", ["flat", "hnsw", "ivf"]),
        ("SIMSERVE_SERVER__LOG_LEVEL", "loud", ["info", "debug"]),
    ],
)
def test_unknown_modes_are_rejected_naming_the_valid_values(monkeypatch, env, value, valid):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    message = str(err.value)
    assert all(f"'{v}'" in message for v in valid), message


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("SIMSERVE_LIFECYCLE__RETRY_AFTER_S", "0"),
        ("SIMSERVE_LIFECYCLE__DRAIN_TIMEOUT_S", "-1"),
        ("SIMSERVE_BATCHER__MAX_WAIT_MS", "soon"),
        ("SIMSERVE_MODELS__DIRS", "not json"),
    ],
)
def test_out_of_range_or_malformed_values_are_rejected(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises((ValidationError, ValueError)):
        Settings()

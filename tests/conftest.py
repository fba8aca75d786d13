"""Shared fixtures: tiny real models exported by the project's own export code.

Session-scoped (built once per test run, ~10 s in all):

- ``tiny_source_dir`` -> Path: a random-weight BERT source folder (seed 0, hidden 32,
  2 layers, 2 heads, max_position 128, ``config.json`` + ``model.safetensors`` +
  ``vocab.txt`` only; English word pieces and CJK characters; see tests/tiny_models.py).
- ``tiny_models_dir`` -> Path: a models dir (usable as ``settings.models.dirs = [it]``)
  holding exported folders, all from ``tiny_source_dir``, max_length 128, normalize true:
  ``tiny`` (mean pooling), ``tiny-cls`` (cls), ``tiny-pooler`` (linear pooler Dense),
  ``tiny-fla`` (first_last_avg). Treat it as read-only: copy it (``copy_models_dir``)
  or use ``export_tiny`` for a folder you modify.
- ``export_tiny`` -> callable ``(name, out_dir=None, **export_model_kwargs) -> Path``:
  exports ``tiny_source_dir`` again (default into a fresh temp models dir) and returns the
  model folder. Example: ``export_tiny("t2", pooling="cls")``.
- ``minilm_models_dir`` (mark the test ``slow``) -> Path: a models dir with the packaged
  all-MiniLM-L6-v2 exported as ``minilm`` (mean, normalised) by ``export-default``,
  built once per session.

Helpers: ``copy_models_dir(src, dst)`` in this module; ``tiny_vocab()``,
``write_tiny_bert_source()`` and ``SIMBERT_CONFIG`` in ``tests/tiny_models.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tiny_models import write_tiny_bert_source

TINY_POOLINGS = {
    "tiny": "mean",
    "tiny-cls": "cls",
    "tiny-pooler": "pooler",
    "tiny-fla": "first_last_avg",
}


def copy_models_dir(src: Path, dst: Path) -> Path:
    """Copy a models dir (e.g. ``tiny_models_dir``) somewhere a test may modify it."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return Path(dst)


@pytest.fixture(scope="session")
def tiny_source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert_source(tmp_path_factory.mktemp("tiny-source") / "bert")


@pytest.fixture(scope="session")
def export_tiny(
    tiny_source_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Path]:
    from models.export import export_model

    def _export(name: str, out_dir: Path | None = None, **kwargs) -> Path:
        out = Path(out_dir) if out_dir is not None else tmp_path_factory.mktemp("models")
        kwargs.setdefault("pooling", "mean")
        export_model(tiny_source_dir, out, name, **kwargs)
        return out / name

    return _export


@pytest.fixture(scope="session")
def tiny_models_dir(export_tiny: Callable[..., Path], tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-models")
    for name, pooling in TINY_POOLINGS.items():
        export_tiny(name, out, pooling=pooling)
    return out


@pytest.fixture(scope="session")
def minilm_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.cli_export import export_default

    out = tmp_path_factory.mktemp("minilm-models")
    export_default(out)
    return out


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory):
    """URI of a real Milvus server for the whole session (started once, stopped at the end):
    SIMSERVE_TEST_MILVUS_URI, else the embedded server of the `milvus` extra in a temp
    folder. Skipped only when that package is not installed (CI installs it)."""
    import os

    uri = os.environ.get("SIMSERVE_TEST_MILVUS_URI")
    if uri:
        yield uri
        return
    pytest.importorskip(
        "milvus", reason="the embedded Milvus server is not installed: pip install -e '.[milvus]'"
    )
    from tests.milvus_server import MARKER, EmbeddedMilvus

    with EmbeddedMilvus(tmp_path_factory.mktemp(MARKER)) as started:
        yield started


@pytest.fixture()
def milvus_namespace() -> str:
    """A fresh namespace: this test's collections, never another test's."""
    import uuid

    return f"t{uuid.uuid4().hex[:12]}"

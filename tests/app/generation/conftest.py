from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests.app.generation.tiny_simbert import build_tiny_simbert  # noqa: E402


@pytest.fixture(scope="session")
def tiny_simbert_dir(tmp_path_factory):
    """A models dir holding `tiny-simbert` (random weights) and `tiny-stopper` ([SEP] favoured)."""
    root = tmp_path_factory.mktemp("simbert-models")
    build_tiny_simbert(root)
    build_tiny_simbert(root, name="tiny-stopper", sep_bias=30.0)
    return root

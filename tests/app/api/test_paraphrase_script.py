"""/paraphrase without a model: the generator is chosen by the input's script."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("torch")

from tests.app.generation.tiny_simbert import build_tiny_simbert  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

CJK = tuple("忘记密码怎么办天气今")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("script")
    build_tiny_simbert(root, name="tiny-en")
    build_tiny_simbert(root, name="tiny-zh", extra_tokens=CJK)
    env = {"SIMSERVE_MODELS__INTRA_OP_THREADS": "1", "SIMSERVE_MODELS__DEFAULT": "tiny-en"}
    return root, env


def post(root, env, text: str) -> dict:
    with LiveServer([root], env=env) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/paraphrase", json={"text": text, "n": 4, "k": 2, "seed": 1, "max_length": 4})
        assert r.status_code == 200, r.text
        return r.json()


def test_chinese_input_goes_to_the_chinese_generator_and_says_so(servers):
    root, env = servers
    assert post(root, env, "忘记密码怎么办？")["model"] == "tiny-zh"
    assert post(root, env, "how is the weather today")["model"] == "tiny-en"


def test_configured_default_generator_wins(servers):
    root, env = servers
    pinned = {**env, "SIMSERVE_GENERATION__DEFAULT_MODEL": "tiny-en"}
    assert post(root, pinned, "忘记密码怎么办？")["model"] == "tiny-en"

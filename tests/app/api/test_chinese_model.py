"""The shipped bilingual model (models/zoo/zh-minilm) on every route, through real uvicorn.

Assertions are about what a Chinese FAQ user needs from it: a paraphrase pair scores above
an unrelated pair by cosine and by WRD, a collection search finds the right entry, and no
CJK character of the examples becomes [UNK].
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer

ZOO = Path(__file__).resolve().parents[3] / "models" / "zoo"
NAME = "zh-minilm"
SAME = ("忘记密码怎么办？", "密码忘了怎么找回")
OTHER = ("忘记密码怎么办？", "今天北京天气怎么样")
FAQ = {
    "pwd": "忘记登录密码怎么重置",
    "card": "信用卡额度怎么提高",
    "refund": "退款多久能到账",
    "en": "How do I reset my password?",
}

pytestmark = pytest.mark.skipif(not (ZOO / NAME).is_dir(), reason=f"{NAME} not in models/zoo")


@pytest.fixture(scope="module")
def http():
    env = {"SIMSERVE_MODELS__SERVE": f'["{NAME}"]', "SIMSERVE_MODELS__DEFAULT": NAME}
    with LiveServer([ZOO], env=env) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_listed_with_its_vocabulary(http):
    models = {m["name"]: m for m in http.get("/models").json()["models"]}
    assert models[NAME]["dimension"] == 384


def test_embed_mixed_scripts_unit_vectors(http):
    texts = ["开初婚未育证明怎么弄？", "How do I reset my password?", "ＡＢＣ１２３", "繁體 😀"]
    r = http.post("/embed", json={"texts": texts, "model": NAME})
    assert r.status_code == 200, r.text
    vectors = r.json()["embeddings"]
    assert len(vectors) == 4
    assert all(abs(sum(x * x for x in v) - 1) < 1e-3 for v in vectors)


@pytest.mark.parametrize("method", ["cosine", "wmd", "wrd"])
def test_paraphrase_pair_beats_unrelated_pair(http, method):
    r = http.post(
        "/similarity", json={"pairs": [list(SAME), list(OTHER)], "method": method, "model": NAME}
    )
    assert r.status_code == 200, r.text
    same, other = r.json()["scores"]
    assert same > other, (method, same, other)


def test_collection_search_finds_the_chinese_entry(http):
    assert http.put(
        "/collections/zh-faq", json={"model": NAME, "index": {"kind": "flat"}}
    ).status_code in (200, 201)
    docs = [{"id": k, "text": v} for k, v in FAQ.items()]
    assert http.post("/collections/zh-faq/documents", json={"documents": docs}).status_code == 200
    queries = {
        "密码忘了怎么办": "pwd",
        "怎样提升信用卡的额度": "card",
        "退款什么时候到账": "refund",
    }
    for query, expected in queries.items():
        r = http.post("/search", json={"collection": "zh-faq", "query": query, "top_k": 1})
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["hits"][0]["id"] == expected, (query, r.json())

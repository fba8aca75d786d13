"""GET /collections/{name}/documents: browse a collection a page at a time, with aliases."""

from __future__ import annotations


def test_pages_in_id_order_with_aliases_and_total(client):
    assert client.put("/collections/faq", json={}).status_code == 201
    docs = [
        {
            "id": f"q{i}",
            "text": t,
            "payload": {"n": i},
            "aliases": ["I forgot my password"] * (i == 0),
        }
        for i, t in enumerate(["reset my password", "where is my order", "refund please"])
    ]
    assert client.post("/collections/faq/documents", json={"documents": docs}).status_code == 200
    r = client.get("/collections/faq/documents", params={"limit": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["collection"], body["total"], body["offset"], body["limit"]) == ("faq", 3, 0, 2)
    assert [d["id"] for d in body["documents"]] == ["q0", "q1"]
    assert body["documents"][0]["aliases"] == ["I forgot my password"]
    assert body["documents"][1] == {
        "id": "q1", "text": "where is my order", "payload": {"n": 1}, "aliases": []
    }  # fmt: skip
    rest = client.get("/collections/faq/documents", params={"offset": 2, "limit": 2}).json()
    assert [d["id"] for d in rest["documents"]] == ["q2"] and rest["total"] == 3
    # the single-document route still answers under the same prefix
    assert client.get("/collections/faq/documents/q1").json()["text"] == "where is my order"


def test_paging_errors_name_the_parameter(client):
    assert client.put("/collections/p", json={}).status_code == 201
    for params, param in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
    ]:
        r = client.get("/collections/p/documents", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["param"] == param
    r = client.get("/collections/p/documents", params={"limit": "many"})
    assert r.status_code == 422 and r.json()["error"]["param"] == "limit"
    r = client.get("/collections/nope/documents")
    assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"

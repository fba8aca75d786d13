"""What a simserve server serves, before load is sent: routes, generator, search collection.

Standard library only, so the locustfile runs in the stock locust image too.
"""

from __future__ import annotations

import csv
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "http://127.0.0.1:8000"
# Weights of the mixed profile: mostly single-sentence embedding (interactive FAQ matching),
# some batch embedding (indexing jobs), searches with an occasional rerank, rare generation.
PROFILES: dict[str, dict[str, int]] = {
    "mixed": {"embed-1": 10, "embed-32": 2, "search": 5, "search-wrd": 1, "paraphrase": 1},
    "embed-1": {"embed-1": 1},
    "embed-32": {"embed-32": 1},
    "search": {"search": 1},
    "search-wrd": {"search-wrd": 1},
    "paraphrase": {"paraphrase": 1},
}

ROUTES = {
    "embed-1": "/embed",
    "embed-32": "/embed",
    "search": "/search",
    "search-wrd": "/search",
    "paraphrase": "/paraphrase",
}


@dataclass(frozen=True)
class Availability:
    """Which scenarios can run; ``missing`` maps a skipped scenario to the reason."""

    missing: dict[str, str] = field(default_factory=dict)

    def ok(self, scenario: str) -> bool:
        return scenario not in self.missing

    def reason(self, scenario: str) -> str:
        return self.missing.get(scenario, "")

    def without(self, scenarios: list[str], reason: str) -> Availability:
        return Availability({**self.missing, **dict.fromkeys(scenarios, reason)})


def auth_header() -> dict[str, str]:
    """``Authorization: Bearer <key>`` from SIMSERVE_LOADTEST_API_KEY, or nothing."""
    key = os.environ.get("SIMSERVE_LOADTEST_API_KEY", "")
    return {"authorization": f"Bearer {key}"} if key else {}


def load_sentences(path: Path) -> list[str]:
    """Sentences from a text file (one per line) or a TSV with a header (first column)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".tsv":
        rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        lines = [row[0] for row in rows if row]
    else:
        lines = text.splitlines()
    sentences = list(dict.fromkeys(s.strip() for s in lines if s.strip()))
    if len(sentences) < 32:
        raise ValueError(f"{path}: need at least 32 distinct sentences, found {len(sentences)}")
    return sentences


def request(host: str, method: str, path: str, body: dict | None = None, timeout: float = 60.0):
    """(status, parsed JSON body or None). Never raises for HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        host.rstrip("/") + path,
        data=data,
        method=method,
        headers={"content-type": "application/json", **auth_header()},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def _error_code(payload) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return payload["error"].get("code")
    return None


def route_exists(host: str, path: str, paths: set[str] | None) -> bool:
    """Whether POST ``path`` is routed: from the OpenAPI document, else by probing."""
    if paths is not None:
        return path in paths
    status, payload = request(host, "POST", path, {})
    # A missing route answers 404/405 without a domain error code (or with plain not_found);
    # a served route rejects the empty body with 4xx and a specific code.
    return not (status in (404, 405) and _error_code(payload) in (None, "not_found"))


def discover(host: str, model: str | None = None) -> Availability:
    """Probe the server: which scenarios can run and, for the others, why not."""
    status, spec = request(host, "GET", "/openapi.json")
    paths = set(spec.get("paths", {})) if status == 200 and isinstance(spec, dict) else None
    missing: dict[str, str] = {}
    for scenario, path in ROUTES.items():
        if not route_exists(host, path, paths):
            missing[scenario] = f"POST {path} is not served"
    with_model = {"model": model} if model else {}
    if "embed-1" not in missing:
        status, payload = request(host, "POST", "/embed", {"texts": ["probe"], **with_model})
        if status != 200:
            reason = f"/embed answered {status} {_error_code(payload) or ''}".strip()
            missing.update({"embed-1": reason, "embed-32": reason})
    if "paraphrase" not in missing:
        body = {"text": "How do I change my password?", "n": 2, "k": 1, "max_length": 16}
        status, payload = request(host, "POST", "/paraphrase", body)
        if status != 200:
            missing["paraphrase"] = (
                f"/paraphrase answered {status} {_error_code(payload) or ''}".strip()
            )
    return Availability(missing)


def prepare_collection(
    host: str, name: str, sentences: list[str], n_docs: int, model: str | None = None
) -> str | None:
    """Make collection ``name`` hold ``n_docs`` documents; None when ready, else why not."""
    status, info = request(host, "GET", f"/collections/{name}")
    if status == 200 and isinstance(info, dict) and int(info.get("size", 0)) >= n_docs:
        return None
    if status == 404 and _error_code(info) in (None, "not_found"):
        return "collections API is not served"
    if status != 200:
        body = {"model": model} if model else {}
        status, payload = request(host, "PUT", f"/collections/{name}", body)
        if status not in (200, 201, 409):
            return f"PUT /collections/{name} answered {status} {_error_code(payload) or ''}".strip()
    batch = 128
    for start in range(0, n_docs, batch):
        docs = [
            {"id": f"doc-{i}", "text": sentences[i % len(sentences)], "payload": {"n": i}}
            for i in range(start, min(n_docs, start + batch))
        ]
        status, payload = request(
            host, "POST", f"/collections/{name}/documents", {"documents": docs}
        )
        if status not in (200, 201):
            return f"upsert answered {status} {_error_code(payload) or ''}".strip()
    return None

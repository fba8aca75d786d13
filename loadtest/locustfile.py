"""Locust scenarios for simserve. Self-contained: needs only locust and the standard library.

Scenarios (request names in the stats): ``embed-1`` (/embed, one sentence), ``embed-32``
(/embed, 32 sentences), ``search`` (/search top 10), ``search-wrd`` (/search with a WRD
rerank of 50 candidates), ``paraphrase`` (/paraphrase). ``SIMSERVE_LOADTEST_PROFILE``
picks one scenario or ``mixed`` (weighted, see ``PROFILES``). A scenario whose endpoint is
not served (no route, no generator model, no way to create the collection) is skipped with
a logged reason; when nothing is left the run stops.

Env: SIMSERVE_LOADTEST_PROFILE (mixed), SIMSERVE_LOADTEST_MODEL (server default),
SIMSERVE_LOADTEST_SENTENCES (one sentence per line, or the first column of a TSV with a
header; default loadtest/sentences.txt), SIMSERVE_LOADTEST_COLLECTION (loadtest),
SIMSERVE_LOADTEST_DOCS (2000), SIMSERVE_LOADTEST_API_KEY (sent as a bearer token when the
server has auth on). The host comes from locust's --host (never hard-coded
here; locust defaults to http://127.0.0.1:8000 below).

Run: locust -f loadtest/locustfile.py --headless -u 16 -r 16 -t 30s
(or ``python -m loadtest`` to start a server, run every profile and write BENCHMARKS.md).
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task
from locust.runners import MasterRunner

try:  # `python -m loadtest` / tests import the package; locust imports the file by path
    from loadtest import probe
except ImportError:
    import probe

DEFAULT_HOST = probe.DEFAULT_HOST
PROFILES = probe.PROFILES

log = logging.getLogger("simserve.loadtest")

PROFILE = os.environ.get("SIMSERVE_LOADTEST_PROFILE", "mixed")
MODEL = os.environ.get("SIMSERVE_LOADTEST_MODEL") or None
COLLECTION = os.environ.get("SIMSERVE_LOADTEST_COLLECTION", "loadtest")
N_DOCS = int(os.environ.get("SIMSERVE_LOADTEST_DOCS", "2000"))
HEADERS = {"content-type": "application/json", **probe.auth_header()}
SENTENCES = probe.load_sentences(
    Path(os.environ.get("SIMSERVE_LOADTEST_SENTENCES", Path(__file__).with_name("sentences.txt")))
)
if PROFILE not in PROFILES:
    raise ValueError(
        f"SIMSERVE_LOADTEST_PROFILE must be one of {sorted(PROFILES)}, got {PROFILE!r}"
    )

_available: probe.Availability | None = None


def _with_model(body: dict) -> dict:
    return {**body, "model": MODEL} if MODEL else body


def _post(user: FastHttpUser, path: str, body: dict, name: str) -> None:
    with user.client.post(
        path,
        data=json.dumps(body),
        headers=HEADERS,
        name=name,
        catch_response=True,
    ) as response:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")


class SimserveUser(FastHttpUser):
    """One client; runs the tasks of the active profile that the server actually serves."""

    host = DEFAULT_HOST
    wait_time = constant(0)  # closed loop: each user sends its next request at once

    @task
    def placeholder(self) -> None:  # replaced by _install_tasks before users spawn
        self.stop()

    def embed_1(self) -> None:
        _post(self, "/embed", _with_model({"texts": [random.choice(SENTENCES)]}), "embed-1")

    def embed_32(self) -> None:
        _post(self, "/embed", _with_model({"texts": random.sample(SENTENCES, 32)}), "embed-32")

    def search(self) -> None:
        body = {"collection": COLLECTION, "query": random.choice(SENTENCES), "top_k": 10}
        _post(self, "/search", body, "search")

    def search_wrd(self) -> None:
        body = {
            "collection": COLLECTION,
            "query": random.choice(SENTENCES),
            "top_k": 10,
            "rerank": {"method": "wrd", "candidates": 50},
        }
        _post(self, "/search", body, "search-wrd")

    def paraphrase(self) -> None:
        body = {
            "text": random.choice(SENTENCES),
            "n": 20,
            "k": 5,
            "seed": random.randrange(1 << 30),
        }
        _post(self, "/paraphrase", body, "paraphrase")


TASKS = {
    "embed-1": SimserveUser.embed_1,
    "embed-32": SimserveUser.embed_32,
    "search": SimserveUser.search,
    "search-wrd": SimserveUser.search_wrd,
    "paraphrase": SimserveUser.paraphrase,
}


def _install_tasks(environment) -> None:
    global _available
    host = environment.host or DEFAULT_HOST
    _available = probe.discover(host, MODEL)
    wanted = PROFILES[PROFILE]
    if any(name.startswith("search") for name in wanted) and _available.ok("search"):
        reason = probe.prepare_collection(host, COLLECTION, SENTENCES, N_DOCS, MODEL)
        if reason:
            _available = _available.without(["search", "search-wrd"], reason)
    tasks = []
    for name, weight in wanted.items():
        if _available.ok(name):
            tasks += [TASKS[name]] * weight
        else:
            log.warning("scenario %s skipped: %s", name, _available.reason(name))
    if not tasks:
        log.error("no scenario of profile %r is served by %s; stopping", PROFILE, host)
        environment.process_exit_code = 3
        gevent.spawn_later(0.1, environment.runner.quit)
        return
    SimserveUser.tasks = tasks


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    if not isinstance(environment.runner, MasterRunner):
        _install_tasks(environment)

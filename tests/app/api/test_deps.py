"""ready_container: not ready -> 503; draining -> the admitted request is still served."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app.api.deps import ready_container
from app.errors import NotReady


def _request(container) -> SimpleNamespace:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(container=container)))


def test_a_starting_container_is_refused_with_its_reason():
    container = SimpleNamespace(ready=False, draining=False, not_ready_reason="loading models")
    with pytest.raises(NotReady, match="loading models"):
        asyncio.run(ready_container(_request(container)))


def test_a_request_admitted_before_the_drain_is_served_during_it():
    # begin_drain sets ready False and draining True; the middleware refuses new work, so
    # a request resolving this dependency now was admitted before, and must finish
    container = SimpleNamespace(ready=False, draining=True, not_ready_reason="")
    assert asyncio.run(ready_container(_request(container))) is container

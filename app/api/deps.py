"""FastAPI dependencies: the container built by the lifespan, as typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.container import Container
from app.errors import NotReady


async def get_container(request: Request) -> Container:
    container: Container | None = getattr(request.app.state, "container", None)
    if container is None:
        raise NotReady("server is starting")
    return container


async def ready_container(request: Request) -> Container:
    """The container, only when it is ready to serve work (503 otherwise).

    While draining, a request that got this far was admitted before the drain began (the
    middleware refuses new work from that moment, app/api/middleware.py), and in-flight
    work finishes (app.api.app.begin_drain): it is served, not refused."""
    container = await get_container(request)
    if not container.ready and not container.draining:
        raise NotReady(container.not_ready_reason or "server is not ready")
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
ReadyContainerDep = Annotated[Container, Depends(ready_container)]

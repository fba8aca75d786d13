"""`create_app(settings)`: the only way to build the HTTP app (no module-level app)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api.errors import install_error_handlers
from app.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from app.api.routes import ROUTERS
from app.container import build_container
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await build_container(settings, metrics)
        app.state.container = container
        try:
            yield
        finally:
            await container.close()

    app = FastAPI(
        title="simserve",
        version=__version__,
        description="Sentence embeddings, retrieval and paraphrase generation.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app

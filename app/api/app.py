"""`create_app(settings)`: the only way to build the HTTP app (no module-level app)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import __version__
from app.api.auth import KeyRing, is_public, make_authenticator
from app.api.cors import JSONCORSMiddleware
from app.api.errors import install_error_handlers
from app.api.middleware import MetricsMiddleware, RequestGuardMiddleware
from app.api.openapi import document_errors
from app.api.routes import ROUTERS
from app.api.routes.console import install_console
from app.api.routes.docs import install_docs
from app.container import build_container
from app.metrics import Metrics
from app.settings import Settings

log = logging.getLogger(__name__)


def begin_drain(app: FastAPI) -> None:
    """Flip to draining at once (SIGTERM): readiness 503, new work 503, in-flight continues.

    Called from the server's signal handler; the lifespan shutdown later drains the
    batchers and closes the container.
    """
    app.state.draining = True
    container = getattr(app.state, "container", None)
    if container is not None:
        container.ready = False
        container.draining = True
    log.info("draining: new work is refused, in-flight requests finish")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    keyring = KeyRing.from_settings(settings.auth)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await build_container(settings, metrics)
        app.state.container = container
        if app.state.draining:  # SIGTERM arrived while starting
            begin_drain(app)
        try:
            yield
        finally:
            await container.close()

    dependencies = []
    if keyring.enabled:
        dependencies.append(Depends(make_authenticator(settings.auth, keyring)))
    app = FastAPI(
        title="simserve",
        version=__version__,
        description="Sentence embeddings, retrieval and paraphrase generation.",
        lifespan=lifespan,
        dependencies=dependencies,
        docs_url=None,  # /docs and /redoc: install_docs, from files in a package (offline)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keyring = keyring  # GET /auth/key
    app.state.draining = False
    install_error_handlers(app, settings.lifecycle.retry_after_s)
    for router in ROUTERS:
        app.include_router(router)
    install_docs(app)
    install_console(app)
    document_errors(
        app, protected=lambda path: keyring.enabled and not is_public(path, settings.auth)
    )
    # add_middleware prepends: the last added is the outermost.
    app.add_middleware(RequestGuardMiddleware, settings=settings, metrics=metrics, keyring=keyring)
    if settings.auth.cors_origins:
        app.add_middleware(
            JSONCORSMiddleware,
            allow_origins=settings.auth.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app

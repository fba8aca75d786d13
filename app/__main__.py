"""`python -m app [--host H] [--port P]`: serve with uvicorn, settings from SIMSERVE_* env."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from app.api.app import create_app
from app.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve simserve over HTTP.")
    parser.add_argument("--host", help="bind address (default from settings: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default from settings: 8000)")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.host:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        access_log=False,
        timeout_graceful_shutdown=int(settings.batcher.request_timeout_s),
    )


if __name__ == "__main__":
    main()

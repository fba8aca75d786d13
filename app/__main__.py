"""`python -m app [--host H] [--port P]`: serve with uvicorn, settings from SIMSERVE_* env.

Shutdown (SIGTERM or Ctrl-C): the app flips to draining at once (readiness and new work
answer 503), uvicorn stops accepting connections and waits up to
`lifecycle.drain_timeout_s` for in-flight requests (their queued batcher work included),
then the lifespan closes the container (batchers drained, collections flushed) and the
process exits 0.
"""

from __future__ import annotations

import argparse
import logging
from types import FrameType

import uvicorn
from fastapi import FastAPI

from app.api.app import begin_drain, create_app
from app.api.http_protocol import server_config
from app.settings import Settings


class DrainingServer(uvicorn.Server):
    """uvicorn.Server that starts the app's drain on the first exit signal.

    uvicorn re-raises the captured signal after a graceful shutdown (so the process would
    die by SIGTERM); a completed drain is a clean exit here, so it is not re-raised.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            begin_drain(self.app)
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


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
    app = create_app(settings)
    DrainingServer(server_config(app, settings), app).run()


if __name__ == "__main__":
    main()

"""Container healthcheck: exit 0 when GET /health/ready answers 200, else 1.

Runs with the standard library only (the slim images have no curl). The port comes from
SIMSERVE_SERVER__PORT (default 8000); the address is always loopback inside the container.
Usage: python scripts/healthcheck.py [--port P] [--timeout S]
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request


def check(port: int, timeout: float) -> bool:
    """Return True when the service on 127.0.0.1:port reports ready."""
    url = f"http://127.0.0.1:{port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SIMSERVE_SERVER__PORT", "8000"))
    )
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    return 0 if check(args.port, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())

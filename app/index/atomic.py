"""Crash-safe file replacement: write a temp file, fsync it, rename over the target, fsync dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace `path` with what `write(fh)` writes; readers see the old or the new file, never
    a torn one, even across a power cut (the rename is only issued after the data is durable)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def remove_stale_temps(folder: Path) -> None:
    """Delete temp files a killed process left behind (they were never renamed into place)."""
    for stale in Path(folder).glob(".*.tmp-*"):
        stale.unlink(missing_ok=True)

"""All collections under one data folder: create (atomically), open on start, list, drop.

Layout: `<data_dir>/<name>/docs.sqlite` (+ `index.npz` FAISS snapshot or `milvus.json`
checkpoint). A collection folder appears by rename only once its docstore holds the config,
and disappears by rename before removal, so a crash never leaves a half-made collection.
A collection that cannot be opened at start-up (e.g. a corrupt docstore) is quarantined:
listed with its error, 503 on its routes, deletable; the others are served.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from app.errors import CollectionNotFound, Conflict, InvalidInput, Unavailable, ValidationFailed
from app.index.atomic import fsync_dir, remove_stale_temps
from app.index.base import Backend, VectorIndex
from app.index.collection import DOCSTORE_FILE, Collection, CollectionConfig
from app.index.faiss_index import FaissIndex, configure_faiss
from app.settings import CollectionSettings

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
FAISS_SNAPSHOT = "index.npz"
MILVUS_CHECKPOINT = "milvus.json"


def validate_name(name: str) -> str:
    """Collection names: 1-64 of [A-Za-z0-9_-], starting alphanumeric (no dots, no slashes)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit",
            param="name",
        )
    return name


class CollectionStore:
    def __init__(self, settings: CollectionSettings):
        self.settings = settings
        self.root = Path(settings.data_dir)
        self._collections: dict[str, Collection] = {}
        self._quarantined: dict[str, str] = {}  # name -> why it could not be opened
        self._lock = threading.RLock()
        self._milvus: Any = None
        configure_faiss(settings.faiss_threads)

    # ---- lifecycle ----------------------------------------------------------------------
    def open_all(self) -> None:
        """Open every collection found; clear leftovers of interrupted creates and drops.
        The data folder itself is only made when the first collection is created."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith("."):
                if folder.is_dir():
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            if folder.is_dir() and (folder / DOCSTORE_FILE).exists():
                remove_stale_temps(folder)
                try:
                    self._collections[folder.name] = self._open(folder)
                except Exception as exc:  # one broken collection must not stop the others
                    self._quarantine(folder.name, exc)

    def _quarantine(self, name: str, exc: Exception) -> None:
        log.exception("collection %s quarantined: it could not be opened", name)
        # SQLite's messages ("database disk image is malformed") are safe to show; others
        # (OSError) may hold file paths, so clients get the type and the log the rest
        if isinstance(exc, sqlite3.DatabaseError):
            self._quarantined[name] = f"{type(exc).__name__}: {exc}"
        else:
            self._quarantined[name] = f"{type(exc).__name__} (details in the server log)"

    def quarantined(self) -> dict[str, str]:
        """Collections found on disk that could not be opened: name -> error."""
        with self._lock:
            return dict(self._quarantined)

    def _unavailable(self, name: str) -> Unavailable:
        return Unavailable(
            f"collection {name!r} is quarantined: its data could not be opened at start-up "
            f"({self._quarantined[name]}); restore it from a backup and restart, or DELETE it",
            param="collection",
        )

    def _open(self, folder: Path) -> Collection:
        return Collection.open(
            folder,
            self._open_index,
            checkpoint_every=self.settings.checkpoint_every,
            overfetch=self.settings.filter_overfetch,
            max_fetch=self.settings.max_fetch,
        )

    def _open_index(self, config: CollectionConfig, folder: Path) -> tuple[VectorIndex, int | None]:
        if config.backend is Backend.FAISS:
            return FaissIndex.load(
                config.spec, folder / FAISS_SNAPSHOT, use_gpu=self.settings.use_gpu
            )
        from app.index.milvus_index import MilvusIndex

        return MilvusIndex.open(
            self._milvus_client(), config.name, config.spec, folder / MILVUS_CHECKPOINT
        )

    def _milvus_client(self) -> Any:
        if self._milvus is None:
            try:
                from pymilvus import MilvusClient
            except ImportError as exc:
                raise Unavailable(
                    "the milvus backend needs the 'milvus' extra (pymilvus, milvus-lite)"
                ) from exc
            uri = self.settings.milvus_uri or str((self.root / "milvus.db").resolve())
            self._milvus = MilvusClient(uri=uri, token=self.settings.milvus_token)
        return self._milvus

    def close(self) -> None:
        with self._lock:
            for coll in self._collections.values():
                try:
                    coll.close(checkpoint=True)
                except Exception:  # one failed checkpoint must not stop the others closing
                    log.exception("closing collection %s", coll.config.name)
            self._collections.clear()
            if self._milvus is not None:
                self._milvus.close()
                self._milvus = None

    # ---- collections --------------------------------------------------------------------
    def create(self, config: CollectionConfig) -> tuple[Collection, bool]:
        """(collection, created). Re-creating with an identical config is a no-op."""
        validate_name(config.name)
        with self._lock:
            if config.name in self._quarantined:
                raise self._unavailable(config.name)
            existing = self._collections.get(config.name)
            if existing is not None:
                old = existing.config
                if (old.model, old.backend, old.spec) != (
                    config.model,
                    config.backend,
                    config.spec,
                ):
                    raise Conflict(
                        f"collection {config.name!r} exists with model {old.model!r}, "
                        f"backend {old.backend.value}, index {old.spec.kind.value} "
                        f"{old.spec.params()}; delete it first to change them",
                        param="name",
                    )
                return existing, False
            if len(self._collections) >= self.settings.max_collections:
                raise ValidationFailed(
                    f"at most {self.settings.max_collections} collections per server"
                )
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{config.name}.creating"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            Collection.initialise(tmp, config)
            fsync_dir(tmp)
            os.rename(tmp, self.root / config.name)
            fsync_dir(self.root)
            coll = self._open(self.root / config.name)
            self._collections[config.name] = coll
            return coll, True

    def get(self, name: str) -> Collection:
        validate_name(name)
        with self._lock:
            coll = self._collections.get(name)
            if coll is None and name in self._quarantined:
                raise self._unavailable(name)
        if coll is None:
            raise CollectionNotFound(f"collection {name!r} not found", param="collection")
        return coll

    def list(self) -> list[Collection]:
        with self._lock:
            return [self._collections[n] for n in sorted(self._collections)]

    def drop(self, name: str) -> None:
        validate_name(name)
        with self._lock:  # looked up and removed at once: a racing drop or create sees either
            coll = self._collections.pop(name, None)
            if coll is None and self._quarantined.pop(name, None) is not None:
                self._remove_folder(self.root / name)  # an unreadable collection is dropped
                return
            if coll is None:
                raise CollectionNotFound(f"collection {name!r} not found", param="collection")
            coll.close(checkpoint=False)
            coll.index.drop()
            self._remove_folder(coll.folder)

    def _remove_folder(self, folder: Path) -> None:
        """Rename away first (atomic: a crash never leaves half a collection), then delete."""
        trash = self.root / f".{folder.name}.deleted-{time.time_ns()}"
        os.rename(folder, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

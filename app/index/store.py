"""All collections under one data folder: create (atomically), open on start, list, drop.

Layout (backend faiss): `<data_dir>/<name>/docs.sqlite` + `index.npz` (the FAISS snapshot).
Collections with backend milvus have no folder: Milvus is their record (`MilvusCatalog`),
consulted when `milvus_uri` is set (or a milvus-lite file exists in data_dir). A collection
folder appears by rename only once its docstore holds the config,
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

from app.errors import CollectionNotFound, InvalidInput, Unavailable, ValidationFailed
from app.index.atomic import fsync_dir, remove_stale_temps
from app.index.base import Backend, VectorIndex
from app.index.collection import DOCSTORE_FILE, Collection, CollectionConfig
from app.index.faiss_index import FaissIndex, configure_faiss
from app.index.milvus_catalog import MilvusCatalog
from app.index.milvus_collection import MilvusCollection
from app.settings import CollectionSettings

log = logging.getLogger(__name__)

AnyCollection = Collection | MilvusCollection  # a local (faiss) or a Milvus-held collection

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
FAISS_SNAPSHOT = "index.npz"


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
        self._catalog: MilvusCatalog | None = None
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
        if config.backend is not Backend.FAISS:  # Milvus is the record of its collections
            raise ValueError(
                "a local folder for a backend milvus collection is the layout of an older "
                "simserve (Milvus held only vectors); re-create the collection"
            )
        return FaissIndex.load(config.spec, folder / FAISS_SNAPSHOT, use_gpu=self.settings.use_gpu)

    def _milvus_in_use(self) -> bool:
        """Ask Milvus about names only when it is configured or already used here (a plain
        FAISS server must not make a milvus-lite file to answer a 404)."""
        return (
            self._catalog is not None
            or bool(self.settings.milvus_uri)
            or (self.root / "milvus.db").exists()
        )

    def _milvus(self) -> MilvusCatalog:
        with self._lock:
            if self._catalog is None:
                self._catalog = MilvusCatalog(self.settings, self._milvus_client)
            return self._catalog

    def _milvus_client(self) -> Any:
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:
            raise Unavailable(
                "the milvus backend needs the 'milvus' extra (pymilvus; milvus-lite or a server)"
            ) from exc
        if self.settings.milvus_uri:
            uri = self.settings.milvus_uri
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            uri = str((self.root / "milvus.db").resolve())
        return MilvusClient(
            uri=uri, token=self.settings.milvus_token, timeout=self.settings.milvus_timeout_s
        )

    def close(self) -> None:
        with self._lock:
            for coll in self._collections.values():
                try:
                    coll.close(checkpoint=True)
                except Exception:  # one failed checkpoint must not stop the others closing
                    log.exception("closing collection %s", coll.config.name)
            self._collections.clear()
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None

    # ---- collections --------------------------------------------------------------------
    def create(self, config: CollectionConfig) -> tuple[AnyCollection, bool]:
        """(collection, created). Re-creating with an identical config is a no-op."""
        validate_name(config.name)
        with self._lock:
            if config.name in self._quarantined:
                raise self._unavailable(config.name)
            existing = self._collections.get(config.name)
            if existing is None and config.backend is Backend.FAISS and self._milvus_in_use():
                existing = self._milvus().get(config.name)
            if existing is not None:
                existing.config.check_same(config)
                return existing, False
            if len(self._collections) + self._milvus_count() >= self.settings.max_collections:
                raise ValidationFailed(
                    f"at most {self.settings.max_collections} collections per server"
                )
            if config.backend is Backend.MILVUS:
                return self._milvus().create(config)
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

    def _milvus_count(self) -> int:
        return len(self._milvus().names()) if self._milvus_in_use() else 0

    def get(self, name: str) -> AnyCollection:
        validate_name(name)
        with self._lock:
            coll = self._collections.get(name)
            if coll is None and name in self._quarantined:
                raise self._unavailable(name)
        if coll is None and self._milvus_in_use():
            coll = self._milvus().get(name)
        if coll is None:
            raise CollectionNotFound(f"collection {name!r} not found", param="collection")
        return coll

    def list(self) -> list[AnyCollection]:
        with self._lock:
            found: dict[str, AnyCollection] = dict(self._collections)
        if self._milvus_in_use():
            catalog = self._milvus()
            for name in catalog.names():
                coll = found.get(name) or catalog.get(name)
                if coll is not None:
                    found[name] = coll
        return [found[n] for n in sorted(found)]

    def drop(self, name: str) -> None:
        validate_name(name)
        with self._lock:  # looked up and removed at once: a racing drop or create sees either
            coll = self._collections.pop(name, None)
            if coll is None and self._quarantined.pop(name, None) is not None:
                self._remove_folder(self.root / name)  # an unreadable collection is dropped
                return
            if coll is None:
                if self._milvus_in_use() and self._milvus().drop(name):
                    return
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

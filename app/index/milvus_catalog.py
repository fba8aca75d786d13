"""Every `backend: milvus` collection of a namespace, found in Milvus itself.

A collection's config (model, backend, index kind and parameters, created_at) is the
description of its Milvus collection, written atomically when Milvus creates it and never
changed (milvus-lite keeps no description: there it is a meta row); per-collection settings (the calibration) are rows of the namespace's meta
collection. A node therefore needs no local state: it discovers collections made by other
nodes on first use and trusts what it has seen for `recheck_s` seconds (a drop or re-create
on another node is noticed within that time, and at once by any call that fails with
"collection not found"). Nothing here ever drops or rewrites a collection it did not
create, except on an explicit DELETE.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

from app.index.collection import CollectionConfig
from app.index.milvus_collection import MilvusCollection
from app.index.milvus_filter import quote
from app.index.milvus_schema import MilvusCalls, create_data_collection, domain_error
from app.settings import CollectionSettings

log = logging.getLogger(__name__)

_TAG = "simserve_config"
_CONFIG_KEY = "__config"  # meta row holding the config where Milvus keeps no description


def milvus_name(namespace: str, name: str) -> str:
    """Milvus allows [A-Za-z0-9_]; keep the name readable and unique with a short hash."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{namespace}_{name.replace('-', '_')}_{digest}"


class MilvusCatalog:
    def __init__(self, settings: CollectionSettings, client_factory):
        self.settings = settings
        self.namespace = settings.milvus_namespace
        self._client_factory = client_factory  # () -> MilvusClient, made on first use
        self._client: Any = None
        self._lock = threading.RLock()
        self._seen: dict[str, tuple[MilvusCollection, int, float]] = {}  # name -> (coll, id, at)
        self._meta_ready = False

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._seen.clear()

    # ---- collections --------------------------------------------------------------------
    def create(self, config: CollectionConfig) -> tuple[MilvusCollection, bool]:
        """(collection, created); an existing one with the same model and index is reused."""
        from pymilvus.exceptions import MilvusException

        mname = milvus_name(self.namespace, config.name)
        description = json.dumps({_TAG: config.to_dict()})
        try:
            if not self.client.has_collection(mname):
                create_data_collection(
                    self.client, mname, config.spec, description, self.settings.milvus_consistency
                )
        except MilvusException as exc:  # e.g. another node created it at the same moment
            log.info("creating %s: %s; reading what exists", mname, exc)
        try:
            kept = self.client.describe_collection(mname).get("description")
        except MilvusException as exc:
            raise domain_error(exc, config.name) from exc
        if not kept and self.read_meta(config.name, _CONFIG_KEY) is None:  # milvus-lite
            self.write_meta(config.name, _CONFIG_KEY, config.to_dict())
        existing = self.get(config.name, fresh=True)
        if existing is None:
            raise domain_error(RuntimeError("created collection not visible"), config.name)
        existing.config.check_same(config)
        return existing, existing.config.created_at == config.created_at

    def get(self, name: str, *, fresh: bool = False) -> MilvusCollection | None:
        """The collection, or None when Milvus has none of that name in this namespace."""
        from pymilvus.exceptions import MilvusException

        with self._lock:
            seen = self._seen.get(name)
        if (
            seen is not None
            and not fresh
            and time.monotonic() - seen[2] < self.settings.milvus_recheck_s
        ):
            return seen[0]
        mname = milvus_name(self.namespace, name)
        try:
            if not self.client.has_collection(mname):
                self.forget(name)
                return None
            desc = self.client.describe_collection(mname)
        except MilvusException as exc:
            raise domain_error(exc, name) from exc
        config = self._config(desc, name)
        if config is None:
            log.warning("Milvus collection %s is not a simserve collection; ignored", mname)
            return None
        with self._lock:
            seen = self._seen.get(name)
            if seen is not None and seen[1] == desc["collection_id"]:
                coll = seen[0]
            else:
                coll = self._collection(config, mname)
            self._seen[name] = (coll, desc["collection_id"], time.monotonic())
        return coll

    def _config(self, desc: dict[str, Any], name: str) -> CollectionConfig | None:
        """The config from the description, or (milvus-lite keeps no description) the meta row."""
        try:
            return CollectionConfig.from_dict(json.loads(desc["description"])[_TAG])
        except (ValueError, KeyError, TypeError):
            pass
        raw = None if desc.get("description") else self.read_meta(name, _CONFIG_KEY)
        return None if raw is None else CollectionConfig.from_dict(raw)

    def _collection(self, config: CollectionConfig, mname: str) -> MilvusCollection:
        from pymilvus.exceptions import MilvusException

        try:
            self.client.load_collection(mname)  # a no-op when loaded (it stays loaded)
        except MilvusException as exc:
            raise domain_error(exc, config.name) from exc
        calls = MilvusCalls(
            self.client, mname, config.name, config.spec, self.settings.milvus_consistency
        )
        meta = (
            lambda key: self.read_meta(config.name, key),
            lambda key, value: self.write_meta(config.name, key, value),
        )
        return MilvusCollection(
            config, calls, meta,
            overfetch=self.settings.filter_overfetch, max_fetch=self.settings.max_fetch,
        )  # fmt: skip

    def forget(self, name: str) -> None:
        with self._lock:
            self._seen.pop(name, None)

    def names(self) -> list[str]:
        """Names of this namespace's simserve collections (sorted)."""
        from pymilvus.exceptions import MilvusException

        prefix = f"{self.namespace}_"
        try:
            mnames = [m for m in self.client.list_collections() if m.startswith(prefix)]
        except MilvusException as exc:
            raise domain_error(exc, "*") from exc
        out = []
        for mname in mnames:
            if mname == self._meta_name:
                continue
            try:
                desc = self.client.describe_collection(mname)
                if not desc.get("description") and self._meta_name in mnames:  # milvus-lite
                    out += self._names_from_meta()
                out.append(json.loads(desc["description"])[_TAG]["name"])
            except (MilvusException, ValueError, KeyError, TypeError):
                continue  # dropped meanwhile, or not ours
        return sorted({n for n in out if milvus_name(self.namespace, n) in mnames})

    def _names_from_meta(self) -> list[str]:
        rows = self.client.query(
            self._meta_collection(), filter=f'pk like "%/{_CONFIG_KEY}"',
            output_fields=["collection"], consistency_level="Strong",
        )  # fmt: skip
        return [r["collection"] for r in rows]

    def drop(self, name: str) -> bool:
        """Drop the collection and its meta rows; False when it did not exist."""
        from pymilvus.exceptions import MilvusException

        mname = milvus_name(self.namespace, name)
        self.forget(name)
        try:
            if not self.client.has_collection(mname):
                return False
            self.client.drop_collection(mname)
            if self.client.has_collection(self._meta_name):
                self.client.delete(self._meta_name, filter=f"collection == {quote(name)}")
        except MilvusException as exc:
            raise domain_error(exc, name) from exc
        return True

    # ---- per-collection settings --------------------------------------------------------
    @property
    def _meta_name(self) -> str:
        return f"{self.namespace}__meta"  # a collection name never starts with "_"

    def _meta_collection(self) -> str:
        from pymilvus import DataType

        with self._lock:
            if not self._meta_ready:
                if not self.client.has_collection(self._meta_name):
                    schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
                    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=512)
                    schema.add_field("collection", DataType.VARCHAR, max_length=128)
                    schema.add_field("value", DataType.JSON)
                    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs one
                    params = self.client.prepare_index_params()
                    params.add_index(field_name="vec", index_type="FLAT", metric_type="IP")
                    self.client.create_collection(
                        self._meta_name, schema=schema, index_params=params,
                        consistency_level="Strong",
                    )  # fmt: skip
                self.client.load_collection(self._meta_name)
                self._meta_ready = True
        return self._meta_name

    def read_meta(self, name: str, key: str) -> Any:
        from pymilvus.exceptions import MilvusException

        try:
            rows = self.client.query(
                self._meta_collection(), filter=f"pk == {quote(f'{name}/{key}')}",
                output_fields=["value"], consistency_level="Strong",
            )  # fmt: skip
        except MilvusException as exc:
            raise domain_error(exc, name) from exc
        return rows[0]["value"]["v"] if rows else None

    def write_meta(self, name: str, key: str, value: Any) -> None:
        from pymilvus.exceptions import MilvusException

        pk = f"{name}/{key}"
        try:
            if value is None:
                self.client.delete(self._meta_collection(), filter=f"pk == {quote(pk)}")
            else:
                row = {"pk": pk, "collection": name, "value": {"v": value}, "vec": [0.0, 0.0]}
                self.client.upsert(self._meta_collection(), [row])
        except MilvusException as exc:
            raise domain_error(exc, name) from exc

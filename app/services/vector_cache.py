"""Exact-text LRU of sentence vectors, keyed by (model, text, truncate), bounded in bytes.

FAQ and search traffic repeats the same queries; a hit skips tokenization, the batcher queue
and onnxruntime. What is stored is what the engine returned (pooled, whitened where the model
is, NOT normalised) with the text's token count and truncated flag, so the service applies
normalisation afterwards exactly as for a miss and a hit returns the identical vector.

int8-dynamic models are cached too: their vectors depend on batch-mates (dynamic activation
scales), so a hit returns the vector from the text's first computation; repeated texts then
get one stable vector instead of one per batch, which is no less exact than recomputing.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from app.metrics import Metrics

# Per-entry bookkeeping beyond the vector and the text: key tuple, OrderedDict node, entry
# tuple, array header (measured on CPython 3.11, rounded up).
ENTRY_OVERHEAD_BYTES = 400

CacheKey = tuple[str, str, bool]


class CachedVector(NamedTuple):
    vector: np.ndarray  # (dim,) float32, read-only, as the engine returned it (not normalised)
    n_tokens: int  # tokens fed to the model, [CLS]/[SEP] included
    truncated: bool  # the text was cut to the model's max_length


def entry_bytes(text: str, vector: np.ndarray) -> int:
    """Approximate memory held by one entry: vector data + text object + fixed overhead."""
    return int(vector.nbytes) + sys.getsizeof(text) + ENTRY_OVERHEAD_BYTES


class VectorCache:
    """Thread-safe byte-bounded LRU; every operation holds one lock for O(1) work."""

    def __init__(self, max_bytes: int, metrics: Metrics | None = None):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.metrics = metrics
        self._items: OrderedDict[CacheKey, tuple[CachedVector, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, model: str, text: str, truncate: bool) -> CachedVector | None:
        key = (model, text, truncate)
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
            else:
                self._items.move_to_end(key)
                self.hits += 1
        if self.metrics is not None:
            counter = (
                self.metrics.vector_cache_misses if item is None else self.metrics.vector_cache_hits
            )
            counter.labels(model).inc()
        return None if item is None else item[0]

    def put(
        self,
        model: str,
        text: str,
        truncate: bool,
        vector: np.ndarray,
        n_tokens: int,
        truncated: bool,
    ) -> None:
        """Store a copy of `vector` ((dim,) float32); evicts least recently used to fit."""
        if vector.ndim != 1:
            raise ValueError(f"vector must be (dim,), got shape {vector.shape}")
        size = entry_bytes(text, vector)
        if size > self.max_bytes:
            return
        stored = np.array(vector, dtype=np.float32, copy=True)
        stored.flags.writeable = False  # shared between requests
        key = (model, text, truncate)
        evicted = 0
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (CachedVector(stored, int(n_tokens), bool(truncated)), size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, freed) = self._items.popitem(last=False)
                self._bytes -= freed
                evicted += 1
            self.evictions += evicted
            total = self._bytes
        if self.metrics is not None:
            if evicted:
                self.metrics.vector_cache_evictions.inc(evicted)
            self.metrics.vector_cache_bytes.set(total)

"""Bounded LRU of token vectors keyed by (model, text), for WMD/WRD reranking.

Why cache rather than store: token vectors are ~n_tokens x hidden float32 per document (about
20 KB for a 14-token sentence at 384-d), 15-30x the sentence vector, so persisting them for
millions of documents would dominate disk and slow every upsert. The encoder is
deterministic for fp32 models, so recomputing a candidate gives the same vectors; FAQ traffic
hits the same candidates again and again, which is what the cache serves. Keyed by content,
not by document id, so upserts and deletes never leave a stale entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class TokenVectorCache:
    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, model: str, text: str) -> np.ndarray | None:
        with self._lock:
            value = self._items.get((model, text))
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end((model, text))
            self.hits += 1
            return value

    def put(self, model: str, text: str, tokens: np.ndarray) -> None:
        """Store (n_tokens, hidden) token vectors; evicts least recently used to fit."""
        size = int(tokens.nbytes)
        if size > self.max_bytes:
            return
        tokens = tokens.copy()
        tokens.flags.writeable = False  # shared between requests
        with self._lock:
            old = self._items.pop((model, text), None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[(model, text)] = tokens
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

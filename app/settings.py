"""Typed settings. Built once (from env `SIMSERVE_*`, nested with `__`) and passed down.

Example: `SIMSERVE_BATCHER__MAX_WAIT_MS=2`, `SIMSERVE_MODELS__DIRS='["var/models"]'`.
Nothing here is read at import time: `Settings()` is called by the entry point or a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Fine steps where most sentences fall: a batch pads to its longest text's bucket, so coarse
# buckets waste compute even in a run of one (16, 24, 32, ...: STS-B dev sentences, 16 real
# tokens on average, filled at most 79% of their buckets; steps of 4 up to 48: 91%); a
# bounded set of widths still keeps onnxruntime's arenas bounded.
DEFAULT_BUCKETS = (
    *range(8, 49, 4),
    *(56, 64, 80, 96, 112, 128, 160, 192, 256, 320, 384, 512),
)

# Cost of one run ~ a + b * padded tokens; a / b measured on minilm fp32, 2 threads, by CPU
# time (7; wall time was unusable with the cores shared; BENCHMARKS.md run-cost), rounded up
# to one bucket step. Splitting a run to save fewer padded tokens than this does not pay.
RUN_OVERHEAD_TOKENS = 8.0


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"


class ModelSettings(BaseModel):
    """Where model folders live and how onnxruntime runs them."""

    dirs: list[Path] = Field(default_factory=lambda: [Path("var/models"), Path("models/zoo")])
    serve: list[str] = Field(
        default_factory=list, description="Model names to load; empty means every folder found."
    )
    default: str = "minilm"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    intra_op_threads: int = Field(0, ge=0, description="0 = onnxruntime's default (all cores)")
    inter_op_threads: int = Field(1, ge=1)
    allow_spinning: bool = Field(
        False,
        description="let idle onnxruntime threads busy-wait (faster alone, worse under HTTP load)",
    )
    verify_checksums: bool = True
    warmup: bool = True


class BatcherSettings(BaseModel):
    """Dynamic batching: group queued texts by a token budget, wait at most max_wait_ms."""

    max_batch_size: int = Field(64, ge=1)
    max_batch_tokens: int = Field(8192, ge=16, description="padded tokens per onnxruntime run")
    max_wait_ms: float = Field(2.0, ge=0)
    busy_wait_ms: float = Field(
        10.0,
        ge=0,
        description="growing wait: renew max_wait_ms while texts keep arriving, up to this "
        "long past the oldest text's arrival (0 = off; raced in BENCHMARKS.md, issue 16.4: "
        "static int8 under 4 x 32 went from 496 to 644 sentences/s)",
    )
    sort_window: int = Field(
        8, ge=1, description="batches' worth of queued texts sorted by length together"
    )
    run_plan: Literal["optimal", "fixed"] = Field(
        "optimal",
        description="optimal: cut each sorted window where padded tokens + run overhead are "
        "least (app/engines/run_plan.py); fixed: runs of max_batch_size padded to their longest",
    )
    run_overhead_tokens: float = Field(
        RUN_OVERHEAD_TOKENS,
        ge=0,
        description="fixed cost of one onnxruntime run, in padded tokens (measured on minilm)",
    )
    queue_size: int = Field(4096, ge=1, description="queued texts per model before 429")
    request_timeout_s: float = Field(30.0, gt=0)
    buckets: tuple[int, ...] = DEFAULT_BUCKETS


class LimitsSettings(BaseModel):
    max_texts: int = Field(256, ge=1)
    max_chars: int = Field(20_000, ge=1)
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="request line + headers; over it -> 431, connection closed"
    )
    max_header_count: int = Field(100, ge=8, description="request headers; over it -> 431")


class GenerationSettings(BaseModel):
    """/paraphrase: bounds on the work one request may ask for (docs/METHODS.md 3.2 defaults)."""

    default_model: str | None = Field(
        None,
        description="Generator used when a request names none; None = chosen by the input's "
        "script (the generator with the most CJK pieces for Chinese input, the fewest otherwise).",
    )
    max_n: int = Field(256, ge=1, description="candidates sampled per request")
    max_k: int = Field(100, ge=1, description="paraphrases returned per request")
    max_new_tokens: int = Field(64, ge=1, description="hard cap on max_length")
    max_text_chars: int = Field(512, ge=1)
    min_temperature: float = Field(
        1e-3,
        gt=0,
        description="below it logits / temperature overflow float64 (1e-308 made every row "
        "non-finite); sampling is already greedy in effect at 1e-3",
    )
    max_temperature: float = Field(5.0, gt=0)
    max_concurrent: int = Field(1, ge=1, description="decodes running at once (CPU bound)")
    max_queued: int = Field(16, ge=0, description="requests waiting for a decode slot before 429")
    timeout_s: float = Field(30.0, gt=0, description="wait for a slot + decode + rerank")
    decode_mode: Literal["cached", "full"] = Field(
        "cached", description="cached (KV cache) | full (re-run every step; benchmarks only)"
    )


class CollectionSettings(BaseModel):
    """Retrieval: where collections live, which index backend, request limits, rerank cache."""

    data_dir: Path = Path("var/collections")
    default_backend: Literal["faiss", "milvus"] = Field(
        "faiss", description="when PUT omits backend"
    )
    default_index: Literal["flat", "hnsw", "ivf"] = Field(
        "hnsw", description="when PUT omits index"
    )
    milvus_uri: str = Field(
        "", description="Milvus endpoint (http://host:19530); empty = milvus-lite file in data_dir"
    )
    milvus_token: str = ""
    milvus_namespace: str = Field(
        "simserve",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$",
        description="prefix of this deployment's Milvus collections: nodes sharing one "
        "namespace serve the same collections; other namespaces are never touched",
    )
    milvus_consistency: Literal["Strong", "Session", "Bounded", "Eventually"] = Field(
        "Strong",
        description="read consistency for backend milvus: Strong = every read on any node sees "
        "every write acknowledged before it began (docs/RETRIEVAL.md); Session only guarantees "
        "that on the node that wrote",
    )
    milvus_recheck_s: float = Field(
        2.0, ge=0, description="how long a node trusts its view of a Milvus collection's config"
    )
    milvus_timeout_s: float = Field(10.0, gt=0, description="connect / call timeout for Milvus")
    use_gpu: bool = Field(True, description="search on a GPU copy when faiss sees a GPU")
    faiss_threads: int = Field(
        1,
        ge=0,
        description="OpenMP threads for FAISS (0 = all cores). 1 by default: the encoder shares "
        "the cores, and a 2-thread single-query search stalls on its barrier when one core "
        "is busy (flat 20k x 384 measured 40 ms p50 vs 8 ms with 1 thread under load)",
    )
    max_collections: int = Field(1000, ge=1)
    max_documents_per_request: int = Field(1024, ge=1)
    max_id_chars: int = Field(256, ge=1)
    max_payload_bytes: int = Field(16 * 1024, ge=2)
    max_payload_depth: int = Field(
        32,
        ge=1,
        le=128,
        description="nesting of a document payload; the response encoder stops at 255 levels "
        "counted from the response root, so a deeper payload could be stored but never read",
    )
    max_top_k: int = Field(1000, ge=1)
    max_queries: int = Field(64, ge=1)
    max_rerank_candidates: int = Field(200, ge=1)
    filter_overfetch: int = Field(
        4, ge=1, description="first fetch = top_k x this with a filter or aliases"
    )
    max_fetch: int = Field(
        16384, ge=1, description="cap on candidates scanned for a filter or aliases"
    )
    max_aliases_per_document: int = Field(32, ge=0, description="given + generated aliases")
    max_augmented_documents: int = Field(
        8, ge=1, description="documents per upsert with `augment` (each is a paraphrase decode)"
    )
    checkpoint_every: int = Field(
        20_000, ge=1, description="index checkpoint after this many written vectors"
    )
    token_cache_mb: int = Field(256, ge=0, description="LRU of candidates' token vectors")
    rerank_prune: bool = Field(
        False,
        description="skip the EMDs that a centroid lower bound proves cannot reach the top k "
        "(same hits). Off: on STS sentences it skipped 0-20% of them yet was 10-30% slower "
        "(BENCHMARKS.md rerank); it can only pay where EMDs are dear (long texts, many "
        "candidates) and most candidates are far from the query",
    )
    max_calibration_pairs: int = Field(
        5000,
        ge=20,
        description="labelled pairs (or scores) per PUT /collections/{name}/calibration",
    )


class AuthSettings(BaseModel):
    """API keys (`Authorization: Bearer <key>`), public probes and CORS.

    Auth is on when any key is configured (here or in `key_file`). `key_file` holds one key
    per line, optionally followed by a scope: `<key> rw` (default) or `<key> ro`; `#` starts
    a comment. Read-only keys may call every route except those declared as writes.
    """

    keys: list[SecretStr] = Field(default_factory=list, description="read-write keys")
    read_only_keys: list[SecretStr] = Field(default_factory=list)
    key_file: Path | None = None
    public_health: bool = Field(True, description="/health/* answer without a key")
    public_metrics: bool = Field(True, description="/metrics answers without a key")
    cors_origins: list[str] = Field(
        default_factory=list, description="allowed CORS origins; empty = CORS off"
    )


class LifecycleSettings(BaseModel):
    """Per-request limits and graceful shutdown."""

    request_deadline_s: float = Field(
        30.0, gt=0, description="wall-clock limit per request; past it -> 504"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="time to receive a request head on a connection; past it -> 408"
    )
    body_timeout_s: float = Field(
        10.0, gt=0, description="time to receive a request body; past it -> 408, slot freed"
    )
    max_concurrent_requests: int = Field(
        512, ge=1, description="requests in progress (probes excluded) before 429"
    )
    drain_timeout_s: float = Field(
        30.0, ge=0, description="on SIGTERM: time to finish in-flight and queued work"
    )
    retry_after_s: int = Field(1, ge=1, description="Retry-After sent with 429 and 503")


class CacheSettings(BaseModel):
    """Repeated-text vector cache in front of every model's batcher."""

    enabled: bool = Field(True, description="serve repeated texts' vectors from memory")
    max_bytes: int = Field(
        64 * 1024 * 1024, ge=0, description="LRU bound: vectors + texts + per-entry overhead"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIMSERVE_", env_nested_delimiter="__", extra="ignore"
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    batcher: BatcherSettings = Field(default_factory=BatcherSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    collections: CollectionSettings = Field(default_factory=CollectionSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    lifecycle: LifecycleSettings = Field(default_factory=LifecycleSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)

"""Prometheus metrics, one registry per app instance (never the global default registry),
so several apps in one test process do not collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "simserve_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "simserve_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "simserve_queue_depth",
            "Texts waiting in a model's batcher queue",
            ["model"],
            registry=r,
        )
        self.batch_size = Histogram(
            "simserve_batch_size",
            "Texts per onnxruntime run",
            ["model"],
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.batch_tokens = Histogram(
            "simserve_batch_tokens",
            "Padded tokens per onnxruntime run",
            ["model"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.real_tokens = Counter(
            "simserve_batch_real_tokens",
            "Real (unpadded) tokens computed by onnxruntime runs",
            ["model"],
            registry=r,
        )
        self.padded_tokens = Counter(
            "simserve_batch_padded_tokens",
            "Padded tokens computed by onnxruntime runs (real / padded = padding efficiency)",
            ["model"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "simserve_stage_seconds",
            "Time per stage (tokenize, queue, inference, ...)",
            ["model", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.in_progress = Gauge(
            "simserve_requests_in_progress",
            "HTTP requests being served (probes excluded)",
            registry=r,
        )
        self.client_disconnects = Counter(
            "simserve_client_disconnects",
            "Requests cancelled because the client went away before the answer",
            registry=r,
        )
        self.deadlines_exceeded = Counter(
            "simserve_deadlines_exceeded",
            "Requests cut at the per-request deadline",
            registry=r,
        )

        self.vector_cache_hits = Counter(
            "simserve_vector_cache_hits",
            "Texts answered from the repeated-text vector cache",
            ["model"],
            registry=r,
        )
        self.vector_cache_misses = Counter(
            "simserve_vector_cache_misses",
            "Texts looked up in the vector cache and sent to the model",
            ["model"],
            registry=r,
        )
        self.vector_cache_evictions = Counter(
            "simserve_vector_cache_evictions",
            "Vector cache entries evicted to stay within cache.max_bytes",
            registry=r,
        )
        self.vector_cache_bytes = Gauge(
            "simserve_vector_cache_bytes",
            "Approximate bytes held by the vector cache",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""onnxruntime session construction: providers (CPU, or CUDA when present) and threads."""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort

log = logging.getLogger(__name__)


def choose_providers(device: str) -> list[str]:
    """'cpu' -> CPU only; 'cuda' -> CUDA (error if absent); 'auto' -> CUDA when available."""
    available = ort.get_available_providers()
    if device == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise RuntimeError(
                "device=cuda but onnxruntime has no CUDAExecutionProvider "
                "(install the 'gpu' extra: onnxruntime-gpu)"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "auto" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def create_session(
    path: Path,
    device: str = "auto",
    intra_op_threads: int = 0,
    inter_op_threads: int = 1,
    allow_spinning: bool = False,
) -> ort.InferenceSession:
    """A session on the chosen device. Spinning is off by default: idle intra-op threads that
    busy-wait steal the cores the event loop and tokenizer need on small machines."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if allow_spinning else "0"
    )
    providers = choose_providers(device)
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    log.info("loaded %s on %s", path, session.get_providers()[0])
    return session

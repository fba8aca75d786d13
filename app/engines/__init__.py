"""Compute engines: tokenizer, onnxruntime sessions, pooling, whitening, batching."""

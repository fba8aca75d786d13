"""Baseline peer for the race: a plain FastAPI + sentence-transformers embedding server.

What a user writes in ten minutes: one ``SentenceTransformer.encode`` per request,
OpenAI-shaped ``POST /embeddings``. Used when infinity-emb cannot run, or on request.
Usage: python -m benchmarks.race_st_server --model DIR --port P  (binds 127.0.0.1)
"""

from __future__ import annotations

import argparse

import torch
import uvicorn
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer


class EmbeddingRequest(BaseModel):
    input: list[str] | str
    model: str = "minilm"


def build(model_dir: str, threads: int) -> FastAPI:
    torch.set_num_threads(threads)
    model = SentenceTransformer(model_dir, device="cpu")
    api = FastAPI()

    @api.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @api.post("/embeddings")
    async def embeddings(request: EmbeddingRequest) -> dict:
        texts = [request.input] if isinstance(request.input, str) else request.input
        vectors = await run_in_threadpool(
            model.encode, texts, batch_size=32, normalize_embeddings=True
        )
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        return {"object": "list", "data": data, "model": request.model}

    return api


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run(
        build(args.model, args.threads), host="127.0.0.1", port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()

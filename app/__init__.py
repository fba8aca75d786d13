"""simserve: a sentence-similarity microservice (embeddings, retrieval, paraphrase)."""

__version__ = "0.1.0"

"""Vector indexes (FAISS, Milvus), the SQLite docstore and durable collections built on them."""

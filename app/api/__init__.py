"""HTTP layer: FastAPI and pydantic stop here."""

"""Use-cases in plain Python/numpy. Raise app.errors.* domain errors; no FastAPI here."""

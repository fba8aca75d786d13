from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ParaphraseRequest(BaseModel):
    """Bounds (n, k, max_length, text length) are checked by the service against settings."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The sentence to paraphrase.")
    model: str | None = Field(
        None, description="A served simbert model; default generator if omitted."
    )
    n: int = Field(100, description="Candidates sampled in one batched decode.")
    k: int = Field(20, description="Paraphrases returned, best cosine first.")
    top_k: int | None = Field(
        None, description="Top-k sampling; with top_p unset too: model default."
    )
    top_p: float | None = Field(
        None, description="Nucleus sampling: smallest prefix with mass > p."
    )
    temperature: float = Field(1.0, description="Softmax temperature.")
    max_length: int = Field(32, description="Hard cap on new tokens; longer samples are truncated.")
    seed: int | None = Field(None, description="Same seed, same answer; random when omitted.")


class ParaphraseItem(BaseModel):
    text: str
    score: float = Field(description="Cosine to the input by the model's own encoder.")


class ParaphraseUsage(BaseModel):
    prompt_tokens: int
    generated_tokens: int
    candidates: int
    unique: int
    truncated: int
    seed: int


class ParaphraseResponse(BaseModel):
    model: str
    paraphrases: list[ParaphraseItem]
    usage: ParaphraseUsage

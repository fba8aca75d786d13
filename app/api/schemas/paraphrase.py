from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt


class ParaphraseConstraints(BaseModel):
    """Well-formed decoding (issue 11), each on by default; a deviation from `gen_synonyms`."""

    model_config = ConfigDict(extra="forbid")

    words: StrictBool = Field(
        True,
        description="A `##` continuation only where it can still complete a word of the "
        "model's word list (its vocabulary, its training-text words, the input's words); "
        "a word ends only when complete.",
    )
    no_repeat_ngram: StrictInt = Field(
        3, ge=0, le=16, description="No token n-gram of this size twice in a candidate; 0 = off."
    )
    no_repeat_word: StrictBool = Field(
        True, description="No word twice in a row (single CJK characters exempt)."
    )
    keep_question: StrictBool = Field(
        True,
        description="Input ending in '?' or '？': candidates are cut after their last question "
        "mark; without one, their trailing punctuation is replaced by the input's mark; "
        "candidates cut at max_length without one, or without a word, are dropped.",
    )


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
    constraints: ParaphraseConstraints = Field(
        default_factory=ParaphraseConstraints,
        description="Decoding constraints; omitted fields keep their defaults (all on).",
    )


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
    dropped: int = Field(0, description="Candidates dropped by keep_question.")


class ParaphraseResponse(BaseModel):
    model: str
    paraphrases: list[ParaphraseItem]
    usage: ParaphraseUsage

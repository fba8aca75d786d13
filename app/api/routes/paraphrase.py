from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import ReadyContainerDep
from app.api.responses import FastJSONResponse
from app.api.schemas.paraphrase import ParaphraseRequest, ParaphraseResponse

router = APIRouter(tags=["generation"])


@router.post("/paraphrase", response_model=ParaphraseResponse)
async def paraphrase(body: ParaphraseRequest, container: ReadyContainerDep) -> FastJSONResponse:
    """SimBERT `gen_synonyms`: sample n, dedupe, drop the input, rank by cosine, top k."""
    result = await container.paraphrases.paraphrase(
        body.text,
        model=body.model,
        n=body.n,
        k=body.k,
        top_k=body.top_k,
        top_p=body.top_p,
        temperature=body.temperature,
        max_length=body.max_length,
        seed=body.seed,
        constraints=body.constraints.model_dump(),
    )
    return FastJSONResponse(
        {
            "model": result.model,
            "paraphrases": [asdict(p) for p in result.paraphrases],
            "usage": asdict(result.usage),
        }
    )

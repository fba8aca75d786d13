"""POST /match (match or abstain) and a collection's calibration: thin routes over
`MatchService`."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ReadyContainerDep
from app.api.routes.search import filter_and_rerank
from app.api.schemas.matching import CalibrationOut, CalibrationPut, MatchRequest, MatchResponse
from app.errors import NotFound
from app.index.calibration import Calibration
from app.services.search import SearchMode

router = APIRouter(tags=["retrieval"])


def calibration_out(cal: Calibration, problem: str | None) -> CalibrationOut:
    return CalibrationOut(**cal.to_dict(), usable=problem is None, problem=problem)


@router.put("/collections/{name}/calibration", response_model=CalibrationOut)
async def put_calibration(
    name: str, body: CalibrationPut, container: ReadyContainerDep
) -> CalibrationOut:
    cal = await container.matching.calibrate(
        name,
        pairs=None if body.pairs is None else [(p.a, p.b, p.label) for p in body.pairs],
        scores=body.scores,
        labels=body.labels,
        calibration=body.calibration,
        method=body.method,
    )
    return calibration_out(cal, None)


@router.get("/collections/{name}/calibration", response_model=CalibrationOut)
async def get_calibration(name: str, container: ReadyContainerDep) -> CalibrationOut:
    cal, problem = await container.matching.calibration(name)
    if cal is None:
        raise NotFound(f"collection {name!r} has no calibration", param="name")
    return calibration_out(cal, problem)


@router.delete("/collections/{name}/calibration")
async def delete_calibration(name: str, container: ReadyContainerDep) -> dict:
    return {"collection": name, "deleted": await container.matching.drop_calibration(name)}


@router.post("/match", response_model=MatchResponse)
async def match(body: MatchRequest, container: ReadyContainerDep) -> MatchResponse:
    flt, options = filter_and_rerank(body)
    result = await container.matching.match(
        body.collection, body.query, alternatives=body.alternatives, flt=flt,
        rerank_options=options, mode=SearchMode(body.mode),
    )  # fmt: skip
    return MatchResponse.model_validate(result)

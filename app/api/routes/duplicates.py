"""The near-duplicate clusters job of a collection: thin routes over `DuplicateJobs`."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.auth import WriteAccess
from app.api.deps import ReadyContainerDep
from app.api.schemas.matching import DuplicatesJobOut, DuplicatesJobRequest
from app.services.duplicate_jobs import DuplicateJob
from app.services.duplicates import DuplicateCheck

router = APIRouter(prefix="/collections", tags=["collections"])


def _out(job: DuplicateJob, merged: int | None = None) -> DuplicatesJobOut:
    data = job.to_dict()
    data.pop("boot")
    return DuplicatesJobOut(**data, merged=merged)


@router.post(
    "/{name}/duplicates",
    response_model=DuplicatesJobOut,
    status_code=202,
    dependencies=[WriteAccess],  # its merge writes; starting one costs a scan
)
async def start_duplicates_job(
    name: str, body: DuplicatesJobRequest, container: ReadyContainerDep
) -> DuplicatesJobOut:
    threshold = body.threshold
    if threshold is None:
        threshold = await container.collections.duplicate_threshold(name, DuplicateCheck())
    job = await container.duplicate_jobs.start(
        name, threshold=threshold, k=body.k, max_documents=body.max_documents
    )
    return _out(job)


@router.get("/{name}/duplicates/{job_id}", response_model=DuplicatesJobOut)
async def get_duplicates_job(name: str, job_id: str, container: ReadyContainerDep):
    return _out(container.duplicate_jobs.get(name, job_id))


@router.delete("/{name}/duplicates/{job_id}", response_model=DuplicatesJobOut)
async def cancel_duplicates_job(name: str, job_id: str, container: ReadyContainerDep):
    return _out(container.duplicate_jobs.cancel(name, job_id))


@router.post(
    "/{name}/duplicates/{job_id}/merge",
    response_model=DuplicatesJobOut,
    dependencies=[WriteAccess],
)
async def merge_duplicates(name: str, job_id: str, container: ReadyContainerDep):
    job, ack = await container.duplicate_jobs.merge(name, job_id)
    return _out(job, merged=ack.count)

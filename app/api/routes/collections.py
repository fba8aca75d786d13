"""Collections and their documents: thin routes over `CollectionService`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.auth import WriteAccess
from app.api.deps import ReadyContainerDep
from app.api.schemas.collections import (
    CollectionCreate,
    CollectionList,
    CollectionOut,
    DeleteRequest,
    DocumentOut,
    DocumentPageOut,
    UpsertRequest,
    WriteResponse,
)
from app.services.augment import AugmentOptions
from app.services.collections import CollectionInfo, DocumentInput
from app.services.duplicates import DuplicateAction, DuplicateCheck

router = APIRouter(prefix="/collections", tags=["collections"])


def _out(info: CollectionInfo) -> CollectionOut:
    return CollectionOut(
        name=info.name,
        model=info.model,
        backend=info.backend,
        index={"kind": info.index, "params": info.params},
        dimension=info.dimension,
        size=info.size,
        created_at=info.created_at,
    )


# plain {name} (not :path): PUT/DELETE on sub-resources stay 405, and an encoded slash
# (a%2F..%2Fb) is decoded before routing, so it matches no route (404), never a name
@router.put(
    "/{name}",
    response_model=CollectionOut,
    status_code=200,
    responses={201: {"model": CollectionOut, "description": "Created"}},
)
async def create_collection(
    name: str, body: CollectionCreate, container: ReadyContainerDep, response: Response
) -> CollectionOut:
    info, created = await container.collections.create(
        name,
        model=body.model,
        backend=body.backend,
        index=body.index.kind if body.index else None,
        params=body.index.params() if body.index else None,
    )
    response.status_code = 201 if created else 200
    return _out(info)


@router.get("", response_model=CollectionList)
async def list_collections(container: ReadyContainerDep) -> CollectionList:
    broken = container.collections.quarantined()
    return CollectionList(
        collections=[_out(i) for i in await container.collections.list()],
        quarantined=[{"name": n, "error": e} for n, e in sorted(broken.items())],
    )


@router.delete("/{name}")
async def drop_collection(name: str, container: ReadyContainerDep) -> dict:
    await container.collections.drop(name)
    return {"deleted": name}


@router.post("/{name}/documents", response_model=WriteResponse, dependencies=[WriteAccess])
async def upsert_documents(
    name: str, body: UpsertRequest, container: ReadyContainerDep
) -> WriteResponse:
    docs = [DocumentInput(d.id, d.text, d.payload, d.vector, d.aliases) for d in body.documents]
    augment = AugmentOptions(**body.augment.model_dump()) if body.augment else None
    check = (
        DuplicateCheck(DuplicateAction(body.duplicates.action), body.duplicates.threshold)
        if body.duplicates
        else None
    )
    ack = await container.collections.upsert(name, docs, augment, check)
    return WriteResponse(
        collection=name,
        upserted=ack.count,
        aliases=ack.aliases,
        seq=ack.seq,
        duplicates=None if check is None else list(ack.duplicates),
    )


@router.post("/{name}/documents/delete", response_model=WriteResponse, dependencies=[WriteAccess])
async def delete_documents(
    name: str, body: DeleteRequest, container: ReadyContainerDep
) -> WriteResponse:
    ack = await container.collections.delete(name, body.ids)
    return WriteResponse(
        collection=name, deleted=ack.count, aliases=ack.aliases, missing=ack.missing, seq=ack.seq
    )


@router.get("/{name}/documents", response_model=DocumentPageOut)
async def list_documents(
    name: str, container: ReadyContainerDep, offset: int = 0, limit: int = 20
) -> DocumentPageOut:
    """Browse documents in id order, `limit` (1-100) at a time, with their aliases."""
    page = await container.collections.documents(name, offset, limit)
    return DocumentPageOut(
        collection=name,
        total=page.total,
        offset=offset,
        limit=limit,
        documents=[
            DocumentOut(id=d.id, text=d.text, payload=d.payload, aliases=list(d.aliases))
            for d in page.documents
        ],
    )


@router.get("/{name}/documents/{doc_id:path}", response_model=DocumentOut)
async def get_document(name: str, doc_id: str, container: ReadyContainerDep) -> DocumentOut:
    doc = await container.collections.get(name, doc_id)
    return DocumentOut(id=doc.id, text=doc.text, payload=doc.payload, aliases=list(doc.aliases))


@router.get("/{name}", response_model=CollectionOut)
async def describe_collection(name: str, container: ReadyContainerDep) -> CollectionOut:
    out = _out(await container.collections.describe(name))
    cal, problem = await container.matching.calibration(name)
    if cal is not None:
        out.calibration = {**cal.to_dict(), "usable": problem is None, "problem": problem}
    return out

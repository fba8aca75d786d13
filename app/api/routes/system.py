"""Models list, liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from app.api.deps import ContainerDep
from app.api.errors import error_response
from app.api.schemas.common import ModelInfo, ModelList

router = APIRouter(tags=["system"])


@router.get("/models", response_model=ModelList)
async def list_models(container: ContainerDep) -> ModelList:
    infos = []
    for served in container.registry.all():
        m = served.manifest
        infos.append(
            ModelInfo(
                name=served.name,
                kind=m.kind.value,
                architecture=m.architecture,
                dimension=m.dimension,
                hidden_size=m.hidden_size,
                pooling=m.pooling.value,
                normalize=m.normalize,
                max_length=m.max_length,
                whitening_k=m.whitening.k if m.whitening else None,
                quantization=m.onnx.quantization,
                providers=served.encoder.providers,
            )
        )
    return ModelList(models=infos)


@router.get("/health/live")
async def live() -> dict:
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "not ready or draining"}})
async def ready(container: ContainerDep) -> Response:
    """200 when every model's encoder serves. `unavailable` reports the backends of other
    kinds excluded at start-up ("model/generator" -> why): their model still serves as an
    encoder and naming them answers 503 with the same reason."""
    registry = container.registry
    if container.ready and registry.healthy:
        return JSONResponse(
            {"status": "ready", "models": registry.names(), "unavailable": registry.unavailable()}
        )
    reason = (
        "server is draining"
        if container.draining
        else (container.not_ready_reason or "a model worker is not running")
    )
    return error_response(
        None, 503, "not_ready", reason, retry_after=container.settings.lifecycle.retry_after_s
    )


@router.get("/metrics", response_class=Response)
async def metrics(container: ContainerDep) -> Response:
    return Response(container.metrics.render(), media_type="text/plain; version=0.0.4")

# syntax=docker/dockerfile:1
# simserve, CPU image. Build: docker build -t simserve:cpu .
# The RUN steps call scripts/ so CI runs the very same recipe outside Docker
# (tests/deploy/test_scripts.py); keep the logic there, not here.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: train extra (torch CPU, transformers) exports the default model folders ----
FROM ${PYTHON_IMAGE} AS build
# The CPU wheel index keeps torch from pulling the CUDA libraries (several GB).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY models ./models
COPY scripts ./scripts
RUN TORCH_INDEX_URL="${TORCH_INDEX_URL}" scripts/install.sh --venv /opt/build-venv --extras train \
 && PYTHON=/opt/build-venv/bin/python SIMSERVE_EXPORT_ZOO=1 scripts/export-models.sh /opt/simserve/models \
 && scripts/install.sh --venv /opt/venv --extras serve

# ---- runtime: serving dependencies only (no torch), non-root ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="simserve" \
      org.opencontainers.image.description="Sentence-similarity service on onnxruntime (CPU)"
RUN groupadd --system --gid 10001 simserve \
 && useradd --system --uid 10001 --gid simserve --home-dir /var/lib/simserve --shell /usr/sbin/nologin simserve \
 && mkdir -p /var/lib/simserve/models /var/lib/simserve/collections \
 && chown -R simserve:simserve /var/lib/simserve
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/simserve/models /opt/simserve/models
COPY scripts/serve.sh scripts/healthcheck.py /opt/simserve/scripts/
# Models baked into the image (read-only) come after the user's volume in the search
# order, so a folder of the same name on the volume wins.
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SIMSERVE_SERVER__HOST=0.0.0.0 \
    SIMSERVE_SERVER__PORT=8000 \
    SIMSERVE_MODELS__DIRS='["/var/lib/simserve/models","/opt/simserve/models"]' \
    SIMSERVE_COLLECTIONS__DATA_DIR=/var/lib/simserve/collections
WORKDIR /var/lib/simserve
USER 10001:10001
VOLUME ["/var/lib/simserve/models", "/var/lib/simserve/collections"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/opt/simserve/scripts/healthcheck.py"]
CMD ["/opt/simserve/scripts/serve.sh"]

# The gtzcomposer inference service (`gtzcomposer serve`), CPU only. See docs/deploy-on-aws.md.
#   docker build -t gtzcomposer-serve .
#   docker run --rm -p 8000:8000 gtzcomposer-serve
# SageMaker hosting runs it as `docker run IMAGE serve`, the same command; give the model the
# environment GTZCOMPOSER_PORT=8080 (its contract's port; /ping and /invocations are served).
# tests/server/test_dockerfile.py lints this file (hadolint); the server tests start the test
# server with exactly this entry point, command and environment (only the address changed).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY gtzcomposer ./gtzcomposer
COPY models ./models
COPY resources ./resources
# The service never imports Qt (an import-linter contract says so), so the image drops PySide6.
RUN python -m venv /opt/gtzcomposer \
    && /opt/gtzcomposer/bin/pip install . \
    && /opt/gtzcomposer/bin/pip uninstall -y PySide6-Essentials shiboken6

FROM python:3.11-slim-bookworm
RUN groupadd --gid 10001 gtz \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin gtz
# The band (chords, bass, drums under a continuation; docs/band.md) needs the program MMA, as
# scripts/install.sh installs it; without it /v1/continue answers the melody alone and says why.
RUN apt-get update \
    && apt-get install -y --no-install-recommends mma=21.09-1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/gtzcomposer /opt/gtzcomposer
ENV PATH=/opt/gtzcomposer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KERAS_BACKEND=tensorflow \
    TF_CPP_MIN_LOG_LEVEL=2 \
    NUMBA_CACHE_DIR=/tmp/numba \
    GTZCOMPOSER_HOST=0.0.0.0 \
    GTZCOMPOSER_PORT=8000 \
    GTZCOMPOSER_WORKERS=2
USER 10001:10001
WORKDIR /home/gtz
EXPOSE 8000
# /readyz answers 200 once the worker has loaded its models (start-period covers that load).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('GTZCOMPOSER_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4).status != 200)"]
ENTRYPOINT ["gtzcomposer"]
CMD ["serve"]

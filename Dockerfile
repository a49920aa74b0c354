# authsvc container image: `docker build -t authsvc .`, then e.g.
#   docker run -p 8000:8000 -v authsvc-data:/data \
#     -e ACCESS_TOKEN_SECRET=… -e REFRESH_TOKEN_SECRET=… authsvc
# No secret is baked in: production (the default) refuses to start until both are given,
# as variables or as files in /run/secrets (SECRETS_DIR), where Docker mounts secrets.
# tests/deploy/test_container.py reads this file (ENV, CMD, HEALTHCHECK); keep them in step.

# --- builder: build the wheel, install it with its dependencies into a venv --------------
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Unicode TR39 username checks use ICU: on x86_64 a wheel that bundles it, elsewhere PyICU
# built from source against Debian's ICU, which needs these.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ pkg-config libicu-dev \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/authsvc

WORKDIR /build
# README.md is the package's long description (pyproject `readme`), so hatchling needs it.
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/authsvc/bin/pip install --no-cache-dir /wheels/authsvc-*.whl

# --- final: the venv only, run as an unprivileged user ------------------------------------
FROM python:3.11-slim-bookworm

# ICU's runtime library for a PyICU built from source; the compiler and headers stay in the
# builder.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libicu72 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so a volume's ownership is predictable from the host.
RUN groupadd --system --gid 10001 authsvc \
    && useradd --system --uid 10001 --gid authsvc --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin authsvc \
    && mkdir /data \
    && chown authsvc:authsvc /data

COPY --from=builder /opt/authsvc /opt/authsvc

# Settings also read `.env` from the working directory; /app is empty and root-owned, so
# configuration comes from the environment only.
WORKDIR /app

# The embedded store is a SQLite file in the /data volume, so `docker run` alone works;
# docker-compose.yml points DATABASE_URL at PostgreSQL instead.
ENV PATH=/opt/authsvc/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite+aiosqlite:////data/authsvc.db

VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

# slim has no curl; urlopen raises (exit 1) on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=2)"]

# authsvc finishes in-flight requests on SIGTERM (at most SHUTDOWN_TIMEOUT_SECONDS, 10 s by default).
STOPSIGNAL SIGTERM
CMD ["authsvc", "serve"]

# BPTT Lab: the web app and its NumPy core in one small image.
#   docker build -t bptt-lab .
#   docker run -p 8000:8000 -v bptt-runs:/data bptt-lab     then open http://127.0.0.1:8000/
# Set BPTT_LAB_CONTROL_TOKEN when the port is reachable by others (README "Before listening beyond 127.0.0.1").

# ---- stage 1: htmx from npm, exactly as package-lock.json pins it (node from Debian) ----
FROM python:3.11-slim AS static
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# ---- stage 2: the server ----
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    BPTT_LAB_HOST=0.0.0.0 \
    BPTT_LAB_PORT=8000 \
    BPTT_LAB_RUNS_DIR=/data/runs \
    BPTT_LAB_GRACEFUL_SHUTDOWN_SECONDS=3
WORKDIR /srv/bptt-lab

# The product's own dependencies (pyproject.toml), at the versions requirements.lock pins.
COPY requirements.lock ./
RUN pip install --no-cache-dir -c requirements.lock \
    numpy fastapi uvicorn jinja2 jinja2-fragments pydantic-settings python-multipart

COPY rnn_core/ rnn_core/
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY data/ data/
COPY --from=static /build/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
COPY --from=static /build/node_modules/htmx.org/dist/ext/hx-sse.min.js static/vendor/hx-sse.min.js

RUN groupadd --system --gid 10001 bptt \
    && useradd --system --create-home --uid 10001 --gid 10001 bptt \
    && mkdir -p /data/runs \
    && chown -R bptt /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# uvicorn stops on SIGTERM: event streams are ended, the run is saved, then the process exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/status', timeout=4)"]
# One worker: the run lives in this process. `python -m app` = uvicorn app.main:app --workers 1.
CMD ["python", "-m", "app"]

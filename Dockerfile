# Mirrors `make run`. Runtime deps only; tests, browser and dev tools stay out of the image.
# The base is pinned by digest (python:3.11-slim-bookworm as recorded by a public project; not
# pulled from here: no Docker engine runs on these machines). To refresh it:
#   docker buildx imagetools inspect python:3.11-slim-bookworm
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Cached layer: install the exact runtime pins from [project].dependencies;
# rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app

# Code stays root-owned (read-only for the app user); uvicorn imports app/ from the workdir.
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY algorithms/ algorithms/

USER 10001:10001
EXPOSE 8000
# Proxies trusted for X-Forwarded-* (uvicorn reads FORWARDED_ALLOW_IPS): set it to the reverse
# proxy's address when it is not on the same host.
ENV FORWARDED_ALLOW_IPS=127.0.0.1
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
# app.serve: no access log (step URLs carry lab values), a request-header timeout.
CMD ["python", "-m", "app.serve", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]

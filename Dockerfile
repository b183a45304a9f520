# Mirrors `make run`. Runtime deps only; tests, browser and dev tools stay out of the image.
FROM python:3.11-slim

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
# No access log: step URLs carry lab values in the query string.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--proxy-headers"]

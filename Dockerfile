# Book Commerce: one image for the web processes (gunicorn), the RQ workers and the migrations.
#   docker build -t bookcommerce .
#   docker run --env-file .env bookcommerce                       # gunicorn -c gunicorn.conf.py wsgi:app
#   docker run --env-file .env bookcommerce flask jobs worker     # an RQ worker with the scheduler
#   docker run --env-file .env bookcommerce flask db upgrade      # migrations (once per release)
# docker-compose.yml runs all of them with PostgreSQL, Redis and nginx; docs/deploy.md explains.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    FLASK_APP=wsgi:app \
    GUNICORN_BIND=0.0.0.0:8000

# The app runs as an unprivileged user that cannot change its own code: only instance/ (the
# embedded default's SQLite file and mail outbox, unused when DATABASE_URL and MAIL_SERVER are set,
# and the uploaded covers) is writable. A fixed numeric id (10001), so Kubernetes can check
# runAsNonRoot and deploy/k8s/ can name the same user (runAsUser/fsGroup 10001).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (every pin has a manylinux wheel:
# psycopg[binary] and argon2-cffi need no compiler). tests/deploy/test_dockerfile.py runs this
# very RUN line in a fresh virtualenv and starts the app from it, so it is proven without Docker.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Byte-code compiled at build time: the containers run with a read-only root filesystem
# (deploy/k8s/), where Python could not write it and would recompile on every start.
RUN python -m compileall -q app config.py wsgi.py
# instance/media is MEDIA_ROOT (uploaded covers): docker-compose.yml mounts a volume there that
# nginx also reads; made here so the volume starts owned by the app's user.
RUN mkdir -p instance/media && chown -R app:app instance

# Numeric, not "app": hadolint DL3066, and the kubelet can only verify runAsNonRoot on a number.
USER 10001:10001
EXPOSE 8000

# Liveness: the process answers. docker-compose.yml asks /readyz (database and Redis) instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "healthcheck.py", "/healthz"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]

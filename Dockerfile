# Quarry for production: one image for web, workers and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    QUARRY_VAR_DIR=/var/lib/quarry

RUN apt-get update && apt-get install -y --no-install-recommends libjpeg62-turbo zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app quarry

WORKDIR /app
COPY pyproject.toml README.md ./
COPY labeling ./labeling
COPY al_engine ./al_engine
COPY ssl_pretrain ./ssl_pretrain
COPY workers ./workers
COPY templates ./templates
COPY manage.py gunicorn.conf.py ./
RUN pip install . && mkdir -p /var/lib/quarry && chown quarry /var/lib/quarry

USER quarry
EXPOSE 8000
CMD ["gunicorn", "labeling.wsgi:application", "--bind", "0.0.0.0:8000"]

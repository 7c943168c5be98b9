# One image for every Huella process: the API (gunicorn), `huella worker` and `huella scheduler`
# (compose.yaml runs each from it). The code runs from /srv/huella, where config/ lives too.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/huella
COPY pyproject.toml README.md ./
COPY app ./app
COPY connectors ./connectors
COPY config ./config
# Installed in place (-e): the configuration files are read from this folder.
RUN pip install -e . \
    && useradd --system --no-create-home --home-dir /srv/huella huella \
    && mkdir var && chown huella var
USER huella

EXPOSE 5000
# What each process needs is in compose.yaml: the store's URL, the broker's, and for the API
# the address to listen on.
# Two worker processes a core of the container's CPU quota, two threads each (WEB_CONCURRENCY
# to change).
CMD ["gunicorn", "-c", "python:app.security.gunicorn", "-b", "0.0.0.0:5000", "app:create_app()"]

# syntax=docker/dockerfile:1
# SOE Monitor daemon. Volumes: /app/config (config.toml), /app/alert-rules, /app/data (SQLite).
#   docker build -t soe-monitor .
#   docker run -v $PWD/config.toml:/app/config/config.toml:ro -v $PWD/alert-rules:/app/alert-rules \
#              -v soe-data:/app/data -e SMTP_PASSWORD soe-monitor

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY rules ./rules
COPY storage ./storage
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 SOE_MONITOR_CONFIG=/app/config/config.toml
RUN useradd --create-home --uid 10001 monitor
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=monitor:monitor config.toml ./config/config.toml
COPY --chown=monitor:monitor alert-rules ./alert-rules
COPY --chown=monitor:monitor examples ./config/examples
RUN mkdir -p /app/data && chown monitor:monitor /app/data \
    && sed -i 's#^url = "sqlite:///data/monitor.db"#url = "sqlite:////app/data/monitor.db"#; s#^paths = \["alert-rules"\]#paths = ["/app/alert-rules"]#; s#^listen = "127.0.0.1:8787"#listen = "0.0.0.0:8787"#' ./config/config.toml
USER monitor
VOLUME ["/app/config", "/app/alert-rules", "/app/data"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status == 200 else 1)"]
CMD ["soe-monitor", "run"]

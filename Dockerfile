# One image for every woonox service and the CLI; docker-compose.yml picks the console script.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
COPY migrations ./migrations
RUN python -m venv /opt/woonox && /opt/woonox/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/woonox/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/woonox /opt/woonox
# migrations/ is installed as a package beside libs/ (libs/common/store/migrate.py finds it there).
WORKDIR /data
RUN useradd --system --uid 10001 woonox && mkdir -p /data && chown woonox /data
USER woonox
# Overridden per service by docker-compose.yml / the Kubernetes Deployments.
CMD ["woonox", "--help"]

# One image for every woonox service and the CLI; docker-compose.yml picks the console script.
# Base image pinned by digest (the tag moves with every Debian/Python patch): the digest is one that
# python:3.11-slim carried at some date (unknown) as seen in public build files (no registry reachable when this
# was pinned). To move on: docker pull python:3.11-slim && docker inspect --format '{{index
# .RepoDigests 0}}' python:3.11-slim, and update docker-compose.yml and deploy/kubernetes too.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7 AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
COPY migrations ./migrations
RUN python -m venv /opt/woonox && /opt/woonox/bin/pip install .

FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
ENV PATH=/opt/woonox/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/woonox /opt/woonox
# migrations/ is installed as a package beside libs/ (libs/common/store/migrate.py finds it there).
WORKDIR /data
RUN useradd --system --uid 10001 woonox && mkdir -p /data && chown woonox /data
USER woonox
# Overridden per service by docker-compose.yml / the Kubernetes Deployments.
CMD ["woonox", "--help"]

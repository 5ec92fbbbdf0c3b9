"""Every third-party image in the Dockerfile, docker-compose.yml and the Kubernetes manifests is
pinned by digest, so a moved tag cannot change what runs; the exceptions are listed with why."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT

# image -> why it is not pinned. Keep this short: each entry is a tag that can change under us.
UNPINNED = {
    "rabbitmq:3.10-management": "no digest of this tag could be confirmed (no registry reachable here); "
                                "pin it with `docker inspect` after pulling",
    "woonox": "our own image: kustomize's `images:` (deploy/kustomization.yaml) sets it per release",
    "woonox:latest": "built from this Dockerfile by `docker compose build`",
}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _images() -> list[tuple[str, str]]:
    found = [("Dockerfile", m.group(1)) for m in re.finditer(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    found += [("docker-compose.yml", s["image"]) for s in compose["services"].values() if "image" in s]
    for path in sorted((ROOT / "deploy").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found += [(path.name, image) for image in _container_images(doc)]
    return found


def _container_images(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["image"]] if isinstance(node.get("image"), str) and "name" in node else []
        return own + [i for v in node.values() for i in _container_images(v)]
    if isinstance(node, list):
        return [i for v in node for i in _container_images(v)]
    return []


def test_every_image_is_pinned_by_digest_or_listed() -> None:
    images = _images()
    assert {"Dockerfile", "docker-compose.yml", "rabbitmq.yaml", "ingest.yaml"} <= {where for where, _ in images}
    unpinned = {(where, image) for where, image in images if not DIGEST.search(image) and image not in UNPINNED}
    assert not unpinned, f"pin these by digest (or list them in UNPINNED with the reason): {sorted(unpinned)}"


def test_the_same_base_image_everywhere() -> None:
    python = {image for _, image in _images() if image.startswith("python:")}
    assert len(python) == 1, python

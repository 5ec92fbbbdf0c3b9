"""deploy/ Kubernetes manifests: parse, run real console scripts, probe the ports they serve, and
KEDA scales the writer on exactly its per-tenant queues."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from libs.common.topology import Topology
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def _docs() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((DEPLOY / resource).read_text()) if d]
    for generator in kustomization["configMapGenerator"]:
        for f in generator["files"]:
            assert (DEPLOY / f).exists(), f
    return docs


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _docs() if d["kind"] == kind}


def test_every_manifest_file_is_listed_and_parses() -> None:
    listed = {Path(r).name for r in yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]}
    on_disk = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"secret.example.yaml"}
    assert listed == on_disk
    assert all("apiVersion" in d and "kind" in d for d in _docs())


def test_woonox_containers_run_console_scripts_and_probe_their_own_port() -> None:
    deployments = _of("Deployment")
    assert {"woonox-ingest", "woonox-mapper", "woonox-fortnox-writer", "woonox-woo-writer", "woonox-poller",
            "woonox-sandbox"} == set(deployments)
    for name, d in deployments.items():
        [container] = d["spec"]["template"]["spec"]["containers"]
        assert container["command"][0] in SCRIPTS, name
        port = container["ports"][0]["containerPort"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert str(port) in env.values(), f"{name} does not tell the service to listen on {port}"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        if name != "woonox-sandbox":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert {"configMapRef": {"name": "woonox-config"}} in container["envFrom"]
            assert {"secretRef": {"name": "woonox-secrets"}} in container["envFrom"]
    [job] = _of("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["woonox", "db", "upgrade"]


def test_no_secret_value_in_the_manifests() -> None:
    assert "Secret" not in {d["kind"] for d in _docs()}
    template = yaml.safe_load((DEPLOY / "kubernetes" / "secret.example.yaml").read_text())
    for key, value in template["stringData"].items():
        if any(s in key for s in ("PASSWORD", "SECRET", "TOKEN", "COOKIE")):
            assert value.startswith("change-me"), key


def test_keda_scales_the_writer_on_its_tenant_queues_only() -> None:
    [scaled] = _of("ScaledObject").values()
    assert scaled["spec"]["scaleTargetRef"]["name"] in _of("Deployment")
    [trigger] = scaled["spec"]["triggers"]
    meta = trigger["metadata"]
    assert (trigger["type"], meta["mode"], meta["useRegex"], meta["operation"]) == ("rabbitmq", "QueueLength",
                                                                                    "true", "sum")
    pattern = re.compile(meta["queueName"])
    topology = Topology("woonox")
    writer = topology.group("fortnox-writer")
    for tenant in ("shop-a", "d", "dl", "dlqx", "dlx", "acme-2", "x"):
        assert pattern.match(topology.tenant_queue(writer, tenant)), tenant
    for other in [topology.dlq(writer), topology.retry_queue(writer, 0), topology.queue("mapper"),
                  topology.dlq("mapper")]:
        assert not pattern.match(other), other

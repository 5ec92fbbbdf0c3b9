"""deploy/ Kubernetes manifests: parse, run real console scripts, probe the ports they serve, KEDA
scales the writer on exactly its per-tenant queues, and least privilege: one Secret per service,
locked-down pods, NetworkPolicies, no sandbox in the base."""

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


SANDBOX = DEPLOY / "overlays" / "sandbox"
SECRETS = {d["metadata"]["name"]: d
           for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "secret.example.yaml").read_text()) if d}
# What each workload reads from its Secret, and nothing more.
NEEDS = {
    "woonox-ingest": {"RABBITMQ_URL", "REDIS_URL", "DATABASE_URL", "WOONOX_SECRET_KEYS", "WOONOX_ADMIN_TOKEN"},
    "woonox-poller": {"RABBITMQ_URL", "REDIS_URL", "DATABASE_URL", "WOONOX_SECRET_KEYS"},
    "woonox-mapper": {"RABBITMQ_URL", "DATABASE_URL", "WOONOX_SECRET_KEYS"},
    "woonox-fortnox-writer": {"RABBITMQ_URL", "REDIS_URL", "DATABASE_URL", "WOONOX_SECRET_KEYS"},
    "woonox-woo-writer": {"RABBITMQ_URL", "REDIS_URL", "DATABASE_URL", "WOONOX_SECRET_KEYS"},
    "woonox-migrate": {"DATABASE_URL"},
}


def _kustomized(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        path = (directory / resource).resolve()
        if (path / "kustomization.yaml").exists():
            docs += _kustomized(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for generator in kustomization.get("configMapGenerator", []):
        for f in generator["files"]:
            assert (directory / f).exists(), f
    return docs


def _docs() -> list[dict[str, Any]]:
    return _kustomized(DEPLOY)


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _docs() if d["kind"] == kind}


def _workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in {"Deployment", "StatefulSet", "Job"}}


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"])


def test_every_manifest_file_is_listed_and_parses() -> None:
    listed = {Path(r).name for r in yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]}
    on_disk = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"secret.example.yaml"}
    assert listed == on_disk
    assert all("apiVersion" in d and "kind" in d for d in _docs())
    overlay = {Path(r).name for r in yaml.safe_load((SANDBOX / "kustomization.yaml").read_text())["resources"]}
    assert overlay - {".."} == {p.name for p in SANDBOX.glob("*.yaml")} - {"kustomization.yaml"}


def test_woonox_containers_run_console_scripts_and_probe_their_own_port() -> None:
    deployments = _of("Deployment")
    assert {"woonox-ingest", "woonox-mapper", "woonox-fortnox-writer", "woonox-woo-writer", "woonox-poller"
            } == set(deployments)
    deployments.update({d["metadata"]["name"]: d for d in _kustomized(SANDBOX)
                        if d["kind"] == "Deployment" and d["metadata"]["name"] == "woonox-sandbox"})
    assert "woonox-sandbox" in deployments
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
            assert {"secretRef": {"name": name}} in container["envFrom"]
    [job] = _of("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["woonox", "db", "upgrade"]


def test_no_secret_value_in_the_manifests() -> None:
    assert "Secret" not in {d["kind"] for d in _docs()}
    for template in SECRETS.values():
        for key, value in template["stringData"].items():
            if any(s in key for s in ("PASSWORD", "SECRET", "TOKEN", "COOKIE")):
                assert value.startswith("change-me"), key
            assert "change-me-rabbitmq@" not in value, f"{key}: a shared broker user"


def _secret_keys(pod: dict[str, Any]) -> set[str]:
    """Every Secret key a pod's containers can see (envFrom, env valueFrom, volumes)."""
    keys: set[str] = set()
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            keys |= set(SECRETS[volume["secret"]["secretName"]]["stringData"])
    for container in pod["containers"] + pod.get("initContainers", []):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                keys |= set(SECRETS[source["secretRef"]["name"]]["stringData"])
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in SECRETS[ref["name"]]["stringData"], ref
                keys.add(ref["key"])
    return keys


def test_each_workload_sees_only_its_own_secret_and_the_cookie_only_rabbitmq() -> None:
    workloads = _workloads(_kustomized(SANDBOX))
    for name, workload in workloads.items():
        keys = _secret_keys(_pod(workload))
        if name == "rabbitmq":
            assert "RABBITMQ_ERLANG_COOKIE" in keys
            continue
        assert "RABBITMQ_ERLANG_COOKIE" not in keys, name
        assert keys == NEEDS.get(name, set()), f"{name} sees {sorted(keys)}"
    assert set(NEEDS) <= set(workloads)
    # Each service's broker URL carries its own user (deploy/rabbitmq/permissions.json).
    for name in NEEDS:
        url = SECRETS[name]["stringData"].get("RABBITMQ_URL")
        assert url is None or url.startswith(f"amqp://{name}:"), name


def test_every_pod_and_container_is_locked_down() -> None:
    for name, workload in _workloads(_kustomized(SANDBOX)).items():
        pod = _pod(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp, f"{where}: no writable /tmp"


def test_the_base_has_no_sandbox_and_no_plain_http() -> None:
    names = {d["metadata"]["name"] for d in _docs()}
    assert not any("sandbox" in n for n in names)
    [config] = [d for d in _docs() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "woonox-config"]
    assert "WOONOX_ALLOW_HTTP_HOSTS" not in config["data"]
    overlay = yaml.safe_load((SANDBOX / "kustomization.yaml").read_text())
    assert "woonox-sandbox" in str(overlay["patches"]) and "WOONOX_ALLOW_HTTP_HOSTS" in str(overlay["patches"])
    assert "woonox-sandbox" in {d["metadata"]["name"] for d in _kustomized(SANDBOX)}


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


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _policies(docs: list[dict[str, Any]], labels: dict[str, str], direction: str) -> list[dict[str, Any]]:
    """The rules of `direction` ("ingress"/"egress") that apply to a pod with these labels."""
    rules: list[dict[str, Any]] = []
    for policy in (d for d in docs if d["kind"] == "NetworkPolicy"):
        if _selects(policy["spec"]["podSelector"], labels) and direction.title() in policy["spec"]["policyTypes"]:
            rules += policy["spec"].get(direction, [])
    return rules


def _ports(rule: dict[str, Any]) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def _unfenced(peer: dict[str, Any]) -> bool:
    block = peer.get("ipBlock")
    return bool(block) and block["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" not in block.get("except", [])


def test_network_policies_deny_by_default_and_allow_only_what_each_service_needs() -> None:
    docs = _docs()
    [deny] = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    workloads = _workloads(docs)
    for name, workload in workloads.items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        # In: only ingest's webhook port is open to everyone; its operator port to operators/Prometheus.
        for rule in _policies(docs, labels, "ingress"):
            if "from" not in rule:
                assert (name, _ports(rule)) == ("woonox-ingest", {8000}), (name, rule)
            elif 8001 in _ports(rule):
                assert all("woonox.io/operator" in str(p) or "monitoring" in str(p) for p in rule["from"]), rule
        # Out: DNS everywhere; the rest by what the service talks to.
        egress = _policies(docs, labels, "egress")
        assert all("to" in rule for rule in egress), f"{name}: egress to anywhere on any port"
        ports = set().union(*(_ports(rule) for rule in egress))
        if name == "rabbitmq":
            assert ports == {53, 4369, 25672, 443, 6443}
            continue
        needs = NEEDS[name]
        expected = {53, 5432} | ({5672} if "RABBITMQ_URL" in needs else set()) | (
            {6379} if "REDIS_URL" in needs else set())
        internet = name in {"woonox-ingest", "woonox-poller", "woonox-fortnox-writer", "woonox-woo-writer"}
        assert ports == expected | ({443} if internet else set()), f"{name}: {sorted(ports)}"
        for rule in egress:
            if 443 in _ports(rule):
                # HTTPS to public addresses only: never the metadata service or the cluster's own.
                assert all("ipBlock" in p and not _unfenced(p) for p in rule["to"]), (name, rule)
            if 5672 in _ports(rule):
                assert rule["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rabbitmq"}}}]
    # RabbitMQ's AMQP port: the services and operators only; nothing from outside the namespace.
    amqp = [r for r in _policies(docs, {"app.kubernetes.io/name": "rabbitmq"}, "ingress") if 5672 in _ports(r)]
    assert amqp and all("from" in r and all("namespaceSelector" not in p for p in r["from"]) for r in amqp)


def test_only_the_sandbox_overlay_lets_services_reach_the_sandbox() -> None:
    base = [d for d in _docs() if d["kind"] == "NetworkPolicy"]
    assert not any("sandbox" in str(d) for d in base)
    overlay = _kustomized(SANDBOX)
    writer = {"app.kubernetes.io/name": "woonox-fortnox-writer"}
    assert any(8900 in _ports(r) for r in _policies(overlay, writer, "egress"))
    assert not any(8900 in _ports(r) for r in _policies(overlay, {"app.kubernetes.io/name": "woonox-mapper"}, "egress"))

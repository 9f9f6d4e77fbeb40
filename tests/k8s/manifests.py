"""This app's own invariants in k8s-specifications/ (the chart's default render), checked offline.

General rules are left to the tools that know them: hardening, resources, image tags and probes
being present to checkov (test_scan.py), the schema to kubernetes-validate (test_render.py),
applying, Pod Security and the NetworkPolicies to the live cluster (tests/kind). Here: Services and
ports that match, `*_HOST` names and secret keys that exist, readiness paths, grace periods, one
server per volume, the NodePorts kind publishes. Each ``check_*`` takes :func:`load_dir`'s objects
and returns the problems found (none: fine); test_crossrefs.py breaks copies to prove each catches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tooling import ROOT, manifests

MANIFEST_DIR = manifests.OUT
KIND_CONFIG = ROOT / "kind" / "config.yaml"
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

OUR_APPS = ("vote", "worker", "result")
HTTP_PORT = 8080
# Where Prometheus scrapes each of our apps: vote and result on a port of their own (never exposed
# by a Service), the worker on its only port.
METRICS_PORTS = {"vote": 9090, "result": 9090, "worker": 8080}
GUNICORN_GRACEFUL_TIMEOUT = 20
# What readiness means per service: vote and result stay in their Service while they can serve a
# useful page (voting paused, numbers not live), so their probe skips the dependency's check.
READINESS_PATHS = {"vote": "/readyz?exclude=redis", "result": "/readyz?exclude=postgres", "worker": "/readyz"}

# The credentials each app's main container must take from a Secret through secretKeyRef:
#   app -> {env var: (Secret, key)}
_REDIS = {"REDIS_PASSWORD": ("redis-credentials", "REDIS_PASSWORD")}
_DB = {"POSTGRES_PASSWORD": ("db-credentials", "POSTGRES_PASSWORD")}
CREDENTIALS = {"redis": _REDIS, "vote": _REDIS, "worker": _REDIS | _DB, "result": _DB, "db": _DB}

# Service name -> (type, service port, nodePort or None); the worker has none.
EXPECTED_SERVICES = {
    "vote": ("NodePort", 5000, 31000),
    "result": ("NodePort", 5001, 31001),
    "redis": ("ClusterIP", 6379, None),
    "db": ("ClusterIP", 5432, None),
}

# Kubernetes minors of the node images that the kind release in versions.env ships.
KIND_NODE_VERSIONS = tuple(
    re.search(r'^KIND_NODE_MINORS="([^"]*)"', (ROOT / "kind" / "airgapped" / "versions.env").read_text(), re.M)
    .group(1)
    .split()
)


@dataclass
class Obj:
    file: str
    doc: dict

    @property
    def kind(self) -> str:
        return self.doc.get("kind", "")

    @property
    def name(self) -> str:
        return (self.doc.get("metadata") or {}).get("name", "")

    @property
    def ref(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}"


def load_dir(path: Path | str) -> list[Obj]:
    """Every YAML document of every *.yaml file, in kubectl's order."""
    return [
        Obj(f.name, doc)
        for f in sorted(Path(path).glob("*.yaml"))
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8"))
        if doc is not None
    ]


def by_name(objs: Iterable[Obj], kind: str) -> dict[str, Obj]:
    return {o.name: o for o in objs if o.kind == kind}


def workloads(objs: Iterable[Obj]) -> dict[str, Obj]:
    """The objects that run pods, by app: Deployments (vote, result, worker), StatefulSets (db, redis)."""
    return {pod_labels(o).get("app", o.name): o for o in objs if o.kind in ("Deployment", "StatefulSet")}


def pod_spec(dep: Obj) -> dict:
    return dep.doc["spec"]["template"]["spec"]


def pod_labels(dep: Obj) -> dict:
    return dep.doc["spec"]["template"]["metadata"].get("labels") or {}


def containers(dep: Obj, init: bool = True) -> Iterator[dict]:
    spec = pod_spec(dep)
    yield from spec.get("containers") or []
    if init:
        yield from spec.get("initContainers") or []


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _container_ports(dep: Obj) -> list[dict]:
    return [p for c in containers(dep, init=False) for p in (c.get("ports") or [])]


def resolve_target_port(dep: Obj, target: Any) -> dict | None:
    key = "name" if isinstance(target, str) else "containerPort"
    return next((p for p in _container_ports(dep) if p.get(key) == target), None)


def check_services(objs: list[Obj]) -> list[str]:
    """Each Service selects one workload's pods, by a named port, with the type and port the docs give."""
    problems = []
    services = by_name(objs, "Service")
    if set(services) != set(EXPECTED_SERVICES):
        problems.append(f"Services {sorted(services)} != expected {sorted(EXPECTED_SERVICES)}")
    for name, svc in services.items():
        spec = svc.doc["spec"]
        selector = spec.get("selector") or {}
        matched = [d for d in workloads(objs).values() if _selects(selector, pod_labels(d))]
        if len(matched) != 1 or selector.get("app") != name:
            problems.append(f"{svc.ref}: selector {selector} matches {len(matched)} workloads, expected app={name}")
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if not isinstance(target, str):
                problems.append(f"{svc.ref}: targetPort {target} should name a containerPort")
            elif resolve_target_port(matched[0], target) is None:
                problems.append(f"{svc.ref}: targetPort {target!r} is no containerPort of {matched[0].ref}")
        typ, port_no, node_port = EXPECTED_SERVICES.get(name, (None, None, None))
        ports = [(p.get("port"), p.get("nodePort")) for p in spec.get("ports") or []]
        if typ and (spec.get("type", "ClusterIP"), ports) != (typ, [(port_no, node_port)]):
            problems.append(f"{svc.ref}: {spec.get('type')} {ports}, expected {typ} {port_no} nodePort {node_port}")
    return problems


def check_metrics_not_public(objs: list[Obj]) -> list[str]:
    """No NodePort (or LoadBalancer) Service reaches a pod's metrics port."""
    problems = []
    for svc in by_name(objs, "Service").values():
        spec = svc.doc["spec"]
        if spec.get("type", "ClusterIP") not in {"NodePort", "LoadBalancer"}:
            continue
        for app, dep in workloads(objs).items():
            if not _selects(spec.get("selector") or {}, pod_labels(dep)):
                continue
            for port in spec.get("ports") or []:
                cport = resolve_target_port(dep, port.get("targetPort", port.get("port"))) or {}
                if cport.get("containerPort") == METRICS_PORTS.get(app):
                    problems.append(f"{svc.ref}: {spec['type']} port {port.get('port')} exposes the metrics port")
    return problems


def _env_ref_problem(env: dict, configmaps: dict, secrets: dict) -> str | None:
    for ref_kind, found in (("configMapKeyRef", configmaps), ("secretKeyRef", secrets)):
        ref = env["valueFrom"].get(ref_kind)
        if ref:
            obj = found.get(ref.get("name"))
            keys = set((obj.doc.get("data") or {}) | (obj.doc.get("stringData") or {})) if obj else set()
            if ref.get("key") not in keys:
                return f"env {env['name']} uses key {ref.get('key')!r} of {ref.get('name')!r}, which is not defined"
    return None


def check_env_references(objs: list[Obj]) -> list[str]:
    """Keys of ConfigMaps and Secrets exist, passwords are never plain, `*_HOST` names a Service at `*_PORT`."""
    problems = []
    services, secrets = by_name(objs, "Service"), by_name(objs, "Secret")
    configmaps = by_name(objs, "ConfigMap")
    fqdn = re.compile(rf"^([a-z0-9-]+)\.{manifests.NAMESPACE}\.svc\.cluster\.local\.?$")
    for dep in workloads(objs).values():
        for c in containers(dep):
            where = f"{dep.ref} {c['name']}"
            env = {e["name"]: e for e in c.get("env") or []}
            for name, e in env.items():
                if "valueFrom" in e:
                    problem = _env_ref_problem(e, configmaps, secrets)
                    problems += [f"{where}: {problem}"] if problem else []
                    continue
                value = str(e.get("value", ""))
                if re.search(r"PASSWORD|SECRET|TOKEN", name):
                    problems.append(f"{where}: env {name} is a plain value; use a secretKeyRef")
                if not name.endswith("_HOST"):
                    continue
                host = m.group(1) if (m := fqdn.match(value)) else value
                port = (env.get(name[: -len("_HOST")] + "_PORT") or {}).get("value")
                if host not in services:
                    problems.append(f"{where}: env {name}={value!r} names no Service ({sorted(services)})")
                elif str(port) != str(services[host].doc["spec"]["ports"][0]["port"]):
                    problems.append(f"{where}: {name} names Service {host}, but the port variable says {port!r}")
        if pod_spec(dep).get("enableServiceLinks", True):
            problems.append(f"{dep.ref}: enableServiceLinks must be false (it injects REDIS_PORT=tcp://...)")
    return problems


def check_credentials(objs: list[Obj]) -> list[str]:
    """Each app takes its passwords from the expected Secret key, and redis demands its password.

    redis-server gets ``--requirepass $(REDIS_PASSWORD)``: the kubelet expands the variable, so
    the value is in the Secret only, never in the manifest.
    """
    problems = []
    deps = workloads(objs)
    for app, wanted in CREDENTIALS.items():
        main = pod_spec(deps[app])["containers"][0]
        env = {e["name"]: e for e in main.get("env") or []}
        for name, (secret, key) in wanted.items():
            ref = (env.get(name, {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            if (ref.get("name"), ref.get("key")) != (secret, key):
                problems.append(f"{deps[app].ref}: env {name} must come from Secret {secret!r} key {key!r}")
    words = [*(pod_spec(deps["redis"])["containers"][0].get(k) or [] for k in ("command", "args"))]
    words = [w for part in words for w in part]
    if "--requirepass" not in words or words[words.index("--requirepass") + 1] != "$(REDIS_PASSWORD)":
        problems.append(f"{deps['redis'].ref}: redis-server needs --requirepass $(REDIS_PASSWORD)")
    return problems


def check_probes(objs: list[Obj]) -> list[str]:
    """Probes on ports that exist, distinct, and for our three on the paths that say what ready means."""
    problems = []
    for app, dep in workloads(objs).items():
        for c in containers(dep, init=False):
            where = f"{dep.ref} container {c.get('name')}"
            for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", READINESS_PATHS.get(app))):
                probe = c.get(kind) or {}  # that there is one: checkov's CKV_K8S_8 and CKV_K8S_9
                handler: dict = next((probe[h] for h in ("httpGet", "exec", "tcpSocket", "grpc") if h in probe), {})
                if "port" in handler and resolve_target_port(dep, handler["port"]) is None:
                    problems.append(f"{where}: {kind} port {handler['port']!r} is no containerPort")
                if app in OUR_APPS and probe.get("httpGet", {}).get("path") != path:
                    problems.append(f"{where}: {kind} must be an HTTP GET of {path}, got {probe}")
            if c.get("livenessProbe") and c.get("livenessProbe") == c.get("readinessProbe"):
                problems.append(f"{where}: liveness and readiness probes are identical")
    return problems


def _prestop_seconds(c: dict) -> float:
    pre = (c.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre:
        return float(pre["sleep"].get("seconds", 0))
    m = re.search(r"sleep\(?\s*(\d+(?:\.\d+)?)", " ".join((pre.get("exec") or {}).get("command") or []))
    return float(m.group(1)) if m else 0.0


def check_our_workloads(objs: list[Obj]) -> list[str]:
    """Scrape annotations and ports; a grace period that outlasts preStop plus gunicorn's graceful stop;
    vote and result roll without losing capacity and leave their endpoints before they stop."""
    problems = []
    deps = workloads(objs)
    for app in OUR_APPS:
        dep = deps[app]
        ann = dep.doc["spec"]["template"]["metadata"].get("annotations") or {}
        want = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(METRICS_PORTS[app]),
            "prometheus.io/path": "/metrics",
        }
        if {k: ann.get(k) for k in want} != want:
            problems.append(f"{dep.ref}: pod annotations {ann}, expected {want}")
        ports = {(p.get("name"), p.get("containerPort")) for p in _container_ports(dep)}
        if not {("http", HTTP_PORT), ("metrics" if app != "worker" else "http", METRICS_PORTS[app])} <= ports:
            problems.append(f"{dep.ref}: ports {ports} lack http {HTTP_PORT} or metrics {METRICS_PORTS[app]}")
        grace = pod_spec(dep).get("terminationGracePeriodSeconds", 30)
        for c in containers(dep, init=False):
            budget = _prestop_seconds(c) + (GUNICORN_GRACEFUL_TIMEOUT if app != "worker" else 0)
            if grace <= budget:
                problems.append(
                    f"{dep.ref}: terminationGracePeriodSeconds {grace} <= preStop + graceful stop ({budget} s)"
                )
            if app != "worker" and _prestop_seconds(c) < 3:
                problems.append(f"{dep.ref}: needs a preStop sleep (>= 3 s) so endpoints go before gunicorn stops")
        strategy = dep.doc["spec"].get("strategy") or {}
        if app != "worker" and (strategy.get("rollingUpdate") or {}).get("maxUnavailable") != 0:
            problems.append(f"{dep.ref}: rolling update must have maxUnavailable 0, got {strategy}")
    return problems


def check_stateful(objs: list[Obj]) -> list[str]:
    """db and redis: a StatefulSet of one (its replacement starts only once the old pod is gone),
    its data on a claim of its own."""
    problems = []
    for app in ("db", "redis"):
        dep = workloads(objs)[app]
        spec = dep.doc["spec"]
        if dep.kind != "StatefulSet" or spec.get("replicas", 1) != 1:
            problems.append(f"{dep.ref}: must be a StatefulSet of 1, not {dep.kind} of {spec.get('replicas', 1)}")
        claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
        c = next(containers(dep, init=False))
        mounts = [v["mountPath"].rstrip("/") + "/" for v in c.get("volumeMounts") or [] if v.get("name") in claims]
        if not mounts:
            problems.append(f"{dep.ref}: no volumeClaimTemplates mounted (its data would not survive the pod)")
        if app == "db":
            pgdata = next((e.get("value") or "" for e in c.get("env") or [] if e["name"] == "PGDATA"), "")
            if not any(pgdata.startswith(m) for m in mounts):  # a subdirectory: the claim's root holds lost+found
                problems.append(f"{dep.ref}: PGDATA={pgdata!r} must be a subdirectory of the claim's mount {mounts}")
        elif "--appendonly yes" not in " ".join(c.get("args") or []) or "/data/" not in mounts:
            problems.append(f"{dep.ref}: redis must run with --appendonly yes and /data on the claim")
    return problems


def check_kind_config(kind_cfg: dict, objs: list[Obj]) -> list[str]:
    """kind publishes every NodePort on the same host port."""
    mappings = {m["containerPort"]: m["hostPort"] for n in kind_cfg["nodes"] for m in n.get("extraPortMappings") or []}
    return [
        f"kind config does not map host port {p['nodePort']} to nodePort {p['nodePort']} of Service {svc.name}"
        for svc in by_name(objs, "Service").values()
        for p in svc.doc["spec"].get("ports") or []
        if p.get("nodePort") and mappings.get(p["nodePort"]) != p["nodePort"]
    ]


ALL_CHECKS = (
    check_services,
    check_metrics_not_public,
    check_env_references,
    check_credentials,
    check_probes,
    check_our_workloads,
    check_stateful,
)

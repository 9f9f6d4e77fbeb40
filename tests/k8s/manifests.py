"""Offline checks of the app's own invariants in the Kubernetes manifests in k8s-specifications/.

What a general rule covers is left to the tools that know it: the hardening block, resources and
probes being present to checkov (tests/k8s/test_scan.py), the schema to kubernetes-validate
(test_schema.py), Pod Security and the NetworkPolicies to the live cluster (tests/kind). What is
here is this app's: Services and ports that match, `*_HOST` names and secret keys that exist,
readiness paths, grace periods, one server per volume, the NodePorts kind publishes.

Every ``check_*`` function takes loaded manifests (see :func:`load_dir`) and returns a list of
human-readable problems; an empty list means "fine". The mutation tests break a copy of the
manifests to prove that each check really catches a broken deployment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tooling import ROOT
from tooling import manifests as chart

MANIFEST_DIR = ROOT / "k8s-specifications"
MAKEFILE = ROOT / "Makefile"
KIND_CONFIG = ROOT / "kind" / "config.yaml"
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

NAMESPACE = "vote"
OUR_APPS = ("vote", "worker", "result")  # built here, run as uid 10001
THIRD_PARTY = ("redis", "db")  # official images, at the versions in the chart's values
ALL_APPS = OUR_APPS + THIRD_PARTY
# Our stateless three are Deployments; db and redis, one server per volume, StatefulSets.
WORKLOAD_KIND = {**dict.fromkeys(OUR_APPS, "Deployment"), **dict.fromkeys(THIRD_PARTY, "StatefulSet")}
OUR_UID = 10001
HTTP_PORT = 8080
# Where Prometheus scrapes each of our apps: vote and result on a port of their own (never exposed
# by a Service), the worker on its only port.
METRICS_PORTS = {"vote": 9090, "result": 9090, "worker": 8080}

# The credentials each app's main container must take from a Secret through secretKeyRef:
#   app -> {env var: (Secret, key)}
CREDENTIALS = {
    "redis": {"REDIS_PASSWORD": ("redis-credentials", "REDIS_PASSWORD")},
    "vote": {"REDIS_PASSWORD": ("redis-credentials", "REDIS_PASSWORD")},
    "worker": {
        "REDIS_PASSWORD": ("redis-credentials", "REDIS_PASSWORD"),
        "POSTGRES_PASSWORD": ("db-credentials", "POSTGRES_PASSWORD"),
    },
    "result": {"POSTGRES_PASSWORD": ("db-credentials", "POSTGRES_PASSWORD")},
    "db": {"POSTGRES_PASSWORD": ("db-credentials", "POSTGRES_PASSWORD")},
}

# Service name -> (type, service port, nodePort or None)
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

# --------------------------------------------------------------------------
# loading


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
    """Load every YAML document of every *.yaml/*.yml file, in kubectl's order."""
    path = Path(path)
    objs = []
    for f in sorted(path.iterdir()):
        if f.suffix in (".yaml", ".yml") and f.is_file():
            with open(f, encoding="utf-8") as fh:
                for doc in yaml.safe_load_all(fh):
                    if doc is not None:
                        objs.append(Obj(f.name, doc))
    return objs


def of_kind(objs: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o.kind == kind]


def by_name(objs: Iterable[Obj], kind: str) -> dict[str, Obj]:
    return {o.name: o for o in of_kind(objs, kind)}


WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def workloads(objs: Iterable[Obj]) -> list[Obj]:
    """The objects that run pods: Deployments (vote, result, worker) and StatefulSets (db, redis)."""
    return [o for o in objs if o.kind in WORKLOAD_KINDS]


def workloads_by_name(objs: Iterable[Obj]) -> dict[str, Obj]:
    return {o.name: o for o in workloads(objs)}


def pod_spec(dep: Obj) -> dict:
    return dep.doc.get("spec", {}).get("template", {}).get("spec", {}) or {}


def pod_labels(dep: Obj) -> dict:
    return dep.doc.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def containers(dep: Obj, init: bool = True) -> Iterator[dict]:
    spec = pod_spec(dep)
    yield from spec.get("containers", []) or []
    if init:
        yield from spec.get("initContainers", []) or []


def app_of(dep: Obj) -> str:
    return pod_labels(dep).get("app", dep.name)


# --------------------------------------------------------------------------
# folder layout


def check_folder(path: Path | str) -> list[str]:
    """Only Kubernetes YAML, Namespace first, every doc a Kubernetes object."""
    path = Path(path)
    problems = []
    files = sorted(path.iterdir())
    if not files:
        return [f"{path} is empty"]
    for f in files:
        if f.is_dir():
            problems.append(f"{f.name}/ is a directory: `kubectl apply -f {path.name}` does not recurse")
        elif f.suffix not in (".yaml", ".yml") and f.name != "Kustomization":
            # kubectl apply -f skips it (it reads .yaml, .yml and .json); a reader would not know that
            problems.append(f"{f.name} is not a YAML file: `kubectl apply -f` skips it silently")
    try:
        objs = load_dir(path)
    except yaml.YAMLError as e:
        return problems + [f"YAML does not parse: {e}"]
    for o in objs:
        if not isinstance(o.doc, dict) or not {"apiVersion", "kind", "metadata"} <= set(o.doc):
            problems.append(f"{o.file}: a document is not a Kubernetes object (apiVersion/kind/metadata)")
    namespaces = [o for o in objs if o.kind == "Namespace"]
    if [o.name for o in namespaces] != [NAMESPACE]:
        problems.append(f"expected exactly one Namespace '{NAMESPACE}', found {[o.name for o in namespaces]}")
    if objs and objs[0].kind != "Namespace":
        problems.append(
            f"the first object applied is {objs[0].ref}, not the Namespace: "
            f"the namespaced objects before it would fail on an empty cluster"
        )
    for ns in namespaces:
        first_file = min(f.name for f in files if f.is_file())
        if ns.file != first_file:
            problems.append(f"Namespace is in {ns.file}, which does not sort first ({first_file} does)")
    return problems


def check_namespace_and_labels(objs: list[Obj]) -> list[str]:
    problems = []
    for o in objs:
        if o.kind == "Namespace":
            continue
        meta = o.doc.get("metadata", {})
        if meta.get("namespace") != NAMESPACE:
            problems.append(f"{o.ref} is in namespace {meta.get('namespace')!r}, not {NAMESPACE!r}")
        if not (meta.get("labels") or {}).get("app"):
            problems.append(f"{o.ref} has no label 'app'")
    for dep in workloads(objs):
        labels = pod_labels(dep)
        if labels.get("app") != dep.name:
            problems.append(f"{dep.ref}: pod template label app={labels.get('app')!r}, expected {dep.name!r}")
        sel = dep.doc.get("spec", {}).get("selector", {}).get("matchLabels", {}) or {}
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            problems.append(f"{dep.ref}: selector {sel} does not match its pod template labels {labels}")
    if set(workloads_by_name(objs)) != set(ALL_APPS):
        problems.append(f"Deployments {sorted(by_name(objs, 'Deployment'))} != {sorted(ALL_APPS)}")
    return problems


def check_pod_security_labels(objs: list[Obj]) -> list[str]:
    ns = by_name(objs, "Namespace").get(NAMESPACE)
    if ns is None:
        return [f"no Namespace {NAMESPACE}"]
    labels = ns.doc.get("metadata", {}).get("labels", {}) or {}
    if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
        return [f"Namespace {NAMESPACE} does not enforce Pod Security Standard 'restricted'"]
    return []


# --------------------------------------------------------------------------
# Services


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _container_ports(dep: Obj) -> list[dict]:
    return [p for c in containers(dep, init=False) for p in (c.get("ports") or [])]


def resolve_target_port(dep: Obj, target: Any) -> dict | None:
    for p in _container_ports(dep):
        if (isinstance(target, str) and p.get("name") == target) or (
            isinstance(target, int) and p.get("containerPort") == target
        ):
            return p
    return None


def check_services(objs: list[Obj]) -> list[str]:
    problems = []
    deps = workloads(objs)
    services = by_name(objs, "Service")
    if set(services) != set(EXPECTED_SERVICES):
        problems.append(f"Services {sorted(services)} != expected {sorted(EXPECTED_SERVICES)} (worker must have none)")
    for name, svc in services.items():
        spec = svc.doc.get("spec", {})
        selector = spec.get("selector") or {}
        matched = [d for d in deps if _selects(selector, pod_labels(d))]
        if len(matched) != 1:
            problems.append(
                f"{svc.ref}: selector {selector} matches {len(matched)} Deployments' pods "
                f"({[d.name for d in matched]}), expected exactly 1"
            )
            continue
        dep = matched[0]
        if selector.get("app") != name:
            problems.append(f"{svc.ref}: selects app={selector.get('app')!r}, expected app={name!r}")
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            cport = resolve_target_port(dep, target)
            if cport is None:
                problems.append(
                    f"{svc.ref}: targetPort {target!r} is no containerPort of "
                    f"Deployment {dep.name} (ports: {_container_ports(dep)})"
                )
            elif isinstance(target, int):
                problems.append(f"{svc.ref}: targetPort {target} should name the containerPort ({cport.get('name')!r})")
            elif cport.get("protocol", "TCP") != port.get("protocol", "TCP"):
                problems.append(f"{svc.ref}: protocol differs from containerPort {target}")
        exp = EXPECTED_SERVICES.get(name)
        if exp:
            typ, port_no, node_port = exp
            if spec.get("type", "ClusterIP") != typ:
                problems.append(f"{svc.ref}: type {spec.get('type', 'ClusterIP')}, expected {typ}")
            ports = spec.get("ports") or []
            if len(ports) != 1 or ports[0].get("port") != port_no:
                problems.append(f"{svc.ref}: ports {ports}, expected one port {port_no}")
            elif ports[0].get("nodePort") != node_port:
                problems.append(f"{svc.ref}: nodePort {ports[0].get('nodePort')}, expected {node_port}")
    return problems


def check_metrics_not_public(objs: list[Obj]) -> list[str]:
    """No NodePort (or LoadBalancer) Service reaches a pod's metrics port."""
    problems = []
    deps = workloads(objs)
    for svc in of_kind(objs, "Service"):
        spec = svc.doc.get("spec", {})
        if spec.get("type", "ClusterIP") not in {"NodePort", "LoadBalancer"}:
            continue
        for dep in (d for d in deps if _selects(spec.get("selector") or {}, pod_labels(d))):
            metrics_port = METRICS_PORTS.get(app_of(dep))
            for port in spec.get("ports") or []:
                cport = resolve_target_port(dep, port.get("targetPort", port.get("port")))
                if cport is not None and metrics_port is not None and cport.get("containerPort") == metrics_port:
                    problems.append(
                        f"{svc.ref}: {spec['type']} port {port.get('port')} exposes the metrics port "
                        f"{metrics_port} of Deployment {dep.name}"
                    )
    return problems


# --------------------------------------------------------------------------
# env references and secrets


def _secret_keys(secret: Obj) -> set[str]:
    return set((secret.doc.get("data") or {}) | (secret.doc.get("stringData") or {}))


def service_port(svc: Obj) -> int | None:
    ports = svc.doc.get("spec", {}).get("ports") or []
    return ports[0].get("port") if ports else None


def check_env_references(objs: list[Obj]) -> list[str]:
    problems = []
    services = by_name(objs, "Service")
    secrets = by_name(objs, "Secret")
    config_maps = by_name(objs, "ConfigMap")
    fqdn = re.compile(rf"^([a-z0-9-]+)\.{NAMESPACE}\.svc\.cluster\.local\.?$")
    for dep in workloads(objs):
        for c in containers(dep):
            env = {e["name"]: e for e in c.get("env") or []}
            for name, e in env.items():
                if "valueFrom" in e:
                    cm_ref = e["valueFrom"].get("configMapKeyRef")
                    if cm_ref:
                        cm = config_maps.get(cm_ref.get("name"))
                        if cm is None or cm_ref.get("key") not in (cm.doc.get("data") or {}):
                            problems.append(
                                f"{dep.ref} {c['name']}: env {name} uses key {cm_ref.get('key')!r} of "
                                f"ConfigMap {cm_ref.get('name')!r}, which is not defined"
                            )
                    ref = e["valueFrom"].get("secretKeyRef")
                    if ref:
                        sec = secrets.get(ref.get("name"))
                        if sec is None:
                            problems.append(
                                f"{dep.ref} {c['name']}: env {name} uses Secret "
                                f"{ref.get('name')!r}, which is not defined"
                            )
                        elif ref.get("key") not in _secret_keys(sec):
                            problems.append(
                                f"{dep.ref} {c['name']}: env {name} uses key {ref.get('key')!r} "
                                f"missing from Secret {sec.name} (keys {sorted(_secret_keys(sec))})"
                            )
                    continue
                value = str(e.get("value", ""))
                if re.search(r"PASSWORD|SECRET|TOKEN", name):
                    problems.append(f"{dep.ref} {c['name']}: env {name} is a plain value; use a secretKeyRef")
                if name.endswith("_HOST"):
                    m = fqdn.match(value)
                    host = m.group(1) if m else value
                    if host not in services:
                        problems.append(
                            f"{dep.ref} {c['name']}: env {name}={value!r} names no Service "
                            f"(Services: {sorted(services)})"
                        )
                        continue
                    port_var = name[: -len("_HOST")] + "_PORT"
                    want = service_port(services[host])
                    if port_var not in env:
                        problems.append(f"{dep.ref} {c['name']}: {name} is set but {port_var} is not")
                    elif str(env[port_var].get("value")) != str(want):
                        problems.append(
                            f"{dep.ref} {c['name']}: {port_var}={env[port_var].get('value')!r} "
                            f"but Service {host} listens on {want}"
                        )
            for src in c.get("envFrom") or []:
                ref = src.get("secretRef")
                if ref and ref.get("name") not in secrets:
                    problems.append(f"{dep.ref} {c['name']}: envFrom Secret {ref.get('name')!r} not defined")
        if pod_spec(dep).get("enableServiceLinks", True):
            problems.append(
                f"{dep.ref}: enableServiceLinks must be false (service links inject "
                f"REDIS_PORT=tcp://... style variables)"
            )
    return problems


def check_credentials(objs: list[Obj]) -> list[str]:
    """Each app takes its passwords from the expected Secret key, and redis demands its password.

    redis-server gets ``--requirepass $(REDIS_PASSWORD)``: the kubelet expands the variable, so
    the value is in the Secret only, never in the manifest.
    """
    problems = []
    deployments = {app_of(dep): dep for dep in workloads(objs)}
    for app, wanted in CREDENTIALS.items():
        dep = deployments.get(app)
        if dep is None:
            problems.append(f"no Deployment for app {app!r}")
            continue
        main = pod_spec(dep)["containers"][0]
        env = {e["name"]: e for e in main.get("env") or []}
        for name, (secret, key) in wanted.items():
            ref = (env.get(name, {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            if (ref.get("name"), ref.get("key")) != (secret, key):
                problems.append(
                    f"{dep.ref} {main['name']}: env {name} must come from Secret {secret!r} key {key!r} "
                    f"through secretKeyRef, got {env.get(name)}"
                )
    redis = deployments.get("redis")
    if redis is not None:
        main = pod_spec(redis)["containers"][0]
        words = [*(main.get("command") or []), *(main.get("args") or [])]
        i = words.index("--requirepass") if "--requirepass" in words else -1
        if i < 0 or words[i + 1 : i + 2] != ["$(REDIS_PASSWORD)"]:
            problems.append(f"{redis.ref} {main['name']}: redis-server needs --requirepass $(REDIS_PASSWORD)")
    return problems


# --------------------------------------------------------------------------
# images


def parse_makefile(path: Path | str = MAKEFILE) -> dict:
    text = Path(path).read_text(encoding="utf-8")

    def var(name: str) -> str | None:
        m = re.search(rf"^\s*{name}\s*(?:\?=|:=|::=|=)\s*(.*?)\s*(?:#.*)?$", text, re.M)
        return m.group(1).strip() if m else None

    images = var("IMAGES")
    tag = var("TAG")
    if tag and "charts/voting-app/Chart.yaml" in tag:  # the Makefile reads the app version's one home
        tag = chart.app_version()
    return {
        "TAG": tag,
        "IMAGE_PREFIX": var("IMAGE_PREFIX"),
        "IMAGES": images.split() if images is not None else None,
    }


def image_tag(image: str) -> str | None:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def check_images(objs: list[Obj], make: dict) -> list[str]:
    problems = []
    tag, prefix, names = make["TAG"], make["IMAGE_PREFIX"], make["IMAGES"]
    if not tag or prefix is None or not names:
        return [f"Makefile lacks TAG ?= / IMAGE_PREFIX ?= / IMAGES := (parsed {make})"]
    deps = workloads_by_name(objs)
    ours = {}
    for dep in deps.values():
        for c in containers(dep):
            image = c.get("image", "")
            t = image_tag(image)
            if t is None or t == "latest":
                problems.append(f"{dep.ref} {c['name']}: image {image!r} has no explicit tag (or 'latest')")
            if image.startswith(prefix):
                ours[dep.name] = image
                if c.get("imagePullPolicy") != "IfNotPresent":
                    problems.append(
                        f"{dep.ref} {c['name']}: imagePullPolicy {c.get('imagePullPolicy')!r}, "
                        f"expected IfNotPresent for a locally built image"
                    )
    for app in OUR_APPS:
        want = f"{prefix}{app}:{tag}"
        if ours.get(app) != want:
            problems.append(f"Deployment {app}: image {ours.get(app)!r}, expected {want!r} (Makefile IMAGE_PREFIX/TAG)")
    built = {f"{prefix}{n}:{tag}" for n in names}
    if set(ours.values()) != built:
        problems.append(
            f"images the manifests run {sorted(ours.values())} != images `make kind-load` "
            f"builds and loads {sorted(built)}"
        )
    return problems


# --------------------------------------------------------------------------
# containers: probes (resources and the security context: checkov, and Pod Security live)


def _handler(probe: dict) -> str | None:
    for h in ("httpGet", "exec", "tcpSocket", "grpc"):
        if h in probe:
            return h
    return None


# What readiness means per service: vote and result stay in their Service while they can serve a
# useful page (voting paused, numbers not live), so their probe skips the dependency's check.
READINESS_PATHS = {"vote": "/readyz?exclude=redis", "result": "/readyz?exclude=postgres", "worker": "/readyz"}


def check_probes(objs: list[Obj]) -> list[str]:
    problems = []
    for dep in workloads(objs):
        app = app_of(dep)
        for c in containers(dep, init=False):
            where = f"{dep.ref} container {c.get('name')}"
            for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", READINESS_PATHS.get(app, "/readyz"))):
                probe = c.get(kind)
                if not probe or not _handler(probe):
                    problems.append(f"{where}: no {kind}")
                    continue
                if "httpGet" in probe:
                    port = probe["httpGet"].get("port")
                    if resolve_target_port(dep, port) is None:
                        problems.append(f"{where}: {kind} port {port!r} is no containerPort")
                if "tcpSocket" in probe and resolve_target_port(dep, probe["tcpSocket"].get("port")) is None:
                    problems.append(f"{where}: {kind} port {probe['tcpSocket'].get('port')!r} is no containerPort")
                if app in OUR_APPS:
                    got = probe.get("httpGet", {}).get("path")
                    if got != path:
                        problems.append(f"{where}: {kind} must be an HTTP GET of {path}, got {probe}")
                if kind == "livenessProbe" and probe == c.get("readinessProbe"):
                    problems.append(f"{where}: liveness and readiness probes are identical")
    return problems


# --------------------------------------------------------------------------
# our three: metrics annotations, graceful shutdown, rollouts


def _prestop_seconds(c: dict) -> float:
    pre = (c.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre:
        return float(pre["sleep"].get("seconds", 0))
    cmd = " ".join((pre.get("exec") or {}).get("command") or [])
    m = re.search(r"sleep\(?\s*(\d+(?:\.\d+)?)", cmd)
    return float(m.group(1)) if m else 0.0


GUNICORN_GRACEFUL_TIMEOUT = 20


def check_our_workloads(objs: list[Obj]) -> list[str]:
    problems = []
    deps = workloads_by_name(objs)
    for app in OUR_APPS:
        dep = deps.get(app)
        if dep is None:
            problems.append(f"no Deployment {app}")
            continue
        ann = dep.doc["spec"]["template"].get("metadata", {}).get("annotations") or {}
        metrics_port = METRICS_PORTS[app]
        want = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(metrics_port),
            "prometheus.io/path": "/metrics",
        }
        for k, v in want.items():
            if ann.get(k) != v:
                problems.append(f"{dep.ref}: pod annotation {k}={ann.get(k)!r}, expected {v!r}")
        ports = _container_ports(dep)
        if not any(p.get("name") == "http" and p.get("containerPort") == HTTP_PORT for p in ports):
            problems.append(f"{dep.ref}: needs containerPort {HTTP_PORT} named http")
        if metrics_port != HTTP_PORT and not any(
            p.get("name") == "metrics" and p.get("containerPort") == metrics_port for p in ports
        ):
            problems.append(f"{dep.ref}: needs containerPort {metrics_port} named metrics")
        grace = pod_spec(dep).get("terminationGracePeriodSeconds", 30)
        for c in containers(dep, init=False):
            budget = _prestop_seconds(c) + (GUNICORN_GRACEFUL_TIMEOUT if app != "worker" else 0)
            if grace <= budget:
                problems.append(
                    f"{dep.ref}: terminationGracePeriodSeconds {grace} <= preStop + graceful "
                    f"stop ({budget} s): in-flight requests would be killed"
                )
    for app in ("vote", "result"):
        dep = deps.get(app)
        if dep is None:
            continue
        strategy = dep.doc["spec"].get("strategy") or {}
        ru = strategy.get("rollingUpdate") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate" or ru.get("maxUnavailable") != 0:
            problems.append(f"{dep.ref}: rolling update must have maxUnavailable 0, got {strategy}")
        for c in containers(dep, init=False):
            if _prestop_seconds(c) < 3:
                problems.append(
                    f"{dep.ref}: needs a preStop sleep (>= 3 s) so endpoints are removed before gunicorn stops"
                )
    return problems


def check_stateful(objs: list[Obj]) -> list[str]:
    """db and redis: a StatefulSet of one, its data on a claim of its own."""
    problems = []
    deps = workloads_by_name(objs)
    data_dirs = {"db": "PGDATA", "redis": None}
    for app, env_var in data_dirs.items():
        dep = deps.get(app)
        if dep is None:
            problems.append(f"no StatefulSet {app}")
            continue
        spec = dep.doc["spec"]
        if dep.kind != "StatefulSet":
            problems.append(
                f"{dep.ref}: must be a StatefulSet (its replacement pod starts only once the old one is gone)"
            )
        if spec.get("replicas", 1) != 1:
            problems.append(f"{dep.ref}: replicas must be 1")
        claims = {t.get("metadata", {}).get("name") for t in spec.get("volumeClaimTemplates") or []}
        if not claims:
            problems.append(f"{dep.ref}: no volumeClaimTemplates (its data would not survive the pod)")
        c = next(containers(dep, init=False))
        mounts = [m["mountPath"] for m in c.get("volumeMounts") or [] if m.get("name") in claims]
        if env_var:
            env = {e["name"]: e.get("value") for e in c.get("env") or []}
            pgdata = env.get(env_var) or ""
            if not any(pgdata.startswith(m.rstrip("/") + "/") for m in mounts):
                problems.append(
                    f"{dep.ref}: {env_var}={pgdata!r} must be a subdirectory of the PVC mount {mounts} (lost+found)"
                )
        else:
            args = " ".join(c.get("args") or c.get("command") or [])
            if "--appendonly yes" not in args or "/data" not in mounts:
                problems.append(f"{dep.ref}: redis must run with --appendonly yes and /data on the PVC")
    return problems


# --------------------------------------------------------------------------
# kind config


def check_kind_config(kind_cfg: dict, objs: list[Obj]) -> list[str]:
    problems = []
    if kind_cfg.get("kind") != "Cluster" or kind_cfg.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        problems.append("kind config must be kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4")
    mappings = {
        m.get("containerPort"): m.get("hostPort")
        for n in kind_cfg.get("nodes") or []
        for m in n.get("extraPortMappings") or []
    }
    for svc in of_kind(objs, "Service"):
        for p in svc.doc.get("spec", {}).get("ports") or []:
            if p.get("nodePort") and mappings.get(p["nodePort"]) != p["nodePort"]:
                problems.append(
                    f"kind config does not map host port {p['nodePort']} to nodePort "
                    f"{p['nodePort']} of Service {svc.name}"
                )
    return problems


ALL_CHECKS = (
    check_namespace_and_labels,
    check_pod_security_labels,
    check_services,
    check_env_references,
    check_credentials,
    check_probes,
    check_our_workloads,
    check_stateful,
)


def all_problems(objs: list[Obj]) -> list[str]:
    return [p for check in ALL_CHECKS for p in check(objs)]

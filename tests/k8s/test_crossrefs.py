"""The app's own invariants hold in k8s-specifications/ (see tests/k8s/manifests.py), and each check
catches the breakage it exists for: a mutation breaks a copy of the manifests, the check must say so."""

import re

import pytest
import yaml

from tests.k8s import manifests as m


@pytest.fixture(scope="module")
def objs():
    return m.load_dir(m.MANIFEST_DIR)


@pytest.mark.parametrize("check", m.ALL_CHECKS, ids=lambda c: c.__name__)
def test_the_manifests_pass(check, objs):
    assert check(objs) == []


def test_kind_publishes_the_nodeports_and_its_config_is_outside_the_manifests(objs):
    assert m.check_kind_config(yaml.safe_load(m.KIND_CONFIG.read_text()), objs) == []
    assert m.KIND_CONFIG.resolve().parent != m.MANIFEST_DIR


def test_vote_and_result_read_the_labels_from_one_config_map(objs):
    for app in ("vote", "result"):
        env = {e["name"]: e for e in container(m.workloads(objs)[app].doc)["env"]}
        for name in ("OPTION_A", "OPTION_B"):
            assert env[name]["valueFrom"]["configMapKeyRef"] == {"name": "options", "key": name}


def test_compose_gives_vote_and_result_the_same_option_labels():
    """The labels reach compose through .env, rendered from the chart like the ConfigMap."""
    compose = yaml.safe_load((m.ROOT / "docker-compose.yml").read_text())
    labels = compose["x-options"]
    assert labels == {"OPTION_A": "${OPTION_A}", "OPTION_B": "${OPTION_B}"}
    for service in ("vote", "result"):
        env = compose["services"][service]["environment"]
        assert {k: env[k] for k in labels} == labels, service


def test_ci_workflow_runs_make_test_and_the_kind_tests():
    wf = yaml.safe_load(m.CI_WORKFLOW.read_text())
    jobs = wf["jobs"]
    runs = {job: "\n".join(s.get("run", "") for s in jobs[job]["steps"]) for job in ("test", "kind")}
    assert re.search(r"\bmake\b.*\btest\b", runs["test"])
    # the live suite runs through the same make targets as everywhere, never skipping
    assert "make test-kind" in runs["kind"] and jobs["kind"]["env"]["REQUIRE_KIND"] == "1"
    for job in jobs:
        for uses in (s["uses"] for s in jobs[job]["steps"] if "uses" in s):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{job}: {uses} is not pinned by commit"


# --------------------------------------------------------------------------
# mutation tests


def container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def set_env(name, **entry):
    """An edit of the first container's env: ``name`` replaced by ``entry``, or dropped if there is none."""
    new = [{"name": name, **entry}] if entry else []
    return lambda d: container(d).update(
        env=[v for e in container(d)["env"] for v in (new if e["name"] == name else [e])]
    )


def rename_key(old, new):
    return lambda d: d["stringData"].update({new: d["stringData"].pop(old)})


def http_probe(probe, **change):
    return lambda d: container(d)[probe]["httpGet"].update(change)


def unsafe_rollout(d):
    d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1
    container(d).pop("lifecycle")
    d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 10


METRICS_NODEPORT = {"name": "metrics", "port": 9090, "targetPort": "metrics", "nodePort": 31090}
REQUIREPASS = ("--requirepass", "$(REDIS_PASSWORD)")
SECRET_REF = {"valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "POSTGRES_PASSWORD"}}}

# (what is broken, (kind, name), edit, check, what the check must say)
# fmt: off
MUTATIONS = [
    ("selector", ("Service", "vote"), lambda d: d["spec"]["selector"].update(app="voter"),
     m.check_services, r"Service/vote: selector \{'app': 'voter'\} matches 0"),
    ("pod label", ("StatefulSet", "redis"), lambda d: d["spec"]["template"]["metadata"]["labels"].update(app="cache"),
     m.check_services, r"Service/redis: selector .* matches 0"),
    ("target port", ("Service", "result"), lambda d: d["spec"]["ports"][0].update(targetPort="web"),
     m.check_services, r"Service/result: targetPort 'web' is no containerPort"),
    ("container port", ("StatefulSet", "db"), lambda d: container(d)["ports"][0].update(name="pg"),
     m.check_services, r"Service/db: targetPort 'postgres' is no containerPort"),
    ("nodePort", ("Service", "vote"), lambda d: d["spec"]["ports"][0].update(nodePort=30080),
     m.check_services, r"expected NodePort 5000 nodePort 31000"),
    ("metrics behind a NodePort", ("Service", "result"), lambda d: d["spec"]["ports"].append(METRICS_NODEPORT),
     m.check_metrics_not_public, r"Service/result: NodePort port 9090 exposes the metrics port"),
    ("db secret key", ("Secret", "db-credentials"), rename_key("POSTGRES_PASSWORD", "PASSWORD"),
     m.check_env_references, r"Deployment/worker worker: env POSTGRES_PASSWORD uses key .* not defined"),
    ("redis secret key", ("Secret", "redis-credentials"), rename_key("REDIS_PASSWORD", "PASSWORD"),
     m.check_env_references, r"StatefulSet/redis redis: env REDIS_PASSWORD uses key .* not defined"),
    ("option label", ("ConfigMap", "options"), lambda d: d["data"].pop("OPTION_B"),
     m.check_env_references, r"Deployment/result result: env OPTION_B uses key 'OPTION_B' of 'options'"),
    ("plain db password", ("Deployment", "worker"), set_env("POSTGRES_PASSWORD", value="hunter2"),
     m.check_env_references, r"POSTGRES_PASSWORD is a plain value"),
    ("plain redis password", ("StatefulSet", "redis"), set_env("REDIS_PASSWORD", value="hunter2"),
     m.check_credentials, r"StatefulSet/redis: env REDIS_PASSWORD must come from Secret"),
    ("no redis password", ("Deployment", "vote"), set_env("REDIS_PASSWORD"),
     m.check_credentials, r"Deployment/vote: env REDIS_PASSWORD must come from Secret"),
    ("password of another secret", ("Deployment", "worker"), set_env("REDIS_PASSWORD", **SECRET_REF),
     m.check_credentials, r"Deployment/worker: env REDIS_PASSWORD must come from Secret 'redis-credentials'"),
    ("redis without requirepass", ("StatefulSet", "redis"),
     lambda d: container(d).update(args=[a for a in container(d)["args"] if a not in REQUIREPASS]),
     m.check_credentials, r"redis-server needs --requirepass"),
    ("env host", ("Deployment", "vote"), set_env("REDIS_HOST", value="redis-master"),
     m.check_env_references, r"REDIS_HOST='redis-master' names no Service"),
    ("env port", ("Deployment", "worker"), set_env("POSTGRES_PORT", value="5433"),
     m.check_env_references, r"POSTGRES_HOST names Service db, but the port variable says '5433'"),
    ("service links", ("Deployment", "vote"), lambda d: d["spec"]["template"]["spec"].pop("enableServiceLinks"),
     m.check_env_references, r"enableServiceLinks must be false"),
    ("missing probe", ("Deployment", "worker"), lambda d: container(d).pop("readinessProbe"),
     m.check_probes, r"Deployment/worker container worker: readinessProbe must be an HTTP GET of /readyz, got \{\}"),
    # a vote pod made unready by a Redis outage would leave the NodePort refusing connections
    ("vote ready on redis", ("Deployment", "vote"), http_probe("readinessProbe", path="/readyz"),
     m.check_probes, r"readinessProbe must be an HTTP GET of /readyz\?exclude=redis"),
    ("probe port", ("Deployment", "vote"), http_probe("livenessProbe", port="admin"),
     m.check_probes, r"livenessProbe port 'admin' is no containerPort"),
    ("rollout and preStop", ("Deployment", "vote"), unsafe_rollout,
     m.check_our_workloads, (r"maxUnavailable 0", r"needs a preStop sleep", r"GracePeriodSeconds 10 <= preStop")),
    ("scrape port", ("Deployment", "result"),
     lambda d: d["spec"]["template"]["metadata"]["annotations"].update({"prometheus.io/port": "8080"}),
     m.check_our_workloads, r"Deployment/result: pod annotations"),
    ("db as a Deployment of 2", ("StatefulSet", "db"),
     lambda d: d.update(kind="Deployment", spec={**d["spec"], "replicas": 2}),
     m.check_stateful, r"Deployment/db: must be a StatefulSet of 1, not Deployment of 2"),
    ("no claim", ("StatefulSet", "redis"), lambda d: d["spec"].pop("volumeClaimTemplates"),
     m.check_stateful, r"StatefulSet/redis: no volumeClaimTemplates"),
    ("PGDATA at the claim's root", ("StatefulSet", "db"), set_env("PGDATA", value="/var/lib/postgresql/data"),
     m.check_stateful, r"PGDATA='/var/lib/postgresql/data' must be a subdirectory"),
]
# fmt: on


@pytest.mark.parametrize(
    ("kind_name", "edit", "check", "says"), [r[1:] for r in MUTATIONS], ids=[r[0] for r in MUTATIONS]
)
def test_mutation_is_caught(kind_name, edit, check, says):
    objs = m.load_dir(m.MANIFEST_DIR)
    edit(next(o.doc for o in objs if (o.kind, o.name) == kind_name))
    problems = check(objs)
    for pattern in (says,) if isinstance(says, str) else says:
        assert any(re.search(pattern, p) for p in problems), f"not caught: {pattern!r} in {problems}"


def test_mutation_kind_config_port_is_caught(objs):
    cfg = yaml.safe_load(m.KIND_CONFIG.read_text())
    cfg["nodes"][0]["extraPortMappings"][1]["hostPort"] = 8081
    assert any("does not map host port 31001" in p for p in m.check_kind_config(cfg, objs))

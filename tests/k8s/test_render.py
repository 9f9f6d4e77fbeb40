"""The Helm chart is the one source of the deployment: k8s-specifications/ is its render, and its
values do what values.yaml says they do."""

from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions, major_minor

from tests.k8s.manifests import KIND_NODE_VERSIONS
from tooling import manifests

pytestmark = pytest.mark.chart

CHART = manifests.CHART
PRODUCTION = CHART / "values-production.yaml"
HA = CHART / "values-ha.yaml"
# The Kubernetes minors the schemas are checked against: those both kind and kubernetes-validate ship.
VERSIONS = sorted(
    {major_minor(v) for v in all_versions()} & set(KIND_NODE_VERSIONS), key=lambda v: [*map(int, v.split("."))]
)


def objects(*values: str, values_files: tuple = ()) -> dict[tuple[str, str], dict]:
    rendered = manifests.template(*values, values_files=values_files)
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def pod_spec(objs, name: str, kind: str = "Deployment") -> dict:
    return objs[(kind, name)]["spec"]["template"]["spec"]


def env(objs, name: str, kind: str = "Deployment") -> dict:
    return {e["name"]: e.get("value") for e in pod_spec(objs, name, kind)["containers"][0]["env"]}


def test_k8s_specifications_and_compose_env_are_the_chart_rendered():
    changed = manifests.drift(manifests.render())
    assert changed == [], f"k8s-specifications/ differs from the chart in {changed}: run `make manifests`"
    assert not manifests.env_drifted(), ".env differs from the chart: run `make manifests`"


@pytest.mark.parametrize("values", [(), ("--values", str(PRODUCTION))], ids=["default", "production"])
def test_helm_lint_strict(values):
    done = subprocess.run([manifests.helm(), "lint", "--strict", str(CHART), *values], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_object_carries_the_recommended_labels():
    for (kind, name), obj in objects().items():
        labels = obj["metadata"]["labels"]
        for key in ("name", "instance", "version", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, f"{kind}/{name} lacks app.kubernetes.io/{key}"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert not any(k.startswith("helm.sh/") for k in labels), f"{kind}/{name}: a Helm-only label"


def test_the_rendered_files_say_kubectl_and_create_the_namespace():
    files = manifests.render()
    docs = [d for name, text in files.items() if name.endswith(".yaml") for d in yaml.safe_load_all(text) if d]
    assert {d["metadata"]["labels"]["app.kubernetes.io/managed-by"] for d in docs} == {"kubectl"}
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == ["vote"]


def test_images_come_from_the_registry_at_the_app_version():
    app_version = manifests.app_version()
    objs = objects("image.registry=ghcr.io/acme", "image.pullPolicy=Always")
    for name in ("vote", "worker", "result"):
        container = pod_spec(objs, name)["containers"][0]
        assert container["image"] == f"ghcr.io/acme/votingapp/{name}:{app_version}"
        assert container["imagePullPolicy"] == "Always"
    assert pod_spec(objects("image.tag=9.9.9"), "vote")["containers"][0]["image"] == "votingapp/vote:9.9.9"


def test_changing_an_option_rolls_the_pods_that_read_it():
    before, after = objects(), objects("options.a=Tea")
    assert after[("ConfigMap", "options")]["data"]["OPTION_A"] == "Tea"
    for name in ("vote", "result"):
        old, new = (o[("Deployment", name)]["spec"]["template"]["metadata"]["annotations"] for o in (before, after))
        assert old["checksum/options"] != new["checksum/options"], name


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer", "ClusterIP"])
def test_service_type_per_front_end(kind):
    objs = objects(f"vote.service.type={kind}")
    port = objs[("Service", "vote")]["spec"]["ports"][0]
    assert objs[("Service", "vote")]["spec"]["type"] == kind
    assert port["port"] == 5000
    assert ("nodePort" in port) == (kind != "ClusterIP")
    assert objs[("Service", "result")]["spec"]["type"] == "NodePort"


def test_production_values_scale_spread_and_protect():
    objs = objects(values_files=(PRODUCTION,))
    for name in ("vote", "result"):
        hpa = objs[("HorizontalPodAutoscaler", name)]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["minReplicas"] >= 2
        assert "replicas" not in objs[("Deployment", name)]["spec"], "the HPA owns the replica count"
    assert objs[("Deployment", "worker")]["spec"]["replicas"] >= 2
    for name in ("vote", "result", "worker"):
        assert objs[("PodDisruptionBudget", name)]["spec"]["selector"] == {"matchLabels": {"app": name}}
        (spread,) = pod_spec(objs, name)["topologySpreadConstraints"]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert spread["labelSelector"] == {"matchLabels": {"app": name}}
    assert not [key for key in objs if key[0] == "Secret"], "production credentials are never values"


def test_ingress_and_http_route_point_at_the_front_end_services():
    objs = objects(
        "vote.ingress.enabled=true",
        "vote.ingress.className=nginx",
        "result.httpRoute.enabled=true",
        "result.httpRoute.parentRefs[0].name=public",
        "result.httpRoute.hostnames[0]=result.example.test",
    )
    rule = objs[("Ingress", "vote")]["spec"]["rules"][0]
    assert rule["host"] == "vote.example.test"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "vote", "port": {"name": "http"}}
    route = objs[("HTTPRoute", "result")]["spec"]
    assert route["parentRefs"] == [{"name": "public"}]
    assert route["rules"][0]["backendRefs"] == [{"name": "result", "port": 5001}]


def test_blue_green_runs_two_colours_and_the_service_sends_traffic_to_the_live_one():
    objs = objects("vote.blueGreen.enabled=true", "vote.blueGreen.live=green", "vote.blueGreen.tags.green=0.2.0")
    assert ("Deployment", "vote") not in objs
    for color, tag in (("blue", "0.1.0"), ("green", "0.2.0")):
        dep = objs[("Deployment", f"vote-{color}")]
        assert dep["spec"]["selector"]["matchLabels"] == {"app": "vote", "color": color}
        assert dep["spec"]["template"]["metadata"]["labels"]["color"] == color
        assert pod_spec(objs, f"vote-{color}")["containers"][0]["image"] == f"votingapp/vote:{tag}"
    assert objs[("Service", "vote")]["spec"]["selector"] == {"app": "vote", "color": "green"}
    assert objs[("Service", "result")]["spec"]["selector"] == {"app": "result"}  # result untouched
    assert ("Deployment", "result") in objs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("vote.httpRoute.enabled=true",), "name the Gateway the route attaches to"),
        (("result.blueGreen.enabled=true", "result.blueGreen.live=purple"), "blue or green"),
        (("vote.blueGreen.enabled=true", "vote.autoscaling.enabled=true"), "an HPA scales one Deployment"),
    ],
)
def test_a_mistake_in_the_values_is_refused(values, message):
    with pytest.raises(subprocess.CalledProcessError) as refused:
        manifests.template(*values)
    assert message in refused.value.stderr


def test_helm_test_checks_both_front_ends_and_is_not_in_the_rendered_files():
    objs = objects()
    pod = objs[("Pod", "voting-app-smoke-test")]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["VOTE_URL"] == "http://vote:5000" and env["RESULT_URL"] == "http://result:5001"
    assert not any("smoke-test" in text for text in manifests.render().values())


def test_high_availability_runs_redis_with_sentinels_on_separate_nodes_and_vote_waits_for_a_replica():
    objs = objects(values_files=(PRODUCTION, HA))
    redis = objs[("StatefulSet", "redis")]["spec"]
    assert redis["replicas"] == 3 and redis["serviceName"] == "redis-headless"
    (rule,) = redis["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert rule == {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "redis"}}}
    assert [c["name"] for c in redis["template"]["spec"]["containers"]] == ["redis", "sentinel"]
    assert ("Service", "redis") not in objs, "a Service over every member would send writes to replicas"
    sentinels = ",".join(f"redis-{i}.redis-headless:26379" for i in range(3))
    for name in ("vote", "worker"):
        assert env(objs, name)["REDIS_SENTINELS"] == sentinels and "REDIS_HOST" not in env(objs, name), name
    assert env(objs, "vote")["REDIS_WAIT_REPLICAS"] == "1"
    for name in ("vote", "result", "worker"):
        tolerations = pod_spec(objs, name)["tolerations"]
        assert {(t["key"], t["tolerationSeconds"]) for t in tolerations} == {
            ("node.kubernetes.io/not-ready", 10),
            ("node.kubernetes.io/unreachable", 10),
        }
    assert objs[("PodDisruptionBudget", "redis")]["spec"]["maxUnavailable"] == 1


def test_high_availability_runs_postgres_under_patroni_with_the_leader_behind_service_db():
    objs = objects(values_files=(PRODUCTION, HA))
    assert ("StatefulSet", "db") in objs and objs[("StatefulSet", "db")]["spec"]["replicas"] == 3
    pod = pod_spec(objs, "db", "StatefulSet")
    (rule,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert rule == {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}
    assert pod["containers"][0]["image"] == "votingapp/db-ha:" + manifests.app_version()
    db_env = env(objs, "db", "StatefulSet")
    assert db_env["PATRONI_SCOPE"] == "db" and db_env["PATRONI_KUBERNETES_USE_ENDPOINTS"] == "true"
    # No selector: Patroni writes the leader's address into Endpoints db, so db:5432 is the leader.
    assert "selector" not in objs[("Service", "db")]["spec"]
    config = yaml.safe_load(objs[("ConfigMap", "db-ha")]["data"]["patroni.yml"])["bootstrap"]["dcs"]
    assert config["synchronous_mode"] is True and config["synchronous_mode_strict"] is True
    assert config["loop_wait"] + 2 * config["retry_timeout"] <= config["ttl"]
    rules = objs[("Role", "db")]["rules"]
    assert {r for rule in rules for r in rule["resources"]} == {"endpoints", "pods"}
    assert not any("*" in rule["verbs"] for rule in rules)
    assert objs[("PodDisruptionBudget", "db")]["spec"]["maxUnavailable"] == 1
    assert env(objs, "worker")["POSTGRES_HOST"] == "db"


def test_the_redis_pods_run_the_script_kept_in_the_charts_files():
    objs = objects(values_files=(HA,))
    script = objs[("ConfigMap", "redis-ha")]["data"]["redis-ha.sh"]
    assert script == (CHART / "files" / "redis-ha.sh").read_text()


def test_schemas_cover_the_newest_kind_node_and_an_older_minor():
    assert len(VERSIONS) >= 2 and VERSIONS[-1] == KIND_NODE_VERSIONS[-1], (VERSIONS, KIND_NODE_VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_render_is_valid_strict(version):
    """The default values, the production ones with every option on, and blue-green: each object
    passes strict validation, as `kubectl apply --validate=strict` would (HTTPRoute is a Gateway
    API CRD, whose schema kubernetes-validate does not ship)."""
    renders = {
        "default": objects(),
        "production": objects("vote.ingress.enabled=true", values_files=(PRODUCTION,)),
        "high availability": objects(values_files=(PRODUCTION, HA)),
        "blue-green": objects("vote.blueGreen.enabled=true", "result.blueGreen.enabled=true"),
    }
    problems = []
    for render, objs in renders.items():
        for (kind, name), doc in objs.items():
            try:
                assert kubernetes_validate.validate(doc, version, strict=True) == version
            except kubernetes_validate.ValidationError as e:
                problems.append(f"{render}: {kind}/{name}: {e.message}")
    assert problems == []


def test_strict_validation_rejects_a_misspelt_field():
    vote = objects()[("Deployment", "vote")]
    vote["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {"tcpSocket": {"port": 8080}}
    with pytest.raises(kubernetes_validate.ValidationError, match="readynessProbe"):
        kubernetes_validate.validate(vote, VERSIONS[-1], strict=True)

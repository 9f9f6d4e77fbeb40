"""Cross-reference checks of k8s-specifications/ (see tests/k8s/manifests.py).

The first half checks the real manifests; the second half breaks a copy of
them in tmp_path and proves that the checks catch each breakage.
"""

import re
import shutil

import pytest
import yaml

from tests.k8s import manifests as m


def test_folder_holds_only_kubernetes_yaml_with_namespace_first(manifest_dir):
    assert m.check_folder(manifest_dir) == []


def test_every_object_in_namespace_vote_with_label_app(objs):
    assert m.check_namespace_and_labels(objs) == []


def test_namespace_enforces_restricted_pod_security(objs):
    assert m.check_pod_security_labels(objs) == []


def test_services_select_pods_and_target_named_ports(objs):
    assert m.check_services(objs) == []


def test_nodeports_and_cluster_ips(objs):
    svcs = m.by_name(objs, "Service")
    assert {
        n: (
            s.doc["spec"].get("type", "ClusterIP"),
            s.doc["spec"]["ports"][0]["port"],
            s.doc["spec"]["ports"][0].get("nodePort"),
        )
        for n, s in svcs.items()
    } == m.EXPECTED_SERVICES
    assert "worker" not in svcs


def test_no_nodeport_service_exposes_a_metrics_port(objs):
    assert m.check_metrics_not_public(objs) == []


def test_env_hosts_name_services_and_secret_keys_exist(objs):
    assert m.check_env_references(objs) == []


def test_redis_vote_and_worker_take_the_redis_password_from_its_secret(objs):
    assert m.check_credentials(objs) == []
    for app in ("redis", "vote", "worker"):
        env = {e["name"]: e for e in container(m.workloads_by_name(objs)[app].doc)["env"]}
        assert env["REDIS_PASSWORD"] == {
            "name": "REDIS_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "redis-credentials", "key": "REDIS_PASSWORD"}},
        }


def test_no_container_has_a_plain_password(objs):
    plain = [
        f"{dep.ref} {c['name']}: {e['name']}"
        for dep in m.of_kind(objs, "Deployment")
        for c in m.containers(dep)
        for e in c.get("env") or []
        if "PASSWORD" in e["name"] and "valueFrom" not in e
    ]
    assert plain == []


def test_every_container_has_probes(objs):
    assert m.check_probes(objs) == []


def test_our_workloads_metrics_graceful_shutdown_and_rollout(objs):
    assert m.check_our_workloads(objs) == []


def test_db_and_redis_keep_data_on_a_pvc_one_pod_per_volume(objs):
    assert m.check_stateful(objs) == []


def test_images_match_the_makefile():
    objs = m.load_dir(m.MANIFEST_DIR)
    assert m.check_images(objs, m.parse_makefile()) == []


def test_kind_config_maps_the_nodeports(objs):
    with open(m.KIND_CONFIG, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    assert m.check_kind_config(cfg, objs) == []


def test_kind_config_is_outside_the_manifest_folder(manifest_dir):
    assert m.KIND_CONFIG.resolve().parent != manifest_dir.resolve()


def test_ci_workflow_runs_make_test_and_the_kind_tests():
    with open(m.CI_WORKFLOW, encoding="utf-8") as fh:
        wf = yaml.safe_load(fh)
    jobs = wf["jobs"]
    assert set(jobs) >= {"test", "kind"}

    def runs(job):
        return "\n".join(s.get("run", "") for s in jobs[job]["steps"])

    def uses(job):
        return [s.get("uses", "") for s in jobs[job]["steps"]]

    assert re.search(r"\bmake\b.*\btest\b", runs("test"))
    assert any(u.startswith("actions/setup-python") for u in uses("test"))
    # the live suite runs through the same make targets as everywhere (it calls kind-up,
    # kind-load, deploy, undeploy and kind-down itself), never skipping
    assert "make test-kind" in runs("kind")
    assert jobs["kind"]["env"]["REQUIRE_KIND"] == "1"
    # every action pinned by a full commit
    for job in jobs:
        for u in uses(job):
            if u:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u), f"{job}: {u} is not pinned by commit"
    # `on:` parses as True in YAML 1.1
    assert wf.get("on", wf.get(True))


# --------------------------------------------------------------------------
# mutation tests: break a copy, the checks must say so


@pytest.fixture
def broken(tmp_path, manifest_dir):
    """Copy the manifests to tmp_path; return a function that edits one object there."""
    dst = tmp_path / "k8s-specifications"
    shutil.copytree(manifest_dir, dst)

    def edit(kind, name, change):
        for f in dst.glob("*.yaml"):
            docs = list(yaml.safe_load_all(f.read_text()))
            hit = [d for d in docs if d and d.get("kind") == kind and d["metadata"]["name"] == name]
            if hit:
                change(hit[0])
                f.write_text(yaml.safe_dump_all(docs, sort_keys=False))
                return m.load_dir(dst)
        raise AssertionError(f"{kind}/{name} not found")

    edit.dir = dst
    return edit


def container(doc, i=0):
    return doc["spec"]["template"]["spec"]["containers"][i]


def assert_caught(problems, pattern):
    assert any(re.search(pattern, p) for p in problems), f"not caught: {pattern!r} in {problems}"


def test_mutation_broken_selector_is_caught(broken):
    objs = broken("Service", "vote", lambda d: d["spec"]["selector"].update(app="voter"))
    assert_caught(m.check_services(objs), r"Service/vote: selector \{'app': 'voter'\} matches 0")


def test_mutation_pod_label_drift_is_caught(broken):
    objs = broken("StatefulSet", "redis", lambda d: d["spec"]["template"]["metadata"]["labels"].update(app="cache"))
    problems = m.all_problems(objs)
    assert_caught(problems, r"StatefulSet/redis: pod template label app='cache'")
    assert_caught(problems, r"Service/redis: selector .* matches 0")


def test_mutation_broken_target_port_is_caught(broken):
    objs = broken("Service", "result", lambda d: d["spec"]["ports"][0].update(targetPort="web"))
    assert_caught(m.check_services(objs), r"Service/result: targetPort 'web' is no containerPort")


def test_mutation_renamed_container_port_is_caught(broken):
    objs = broken("StatefulSet", "db", lambda d: container(d)["ports"][0].update(name="pg"))
    assert_caught(m.check_services(objs), r"Service/db: targetPort 'postgres' is no containerPort")


def test_mutation_wrong_nodeport_is_caught(broken):
    objs = broken("Service", "vote", lambda d: d["spec"]["ports"][0].update(nodePort=30080))
    assert_caught(m.check_services(objs), r"nodePort 30080, expected 31000")


def test_mutation_missing_secret_key_is_caught(broken):
    def rename(d):
        d["stringData"]["PASSWORD"] = d["stringData"].pop("POSTGRES_PASSWORD")

    objs = broken("Secret", "db-credentials", rename)
    problems = m.check_env_references(objs)
    for app in ("db", "worker", "result"):
        assert_caught(problems, rf"{m.WORKLOAD_KIND[app]}/{app} .*key 'POSTGRES_PASSWORD' missing from Secret")


def test_mutation_missing_option_label_is_caught(broken):
    objs = broken("ConfigMap", "options", lambda d: d["data"].pop("OPTION_B"))
    problems = m.check_env_references(objs)
    for app in ("vote", "result"):
        assert_caught(problems, rf"{m.WORKLOAD_KIND[app]}/{app} .*key 'OPTION_B' of ConfigMap 'options'")


def test_vote_and_result_read_the_labels_from_one_config_map(objs):
    for app in ("vote", "result"):
        env = {e["name"]: e for e in container(m.workloads_by_name(objs)[app].doc)["env"]}
        for name in ("OPTION_A", "OPTION_B"):
            assert env[name]["valueFrom"]["configMapKeyRef"] == {"name": "options", "key": name}


def test_mutation_plaintext_password_is_caught(broken):
    def plain(d):
        env = container(d)["env"]
        i = next(i for i, e in enumerate(env) if e["name"] == "POSTGRES_PASSWORD")
        env[i] = {"name": "POSTGRES_PASSWORD", "value": "hunter2"}

    objs = broken("Deployment", "worker", plain)
    assert_caught(m.check_env_references(objs), r"POSTGRES_PASSWORD is a plain value")


def test_mutation_plaintext_redis_password_is_caught(broken):
    def plain(d):
        env = container(d)["env"]
        i = next(i for i, e in enumerate(env) if e["name"] == "REDIS_PASSWORD")
        env[i] = {"name": "REDIS_PASSWORD", "value": "hunter2"}

    for app in ("redis", "vote", "worker"):
        kind = m.WORKLOAD_KIND[app]
        objs = broken(kind, app, plain)
        assert_caught(m.check_env_references(objs), rf"{kind}/{app} .*REDIS_PASSWORD is a plain value")
        assert_caught(m.check_credentials(objs), rf"{kind}/{app} .*REDIS_PASSWORD must come from Secret")


def test_mutation_missing_redis_password_is_caught(broken):
    def drop(d):
        container(d)["env"] = [e for e in container(d)["env"] if e["name"] != "REDIS_PASSWORD"]

    objs = broken("Deployment", "vote", drop)
    assert_caught(m.check_credentials(objs), r"Deployment/vote vote: env REDIS_PASSWORD must come from Secret")


def test_mutation_redis_password_from_another_secret_is_caught(broken):
    def other(d):
        for e in container(d)["env"]:
            if e["name"] == "REDIS_PASSWORD":
                e["valueFrom"]["secretKeyRef"] = {"name": "db-credentials", "key": "POSTGRES_PASSWORD"}

    objs = broken("Deployment", "worker", other)
    problems = m.check_credentials(objs)
    assert_caught(problems, r"Deployment/worker .*REDIS_PASSWORD must come from Secret 'redis-credentials'")


def test_mutation_missing_redis_secret_key_is_caught(broken):
    def rename(d):
        d["stringData"]["PASSWORD"] = d["stringData"].pop("REDIS_PASSWORD")

    objs = broken("Secret", "redis-credentials", rename)
    problems = m.check_env_references(objs)
    for app in ("redis", "vote", "worker"):
        assert_caught(problems, rf"{m.WORKLOAD_KIND[app]}/{app} .*key 'REDIS_PASSWORD' missing from Secret")


def test_mutation_redis_without_requirepass_is_caught(broken):
    def open_server(d):
        args = container(d)["args"]
        i = args.index("--requirepass")
        del args[i : i + 2]

    objs = broken("StatefulSet", "redis", open_server)
    assert_caught(m.check_credentials(objs), r"StatefulSet/redis redis: redis-server needs --requirepass")


def test_mutation_wrong_env_host_is_caught(broken):
    def host(d):
        for e in container(d)["env"]:
            if e["name"] == "REDIS_HOST":
                e["value"] = "redis-master"

    objs = broken("Deployment", "vote", host)
    assert_caught(m.check_env_references(objs), r"REDIS_HOST='redis-master' names no Service")


def test_mutation_missing_probe_is_caught(broken):
    objs = broken("Deployment", "worker", lambda d: container(d).pop("readinessProbe"))
    assert_caught(m.check_probes(objs), r"Deployment/worker container worker: no readinessProbe")


def test_mutation_vote_readiness_on_redis_is_caught(broken):
    """A vote pod made unready by a Redis outage would leave the NodePort refusing connections."""
    objs = broken("Deployment", "vote", lambda d: container(d)["readinessProbe"]["httpGet"].update(path="/readyz"))
    assert_caught(m.check_probes(objs), r"readinessProbe must be an HTTP GET of /readyz\?exclude=redis")


def test_mutation_probe_on_wrong_port_is_caught(broken):
    objs = broken("Deployment", "vote", lambda d: container(d)["livenessProbe"]["httpGet"].update(port="admin"))
    assert_caught(m.check_probes(objs), r"livenessProbe port 'admin' is no containerPort")


def test_mutation_latest_tag_and_pull_policy_are_caught(broken):
    def latest(d):
        container(d)["image"] = "votingapp/vote:latest"
        container(d)["imagePullPolicy"] = "Always"

    objs = broken("Deployment", "vote", latest)
    make = {"TAG": "0.1.0", "IMAGE_PREFIX": "votingapp/", "IMAGES": ["vote", "worker", "result"]}
    problems = m.check_images(objs, make)
    assert_caught(problems, r"no explicit tag \(or 'latest'\)")
    assert_caught(problems, r"imagePullPolicy 'Always'")
    assert_caught(problems, r"Deployment vote: image 'votingapp/vote:latest', expected 'votingapp/vote:0.1.0'")


def test_images_against_a_makefile_with_another_tag(objs, tmp_path):
    mk = tmp_path / "Makefile"
    mk.write_text("IMAGES := vote worker result\nIMAGE_PREFIX ?= votingapp/\nTAG ?= 0.2.0\n")
    make = m.parse_makefile(mk)
    assert make == {"TAG": "0.2.0", "IMAGE_PREFIX": "votingapp/", "IMAGES": ["vote", "worker", "result"]}
    assert_caught(m.check_images(objs, make), r"expected 'votingapp/worker:0.2.0'")
    make["TAG"] = "0.1.0"
    make["IMAGES"] = ["vote", "worker", "result", "seed"]
    assert_caught(m.check_images(objs, make), r"!= images `make kind-load` builds and loads")


def test_mutation_db_as_deployment_or_scaled_is_caught(broken):
    def as_deployment(d):
        d["kind"] = "Deployment"
        d["spec"]["replicas"] = 2

    problems = m.check_stateful(broken("StatefulSet", "db", as_deployment))
    assert_caught(problems, r"Deployment/db: must be a StatefulSet")
    assert_caught(problems, r"Deployment/db: replicas must be 1")


def test_mutation_redis_without_claim_templates_is_caught(broken):
    objs = broken("StatefulSet", "redis", lambda d: d["spec"].pop("volumeClaimTemplates"))
    assert_caught(m.check_stateful(objs), r"StatefulSet/redis: no volumeClaimTemplates")


def test_mutation_pgdata_at_mount_root_is_caught(broken):
    def pgdata(d):
        for e in container(d)["env"]:
            if e["name"] == "PGDATA":
                e["value"] = "/var/lib/postgresql/data"

    objs = broken("StatefulSet", "db", pgdata)
    assert_caught(m.check_stateful(objs), r"PGDATA='/var/lib/postgresql/data' must be a subdirectory")


def test_mutation_vote_rollout_and_prestop_are_caught(broken):
    def unsafe(d):
        d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1
        container(d).pop("lifecycle")
        d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 10

    objs = broken("Deployment", "vote", unsafe)
    problems = m.check_our_workloads(objs)
    assert_caught(problems, r"maxUnavailable 0")
    assert_caught(problems, r"needs a preStop sleep")
    assert_caught(problems, r"terminationGracePeriodSeconds 10 <= preStop")


def test_mutation_non_yaml_file_and_namespace_order_are_caught(broken):
    (broken.dir / "README.md").write_text("# notes\n")
    (broken.dir / "00-namespace.yaml").rename(broken.dir / "namespace.yaml")
    problems = m.check_folder(broken.dir)
    assert_caught(problems, r"README.md is not a YAML file")
    assert_caught(problems, r"the first object applied is .*not the Namespace")


def test_mutation_object_outside_namespace_is_caught(broken):
    objs = broken("Service", "redis", lambda d: d["metadata"].pop("namespace"))
    assert_caught(m.check_namespace_and_labels(objs), r"Service/redis is in namespace None")


def test_mutation_kind_config_port_is_caught(objs):
    with open(m.KIND_CONFIG, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    cfg["nodes"][0]["extraPortMappings"][1]["hostPort"] = 8081
    assert_caught(m.check_kind_config(cfg, objs), r"does not map host port 31001")


def test_compose_gives_vote_and_result_the_same_option_labels():
    """The labels reach compose through .env, rendered from the chart like the ConfigMap."""
    compose = yaml.safe_load((m.ROOT / "docker-compose.yml").read_text())
    labels = compose["x-options"]
    assert labels == {"OPTION_A": "${OPTION_A}", "OPTION_B": "${OPTION_B}"}
    for service in ("vote", "result"):
        env = compose["services"][service]["environment"]
        assert {k: env[k] for k in labels} == labels, service


def test_mutation_metrics_port_behind_a_nodeport_is_caught(broken):
    port = {"name": "metrics", "port": 9090, "targetPort": "metrics", "nodePort": 31090, "protocol": "TCP"}
    objs = broken("Service", "result", lambda d: d["spec"]["ports"].append(port))
    assert_caught(m.check_metrics_not_public(objs), r"Service/result: NodePort port 9090 exposes the metrics port")

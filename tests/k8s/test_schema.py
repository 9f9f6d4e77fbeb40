"""Strict schema validation of every manifest with kubernetes-validate.

Strict mode uses the schemas with additionalProperties: false, so a misspelt
or unknown field fails, as `kubectl apply --validate=strict` would.
"""

import copy

import kubernetes_validate
import pytest
from kubernetes_validate.utils import major_minor

from tests.k8s import manifests as m

SHIPPED = {major_minor(v) for v in kubernetes_validate.utils.all_versions()}
VERSIONS = [v for v in m.KIND_NODE_VERSIONS if v in SHIPPED]


def validate(doc: dict, version: str) -> str:
    return kubernetes_validate.validate(doc, version, strict=True)


def test_covers_newest_kind_version_and_an_older_minor():
    """At least the newest Kubernetes that both kind and kubernetes-validate ship, and one older minor."""
    assert len(VERSIONS) >= 2, (
        f"kubernetes-validate {kubernetes_validate.__version__} ships {sorted(SHIPPED)}, "
        f"kind ships {m.KIND_NODE_VERSIONS}"
    )
    newest_common = max(SHIPPED & set(m.KIND_NODE_VERSIONS), key=lambda v: tuple(map(int, v.split("."))))
    assert newest_common in VERSIONS
    assert min(VERSIONS, key=lambda v: tuple(map(int, v.split(".")))) != newest_common


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_strict(objs, version):
    assert objs, "no manifests loaded"
    problems = []
    for o in objs:
        try:
            used = validate(o.doc, version)
            assert used == version, f"validated {o.ref} against {used}, not {version}"
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            path = "/".join(str(p) for p in getattr(e, "absolute_path", []) or [])
            problems.append(f"{o.ref} @ {path}: {e.message}")
    assert problems == []


def test_strict_mode_rejects_an_unknown_field(objs):
    """Mutation: a misspelt field in a container must fail validation."""
    dep = copy.deepcopy(next(o for o in objs if o.kind == "Deployment" and o.name == "vote").doc)
    dep["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {"tcpSocket": {"port": 8080}}
    with pytest.raises(kubernetes_validate.ValidationError, match="readynessProbe"):
        validate(dep, VERSIONS[-1])


def test_strict_mode_rejects_a_wrong_type(objs):
    svc = copy.deepcopy(next(o for o in objs if o.kind == "Service" and o.name == "vote").doc)
    svc["spec"]["ports"][0]["nodePort"] = "31000"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(svc, VERSIONS[0])

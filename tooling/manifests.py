"""Renders k8s-specifications/ from the Helm chart, the one hand-written source of the deployment.

``python -m tooling.manifests`` writes the files (``make manifests``); ``--check`` only compares
and exits 1 when they drifted. The render is ``helm template`` with the chart's default values
plus the two things plain ``kubectl apply -f`` needs: the Namespace object and
``managed-by: kubectl``. Each template becomes the file of the same name, its documents in the
template's order and its comments kept, so the folder reads as hand-written YAML. The same run
writes ``.env``, which docker compose reads: the app version and the Redis and Postgres images,
taken from the chart, so that each version is written once (``make bump`` changes one).
"""

from __future__ import annotations

import argparse
import functools
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tooling import ROOT

CHART = ROOT / "charts" / "voting-app"
OUT = ROOT / "k8s-specifications"
COMPOSE_ENV = ROOT / ".env"
RELEASE = "voting-app"
NAMESPACE = "vote"
KUBECTL_VALUES = ("namespace.create=true", "managedBy=kubectl")
HEADER = "# Rendered from charts/voting-app by `make manifests`: edit the chart, not this file.\n"
KUSTOMIZATION = "Kustomization"
SOURCE = re.compile(r"^# Source: [^/]+/templates/(?P<name>[^\n]+)\n", re.M)
TOP_LEVEL_KIND = re.compile(r"^kind: (\w+)", re.M)


def app_version() -> str:
    """The app version's one home: the chart's appVersion (the images' tag)."""
    for line in (CHART / "Chart.yaml").read_text().splitlines():
        if line.startswith("appVersion:"):
            return line.partition(":")[2].strip().strip('"')
    raise KeyError("appVersion")


def values() -> dict:
    """The chart's default values."""
    return yaml.safe_load((CHART / "values.yaml").read_text())


def image(service: str, chart_values: dict | None = None) -> str:
    """The image the chart runs for ``redis`` or ``db`` (repository:tag in values.yaml)."""
    spec = (chart_values or values())[service]["image"]
    return f"{spec['repository']}:{spec['tag']}"


def compose_env() -> str:
    """``.env`` for docker compose: what it runs and shows, from the chart (the environment overrides it)."""
    chart_values = values()
    options = "".join(f"OPTION_{option.upper()}={label}\n" for option, label in chart_values["options"].items())
    return (
        HEADER
        + "# docker compose reads it; a variable set in the environment wins (e.g. a local stand-in image).\n"
        + f"TAG={app_version()}\nREDIS_IMAGE={image('redis', chart_values)}\n"
        + f"POSTGRES_IMAGE={image('db', chart_values)}\n"
        + options
    )


def tool_version(name: str) -> str:
    """A version from tooling/go-tools.env, the one home of the Go tools' versions."""
    for line in (ROOT / "tooling" / "go-tools.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key == f"{name.upper()}_VERSION":
            return value
    raise KeyError(name)


@functools.cache
def helm() -> str:
    """The helm binary, compiled once from its Go module (tooling/go-tool)."""
    spec = f"helm.sh/helm/v4/cmd/helm@{tool_version('helm')}"
    return subprocess.run(
        [str(ROOT / "tooling" / "go-tool"), spec], capture_output=True, text=True, check=True
    ).stdout.strip()


def template(*values: str, values_files: tuple[Path, ...] = (), skip_tests: bool = False) -> str:
    """``helm template`` of the chart into namespace vote, with ``--set`` ``values`` and files."""
    cmd = [helm(), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    if skip_tests:
        cmd.append("--skip-tests")  # the `helm test` hooks are Helm's alone
    for f in values_files:
        cmd += ["--values", str(f)]
    for v in values:
        cmd += ["--set", v]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def split(rendered: str) -> dict[str, str]:
    """The rendered documents grouped into one file per template, in the template's order."""
    docs: dict[str, list[str]] = {}
    for doc in rendered.split("\n---\n"):
        match = SOURCE.search(doc)
        if not match:
            continue
        body = "\n".join(line.rstrip() for line in doc[match.end() :].splitlines() if line.strip() or not line)
        docs.setdefault(match["name"], []).append(body.strip("\n") + "\n")
    files = {}
    for name, bodies in docs.items():
        order = TOP_LEVEL_KIND.findall((CHART / "templates" / name).read_text())
        bodies.sort(key=lambda body: order.index(TOP_LEVEL_KIND.findall(body)[0]))  # stable
        files[name] = HEADER + "---\n".join(bodies)
    files[KUSTOMIZATION] = kustomization(sorted(files))
    return files


def kustomization(resources: list[str]) -> str:
    """`kubectl apply -k` applies what `kubectl apply -f` applies (which skips this file)."""
    lines = [
        HEADER.rstrip("\n"),
        "# `kubectl apply -k k8s-specifications` applies the same objects as `kubectl apply -f`",
        "# (which ignores this file: it has no .yaml suffix); an overlay can build on it.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        *(f"  - {name}" for name in resources),
    ]
    return "\n".join(lines) + "\n"


def render() -> dict[str, str]:
    return split(template(*KUBECTL_VALUES, skip_tests=True))


def drift(files: dict[str, str], out: Path = OUT) -> list[str]:
    """What differs between ``files`` and the folder: changed, missing and stray files."""
    on_disk = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
    return [name for name in sorted(set(files) | set(on_disk)) if files.get(name) != on_disk.get(name)]


def env_drifted(wanted: str | None = None) -> bool:
    wanted = compose_env() if wanted is None else wanted
    return not COMPOSE_ENV.exists() or COMPOSE_ENV.read_text() != wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    files = render()
    changed = drift(files)
    env = compose_env()
    env_changed = env_drifted(env)
    if args.check:
        if changed:
            print(f"k8s-specifications/ differs from the chart in: {', '.join(changed)}; run `make manifests`")
        if env_changed:
            print(".env differs from the chart; run `make manifests`")
        return 1 if changed or env_changed else 0
    if env_changed:
        COMPOSE_ENV.write_text(env)
        print(f"wrote {COMPOSE_ENV.relative_to(ROOT)}")
    for name in changed:
        path = OUT / name
        if name in files:
            path.write_text(files[name])
        else:
            path.unlink()
        print(f"wrote {path.relative_to(ROOT)}" if name in files else f"removed {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

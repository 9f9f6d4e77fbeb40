"""`make bump` rewrites the one line that holds a version and nothing else in its file."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tooling import bump


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Copies of the files that hold the versions, which bump edits instead of the real ones."""
    for name in ("CHART_YAML", "VALUES", "GO_TOOLS"):
        copy = tmp_path / getattr(bump, name).name
        shutil.copy(getattr(bump, name), copy)
        monkeypatch.setattr(bump, name, copy)
    for dockerfile in bump.ROOT.glob("*/Dockerfile"):
        (tmp_path / dockerfile.parent.name).mkdir()
        shutil.copy(dockerfile, tmp_path / dockerfile.parent.name / "Dockerfile")
    monkeypatch.setattr(bump, "ROOT", tmp_path)
    return bump


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    assert len(before.splitlines()) == len(after.splitlines())
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]


@pytest.mark.parametrize(("what", "block", "other"), [("redis", "redis", "db"), ("postgres", "db", "redis")])
def test_an_image_tag_changes_in_its_block_only(homes, what, block, other):
    before = homes.VALUES.read_text()
    homes.bump(what, "16")
    values = yaml.safe_load(homes.VALUES.read_text())
    assert values[block]["image"]["tag"] == "16"  # quoted: a string, never the number 16
    assert values[other]["image"]["tag"] == yaml.safe_load(before)[other]["image"]["tag"]
    assert len(changed_lines(before, homes.VALUES.read_text())) == 1


def test_the_app_version_is_the_chart_version_and_app_version(homes):
    before = homes.CHART_YAML.read_text()
    homes.bump("app", "0.9.0")
    chart = yaml.safe_load(homes.CHART_YAML.read_text())
    assert (chart["version"], chart["appVersion"]) == ("0.9.0", "0.9.0")
    assert len(changed_lines(before, homes.CHART_YAML.read_text())) == 2


def test_a_go_tool_changes_its_line(homes):
    before = homes.GO_TOOLS.read_text()
    homes.bump("metrics-server", "v9.9.9")
    assert changed_lines(before, homes.GO_TOOLS.read_text())[0][1] == "METRICS_SERVER_VERSION=v9.9.9"


def test_the_python_base_changes_in_every_dockerfile(homes):
    dockerfiles = sorted(homes.ROOT.glob("*/Dockerfile"))
    before = [p.read_text() for p in dockerfiles]
    homes.bump("python", "python:3.12-slim")
    assert {p.parent.name for p in dockerfiles} >= {"vote", "worker", "result"}
    for path, old in zip(dockerfiles, before, strict=True):
        assert changed_lines(old, path.read_text())[0][1] == "ARG PYTHON_IMAGE=python:3.12-slim"
        assert len(changed_lines(old, path.read_text())) == 1


def test_an_unknown_name_is_refused_and_nothing_changes(homes):
    before = [p.read_text() for p in (homes.CHART_YAML, homes.VALUES, homes.GO_TOOLS)]
    with pytest.raises(ValueError, match="unknown: mongodb"):
        homes.bump("mongodb", "7")
    assert [p.read_text() for p in (homes.CHART_YAML, homes.VALUES, homes.GO_TOOLS)] == before

"""Exact versions live in one place, constraints.txt; the requirements files only name packages."""

import re

from tooling import ROOT

REQUIREMENTS = ["requirements-dev.txt", *(f"{d}/requirements.txt" for d in ("vote", "worker", "result", "loadgen"))]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def names(path: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / path).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r")]


def test_requirements_name_packages_without_versions():
    for path in REQUIREMENTS:
        for requirement in names(path):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?", requirement), f"{path}: {requirement!r} pins"


def test_every_required_package_has_one_exact_pin_in_constraints():
    pins: dict[str, str] = {}
    for line in names("constraints.txt"):
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt: {line!r} is not an exact pin"
        assert canonical(name) not in pins, f"constraints.txt pins {name} twice"
        pins[canonical(name)] = version
    for path in REQUIREMENTS:
        for requirement in names(path):
            name = canonical(requirement.split("[", 1)[0])
            assert name in pins, f"{path}: {requirement} has no pin in constraints.txt"

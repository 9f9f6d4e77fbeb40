"""The README's settings table, produced from the services' settings classes (their one home).

``python -m tooling.settings_table`` rewrites the table between the README's markers (``make
readme``); ``--check`` only compares and exits 1 when the README drifted. Each row is one
environment variable: its default (where an image's ``ENV`` or a service's own class sets another,
that one is named beside it), the services that read it, and the field's description.
"""

from __future__ import annotations

import argparse
import re
import sys

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from tooling import ROOT

README = ROOT / "README.md"
BEGIN = "<!-- settings: `make readme` writes this table from the settings classes -->"
END = "<!-- end of settings -->"
IMAGE_ENV = re.compile(r"^ENV\s+(.*)$", re.M)


def services() -> dict[str, tuple[type[BaseSettings], ...]]:
    """The settings each service reads, in the order the table names them."""
    from result_app.settings import ResultSettings
    from vote_app.settings import VoteSettings
    from voting_common.settings import GunicornSettings
    from worker_app.settings import WorkerSettings

    return {
        "vote": (VoteSettings, GunicornSettings),
        "worker": (WorkerSettings,),
        "result": (ResultSettings, GunicornSettings),
    }


def shown(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return f"`{getattr(field.default_factory, '__name__', 'computed')}()`"
    value = field.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "none"
    if value == "":
        return "*(empty)*"
    if isinstance(value, bool):
        return f"`{int(value)}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def image_env(service: str) -> dict[str, str]:
    """What the service's image sets with ``ENV`` (``NAME=value`` pairs)."""
    text = (ROOT / service / "Dockerfile").read_text()
    pairs = (token.partition("=") for line in IMAGE_ENV.findall(text) for token in line.split())
    return {name.lower(): value for name, _, value in pairs}


def rows() -> list[tuple[str, str, str, str]]:
    """(variable, default, used by, meaning) for every setting of every service."""
    from voting_common import settings as shared

    shared_classes = [c for c in vars(shared).values() if isinstance(c, type) and issubclass(c, BaseSettings)]
    defaults: dict[str, dict[str, str]] = {}
    meanings: dict[str, str] = {}
    for service, classes in services().items():
        baked = image_env(service)
        for cls in classes:
            for name, field in cls.model_fields.items():
                default = f"`{baked[name]}`" if name in baked else shown(field)
                defaults.setdefault(name, {})[service] = default
                if field.description and name not in meanings:
                    meanings[name] = " ".join(field.description.split())
    table = []
    for name, per_service in defaults.items():
        if name not in meanings:
            raise ValueError(f"setting {name} has no description: give its Field one")
        common = next((shown(c.model_fields[name]) for c in shared_classes if name in c.model_fields), None)
        usual = common if common is not None and common in per_service.values() else next(iter(per_service.values()))
        others = ", ".join(f"{s}: {d}" for s, d in per_service.items() if d != usual)
        default = f"{usual} ({others})" if others else usual
        table.append((f"`{name.upper()}`", default, ", ".join(per_service), meanings[name]))
    return table


def render() -> str:
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows()]
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    head, begin, rest = readme.partition(BEGIN + "\n")
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    return head + begin + render() + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when the README drifted")
    args = parser.parse_args(argv)
    current = README.read_text()
    wanted = with_table(current)
    if args.check:
        if wanted != current:
            print("README.md's settings table differs from the settings classes: run `make readme`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())

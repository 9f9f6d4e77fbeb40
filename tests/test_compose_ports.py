"""The host ports `make up` publishes are free on a default desktop, macOS included."""

import re
from pathlib import Path

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
# macOS 12 and later listen on 5000 and 7000 (AirPlay Receiver) out of the box.
TAKEN_ON_MACOS = {5000, 7000}
DEFAULT_HOST_PORT = re.compile(r"^\$\{[A-Z_]+:-(\d+)\}:\d+$")


def default_host_ports() -> dict[str, int]:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    ports = {}
    for name, service in services.items():
        for spec in service.get("ports", []):
            match = DEFAULT_HOST_PORT.match(spec)
            assert match, f"{name}: host port {spec!r} has no overridable default"
            ports[name] = int(match.group(1))
    return ports


def test_only_the_two_pages_are_published():
    assert set(default_host_ports()) == {"vote", "result"}


def test_default_host_ports_are_free_on_a_mac_and_unprivileged():
    ports = default_host_ports()
    assert len(set(ports.values())) == len(ports)
    for name, port in ports.items():
        assert port not in TAKEN_ON_MACOS, f"{name}: host port {port} is the AirPlay Receiver's on macOS"
        assert 1024 <= port < 32768, f"{name}: host port {port} is privileged or ephemeral"

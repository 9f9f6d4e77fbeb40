"""Entry point: ``python -m worker_app``.

The signal handlers are installed first, before the imports and connections that make up
start-up, so a SIGTERM at any moment after this line ends the worker with exit 0.
"""

from worker_app.shutdown import StopRequest

STOP = StopRequest().install()

from voting_common import logs  # noqa: E402 (after the signal handlers, on purpose)

from .health import HealthState, serve  # noqa: E402
from .loop import Worker, log  # noqa: E402
from .settings import WorkerSettings  # noqa: E402


def main() -> None:
    settings = WorkerSettings()
    logs.configure(settings.log_level)
    health = HealthState()
    server = serve(health, settings.health_port, settings.health_client_timeout_s, settings.health_max_connections)
    logs.event(log, "health server listening", port=server.server_address[1])
    try:
        Worker(settings, health, STOP).run()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()

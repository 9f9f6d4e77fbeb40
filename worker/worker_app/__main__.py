"""Entry point: ``python -m worker_app``."""

from voting_common import logs

from .health import HealthState, serve
from .loop import Worker
from .settings import WorkerSettings


def main() -> None:
    settings = WorkerSettings()
    logs.configure(settings.log_level)
    health = HealthState()
    server = serve(health, settings.health_port)
    worker = Worker(settings, health)
    worker.install_signal_handlers()
    try:
        worker.run()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()

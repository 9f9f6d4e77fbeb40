"""The worker's Prometheus metrics, served on its health port."""

from prometheus_client import Counter, Gauge, Histogram

BATCHES = Counter("worker_batches_total", "Batches committed to Postgres")
VOTES_APPLIED = Counter("worker_votes_applied_total", "Votes written in committed batches (incl. no-op repeats)")
DEAD_LETTERS = Counter("worker_dead_letters_total", "Messages moved to the dead-letter stream", ["reason"])
BATCH_SECONDS = Histogram(
    "worker_batch_seconds",
    "Time to apply one batch (Postgres commit plus Redis ack)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ERRORS = Counter("worker_errors_total", "Failures talking to a dependency", ["dependency"])
DEPENDENCY_UP = Gauge("worker_dependency_up", "1 while the dependency answers, else 0", ["dependency"])
BACKLOG = Gauge("worker_queue_backlog", "Votes in the stream not yet delivered to any worker")
PENDING = Gauge("worker_queue_pending", "Votes delivered to a worker but not yet acknowledged")
RECLAIMED = Counter("worker_votes_reclaimed_total", "Votes taken over from a worker that stopped answering")
WAITING = Gauge("worker_votes_waiting", "Votes in Redis not yet counted (backlog plus pending), at the last look")
SECONDS_BEHIND = Gauge(
    "worker_counting_behind_seconds",
    "Seconds since counting was last current (0 while nothing waits or batches keep committing)",
)

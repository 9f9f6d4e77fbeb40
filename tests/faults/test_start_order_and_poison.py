"""Services started in the wrong order converge by themselves; a poison message is dead-lettered."""

import re
import time

import pytest
import requests

from loadgen.voters import voter_id
from tests.faults.harness import fault_at, inspect, measure, plan
from tooling import metrics
from tooling.waiting import eventually
from voting_common.contract import DEAD_LETTER_STREAM, STREAM, VOTE_FIELD, VOTER_FIELD

pytestmark = pytest.mark.faults


def test_worker_and_result_started_before_redis_and_postgres_converge_by_themselves(stack):
    def health() -> dict[str, str]:
        lines = stack.compose("ps", "-a", "--format", "{{.Service}} {{.State}} {{.Health}}").stdout.splitlines()
        return dict(line.split(" ", 1) for line in lines if line.strip())

    stack.compose("down", "-v", "--remove-orphans", "-t", "10")
    # Worker and result first, with nothing to talk to: they must wait and retry, not exit.
    stack.compose("up", "-d", "--no-build", "--no-deps", "worker", "result")
    eventually(
        lambda: (r := stack.results())[0] == 503 and "database unavailable" in str(r[1].get("error")),
        60,
        "result answering 503 without its database",
        ignore=(requests.RequestException, ValueError),
    )
    # One log line per outage, and a counted error per attempt.
    eventually(
        lambda: metrics.total(stack.worker_metrics(), "worker_errors_total") >= 3,
        60,
        "three rounds of the worker's retries with backoff",
        0.5,
    )
    assert stack.service_logs("worker").count("dependency not answering") == 1
    states = health()
    assert states["worker"].startswith("running") and states["result"].startswith("running"), states
    # Then the databases (and vote, which needs Redis). Nobody restarts worker or result.
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build", "--wait", "redis", "db")
    stack.compose("up", "-d", "--no-build", "--no-deps", "vote")
    eventually(lambda: all(h == "running healthy" for h in health().values()), 120, "every service healthy", 0.5)
    healthy_after = time.monotonic() - started
    [worker] = stack.container_ids("worker")
    assert inspect(worker, "{{.RestartCount}}") == "0"

    _, outcome, _ = measure(
        stack,
        "wrong start order",
        "worker and result started before Redis and Postgres (which came up later); no restart by hand",
        plan(600, 0xFA030001),
        lambda stream: None,
        notes=f"every service healthy {healthy_after:.1f} s after Redis and Postgres were started",
        recovery=False,  # the stream starts once everything is up: nothing to recover from
    )
    assert not outcome.errors


GOOD = voter_id(0xFA030002, 99_999)  # a well-formed voter no plan uses
POISON = {
    # reason code: (fields, the last field's value as printf bytes or None, the reason recorded)
    "bad_voter_id": (
        (VOTER_FIELD, "not-a-voter", VOTE_FIELD, "a"),
        None,
        "voter id must be 32 lowercase hex characters",
    ),
    "bad_option": ((VOTER_FIELD, GOOD, VOTE_FIELD, "c"), None, "unknown option 'c'"),
    "unexpected_fields": ((VOTER_FIELD, GOOD, VOTE_FIELD, "a", "admin", "1"), None, "unexpected fields: admin"),
    "missing_field": ((VOTE_FIELD, "a"), None, f"missing field {VOTER_FIELD!r} or {VOTE_FIELD!r}"),
    "not_utf8": ((VOTER_FIELD, GOOD, VOTE_FIELD), "\\377\\376", "field is not UTF-8"),  # bytes 0xff 0xfe
}


def test_poison_messages_are_dead_lettered_with_their_reason_and_the_worker_keeps_going(stack):
    [worker] = stack.container_ids("worker")
    started_at = inspect(worker, "{{.State.StartedAt}}")
    dead_before = int(stack.redis_cli("XLEN", DEAD_LETTER_STREAM) or 0)
    metrics_before = metrics.by_label(stack.worker_metrics(), "worker_dead_letters_total", "reason")
    injected: dict[str, str] = {}

    def inject_poison() -> None:  # nothing is down: recovery is timed from here, until the poison is behind
        for code, (fields, raw, _) in POISON.items():
            injected[code] = stack.redis_cli("XADD", STREAM, "*", *fields, stdin=raw)

    _, outcome, _ = measure(
        stack,
        "poison messages",
        "5 malformed entries XADDed straight into the stream mid-stream (bad id, option, fields, not UTF-8)",
        plan(600, 0xFA030002),
        fault_at(0.4, inject_poison),
        notes="all 5 dead-lettered with their reason; worker not restarted",
    )
    assert not outcome.errors
    # Every poison entry is in the dead-letter stream, with its reason and its original fields.
    # XRANGE as redis-cli prints it: an entry's id, then its field and value lines.
    dead: list[dict[str, str]] = []
    field = None
    for line in stack.redis_cli("XRANGE", DEAD_LETTER_STREAM, "-", "+").splitlines():
        if field is not None:
            dead[-1][field], field = line, None
        elif re.fullmatch(r"\d+-\d+", line):
            dead.append({"id": line})
        else:
            field = line
    assert len(dead) == dead_before + len(POISON)
    by_source = {d["source_id"]: d for d in dead}
    for code, entry_id in injected.items():
        assert by_source[entry_id]["reason"] == POISON[code][2], (code, by_source[entry_id])
    assert by_source[injected["bad_option"]][f"field:{VOTE_FIELD}"] == "c"
    # ... visible in the worker's log and metrics, and the worker never stopped.
    log = stack.service_logs("worker")
    for entry_id in injected.values():
        assert f'msg="message dead-lettered" id={entry_id} reason=' in log
    metrics_after = metrics.by_label(stack.worker_metrics(), "worker_dead_letters_total", "reason")
    for code in POISON:
        assert metrics_after.get(code, 0) - metrics_before.get(code, 0) == 1, (code, metrics_after)
    assert inspect(worker, "{{.State.StartedAt}}") == started_at
    assert inspect(worker, "{{.RestartCount}}") == "0"

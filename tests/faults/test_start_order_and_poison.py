"""Services started in the wrong order converge by themselves; a poison message is dead-lettered."""

import time

import pytest
import requests

from loadgen.voters import VotePlan, voter_id
from tests.faults.harness import VoteTraffic, measure
from tests.support.engine import docker
from tooling import metrics
from tooling.waiting import eventually
from voting_common.contract import DEAD_LETTER_STREAM, STREAM, VOTE_FIELD, VOTER_FIELD

pytestmark = pytest.mark.faults


def health(stack) -> dict[str, str]:
    lines = stack.compose("ps", "-a", "--format", "{{.Service}} {{.State}} {{.Health}}").stdout.splitlines()
    return {service: rest for service, rest in (line.split(" ", 1) for line in lines if line.strip())}


def test_worker_and_result_started_before_redis_and_postgres_converge_by_themselves(stack):
    stack.compose("down", "-v", "--remove-orphans", "-t", "10")
    # Worker and result first, with nothing to talk to: they must wait and retry, not exit.
    stack.compose("up", "-d", "--no-build", "--no-deps", "worker", "result")
    eventually(lambda: "database unavailable" in _results_error(stack), 60, "result answering 503 without its database")
    # One log line per outage, and a counted error per attempt.
    eventually(
        lambda: metrics.total(stack.worker_metrics(), "worker_errors_total") >= 3,
        60,
        "three rounds of the worker's retries with backoff",
        0.5,
    )
    assert stack.service_logs("worker").count("dependency not answering") == 1
    states = health(stack)
    assert states["worker"].startswith("running") and states["result"].startswith("running"), states
    # Then the databases (and vote, which needs Redis). Nobody restarts worker or result.
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build", "--wait", "redis", "db")
    stack.compose("up", "-d", "--no-build", "--no-deps", "vote")
    eventually(lambda: all(h == "running healthy" for h in health(stack).values()), 120, "every service healthy", 0.5)
    healthy_after = time.monotonic() - started
    assert docker("inspect", "-f", "{{.RestartCount}}", *stack.container_ids("worker")).split() == ["0"]

    result, outcome, _ = measure(
        stack,
        "wrong start order",
        "worker and result started before Redis and Postgres (which came up later); no restart by hand",
        VotePlan(voters=600, share_a=0.5, change_share=0.3, seed=0xFA030001),
        lambda stream: None,
        notes=f"every service healthy {healthy_after:.1f} s after Redis and Postgres were started",
    )
    result.check(recovery=False)  # the stream starts once everything is up: nothing to recover from
    assert not outcome.errors


def _results_error(stack) -> str:
    try:
        response = requests.get(f"{stack.result_url}/api/results", timeout=3)
    except requests.RequestException:
        return ""
    return response.text if response.status_code == 503 else ""


def test_poison_messages_are_dead_lettered_with_their_reason_and_the_worker_keeps_going(stack):
    [worker] = stack.container_ids("worker")
    started_at = docker("inspect", "-f", "{{.State.StartedAt}}", worker)
    dead_before = int(stack.redis_cli("XLEN", DEAD_LETTER_STREAM) or 0)
    metrics_before = metrics.by_label(stack.worker_metrics(), "worker_dead_letters_total", "reason")
    good = voter_id(0xFA030002, 99_999)  # a well-formed voter no plan uses
    poison = {
        "bad_voter_id": ((VOTER_FIELD, "not-a-voter", VOTE_FIELD, "a"), None),
        "bad_option": ((VOTER_FIELD, good, VOTE_FIELD, "c"), None),
        "unexpected_fields": ((VOTER_FIELD, good, VOTE_FIELD, "a", "admin", "1"), None),
        "missing_field": ((VOTE_FIELD, "a"), None),
        "not_utf8": ((VOTER_FIELD, good, VOTE_FIELD), "\\377\\376"),  # the last field's value: bytes 0xff 0xfe
    }
    injected: dict[str, str] = {}

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.4)
        assert stream.running
        for reason, (fields, raw) in poison.items():
            injected[reason] = stack.redis_cli("XADD", STREAM, "*", *fields, stdin=raw)
        stream.recovered()  # nothing is down: timed from the injection, until the poison is behind

    result, outcome, _ = measure(
        stack,
        "poison messages",
        "5 malformed entries XADDed straight into the stream mid-stream (bad id, option, fields, not UTF-8)",
        VotePlan(voters=600, share_a=0.5, change_share=0.3, seed=0xFA030002),
        inject,
        notes="all 5 dead-lettered with their reason; worker not restarted",
    )
    result.check()
    assert not outcome.errors
    # Every poison entry is in the dead-letter stream, with its reason and its original fields.
    dead = _dead_letters(stack.redis_cli("XRANGE", DEAD_LETTER_STREAM, "-", "+"))
    assert len(dead) == dead_before + len(poison)
    by_source = {d["source_id"]: d for d in dead}
    reasons = {
        "bad_voter_id": "voter id must be 32 lowercase hex characters",
        "bad_option": "unknown option 'c'",
        "unexpected_fields": "unexpected fields: admin",
        "missing_field": f"missing field {VOTER_FIELD!r} or {VOTE_FIELD!r}",
        "not_utf8": "field is not UTF-8",
    }
    for code, entry_id in injected.items():
        assert by_source[entry_id]["reason"] == reasons[code], (code, by_source[entry_id])
    assert by_source[injected["bad_option"]][f"field:{VOTE_FIELD}"] == "c"
    # ... visible in the worker's log and metrics, and the worker never stopped.
    log = stack.service_logs("worker")
    for entry_id in injected.values():
        assert f'msg="message dead-lettered" id={entry_id} reason=' in log
    metrics_after = metrics.by_label(stack.worker_metrics(), "worker_dead_letters_total", "reason")
    for code in poison:
        assert metrics_after.get(code, 0) - metrics_before.get(code, 0) == 1, (code, metrics_after)
    assert docker("inspect", "-f", "{{.State.StartedAt}}", worker) == started_at
    assert docker("inspect", "-f", "{{.RestartCount}}", worker).strip() == "0"


def _dead_letters(xrange_output: str) -> list[dict[str, str]]:
    """redis-cli's XRANGE output (id, then field and value lines) as one dict per entry."""
    entries: list[dict[str, str]] = []
    lines = xrange_output.splitlines()
    i = 0
    while i < len(lines):
        entry = {"id": lines[i]}
        i += 1
        while i + 1 < len(lines) and not _looks_like_id(lines[i]):
            entry[lines[i]] = lines[i + 1]
            i += 2
        entries.append(entry)
    return entries


def _looks_like_id(line: str) -> bool:
    ms, _, seq = line.partition("-")
    return ms.isdigit() and seq.isdigit()

"""Counting that stalls while votes are still acknowledged: the worker stopped, the worker cut off the
network (result still reads), and the worker's Postgres session killed with its reconnections refused
(the database stays up). Each time /api/results says counting_stalled within the bound and keeps
saying it (never ok) until the worker counts again, then goes live by itself with exact totals.
And an idle stack is never said to have stalled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from loadgen.voters import Outcome
from tests.faults.harness import FaultStack, VoteTraffic, fault_at, inspect, measure, plan
from tooling.waiting import eventually

from .conftest import COUNTING_HEARTBEAT_S, COUNTING_STALL_AFTER_S

pytestmark = pytest.mark.faults

# From the last batch committed before the fault until counting_stalled is shown: the threshold, plus
# the result service's next read and judgement (0.25 s each), plus room for a busy machine.
STALL_SHOWN_WITHIN_S = COUNTING_STALL_AFTER_S + 3
VOTES_WHILE_STALLED = 100  # acknowledged after the stall was shown, before the repair
IDLE_WINDOW_S = 60


def stalled_scenario(
    stack: FaultStack, scenario: str, fault: str, then: str, seed: int, break_it: Callable, repair: Callable
) -> tuple[Outcome, dict]:
    """Break counting at 25% of the stream; counting_stalled must show within the bound (timed from
    the fault) and be every answer while more votes are acknowledged; then repair, timed as the
    recovery. Returns the stream's outcome and what the API said once counting had stalled."""
    shown: dict = {}

    def break_and_time() -> None:
        shown["broken_at"] = time.monotonic()
        break_it()

    def while_stalled(stream: VoteTraffic) -> None:
        status, body = eventually(
            lambda: (r := stack.results())[1].get("state") == "counting_stalled" and r,
            STALL_SHOWN_WITHIN_S,
            "results saying counting stalled",
            0.1,
        )
        shown["seconds"] = stream.stalled_shown = time.monotonic() - shown["broken_at"]
        shown["body"] = body
        assert status == 503 and body["stalled_since"] and body["options"] is not None
        acked = stream.acked
        while stream.acked < acked + VOTES_WHILE_STALLED and stream.running:
            status, body = stack.results()
            assert (status, body["state"]) == (503, "counting_stalled"), f"said {body} while stalled"
            time.sleep(0.1)
        assert stream.acked >= acked + VOTES_WHILE_STALLED, "the stream ended while counting stalled"

    def notes() -> str:
        body = shown.get("body", {})
        waiting = "unknown (no worker reporting)" if body.get("waiting") is None else body["waiting"]
        return f"counting_stalled (503) since {body.get('stalled_since', '?')[11:19]}, votes waiting: {waiting}"

    _, outcome, _ = measure(
        stack,
        scenario,
        f"{fault} until the results said counting stalled and {VOTES_WHILE_STALLED} more votes were "
        f"acknowledged, then {then}",
        plan(900, seed),
        fault_at(0.25, break_and_time, repair, while_stalled),
        rate=60,
        notes=notes,
    )
    assert shown["seconds"] <= STALL_SHOWN_WITHIN_S
    return outcome, shown["body"]


def test_the_worker_stopped_under_voting_is_shown_as_counting_stalled_then_live_with_exact_totals(stack):
    outcome, body = stalled_scenario(
        stack,
        "worker stopped",
        "the worker stopped gracefully under voting",
        "started",
        0xFA050001,
        lambda: stack.compose("stop", "-t", "10", "worker"),
        lambda: stack.compose("start", "worker"),
    )
    assert body["waiting"] is None  # nobody reports: how many wait is not known
    assert not outcome.errors, "voting must not notice the worker"


def test_the_worker_cut_off_from_postgres_is_shown_as_counting_stalled_while_result_still_reads(stack):
    [worker] = stack.container_ids("worker")
    outcome, _ = stalled_scenario(
        stack,
        "worker cut off, result reads",
        "the worker's network disconnected (no reset; result still reads)",
        "reconnected",
        0xFA050002,
        *stack.cut_off(worker),
    )
    assert not outcome.errors, "voting must not notice the worker's network"


def test_the_worker_postgres_session_killed_is_shown_as_counting_stalled_then_live_with_exact_totals(stack):
    """pg_terminate_backend on the worker's session, and its reconnections refused (a pg_hba.conf
    rule for its address alone): the database stays up and the result service keeps reading."""
    [worker] = stack.container_ids("worker")
    address = inspect(worker, f'{{{{(index .NetworkSettings.Networks "{stack.network}").IPAddress}}}}')
    assert address, "the worker has no address"
    rule = f"host all all {address}/32 reject"

    def hba(sed: str) -> None:
        stack.compose("exec", "-T", "db", "sh", "-c", f'sed -i {sed} "$PGDATA/pg_hba.conf"', timeout=30)
        stack.psql("SELECT pg_reload_conf()")

    def kill_and_refuse() -> None:
        hba(f"'1i {rule}'")
        killed = stack.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'worker/%'"
        )
        assert killed == "1", f"killed {killed} worker sessions"

    outcome, _ = stalled_scenario(
        stack,
        "worker session killed",
        "the worker's Postgres session killed (pg_terminate_backend) and its reconnections refused",
        "allowed",
        0xFA050003,
        kill_and_refuse,
        lambda: hba(f"'\\|^{rule}$|d'"),
    )
    assert f'pg_hba.conf rejects connection for host "{address}"' in stack.service_logs("db")
    assert not outcome.errors, "voting must not depend on Postgres"


def test_an_idle_stack_is_never_said_to_have_stalled(stack):
    """No votes for a minute: every answer is ok. With the stall threshold at 3 s and the worker
    reporting every 0.5 s, a minute is twenty thresholds — what "minutes" at the default 10 s would
    test, in a fraction of the time."""
    assert IDLE_WINDOW_S >= 20 * COUNTING_STALL_AFTER_S and COUNTING_STALL_AFTER_S >= 6 * COUNTING_HEARTBEAT_S
    eventually(lambda: stack.results()[1]["state"] == "ok", 60, "results ok", 0.2)
    assert stack.stream_depth() == (0, 0)
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + IDLE_WINDOW_S
    while time.monotonic() < deadline:
        status, body = stack.results()
        seen[f"{status} {body['state']}"] += 1
        time.sleep(0.2)
    assert list(seen) == ["200 ok"], seen

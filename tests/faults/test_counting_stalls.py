"""Counting that stalls while votes are still acknowledged: the worker stopped, the worker cut off the
network (result still reads), and the worker's Postgres session killed with its reconnections refused
(the database stays up). Each time /api/results says counting_stalled within the bound and keeps
saying it (never ok) until the worker counts again, then goes live by itself with exact totals.
And an idle stack is never said to have stalled."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from loadgen.voters import Outcome, VotePlan
from tests.faults.harness import FaultStack, VoteTraffic, measure
from tests.support.engine import docker
from tooling.waiting import eventually

from .conftest import COUNTING_HEARTBEAT_S, COUNTING_STALL_AFTER_S

pytestmark = pytest.mark.faults

# From the last batch committed before the fault until counting_stalled is shown: the threshold, plus
# the result service's next read and judgement (0.25 s each), plus room for a busy machine.
STALL_SHOWN_WITHIN_S = COUNTING_STALL_AFTER_S + 3
VOTES_WHILE_STALLED = 100  # acknowledged after the stall was shown, before the repair


def state(stack: FaultStack) -> tuple[int, dict]:
    response = requests.get(stack.result_url + "/api/results", timeout=5)
    return response.status_code, response.json()


def stalled_under_voting(stack: FaultStack, shown: dict, break_it: Callable[[], None], repair: Callable[[], None]):
    """An ``inject``: break counting at 25% of the stream; wait until the API says counting_stalled
    (timed from the fault into ``shown``); while more votes are acknowledged every answer must say so;
    then repair, timed as the recovery."""

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(0.25)
        assert stream.running, "the stream ended before the fault"
        broken_at = time.monotonic()
        break_it()
        try:
            status, body = eventually(
                lambda: (r := state(stack))[1].get("state") == "counting_stalled" and r,
                STALL_SHOWN_WITHIN_S,
                "results saying counting stalled",
                0.1,
            )
            shown["seconds"] = stream.stalled_shown = time.monotonic() - broken_at
            shown["body"] = body
            assert status == 503 and body["stalled_since"] and body["options"] is not None
            acked = stream.acked
            while stream.acked < acked + VOTES_WHILE_STALLED and stream.running:
                status, body = state(stack)
                assert (status, body["state"]) == (503, "counting_stalled"), f"said {body} while stalled"
                time.sleep(0.1)
            assert stream.acked >= acked + VOTES_WHILE_STALLED, "the stream ended while counting stalled"
        finally:
            repair()
        stream.recovered()

    return inject


def stalled_scenario(
    stack: FaultStack,
    scenario: str,
    fault: str,
    then: str,
    seed: int,
    break_it: Callable[[], None],
    repair: Callable[[], None],
) -> tuple[Outcome, dict]:
    """Measure one scenario (checked: exact totals, the stall shown in time); returns the vote stream's
    outcome and what the API said once counting had stalled."""
    shown: dict = {}

    def notes() -> str:
        body = shown.get("body", {})
        waiting = "unknown (no worker reporting)" if body.get("waiting") is None else body["waiting"]
        return f"counting_stalled (503) since {body.get('stalled_since', '?')[11:19]}, votes waiting: {waiting}"

    result, outcome, _ = measure(
        stack,
        scenario,
        f"{fault} until the results said counting stalled and {VOTES_WHILE_STALLED} more votes were "
        f"acknowledged, then {then}",
        VotePlan(voters=900, share_a=0.5, change_share=0.3, seed=seed),
        stalled_under_voting(stack, shown, break_it, repair),
        rate=60,
        notes=notes,
    )
    result.check()
    assert shown["seconds"] <= STALL_SHOWN_WITHIN_S
    print(
        f"{scenario}: counting_stalled shown {shown['seconds']:.2f} s after the fault; recovered: "
        f"live {result.recovery_live_seconds} s, correct {result.recovery_correct_seconds} s"
    )
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
    network = f"{stack.project}_default"
    outcome, _ = stalled_scenario(
        stack,
        "worker cut off, result reads",
        "the worker's network disconnected (no reset; result still reads)",
        "reconnected",
        0xFA050002,
        lambda: docker("network", "disconnect", network, worker),
        lambda: docker("network", "connect", network, worker),
    )
    assert not outcome.errors, "voting must not notice the worker's network"


def test_the_worker_postgres_session_killed_is_shown_as_counting_stalled_then_live_with_exact_totals(stack):
    """pg_terminate_backend on the worker's session, and its reconnections refused (a pg_hba.conf
    rule for its address alone): the database stays up and the result service keeps reading."""
    [worker] = stack.container_ids("worker")
    address = docker(
        "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{stack.project}_default").IPAddress}}}}', worker
    ).strip()
    assert address, "the worker has no address"
    rule = f"host all all {address}/32 reject"
    hba = '"$PGDATA/pg_hba.conf"'

    def db_sh(script: str) -> None:
        stack.compose("exec", "-T", "db", "sh", "-c", script, timeout=30)

    def kill_and_refuse() -> None:
        db_sh(f"sed -i '1i {rule}' {hba}")
        stack.psql("SELECT pg_reload_conf()")
        killed = stack.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'worker/%'"
        )
        assert killed == "1", f"killed {killed} worker sessions"

    def allow() -> None:
        db_sh(f"sed -i '\\|^{rule}$|d' {hba}")
        stack.psql("SELECT pg_reload_conf()")

    outcome, _ = stalled_scenario(
        stack,
        "worker session killed",
        "the worker's Postgres session killed (pg_terminate_backend) and its reconnections refused",
        "allowed",
        0xFA050003,
        kill_and_refuse,
        allow,
    )
    assert f'pg_hba.conf rejects connection for host "{address}"' in stack.service_logs("db")
    assert not outcome.errors, "voting must not depend on Postgres"


IDLE_WINDOW_S = 60


def test_an_idle_stack_is_never_said_to_have_stalled(stack):
    """No votes for a minute: every answer is ok. With the stall threshold at 3 s and the worker
    reporting every 0.5 s, a minute is twenty thresholds — what "minutes" at the default 10 s would
    test, in a fraction of the time."""
    assert IDLE_WINDOW_S >= 20 * COUNTING_STALL_AFTER_S and COUNTING_STALL_AFTER_S >= 6 * COUNTING_HEARTBEAT_S
    eventually(lambda: state(stack)[1]["state"] == "ok", 60, "results ok", 0.2)
    assert stack.stream_depth() == (0, 0)
    seen: dict[str, int] = {}
    deadline = time.monotonic() + IDLE_WINDOW_S
    while time.monotonic() < deadline:
        status, body = state(stack)
        key = f"{status} {body['state']}"
        seen[key] = seen.get(key, 0) + 1
        time.sleep(0.2)
    assert list(seen) == ["200 ok"], seen

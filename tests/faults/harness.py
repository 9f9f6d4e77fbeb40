"""The fault suite's tools: the compose stack with knobs to break it, a vote stream in the background,
and the measurement of one scenario (sent, acknowledged, counted, lost, double-counted, convergence).

Everything is measured, nothing assumed: counted = the totals in /api/results minus those before the
scenario; the votes table must hold one row per distinct voter; the stream must be fully drained.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

import requests

from loadgen.voters import Outcome, VotePlan, fetch_totals, post_vote, run, voter_id, wait_for_totals
from tests.faults import report
from tooling import ROOT
from tooling.compose import REDIS_CLI, ComposeStack
from tooling.engine import docker
from tooling.waiting import eventually
from voting_common.contract import GROUP, OPTIONS, STREAM

# Failed vote requests that count as "a clear error": a 503 with a message, or no connection at all.
CLEAR_ERRORS = {"http_503", "ConnectionError"}
# A server killed mid-answer also cuts a response short: still no answer, never a wrong one.
CUT_SHORT = "ChunkedEncodingError"
# GET a URL, printing the body whatever the status (a worker's health port is not published).
WORKER_GET = (
    "import sys, urllib.request as r, urllib.error as e\n"
    "try: print(r.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())\n"
    "except e.HTTPError as x: print(x.read().decode())"
)


def inspect(container: str, template: str) -> str:
    return docker("inspect", "-f", template, container).strip()


@dataclass
class FaultStack(ComposeStack):
    """The compose stack under the fault suite's own project name, plus ways to look inside it."""

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def redis_cli(self, *args: str, stdin: str | None = None) -> str:
        """redis-cli in the redis container; ``stdin`` (printf syntax) is sent as the last argument.

        Output that is not UTF-8 (a poison message's bytes) comes back backslash-escaped.
        """
        cmd = [*REDIS_CLI, *args]
        if stdin is not None:  # redis-cli -x: the last argument from standard input, byte for byte
            auth = 'REDISCLI_AUTH="$REDIS_PASSWORD"; export REDISCLI_AUTH; '
            cmd = ["sh", "-c", f"{auth}printf {shlex.quote(stdin)} | redis-cli -x {shlex.join(args)}"]
        full = ["docker", "compose", "-p", self.project, "exec", "-T", "redis", *cmd]
        out = subprocess.run(full, cwd=ROOT, env=self.env(), capture_output=True, timeout=30)
        if out.returncode != 0:
            raise AssertionError(f"{shlex.join(full)} failed: {out.stderr!r}")
        return out.stdout.decode("utf-8", "backslashreplace").strip()

    def results(self) -> tuple[int, dict]:
        response = requests.get(self.result_url + "/api/results", timeout=5)
        return response.status_code, response.json()

    def vote_rows(self) -> int:
        return int(self.psql("select count(*) from votes") or 0)

    def pending_by_consumer(self) -> dict[str, int]:
        """Unacknowledged entries per worker (consumer name = container hostname)."""
        # XPENDING's reply: count, smallest id, greatest id, then consumer / count pairs.
        pairs = self.redis_cli("XPENDING", STREAM, GROUP).splitlines()[3:]
        return {pairs[i]: int(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}

    def stream_depth(self) -> tuple[int, int]:
        """(entries left in the stream, entries delivered but unacknowledged)."""
        length = int(self.redis_cli("XLEN", STREAM) or 0)
        pending = self.redis_cli("XPENDING", STREAM, GROUP).splitlines()
        return length, int(pending[0]) if pending else 0

    def worker_get(self, path: str, timeout: float = 25) -> str:
        url = f"http://127.0.0.1:8080{path}"
        return self.compose("exec", "-T", "worker", "python", "-c", WORKER_GET, url, str(timeout), timeout=30).stdout

    def worker_metrics(self) -> str:
        return self.worker_get("/metrics")

    def worker_ready(self) -> dict:
        return json.loads(self.worker_get("/readyz", timeout=3))

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", "-a", service).stdout.split()

    def service_logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", service, check=False).stdout

    def cut_off(self, container: str) -> tuple[Callable[[], str], Callable[[], str]]:
        """(break, repair): ``container`` disconnected from the stack's network (no reset), connected again."""
        return (
            lambda: docker("network", "disconnect", self.network, container),
            lambda: docker("network", "connect", self.network, container),
        )


def plan(voters: int, seed: int, share_a: float = 0.5) -> VotePlan:
    """A scenario's voters (``seed``: its own, so that no two scenarios share one); 30% change their mind."""
    return VotePlan(voters=voters, share_a=share_a, change_share=0.3, seed=seed)


def fault_at(
    share: float,
    break_it: Callable[[], object],
    repair: Callable[[], object] = lambda: None,
    during: Callable[[VoteTraffic], object] = lambda stream: None,
) -> Callable[[VoteTraffic], None]:
    """An ``inject``: at ``share`` of the stream break something, run ``during``, then repair (even
    when ``during`` failed); recovery is timed from the repair."""

    def inject(stream: VoteTraffic) -> None:
        stream.wait_progress(share)
        break_it()
        try:
            during(stream)
        finally:
            repair()
        stream.recovered()

    return inject


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class VoteTraffic:
    """A plan of voters cast in a background thread while the test thread breaks things."""

    def __init__(self, stack: FaultStack, plan: VotePlan, rate: float) -> None:
        self.stack, self.plan, self.rate = stack, plan, rate
        self.acked = 0
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self.ended_at = 0.0
        self.recovery: Recovery | None = None
        self.stalled_shown: float | None = None  # seconds from the fault until counting_stalled was shown
        self._lock = threading.Lock()
        self._thread = _thread(self._main, "vote-stream")

    def _count(self) -> None:
        with self._lock:
            self.acked += 1
        if self.recovery is not None:
            self.recovery.acknowledged()

    def recovered(self) -> None:
        """Called the moment the broken part answers again: recovery is timed from here."""
        self.recovery = Recovery(self.stack)

    def _main(self) -> None:
        try:
            self.outcome = run(self.stack.vote_url, self.plan, 8, self.rate, deadline_s=180, on_vote=self._count)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait_progress(self, share: float, timeout: float = 60) -> None:
        """Until ``share`` of the plan's votes are acknowledged; fails if the stream ended first."""
        votes = max(1, sum(len(b) for b in self.plan.ballots()))
        eventually(lambda: self.acked / votes >= share or not self.running, timeout, f"{share:.0%} of the stream", 0.05)
        assert self.running, f"the stream ended before {share:.0%} of it"

    def join(self) -> Outcome:
        self._thread.join(timeout=240)
        if self.error:
            raise self.error
        assert self.outcome is not None, "the vote stream did not finish"
        return self.outcome


class CanaryVoter:
    """One more voter, voting a, b, a, ... as fast as acknowledged, recording every failed answer.

    Each vote is retried with the same option until acknowledged, so the last acknowledged option is
    the one that counts even if a request went through but its answer was lost.
    """

    def __init__(self, vote_url: str, seed: int) -> None:
        self.vote_url = vote_url
        self.voter = voter_id(seed, 10**6)
        self.acknowledged = 0
        self.last: str | None = None
        self.failures: Counter = Counter()  # by kind, as loadgen counts them; a 503 without a message apart
        self._stop = threading.Event()
        self._thread = _thread(self._main, "canary")

    def _main(self) -> None:
        option = OPTIONS[0]
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    r = post_vote(session, self.vote_url, option, self.voter)
                except requests.RequestException as exc:
                    self.failures[type(exc).__name__] += 1
                    time.sleep(0.1)
                    continue
                if r.status_code == 202:
                    self.acknowledged += 1
                    self.last = option
                    option = OPTIONS[1 - OPTIONS.index(option)]
                    time.sleep(0.05)
                    continue
                try:
                    message = r.json().get("error")
                except ValueError:
                    message = None
                self.failures[f"http_{r.status_code}" + ("" if message else "_without_message")] += 1
                time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def expected(self) -> dict[str, int]:
        return {o: int(self.last == o) for o in OPTIONS}


class Recovery:
    """Time to recover, from the moment the broken part answers again (``started``):

    - ``first_ack``: until the vote service next acknowledges a vote;
    - ``live``: until ``/api/results`` answers 200 with state ``ok`` (not stale, not unavailable);
    - ``correct``: until it is live and every vote queued before that moment is counted: the oldest
      entry left in the stream is younger than it (handled entries are deleted only after their
      transaction committed; entry ids are Redis's clock, which is this host's).
    """

    def __init__(self, stack: FaultStack, timeout: float = 120) -> None:
        self.stack, self.timeout = stack, timeout
        self.started = time.monotonic()
        self.started_ms = time.time() * 1000
        self.first_ack: float | None = None
        self.live: float | None = None
        self.correct: float | None = None
        self._thread = _thread(self._main, "recovery")

    def acknowledged(self) -> None:
        if self.first_ack is None:
            self.first_ack = time.monotonic() - self.started

    def _is_live(self) -> bool:
        try:
            status, body = self.stack.results()
        except (requests.RequestException, ValueError):
            return False
        return status == 200 and body.get("state") == "ok"

    def _caught_up(self) -> bool:
        try:
            oldest = self.stack.redis_cli("XRANGE", STREAM, "-", "+", "COUNT", "1").splitlines()
        except (AssertionError, subprocess.TimeoutExpired):
            return False
        if oldest and oldest[0].startswith("LOADING"):  # a restarted Redis still reading its data back
            return False
        return not oldest or int(oldest[0].split("-")[0]) > self.started_ms

    def _main(self) -> None:
        deadline = self.started + self.timeout
        while time.monotonic() < deadline and self.correct is None:
            if self.live is None and self._is_live():
                self.live = time.monotonic() - self.started
            if self.live is not None and self._caught_up():
                self.correct = time.monotonic() - self.started
            time.sleep(0.05)

    def join(self) -> None:
        self._thread.join(timeout=self.timeout + 10)


@dataclass
class ScenarioRow:
    """One scenario's measured numbers: one row of docs/reliability.md."""

    scenario: str
    fault: str
    voters: int
    votes_sent: int  # votes the plan casts (first votes plus changes of mind)
    requests: int  # HTTP requests, retries after failures included
    failed_requests: dict[str, int]
    acknowledged: int
    expected: dict[str, int]  # per option, the voters' last acknowledged choices
    counted: dict[str, int]  # per option, /api/results after minus before
    lost: int
    double_counted: int
    vote_rows_added: int
    stream_seconds: float
    slowest_ack_seconds: float  # the longest a vote request took to be acknowledged
    convergence_seconds: float | None  # from the end of the stream to exact totals; None: never
    notes: str = ""
    # From the broken part answering again (None: not measured in this scenario, or never reached).
    recovery_first_ack_seconds: float | None = None
    recovery_live_seconds: float | None = None
    recovery_correct_seconds: float | None = None
    # From the fault until /api/results said counting_stalled (None: not a counting-stall scenario).
    stalled_shown_seconds: float | None = None

    def check(self, recovery: bool) -> None:
        assert self.acknowledged == self.votes_sent, f"{self.scenario}: not every vote was acknowledged"
        if recovery:
            for name in ("first_ack", "live", "correct"):
                assert getattr(self, f"recovery_{name}_seconds") is not None, f"{self.scenario}: no {name}: {self}"
        assert self.convergence_seconds is not None, f"{self.scenario}: results never matched: {self}"
        assert self.lost == 0, f"{self.scenario}: {self.lost} votes lost: {self}"
        assert self.double_counted == 0, f"{self.scenario}: {self.double_counted} votes double-counted: {self}"
        assert self.counted == self.expected
        assert self.vote_rows_added == sum(self.expected.values()), f"{self.scenario}: rows {self}"


def measure(
    stack: FaultStack,
    scenario: str,
    fault: str,
    plan: VotePlan,
    inject: Callable[[VoteTraffic], None],
    *,
    rate: float = 150,
    canary: bool = False,
    notes: str | Callable[[], str] = "",
    recovery: bool = True,
) -> tuple[ScenarioRow, Outcome, CanaryVoter | None]:
    """Run ``plan`` as a background stream, call ``inject`` meanwhile, then measure, record and check
    the row (exact totals, nothing lost or double-counted; a time to recover unless not ``recovery``).

    ``notes`` (or what it returns, called once the stream has drained) goes into the report row.
    """
    # Totals and vote rows once nothing is left in the stream, so the deltas are this scenario's.
    eventually(lambda: stack.stream_depth() == (0, 0), 120, "an empty stream before the scenario", 0.5)
    unreadable = (requests.RequestException, ValueError, KeyError, TypeError)
    before = eventually(lambda: fetch_totals(stack.result_url), 120, "readable results", 0.5, unreadable)
    rows_before = stack.vote_rows()
    stream = VoteTraffic(stack, plan, rate)
    checker = CanaryVoter(stack.vote_url, plan.seed) if canary else None
    try:
        inject(stream)
    finally:
        outcome = stream.join()
        if checker:
            checker.stop()
    if stream.recovery is not None:
        stream.recovery.join()
    canary_acked, canary_failures = (checker.acknowledged, checker.failures) if checker else (0, Counter())
    added = {o: plan.expected()[o] + (checker.expected()[o] if checker else 0) for o in OPTIONS}
    expected = {o: before[o] + added[o] for o in OPTIONS}
    try:
        # Counted from the end of the stream: the faults are over, how long until the totals are exact?
        wait_for_totals(stack.result_url, expected, 120 - (time.monotonic() - stream.ended_at))
        convergence: float | None = time.monotonic() - stream.ended_at
    except AssertionError:
        convergence = None
    # Then nothing may be left in flight, and the totals must not move any more.
    drained = True
    try:
        eventually(lambda: stack.stream_depth() == (0, 0), 60, "the stream to drain", 0.5)
    except AssertionError:
        drained = False
    after = fetch_totals(stack.result_url)
    counted = {o: after[o] - before[o] for o in OPTIONS}
    result = ScenarioRow(
        scenario=scenario,
        fault=fault,
        voters=plan.voters + (1 if checker else 0),
        votes_sent=outcome.intended + canary_acked,
        requests=outcome.requests + canary_acked + canary_failures.total(),
        failed_requests=dict(outcome.errors + canary_failures),
        acknowledged=outcome.acknowledged + canary_acked,
        expected=added,
        counted=counted,
        lost=sum(max(0, added[o] - counted[o]) for o in OPTIONS),
        double_counted=sum(max(0, counted[o] - added[o]) for o in OPTIONS),
        vote_rows_added=stack.vote_rows() - rows_before,
        stream_seconds=round(outcome.seconds, 1),
        slowest_ack_seconds=round(max(outcome.latencies, default=0.0), 2),
        convergence_seconds=None if convergence is None else round(convergence, 2),
        notes=notes() if callable(notes) else notes,
    )
    if stream.recovery is not None:
        for name in ("first_ack", "live", "correct"):
            value = getattr(stream.recovery, name)
            setattr(result, f"recovery_{name}_seconds", None if value is None else round(value, 2))
    if stream.stalled_shown is not None:
        result.stalled_shown_seconds = round(stream.stalled_shown, 2)
    if not drained:
        result.notes = f"{result.notes}; stream NOT drained".strip("; ")
    report.record(asdict(result))
    print(f"{scenario}: {outcome.summary()}; {result}")
    assert drained, f"{scenario}: entries left in the stream: {stack.stream_depth()}"
    result.check(recovery)
    return result, outcome, checker

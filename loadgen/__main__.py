"""``python -m loadgen``: cast votes as many distinct voters and optionally wait for the totals."""

from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from voting_common.contract import OPTIONS

from .voters import VotePlan, fetch_totals, run, wait_for_totals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="loadgen", description=__doc__)
    p.add_argument("--vote-url", default="http://localhost:8080")
    p.add_argument("--result-url", default="http://localhost:8081")
    p.add_argument("--voters", type=int, default=1000, help="distinct voters")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rate", type=float, default=None, help="votes per second (default: as fast as possible)")
    p.add_argument("--share-a", type=float, default=0.5, help="share of first votes for option a")
    p.add_argument("--change-share", type=float, default=0.2, help="share of voters who change their vote")
    p.add_argument("--seed", type=int, default=None, help="voter ids derive from it (default: the time)")
    p.add_argument("--wait", action="store_true", help="wait until /api/results shows the exact totals")
    p.add_argument("--wait-timeout", type=float, default=120.0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    args = p.parse_args(argv)

    seed = args.seed if args.seed is not None else int(time.time())
    plan = VotePlan(args.voters, args.share_a, args.change_share, seed)
    before = fetch_totals(args.result_url) if args.wait else None
    with tqdm(total=sum(len(b) for b in plan.ballots()), unit="vote", disable=args.no_progress) as bar:
        outcome = run(args.vote_url, plan, concurrency=args.concurrency, rate=args.rate, on_vote=bar.update)
    print(outcome.summary())
    if outcome.gave_up:
        return 1
    if before is not None:
        added = outcome.acknowledged_totals()
        expected = {k: before[k] + added[k] for k in (*OPTIONS, "total")}
        try:
            seen, seconds = wait_for_totals(args.result_url, expected, args.wait_timeout)
        except AssertionError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"results match {seen} after {seconds:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

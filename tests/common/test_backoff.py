from voting_common.backoff import Backoff


def test_delays_grow_then_stay_under_the_cap():
    backoff = Backoff(base=0.1, cap=2.0)
    delays = [backoff.next_delay() for _ in range(12)]
    assert delays[0] <= 0.1
    assert max(delays) <= 2.0
    assert min(delays[6:]) >= 1.0  # at the cap, equal jitter stays in [cap/2, cap]


def test_reset_starts_over():
    backoff = Backoff(base=0.1, cap=2.0)
    for _ in range(8):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.1

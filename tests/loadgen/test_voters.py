from loadgen.voters import VotePlan, voter_id
from voting_common.contract import OPTIONS, is_voter_id


def test_plan_is_deterministic_and_its_expectation_counts_each_voter_once():
    plan = VotePlan(voters=2000, share_a=0.7, change_share=0.25, seed=9)
    ballots = plan.ballots()
    assert ballots == plan.ballots()
    expected = plan.expected()
    assert expected["total"] == 2000 == sum(expected[o] for o in OPTIONS)
    assert all(expected[o] == sum(1 for b in ballots if b[-1] == o) for o in OPTIONS)
    changers = sum(1 for b in ballots if len(b) == 2)
    assert 400 < changers < 600
    assert all(b[0] != b[1] for b in ballots if len(b) == 2)


def test_voter_ids_are_well_formed_and_distinct_across_seeds():
    ids = {voter_id(seed, i) for seed in (1, 2) for i in range(100)}
    assert len(ids) == 200 and all(is_voter_id(v) for v in ids)

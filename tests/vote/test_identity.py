from vote_app import create_app
from vote_app.identity import voter_id_for_request
from vote_app.settings import VoteSettings
from voting_common.contract import is_voter_id


def _id_for(cookie: str | None) -> str:
    app = create_app({"TESTING": True, "SETTINGS": VoteSettings(redis_host="127.0.0.1", redis_port=1)})
    headers = {"Cookie": f"voter_id={cookie}"} if cookie is not None else {}
    with app.test_request_context("/", headers=headers):
        return voter_id_for_request()


def test_a_well_formed_cookie_is_kept():
    assert _id_for("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"


def test_missing_or_malformed_cookies_get_a_fresh_random_id():
    for cookie in (None, "", "x" * 32, "0123456789ABCDEF0123456789ABCDEF", "../../etc", "0" * 33):
        fresh = _id_for(cookie)
        assert is_voter_id(fresh)
        assert fresh != cookie


def test_fresh_ids_do_not_repeat():
    assert len({_id_for(None) for _ in range(50)}) == 50

"""make audit's rules that need no network: an accepted finding needs a reason; no data, no pass."""

import pytest

from tooling.audit import run


def test_an_accepted_finding_without_a_reason_is_refused(tmp_path):
    listed = tmp_path / "ignore.txt"
    listed.write_text("# comment\nPYSEC-2099-1 only reachable through a feature we do not use\n")
    assert run.ignored(listed) == ["PYSEC-2099-1"]
    listed.write_text("GHSA-xxxx-yyyy-zzzz\n")
    with pytest.raises(SystemExit, match="has no reason"):
        run.ignored(listed)


def test_the_project_ignore_file_is_valid():
    run.ignored(run.HERE / "ignore.txt")


def test_unreachable_vulnerability_data_fails_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(run, "reachable", lambda service: f"{service}: unreachable in this test")
    assert run.main(["run.py", "/nonexistent/pip-audit"]) == 2
    assert "NOT AUDITED" in capsys.readouterr().err

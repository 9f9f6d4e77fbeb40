import logging

from voting_common.logs import LogfmtFormatter


def test_one_line_per_event_with_quoted_fields():
    record = logging.LogRecord("worker", logging.WARNING, __file__, 1, "message dead-lettered", None, None)
    record.fields = {"id": "1-0", "reason": 'unknown option "c"\nsecond line'}
    line = LogfmtFormatter().format(record)
    assert "\n" not in line
    assert "level=warning" in line and "logger=worker" in line
    assert 'msg="message dead-lettered"' in line
    assert r'reason="unknown option \"c\"\nsecond line"' in line
    assert "id=1-0" in line

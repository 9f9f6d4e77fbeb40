"""The README's settings table is the settings classes rendered: a new or changed setting shows there."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings

from tooling import settings_table


def test_the_readme_table_is_the_settings_classes_rendered():
    readme = settings_table.README.read_text()
    assert settings_table.with_table(readme) == readme, "run `make readme`"


def test_every_setting_of_every_service_has_a_row_with_its_default():
    table = {row[0].strip("`"): row for row in settings_table.rows()}
    assert table["REDIS_TIMEOUT"][1:3] == ("`5` (vote: `2`)", "vote, worker")
    assert table["WEB_CONCURRENCY"][1] == "`2` (result: `1`)"  # the result image's ENV
    assert table["MAX_VIEWERS"][1:3] == ("`10000`", "result")
    for cls in (cls for classes in settings_table.services().values() for cls in classes):
        assert {name.upper() for name in cls.model_fields} <= table.keys()


def test_a_setting_without_a_description_is_refused(monkeypatch):
    class Undocumented(BaseSettings):
        secret_knob: int = Field(default=1)

    monkeypatch.setattr(settings_table, "services", lambda: {"vote": (Undocumented,)})
    with pytest.raises(ValueError, match="secret_knob has no description"):
        settings_table.rows()

"""The load script in a short form: concurrent raters and chatters, zero errors, each vote stored once."""

import pytest

from bench.load import run_load


@pytest.mark.slow
def test_short_load_has_no_errors_and_stores_each_vote_once():
    res = run_load(raters=4, chatters=2)
    assert res["errors"] == []
    assert res["votes_cast"] == 4 and res["votes_stored"] == 4 and res["each_vote_once"]
    assert res["chats"] == 2

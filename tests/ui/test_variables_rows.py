"""The variables editor's rows and the request model it saves with: a value for several platforms
is a row each, an audience is kept, and what the editor refuses is said before anything is sent."""

from __future__ import annotations

import pytest

from app.api.codec import decode
from app.api.meta import TablaoVariables
from app.ui.windows.variables_view import VariableRow, rows_from_variables, variables_from_rows

ANSWER = {"variables": {
    "render": {"is_twoway": True, "values": [{"platforms": ["linux", "darwin"], "value": "/mnt/render"},
                                             {"platform": "windows", "value": "R:\\render"}]},
    "args": {"is_twoway": False, "values": [{"platform": "all", "value": "-b"},
                                            {"platform": "all", "audience": "users", "value": "-b -y"}]},
}}


def test_a_value_for_several_platforms_is_a_row_each_and_the_audience_is_kept():
    rows = rows_from_variables(decode(TablaoVariables, ANSWER).variables)
    assert rows == [VariableRow("args", False, "all", "-b"), VariableRow("args", False, "all", "-b -y", "users"),
                    VariableRow("render", True, "linux", "/mnt/render"),
                    VariableRow("render", True, "darwin", "/mnt/render"),
                    VariableRow("render", True, "windows", "R:\\render")]
    saved = TablaoVariables(variables_from_rows(rows)).to_json()
    assert saved["variables"]["args"]["values"][1] == {"platform": "all", "audience": "users", "value": "-b -y"}
    assert [v["platform"] for v in saved["variables"]["render"]["values"]] == ["linux", "darwin", "windows"]
    TablaoVariables.from_json(saved)  # what the editor sends, the Manager's model takes


@pytest.mark.parametrize("rows, words", [
    ([("", False, "all", "x")], "row 1: give the variable a name"),
    ([("v", False, "beos", "x")], "the platform must be one of"),
    ([("v", False, "all", "x", "robots")], "the audience must be one of all, workers, users"),
    ([("v", False, "all", "")], "the value is empty"),
    ([("v", False, "linux", "a"), ("v", False, "linux", "b")], "v has two values for linux"),
    ([("v", False, "linux", "a", "users"), ("v", False, "linux", "b", "users")], "for linux (users)"),
    ([("v", True, "linux", "a"), ("v", True, "linux", "b", "users")], "at least two platforms"),
])
def test_what_the_editor_refuses_before_sending(rows, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        variables_from_rows(rows)


def test_one_platform_for_two_audiences_is_two_values():
    out = variables_from_rows([("v", False, "linux", "a"), ("v", False, "linux", "b", "workers")])
    assert [(v.platform, v.audience) for v in out["v"].values] == [("linux", None), ("linux", "workers")]

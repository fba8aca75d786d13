"""Strict-JSON screening (`app.api.jsoncheck.json_body_problem`), as a pure function."""

from __future__ import annotations

import json

import pytest

from app.api.jsoncheck import json_body_problem


@pytest.mark.parametrize(
    "body",
    [
        b'{"texts": ["plain"]}',
        json.dumps({"texts": ["emoji \U0001f600", "中文"]}).encode(),  # escaped surrogate pair
        json.dumps({"texts": ["中文"]}, ensure_ascii=False).encode(),
        b'{"texts": ["NaN and Infinity as words"]}',
        b'{"texts": ["a literal backslash-u: \\\\ud800"]}',  # escaped backslash, not an escape
        b'{"texts": ["a"',  # malformed: left to FastAPI's parser
        b"",
    ],
)
def test_accepts_strict_json_and_leaves_malformed_json_to_fastapi(body):
    assert json_body_problem(body) is None


@pytest.mark.parametrize(
    ("body", "fragment", "param"),
    [
        (b'{"x": NaN}', "NaN is not valid JSON", None),
        (b'{"x": [1, -Infinity]}', "-Infinity is not valid JSON", None),
        (b'{"x": Infinity}', "Infinity is not valid JSON", None),
        (b'{"texts": ["ok", "\\ud800"]}', "lone UTF-16 surrogate", "texts[1]"),
        (b'{"a": {"b": ["\\udfff x"]}}', "lone UTF-16 surrogate", "a.b[0]"),
        (b'{"\\ud83d": 1}', "lone UTF-16 surrogate", "body"),
        (b'{"texts": ["\\ude00\\ud83d"]}', "lone UTF-16 surrogate", "texts[0]"),  # reversed pair
        (b'{"texts": ["caf\xe9"]}', "not valid UTF-8 (byte 15)", None),
    ],
)
def test_rejects_non_json_constants_lone_surrogates_and_bad_utf8(body, fragment, param):
    problem = json_body_problem(body)
    assert problem is not None
    message, got_param = problem
    assert fragment in message and got_param == param

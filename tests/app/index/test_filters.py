import pytest

from app.index.filters import PayloadFilter


@pytest.mark.parametrize(
    "flt, payload, expected",
    [
        (PayloadFilter(), {}, True),
        (PayloadFilter(must={"lang": "en"}), {"lang": "en", "x": 1}, True),
        (PayloadFilter(must={"lang": "en"}), {"lang": "zh"}, False),
        (PayloadFilter(must={"lang": "en"}), {}, False),  # missing never equals
        (PayloadFilter(must_not={"lang": "en"}), {}, True),
        (PayloadFilter(must_not={"lang": "en"}), {"lang": "en"}, False),
        (PayloadFilter(must={"n": 1}), {"n": 1.0}, True),  # JSON numbers
        (PayloadFilter(must={"n": 1}), {"n": True}, False),  # true is not 1 in JSON
        (PayloadFilter(must={"b": True}), {"b": 1}, False),
        (PayloadFilter(must={"b": False}), {"b": False}, True),
        (PayloadFilter(must={"n": "1"}), {"n": 1}, False),
        (PayloadFilter(must={"t": ["a", "b"]}), {"t": ["a", "b"]}, True),
        (PayloadFilter(must={"a": 1}, must_not={"b": 2}), {"a": 1, "b": 3}, True),
        (PayloadFilter(must={"a": 1}, must_not={"b": 2}), {"a": 1, "b": 2}, False),
    ],
)
def test_matches(flt, payload, expected):
    assert flt.matches(payload) is expected


def test_is_empty():
    assert PayloadFilter().is_empty and not PayloadFilter(must={"a": 1}).is_empty


def test_operator_values_are_named_not_taken_literally():
    flt = PayloadFilter(must={"lang": "en"}, must_not={"n": {"$gt": 1, "x": 2}})
    message, param = flt.operator_problem()
    assert param == "filter.must_not.n" and "$gt" in message
    assert PayloadFilter(must={"obj": {"a": 1}}).operator_problem() is None  # plain objects match
    assert PayloadFilter().operator_problem() is None

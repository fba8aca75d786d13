"""parse_enum: the one enum parser; every mode enum is a StrEnum and uses it."""

from __future__ import annotations

from enum import StrEnum

import pytest

from app.engines.manifest import ModelKind, OutputRole, PoolingMode
from app.enums import parse_enum
from app.errors import ValidationFailed
from app.generation.decoder import DecodeMode
from app.index.base import Backend, IndexKind
from app.index.calibration import CalibrationMethod
from app.rerank.distances import RerankMethod
from app.services.similarity import SimilarityMethod


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_parse_enum_returns_the_member_and_lists_valid_values_otherwise():
    assert parse_enum(Color, "red", "color") is Color.RED
    assert parse_enum(Color, Color.BLUE, "color") is Color.BLUE
    with pytest.raises(ValueError, match=r"^unknown color 'green'; valid: red, blue$"):
        parse_enum(Color, "green", "color")
    with pytest.raises(ValueError, match=r"^unsupported color 3; valid: red, blue$"):
        parse_enum(Color, 3, "color", verb="unsupported")


def test_parse_enum_raises_the_given_error():
    with pytest.raises(ValidationFailed, match="unknown color 'x'") as err:
        parse_enum(Color, "x", "color", error=lambda m: ValidationFailed(m, param="color"))
    assert err.value.param == "color"


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (PoolingMode, "unknown pooling mode 'nope'; valid: cls, mean, first_last_avg, pooler"),
        (DecodeMode, "unknown decode mode 'nope'; valid: cached, full"),
        (RerankMethod, "unknown rerank method 'nope'; valid: wmd, wrd"),
        (IndexKind, "unknown index kind 'nope'; valid: flat, hnsw, ivf"),
        (Backend, "unknown backend 'nope'; valid: faiss, milvus"),
        (CalibrationMethod, "unknown calibration method 'nope'; valid: logistic, isotonic"),
    ],
)
def test_every_mode_enum_parses_through_the_helper(cls, message):
    assert issubclass(cls, StrEnum)
    first = next(iter(cls))
    assert cls.parse(first.value) is first
    with pytest.raises(ValueError) as err:
        cls.parse("nope")
    assert str(err.value) == message


def test_similarity_method_names_the_request_field():
    with pytest.raises(ValidationFailed) as err:
        SimilarityMethod.parse("nope")
    assert err.value.param == "method" and "valid: cosine, wmd, wrd" in err.value.message


def test_manifest_enums_are_str_enums():
    # StrEnum: str() and f-strings give the value, as every other mode enum does
    for cls in (ModelKind, PoolingMode, OutputRole):
        assert issubclass(cls, StrEnum)
    assert f"{PoolingMode.MEAN}" == "mean" and str(ModelKind.SIMBERT) == "simbert"

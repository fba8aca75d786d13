"""Pooling modes (docs/METHODS.md 1.2) against hand-computed arrays."""

from __future__ import annotations

import numpy as np
import pytest

from app.engines.manifest import PoolingMode
from app.engines.pooling import cls_vector, first_last_avg, l2_normalize, masked_mean, pool

# batch of 2, T = 3, H = 2; row 1 has one padding position holding garbage (100s)
LAST = np.array(
    [
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        [[2.0, 0.0], [4.0, 2.0], [100.0, 100.0]],
    ],
    dtype=np.float32,
)
FIRST = np.array(
    [
        [[0.0, 0.0], [3.0, 3.0], [6.0, 9.0]],
        [[1.0, 1.0], [3.0, 5.0], [-100.0, 100.0]],
    ],
    dtype=np.float32,
)
MASK = np.array([[1, 1, 1], [1, 1, 0]], dtype=np.int64)


def test_mean_ignores_padding_and_includes_cls_sep():
    expected = np.array([[3.0, 4.0], [3.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(masked_mean(LAST, MASK), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(pool(PoolingMode.MEAN, MASK, LAST), expected, rtol=0, atol=1e-6)


def test_cls_is_first_position():
    expected = np.array([[1.0, 2.0], [2.0, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(cls_vector(LAST), expected)
    np.testing.assert_array_equal(pool(PoolingMode.CLS, MASK, LAST), expected)


def test_first_last_avg_averages_the_two_layer_means():
    first_mean = np.array([[3.0, 4.0], [2.0, 3.0]])
    last_mean = np.array([[3.0, 4.0], [3.0, 1.0]])
    expected = (first_mean + last_mean) / 2  # [[3, 4], [2.5, 2]]
    got = pool(PoolingMode.FIRST_LAST_AVG, MASK, LAST, first_layer_hidden_state=FIRST)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(first_last_avg(FIRST, LAST, MASK), expected, rtol=0, atol=1e-6)


def test_pooler_passes_the_graph_output_through():
    dense = np.array([[0.5, -1.5], [2.0, 3.0]], dtype=np.float64)
    got = pool(PoolingMode.POOLER, MASK, LAST, pooler_dense=dense)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, dense.astype(np.float32))


def test_inputs_are_not_mutated():
    copies = LAST.copy(), FIRST.copy(), MASK.copy()
    for mode in PoolingMode:
        out = pool(mode, MASK, LAST, first_layer_hidden_state=FIRST, pooler_dense=LAST[:, 0])
        out += 1000  # the result must not alias an input
    np.testing.assert_array_equal(LAST, copies[0])
    np.testing.assert_array_equal(FIRST, copies[1])
    np.testing.assert_array_equal(MASK, copies[2])


def test_all_padding_row_gives_zeros_not_nan():
    out = masked_mean(LAST, np.zeros((2, 3), dtype=np.int64))
    np.testing.assert_array_equal(out, np.zeros((2, 2), dtype=np.float32))


def test_shape_errors_and_missing_outputs():
    with pytest.raises(ValueError, match="attention_mask"):
        masked_mean(LAST, MASK[:, :2])
    with pytest.raises(ValueError, match="batch, seq, hidden"):
        masked_mean(LAST[0], MASK)
    with pytest.raises(ValueError, match="first layer"):
        pool(PoolingMode.FIRST_LAST_AVG, MASK, LAST)
    with pytest.raises(ValueError, match="pooler_dense"):
        pool(PoolingMode.POOLER, MASK, LAST)
    with pytest.raises(ValueError, match="layer shapes differ"):
        first_last_avg(FIRST[:, :2], LAST, MASK)


def test_pooling_mode_parse_lists_valid_values():
    assert PoolingMode.parse("first_last_avg") is PoolingMode.FIRST_LAST_AVG
    with pytest.raises(ValueError, match="valid: cls, mean, first_last_avg, pooler"):
        PoolingMode.parse("max")


def test_l2_normalize():
    vectors = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    out = l2_normalize(vectors)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(vectors, [[3.0, 4.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="n, dim"):
        l2_normalize(vectors[0])

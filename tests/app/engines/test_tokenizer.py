"""bucket_length: the padded width of a batch, at every edge of the bucket list."""

from __future__ import annotations

import pytest

from app.engines.tokenizer import bucket_length

BUCKETS = (16, 32, 64)


@pytest.mark.parametrize(
    ("n", "max_length", "expected"),
    [
        (1, 128, 16),  # shortest text: the smallest bucket
        (16, 128, 16),  # exactly on a bucket: that bucket, not the next
        (17, 128, 32),  # one past a bucket: the next one
        (64, 128, 64),  # exactly the largest bucket
        (65, 128, 128),  # past every bucket, within max_length: max_length
        (20, 24, 24),  # the bucket (32) is past max_length: capped at max_length
        (24, 24, 24),  # at max_length
        (40, 24, 40),  # longer than max_length (not truncated): the text's own length
        (100, 24, 100),  # ... also past every bucket
    ],
)
def test_bucket_edges(n, max_length, expected):
    assert bucket_length(n, BUCKETS, max_length) == expected


def test_bucket_order_does_not_matter_and_no_buckets_means_max_length():
    assert bucket_length(17, (64, 16, 32), 128) == 32
    assert bucket_length(5, (), 128) == 128
    assert bucket_length(200, (), 128) == 200

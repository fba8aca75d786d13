"""`python -m models fit-threshold`: fit a match-or-abstain calibration (cosine threshold +
P(match | cosine)) from labelled pairs, for one model; the JSON it writes is what
`PUT /collections/{name}/calibration` takes as `{"calibration": ...}`.

Pairs: a TSV with header `sentence1<TAB>sentence2<TAB>score`, score 0 or 1 (the
../shared/data format). Cosines come from the served encoding path (`Encoder`, pooled,
whitened if the model is, L2-normalised), so they equal what /search scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from app.engines.pooling import l2_normalize
from app.errors import InvalidInput
from app.index.calibration import Calibration, CalibrationMethod, fit, model_fingerprint
from models.corpus import read_pairs
from models.encoding import encode_all, load_encoder


def pair_cosines(encoder, first: list[str], second: list[str], batch_size: int = 32) -> np.ndarray:
    """(n,) float64 cosines of first[i] and second[i] by `encoder`."""
    vectors = l2_normalize(encode_all(encoder, first + second, batch_size, desc="pairs"))
    n = len(first)
    return np.sum(vectors[:n] * vectors[n:], axis=1).astype(np.float64)


def fit_threshold(
    models_dir: str | Path, model: str, data: str | Path, method: str, batch_size: int = 32
) -> Calibration:
    encoder = load_encoder(models_dir, model)
    pairs = read_pairs(data)  # every score finite, or InvalidInput naming file:line
    labels = pairs.scores
    cosines = pair_cosines(encoder, list(pairs.first), list(pairs.second), batch_size)
    try:
        return fit(
            cosines, labels, model=model, fingerprint=model_fingerprint(encoder.manifest.files),
            method=method,
        )  # fmt: skip
    except ValueError as exc:
        raise InvalidInput(f"{data}: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model name in --models-dir")
    parser.add_argument("--data", required=True, help="pairs TSV: sentence1, sentence2, score 0/1")
    parser.add_argument("--models-dir", default="var/models")
    parser.add_argument(
        "--method", default="logistic", choices=[m.value for m in CalibrationMethod]
    )
    parser.add_argument("--out", help="calibration JSON to write (default: stdout)")
    parser.add_argument("--batch-size", type=int, default=32)


def run(args: argparse.Namespace) -> int:
    cal = fit_threshold(args.models_dir, args.model, args.data, args.method, args.batch_size)
    text = json.dumps(cal.to_dict(), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    print(
        f"{args.model}: threshold {cal.threshold:.4f} (cosine), accuracy {cal.accuracy:.4f} on "
        f"{cal.pairs} pairs ({cal.positives} positive), {cal.method.value} confidence"
        + (f" -> {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0

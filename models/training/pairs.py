"""Sentence-pair TSV data (``sentence1<TAB>sentence2<TAB>score`` with that header) and batches."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import InvalidInput

HEADER = ("sentence1", "sentence2", "score")


@dataclass(frozen=True)
class Pairs:
    first: list[str]
    second: list[str]
    scores: np.ndarray  # (N,) float64

    def __len__(self) -> int:
        return len(self.first)

    def rounded(self, step: float | None) -> Pairs:
        """The same pairs with scores rounded to the nearest multiple of `step` (None: as is)."""
        if step is None:
            return self
        return Pairs(self.first, self.second, np.round(self.scores / step) * step)


def read_pairs(path: Path) -> Pairs:
    """Read a UTF-8 pairs TSV. Raises InvalidInput naming the file and line on bad rows."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"pairs file {path} does not exist", param="path")
    first: list[str] = []
    second: list[str] = []
    scores: list[float] = []
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header is None or tuple(h.strip() for h in header[:3]) != HEADER:
            raise InvalidInput(f"{path}: first line must be the header {'<TAB>'.join(HEADER)}")
        for lineno, row in enumerate(rows, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) < 3:
                raise InvalidInput(
                    f"{path}:{lineno}: expected 3 tab-separated fields, got {len(row)}"
                )
            try:
                score = float(row[2])
            except ValueError:
                raise InvalidInput(f"{path}:{lineno}: score {row[2]!r} is not a number") from None
            if not np.isfinite(score):
                raise InvalidInput(f"{path}:{lineno}: score {row[2]!r} is not finite")
            if not row[0].strip() or not row[1].strip():
                raise InvalidInput(f"{path}:{lineno}: empty sentence")
            first.append(row[0])
            second.append(row[1])
            scores.append(score)
    if len(first) < 2:
        raise InvalidInput(f"{path}: need at least 2 pairs, got {len(first)}")
    return Pairs(first, second, np.asarray(scores, dtype=np.float64))


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled pair indices for one epoch, split into batches (the last may be smaller).

    The order depends only on (seed, epoch), so a resumed run sees the same batches.
    Returns a list of (<= batch_size,) int64 arrays covering range(n) exactly once.
    """
    if n < 1 or batch_size < 1:
        raise ValueError(f"need n >= 1 and batch_size >= 1, got {n}, {batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def interleave(pairs: Pairs, index: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Texts ``[a_i, b_i, ...]`` (2k,) and scores (k,) for the pairs at `index` (k,)."""
    texts: list[str] = []
    for i in index:
        texts += [pairs.first[i], pairs.second[i]]
    return texts, pairs.scores[index]

"""Reading sentence files: plain text (one per line) and pairs TSVs (`sentence1 sentence2 score`).

`read_pairs` is the one pairs TSV reader (training, evaluation, threshold and whitening
fits, benchmarks): strict, and every error names the file and line."""

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


def read_sentences(path: str | Path) -> list[str]:
    """Sentences to fit on: `.tsv` -> both sentence columns of every row; else one per line.

    Duplicates are kept (BERT-whitening fits on every a- and b-vector). Blank lines are skipped.
    """
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        pairs = read_pairs(path)
        sentences = [s for pair in zip(pairs.first, pairs.second, strict=True) for s in pair]
    else:
        try:
            sentences = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from None
    sentences = [s for s in sentences if s.strip()]
    if not sentences:
        raise InvalidInput(f"{path} holds no sentences")
    return sentences

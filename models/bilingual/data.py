"""The bilingual training mixture: which pair files train, which evaluate, split how.

Layout of the shared data root (see its README): `<task>/<split>.tsv` pairs files. LCQMC
and BQ exist here only as `dev.tsv`; each is split deterministically by a hash of the pair's
text into a train part (80%) and a dev part (20%), the same on every machine and run.
ATEC, Chinese STS-B and English STS-B have their own train and dev files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from models.training.pairs import Pairs, read_pairs

DEV_FRACTION = 0.2


class Part(StrEnum):
    TRAIN = "train"
    DEV = "dev"


@dataclass(frozen=True)
class Task:
    """One pairs data set of the mixture. `single_file`: train and dev parts come from the
    hash split of `dev.tsv`; otherwise from `train.tsv` and `dev.tsv`."""

    name: str
    lang: str  # "zh" or "en"
    single_file: bool = False

    def load(self, root: Path, part: Part) -> Pairs:
        folder = Path(root) / self.name
        if self.single_file:
            return hash_split(read_pairs(folder / "dev.tsv"), part)
        return read_pairs(folder / f"{part.value}.tsv")


CHINESE_TASKS = (
    Task("atec", "zh"),
    Task("bq", "zh", single_file=True),
    Task("lcqmc", "zh", single_file=True),
    Task("stsb-zh", "zh"),
)
ENGLISH_TASKS = (Task("stsb-en", "en"),)
TASKS = CHINESE_TASKS + ENGLISH_TASKS


def task_by_name(name: str) -> Task:
    for task in TASKS:
        if task.name == name:
            return task
    raise ValueError(f"unknown task {name!r}; valid: {', '.join(t.name for t in TASKS)}")


def pair_fraction(first: str, second: str) -> float:
    """A stable number in [0, 1) from the pair's text (sha256, first 8 bytes)."""
    digest = hashlib.sha256(f"{first}\t{second}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hash_split(pairs: Pairs, part: Part, dev_fraction: float = DEV_FRACTION) -> Pairs:
    """The pairs whose `pair_fraction` falls in the dev part (< dev_fraction) or the train part."""
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    keep = [
        (pair_fraction(a, b) < dev_fraction) == (part is Part.DEV)
        for a, b in zip(pairs.first, pairs.second, strict=True)
    ]
    index = np.flatnonzero(keep)
    return Pairs(
        [pairs.first[i] for i in index], [pairs.second[i] for i in index], pairs.scores[index]
    )


def subsample(pairs: Pairs, limit: int | None, seed: int) -> Pairs:
    """At most `limit` pairs, chosen by a seeded permutation (order kept); None: all."""
    if limit is None or limit >= len(pairs):
        return pairs
    index = np.sort(np.random.default_rng(seed).permutation(len(pairs))[:limit])
    return Pairs(
        [pairs.first[i] for i in index], [pairs.second[i] for i in index], pairs.scores[index]
    )


def training_texts(root: Path, tasks: tuple[Task, ...] = CHINESE_TASKS) -> list[str]:
    """Every sentence of the train parts of `tasks`, in file order (vocabulary source)."""
    texts: list[str] = []
    for task in tasks:
        pairs = task.load(root, Part.TRAIN)
        for a, b in zip(pairs.first, pairs.second, strict=True):
            texts += [a, b]
    return texts

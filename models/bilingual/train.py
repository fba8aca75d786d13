"""The bilingual encoder's training loop: task-homogeneous pair batches, an English anchor,
step checkpoints, resume, a time budget.

Every step takes one batch of one task (models/bilingual/mixture.py) under the chosen
objective (models/losses.py: CoSENT, softmax or cosine-MSE) and, when `anchor_weight > 0`,
`anchor_size` English sentences whose vectors are pulled towards the source model's vectors
(loss `anchor_weight * mean(1 - cos(student, teacher))`): the vocabulary extension leaves
English ids and rows untouched, so the source model's English vectors are the target that
keeps English STS-B where `minilm` has it. Adam with linear warm-up and linear decay.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional as F
from tqdm.auto import tqdm

from models.bilingual.data import Part, Task, subsample, task_by_name
from models.bilingual.mixture import Batch, TaskPairs, epoch_plan, unit_scores
from models.losses import Objective, PairLoss
from models.training.checkpoint import capture_rng, replace_dir, restore_rng
from models.training.encoder import embed, encode, load_sentence_model, max_seq_length
from models.training.pairs import interleave

STATE_FILE = "trainer.pt"
PROGRESS_FILE = "progress.json"
DEFAULT_TASKS = ("atec", "bq", "lcqmc", "stsb-zh", "stsb-en")
SCORE_RANGES = {"stsb-zh": (0.0, 5.0), "stsb-en": (0.0, 5.0)}  # others are 0/1 labels


@dataclass(frozen=True)
class BilingualConfig:
    data: str  # the shared data root (<task>/<split>.tsv)
    source: str  # the extended sentence-transformers folder (extend-vocab)
    out_dir: str
    objective: Objective = Objective.COSENT
    tasks: tuple[str, ...] = DEFAULT_TASKS
    limits: dict[str, int] = field(default_factory=dict)  # at most N training pairs per task
    epochs: int = 1
    batch_size: int = 32  # pairs per step
    lr: float = 5e-5
    # the word-embedding matrix learns at lr x this: 3,198 new character rows start as
    # near-copies of the mean row and must move much further than the pretrained layers
    embedding_lr_scale: float = 10.0
    warmup: float = 0.05  # share of steps with a linearly rising lr
    seed: int = 0
    max_length: int = 64
    anchor_weight: float = 10.0
    anchor_size: int = 16
    checkpoint_every: int = 100
    max_steps: int | None = None  # stop (with a checkpoint) after this many steps in total

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", Objective.parse(self.objective))
        for name in self.tasks:
            task_by_name(name)
        for key in ("epochs", "batch_size", "max_length", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not self.lr > 0 or not 0 <= self.warmup < 1 or self.anchor_weight < 0:
            raise ValueError("need lr > 0, 0 <= warmup < 1, anchor_weight >= 0")

    def identity(self) -> dict:
        """The settings a resumed run must share with the run it continues."""
        data = asdict(self)
        data["objective"] = self.objective.value
        data["tasks"] = list(self.tasks)
        for key in ("out_dir", "max_steps", "checkpoint_every"):
            data.pop(key)
        return data


def load_tasks(config: BilingualConfig) -> list[TaskPairs]:
    out = []
    for name in config.tasks:
        task: Task = task_by_name(name)
        pairs = subsample(task.load(Path(config.data), Part.TRAIN), config.limits.get(name), 0)
        low, high = SCORE_RANGES.get(name, (0.0, 1.0))
        out.append(TaskPairs(name, task.lang, unit_scores(pairs, low, high)))
    return out


def full_plan(config: BilingualConfig, tasks: list[TaskPairs]) -> list[Batch]:
    sizes = [len(t.pairs) for t in tasks]
    plan: list[Batch] = []
    for epoch in range(1, config.epochs + 1):
        plan += epoch_plan(sizes, config.batch_size, config.seed, epoch)
    return plan


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over `warmup * total` steps, then linear decay to 0 at `total`."""
    ramp = max(1, int(warmup * total))
    if step < ramp:
        return (step + 1) / ramp
    return max(0.0, (total - step) / max(1, total - ramp))


def param_groups(model, loss_fn, config: BilingualConfig) -> list[dict]:
    """Word embeddings at lr x embedding_lr_scale, everything else at lr."""
    words = model[0].auto_model.get_input_embeddings().weight
    rest = [p for p in model.parameters() if p is not words] + list(loss_fn.parameters())
    scaled = config.lr * config.embedding_lr_scale
    return [
        {"params": [words], "lr": scaled, "base_lr": scaled},
        {"params": rest, "lr": config.lr, "base_lr": config.lr},
    ]


def english_sentences(tasks: list[TaskPairs]) -> list[str]:
    texts: list[str] = []
    for task in tasks:
        if task.lang == "en":
            texts += list(dict.fromkeys(task.pairs.first + task.pairs.second))
    return texts


def sync_normalizer(model, folder: Path) -> None:
    """Give the transformers tokenizer the folder's tokenizer.json normaliser.

    transformers rebuilds a BERT tokenizer's normaliser from its config flags and drops the
    NFKC step of an extended vocabulary; training must see the ids the server will send.
    """
    model.tokenizer.backend_tokenizer.normalizer = Tokenizer.from_file(
        str(folder / "tokenizer.json")
    ).normalizer


def load_model(folder: Path):
    model = load_sentence_model(folder)
    sync_normalizer(model, folder)
    return model


@dataclass
class Progress:
    step: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # mean loss per checkpoint interval


def run(config: BilingualConfig, progress_bar: bool = True) -> tuple[Path, Progress, int]:
    """Train (or resume) in config.out_dir. Returns (last checkpoint folder, progress, total
    steps); training is complete when progress.step == total."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last"
    identity_file = out / "config.json"
    if identity_file.exists():
        old = json.loads(identity_file.read_text(encoding="utf-8"))
        if old != json.loads(json.dumps(config.identity())):
            changed = sorted(k for k in config.identity() if old.get(k) != config.identity()[k])
            raise ValueError(f"{out} holds a run with other settings ({', '.join(changed)})")
    else:
        identity_file.write_text(json.dumps(config.identity(), indent=2) + "\n", "utf-8")

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    tasks = load_tasks(config)
    plan = full_plan(config, tasks)
    resumed = (last / STATE_FILE).exists()
    model = load_model(last if resumed else Path(config.source))
    serve_length = model.max_seq_length
    model.max_seq_length = config.max_length
    anchors = english_sentences(tasks) if config.anchor_weight > 0 else []
    teacher_file = out / "teacher.npy"
    if anchors and not teacher_file.exists():
        # the teacher is always the source model, also when a resumed run lost the file
        source_model = load_model(Path(config.source)) if resumed else model
        np.save(teacher_file, encode(source_model, anchors, 128))
    teacher = torch.from_numpy(np.load(teacher_file)) if anchors else None

    loss_fn = PairLoss(config.objective, model.get_embedding_dimension(), 0.0, 1.0, (0.5,))
    optimizer = torch.optim.AdamW(param_groups(model, loss_fn, config), weight_decay=0.0)
    progress = Progress()
    if resumed:
        payload = torch.load(last / STATE_FILE, map_location="cpu", weights_only=False)
        optimizer.load_state_dict(payload["optimizer"])
        loss_fn.load_state_dict(payload["loss"])
        restore_rng(payload["rng"])
        progress = Progress(**payload["progress"])

    stop = len(plan) if config.max_steps is None else min(len(plan), config.max_steps)
    bar = tqdm(
        total=len(plan),
        initial=progress.step,
        desc=f"train {config.objective.value}",
        disable=not progress_bar,
        unit="step",
    )
    model.train()
    loss_fn.train()
    window: list[float] = []
    started = time.perf_counter()
    while progress.step < stop:
        batch = plan[progress.step]
        factor = lr_factor(progress.step, len(plan), config.warmup)
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        texts, scores = interleave(tasks[batch.task].pairs, batch.index)
        loss = loss_fn(embed(model, texts), torch.as_tensor(scores, dtype=torch.float32))
        if anchors:
            # drawn from a stream seeded by the step, so a resumed run draws the same sentences
            pick = np.random.default_rng([config.seed, 7, progress.step]).choice(
                len(anchors), size=min(config.anchor_size, len(anchors)), replace=False
            )
            student = embed(model, [anchors[i] for i in pick])
            cos = F.cosine_similarity(student, teacher[pick], dim=-1)
            loss = loss + config.anchor_weight * (1 - cos).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        progress.step += 1
        window.append(float(loss.detach()))
        bar.update()
        bar.set_postfix(loss=f"{np.mean(window[-20:]):.3f}", task=tasks[batch.task].name)
        if progress.step % config.checkpoint_every == 0 or progress.step == stop:
            progress.seconds += time.perf_counter() - started
            started = time.perf_counter()
            progress.losses.append(float(np.mean(window)))
            window = []
            _checkpoint(model, serve_length, optimizer, loss_fn, progress, last)
            _write_progress(out, progress, len(plan))
    bar.close()
    return last, progress, len(plan)


def _checkpoint(model, serve_length, optimizer, loss_fn, progress: Progress, last: Path) -> None:
    def write(folder: Path) -> None:
        with max_seq_length(model, serve_length):
            model.save(str(folder), create_model_card=False)
        payload = {
            "optimizer": optimizer.state_dict(),
            "loss": loss_fn.state_dict(),
            "progress": asdict(progress),
            "rng": capture_rng(),
        }
        torch.save(payload, folder / STATE_FILE)

    replace_dir(last, write)


def _write_progress(out: Path, progress: Progress, total: int) -> None:
    tmp = out / f".{PROGRESS_FILE}.tmp"
    tmp.write_text(json.dumps({**asdict(progress), "total": total}, indent=2) + "\n", "utf-8")
    os.replace(tmp, out / PROGRESS_FILE)

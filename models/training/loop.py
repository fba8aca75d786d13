"""The epoch loop behind `train-cosent`: train, evaluate on dev, keep best, resume, export."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from app.engines.manifest import PoolingMode
from app.errors import Conflict, InvalidInput
from models.losses import PairLoss
from models.training.checkpoint import (
    EpochRecord,
    RunState,
    load_trainer_state,
    replace_dir,
    restore_rng,
    save_trainer_state,
    write_run_json,
)
from models.training.config import TrainConfig, TrainResult, resolve_source
from models.training.encoder import (
    embed,
    encode,
    load_sentence_model,
    max_seq_length,
    served_pooling,
    write_legacy_pooling_config,
)
from models.training.evaluation import spearman_x100
from models.training.pairs import Pairs, epoch_batches, interleave, read_pairs


def dev_spearman(model, dev: Pairs, batch_size: int) -> float:
    """Spearman x100 of cos(u, v) against the gold dev scores."""
    u = encode(model, dev.first, batch_size)
    v = encode(model, dev.second, batch_size)
    cos = (u * v).sum(1) / np.maximum(np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-12)
    return spearman_x100(dev.scores, cos)


def build_loss(config: TrainConfig, hidden: int, train: Pairs) -> PairLoss:
    low, high = float(train.scores.min()), float(train.scores.max())
    if high <= low:
        raise ValueError("all training scores are equal: nothing to learn from")
    thresholds = config.thresholds or ((low + high) / 2,)
    return PairLoss(config.objective, hidden, low, high, thresholds)


def _save_model(model, folder: Path, serve_length: int) -> None:
    with max_seq_length(model, serve_length):
        model.save(str(folder), create_model_card=False)
    write_legacy_pooling_config(model, folder)


def run_training(config: TrainConfig) -> TrainResult:
    run_dir = Path(config.out_dir)
    target = Path(config.models_dir) / config.name
    if config.export and target.exists() and not config.overwrite:
        raise InvalidInput(f"{target} already exists; pass --overwrite to replace it")
    run_dir.mkdir(parents=True, exist_ok=True)
    train_pairs = read_pairs(Path(config.train)).rounded(config.label_step)
    dev_pairs = read_pairs(Path(config.dev))
    resumed = load_trainer_state(run_dir)
    if resumed is not None and resumed[0].config != config.identity():
        old, new = resumed[0].config, config.identity()
        changed = sorted(k for k in new if old.get(k) != new[k])
        raise Conflict(
            f"{run_dir} holds a run with other settings ({', '.join(changed)}); use a new --out-dir"
        )

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    source = resolve_source(config.source)
    model = load_sentence_model(run_dir / "last" if resumed else source)
    serve_length = model.max_seq_length
    pooling = served_pooling(model)  # checked before any step, used by the export
    model.max_seq_length = config.max_length
    loss_fn = build_loss(config, model.get_embedding_dimension(), train_pairs)
    optimizer = torch.optim.Adam([*model.parameters(), *loss_fn.parameters()], lr=config.lr)
    if resumed:
        state, payload = resumed
        optimizer.load_state_dict(payload["optimizer"])
        loss_fn.load_state_dict(payload["loss"])
        restore_rng(payload["rng"])
    else:
        state = RunState(config.identity(), dev_spearman(model, dev_pairs, config.eval_batch_size))
        write_run_json(run_dir, state)

    for epoch in range(state.epochs_done + 1, config.epochs + 1):
        record = _train_epoch(model, loss_fn, optimizer, train_pairs, config, epoch)
        score = dev_spearman(model, dev_pairs, config.eval_batch_size)
        record = EpochRecord(epoch, record.steps, record.train_loss, score, record.seconds)
        best_before = state.best
        state = RunState(state.config, state.initial_dev_spearman, (*state.history, record))
        if best_before is None or state.best.epoch == epoch:
            replace_dir(run_dir / "best", partial(_write_best, model, serve_length, record))
        extra = {"optimizer": optimizer.state_dict(), "loss": loss_fn.state_dict()}
        replace_dir(run_dir / "last", partial(_write_last, model, serve_length, state, extra))
        write_run_json(run_dir, state)
        if config.progress:
            tqdm.write(f"epoch {epoch}: loss {record.train_loss:.4f}, dev Spearman {score:.2f}")

    exported = _export(config, run_dir / "best", pooling, serve_length) if config.export else None
    return TrainResult(run_dir, state, run_dir / "best", exported)


def _write_last(model, serve_length: int, state: RunState, extra: dict, folder: Path) -> None:
    _save_model(model, folder, serve_length)
    save_trainer_state(folder, state, extra)


def _write_best(model, serve_length: int, record: EpochRecord, folder: Path) -> None:
    _save_model(model, folder, serve_length)
    (folder / "epoch.json").write_text(json.dumps(asdict(record)) + "\n", encoding="utf-8")


def _train_epoch(
    model, loss_fn, optimizer, pairs: Pairs, config: TrainConfig, epoch: int
) -> EpochRecord:
    model.train()
    loss_fn.train()
    batches = epoch_batches(len(pairs), config.batch_size, config.seed, epoch)
    losses = []
    start = time.perf_counter()
    bar = tqdm(
        batches,
        desc=f"{config.objective.value} epoch {epoch}/{config.epochs}",
        disable=not config.progress,
        leave=False,
    )
    for index in bar:
        texts, scores = interleave(pairs, index)
        loss = loss_fn(embed(model, texts), torch.as_tensor(scores, dtype=torch.float32))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
    return EpochRecord(
        epoch, len(losses), float(np.mean(losses)), float("nan"), time.perf_counter() - start
    )


def _export(config: TrainConfig, best_dir: Path, pooling: PoolingMode, max_length: int) -> Path:
    """Export `best/` as a served model folder; the parity gate in export_model applies.

    Pooling and max_length are passed explicitly: sentence-transformers 6 no longer writes
    max_seq_length to sentence_bert_config.json, and the source's value must survive."""
    from models.export import export_model

    export_model(
        best_dir,
        config.models_dir,
        config.name,
        pooling=pooling,
        max_length=max_length,
        overwrite=config.overwrite,
    )
    return Path(config.models_dir) / config.name

"""`python -m models fit-whitening`: BERT-whitening (docs/METHODS.md 1.1) fitted through the served path.

Sentences stream through `Encoder` (same tokenizer, graph and pooling as `/embed`) into a
float64 `MomentAccumulator`; `fit_whitening` gives mu and W_k, stored as `whitening.npz`
in a new model folder that shares the base folder's graph and tokenizer (hardlinks).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from app.engines.manifest import ModelManifest, WhiteningSpec, write_manifest
from app.engines.whitening import MomentAccumulator, fit_whitening, save_whitening
from app.errors import InvalidInput
from models.corpus import read_sentences
from models.encoding import load_encoder, pooled_batches
from models.folders import check_new_name, link_files, staged_folder


def fit_whitening_model(
    models_dir: str | Path,
    model: str,
    name: str,
    data: str | Path,
    *,
    k: int = -1,
    beta: float = 1.0,
    gamma: float = 1.0,
    batch_size: int = 32,
    overwrite: bool = False,
) -> ModelManifest:
    """Fit whitening for `models_dir/model` on the sentences of `data`; write `models_dir/name`.

    k = -1 keeps every dimension. Returns the written manifest (dimension = k).
    """
    models_dir = Path(models_dir)
    target = check_new_name(models_dir, name, overwrite)
    encoder = load_encoder(models_dir, model)
    base = encoder.manifest
    if base.whitening is not None:
        raise InvalidInput(f"{model} is already whitened; fit on its unwhitened base model")
    hidden = base.hidden_size
    if k == 0 or k < -1 or k > hidden:
        raise InvalidInput(f"k must be -1 (all) or in 1..{hidden} for {model}, got {k}")
    sentences = read_sentences(data)
    if len(sentences) < 2:
        raise InvalidInput(f"need at least 2 sentences to fit whitening, got {len(sentences)}")
    acc = MomentAccumulator(hidden)
    for _, vectors in pooled_batches(encoder, sentences, batch_size, desc=f"fit {name}"):
        acc.update(vectors)
    transform = fit_whitening(acc, k=k, beta=beta, gamma=gamma)
    dim = int(transform.kernel.shape[1])
    spec = WhiteningSpec(
        k=dim, beta=beta, gamma=gamma, fit_corpus=Path(data).name, n_sentences=acc.count
    )
    manifest = replace(
        base,
        name=name,
        dimension=dim,
        whitening=spec,
        files={},
        source={**base.source, "base_model": model},
    )
    with staged_folder(target) as tmp:
        link_files(encoder.folder, base, tmp, skip={spec.file})
        save_whitening(tmp / spec.file, transform)
        manifest = write_manifest(tmp, manifest)
    return manifest


def run(args: argparse.Namespace) -> int:
    manifest = fit_whitening_model(
        args.models_dir,
        args.model,
        args.name,
        args.data,
        k=args.k,
        beta=args.beta,
        gamma=args.gamma,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
    )
    print(
        f"wrote {Path(args.models_dir) / args.name}: whitening k={manifest.dimension} "
        f"beta={args.beta} gamma={args.gamma} from {manifest.whitening.n_sentences} sentences"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit-whitening", help="fit BERT-whitening on a corpus -> new model folder")
    p.add_argument("--model", required=True, help="base model name in --models-dir")
    p.add_argument("--data", required=True, help=".txt (one sentence a line) or pairs .tsv")
    p.add_argument("--k", type=int, default=-1, help="dimensions kept (-1 = all)")
    p.add_argument("--beta", type=float, default=1.0, help="centering weight (1 = whitening)")
    p.add_argument("--gamma", type=float, default=1.0, help="variance exponent (0 = rotation)")
    p.add_argument("--name", required=True, help="new model name, e.g. minilm-w128")
    p.add_argument("--models-dir", default="var/models")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)

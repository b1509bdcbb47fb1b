"""The training loop: round-robin over hierarchy sources and synonyms, resumable.

``train(config, output)`` builds the data, plans every batch up front, and steps
AdamW with a linear decay to zero. Hierarchy batches go through :class:`TreeLoss`
on pair cosines; synonym batches through the multi-similarity loss with an online
miner. Every ``save_every`` steps (and when stopped early with ``stop_after``)
``output/last-checkpoint`` is written; calling ``train`` again resumes from it
with the same optimizer, scheduler and RNG state. At the end the model folder,
its held-out evaluation (base and trained side by side) and the manifest are written.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ehrfeat.errors import ConfigError
from ehrfeat.evaluation import HELDOUT_FILE, EvalSet, evaluate_encoder
from ehrfeat.models.loader import resolve_model
from ehrfeat.paths import check_output_folder
from ehrfeat.training.anchors import Anchorer
from ehrfeat.training.batching import SYNONYMS, Batch, plan_batches
from ehrfeat.training.checkpoint import (
    LAST_CHECKPOINT,
    MANIFEST,
    has_trainer_state,
    library_versions,
    load_trainer_state,
    restore_optimizer,
    restore_rng,
    save_trainer_state,
    write_manifest,
    writing_output,
)
from ehrfeat.training.config import TrainConfig, load_config
from ehrfeat.training.data_sources import TrainingData, build_training_data
from ehrfeat.training.distill import Distiller
from ehrfeat.training.losses import RankLoss, SynonymLoss, TreeLoss
from ehrfeat.training.merge import interpolate_with_base
from ehrfeat.training.model import (
    TermModel,
    check_drop_layers,
    check_freeze_layers,
    drop_layers,
    freeze_layers,
    layerwise_lr_groups,
)
from ehrfeat.training.run_lock import LOCK_FILE, run_lock
from ehrfeat.vocab import VocabSource

__all__ = ["batch_loss", "evaluate_pair", "prepare_base_model", "train"]

logger = logging.getLogger(__name__)

ANCHOR_LOSS = "anchors"  # the anchor loss's key among a step's parts (config.RESERVED_SOURCE_NAMES keeps sources off it)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare_base_model(config: TrainConfig, data: TrainingData, output: Path) -> str:
    """The base model path; ``tiny`` writes a random BERT with a tokenizer trained on the data's terms."""
    if config.model.base != "tiny":
        return config.model.base
    from ehrfeat.training.tiny_model import make_tiny_bert

    folder = output / "_base"
    if not (folder / "model.safetensors").is_file():
        terms = sorted(set(data.terms()))
        make_tiny_bert(folder, terms, hidden=config.model.tiny_hidden, layers=config.model.tiny_layers,
                       max_length=config.model.max_length, pooling=config.model.pooling, seed=config.training.seed)
    return str(folder.resolve())


def batch_loss(model: TermModel, batch: Batch, tree_loss: TreeLoss | Mapping[str, TreeLoss], synonym_loss: SynonymLoss,
               distiller: Distiller | None = None, rank: tuple[RankLoss, float] | None = None) -> torch.Tensor:
    """The loss of one planned batch (each distinct string encoded once); ``rank``: the rank loss and its weight.

    ``tree_loss`` is one loss for every source, or one per source name (a source with
    its own bands); a name the mapping lacks is a :class:`KeyError`.
    """
    if batch.source == SYNONYMS:
        texts = list(batch.terms)
        raw = model(texts)
        labels = torch.tensor(batch.labels, device=model.device)
        loss = synonym_loss(raw, labels)
        trained = labels[:, None] == labels[None, :]
    else:
        texts = list(dict.fromkeys(t for p in batch.pairs for t in (p.anchor, p.other)))
        row = {t: i for i, t in enumerate(texts)}
        raw = model(texts)
        emb = F.normalize(raw.float(), dim=-1)
        anchor_rows = [row[p.anchor] for p in batch.pairs]
        other_rows = [row[p.other] for p in batch.pairs]
        a = emb[anchor_rows]
        b = emb[other_rows]
        trained = torch.zeros(len(texts), len(texts), dtype=torch.bool, device=model.device)
        trained[anchor_rows, other_rows] = trained[other_rows, anchor_rows] = True
        cats = torch.tensor([p.category for p in batch.pairs], device=model.device)
        cosine = (a * b).sum(dim=-1)
        tree = tree_loss if isinstance(tree_loss, TreeLoss) else tree_loss[batch.source]
        depth = torch.tensor([p.depth for p in batch.pairs], device=model.device) if tree.depth_shift else None
        loss = tree(cosine, cats, depth)
        if rank is not None and rank[1] > 0:
            anchors = torch.tensor(anchor_rows, device=model.device)
            loss = loss + rank[1] * rank[0](cosine, cats, anchors)
    if distiller is not None:
        distinct = list(dict.fromkeys(texts))
        if len(distinct) < len(texts):  # synonym batches may repeat a string
            first = {t: i for i, t in reversed(list(enumerate(texts)))}
            keep = [first[t] for t in distinct]
            raw, trained = raw[keep], trained[keep][:, keep]
        loss = loss + distiller(distinct, raw, trained, synonyms=batch.source == SYNONYMS)
    return loss


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("training.device = 'cuda' but no CUDA device is available", fix="use 'auto' or 'cpu'", code="E413")
    return torch.device(name)


def _init_folder(cfg: TrainConfig) -> str:
    """``model.init`` (the folder the weights start from), checked; "" when the weights start from the base."""
    init = cfg.model.init
    if init and not Path(init).is_dir():
        raise ConfigError(f"model.init: folder {init} does not exist", fix="train that model first (e.g. `ehrfeat train hiprbert-mini-v2`) "
                          "or point model.init at a model folder", code="E1721")
    return init


def _check_layers(cfg: TrainConfig) -> None:
    """Refuse ``model.drop_layers`` the starting model cannot give up, or a ``freeze_layers`` that leaves nothing to train,
    before the run's folder is made."""
    drop = cfg.model.drop_layers
    if not drop and not cfg.model.freeze_layers:
        return
    if cfg.model.base == "tiny" and not cfg.model.init:
        layers = cfg.model.tiny_layers
    else:
        from transformers import AutoConfig

        layers = AutoConfig.from_pretrained(str(resolve_model(_init_folder(cfg) or cfg.model.base))).num_hidden_layers
    check_drop_layers(drop, layers)
    check_freeze_layers(cfg.model.freeze_layers, layers - len(drop))


def _is_run_folder(folder: Path) -> bool:
    """A folder a training run wrote: it has a checkpoint, the base model copy, a manifest, a held-out set or a run's lock file."""
    return any((folder / name).exists() for name in (LAST_CHECKPOINT, "_base", MANIFEST, HELDOUT_FILE, LOCK_FILE))


def _check_not_finished(out: Path) -> None:
    """Refuse to train into a finished run: its model (hours of training, perhaps) would be replaced from scratch."""
    if (out / MANIFEST).is_file() and not has_trainer_state(out):
        raise ConfigError(f"{out} holds a finished run (a trained model and its {MANIFEST}); training into it would replace that model",
                          fix=f"pass another output folder (e.g. {out.with_name(out.name + '-2')}), or delete {out} to train it again; "
                              f"`ehrfeat evaluate {out}` evaluates the finished model", code="E432")


def train(
    config: TrainConfig | str | Path,
    output: str | Path,
    *,
    sources: Sequence[VocabSource] | None = None,
    stop_after: int | None = None,
    evaluate: bool = True,
    progress: bool = True,
) -> Path:
    """Train per ``config`` (a :class:`TrainConfig`, a TOML path or a recipe name) into ``output``.

    Resumes from ``output/last-checkpoint`` when present; a finished run in ``output`` is
    refused (E432), never trained over. ``stop_after`` ends the run after that many steps
    in total (checkpoint written, no final model).
    """
    cfg = config if isinstance(config, TrainConfig) else load_config(config)
    tc = cfg.training
    out = check_output_folder(output, _is_run_folder, "training output folder", example="runs/my-run")
    _check_not_finished(out)
    if tc.num_threads:
        torch.set_num_threads(tc.num_threads)
    _seed_everything(tc.seed)
    data = build_training_data(cfg, sources)
    plan = plan_batches(data.pair_sets, data.synonyms, batch_size=tc.batch_size, weights=data.weights, synonym_weight=tc.synonym_weight,
                        epochs=tc.epochs, seed=tc.seed, max_steps=tc.max_steps, by_anchor=cfg.loss.rank_weight > 0,
                        sibling_synonyms=tc.sibling_synonyms)
    if not plan:
        raise ConfigError("the sources give no batch to train on", fix="add data or lower training.batch_size", code="E412")
    if not has_trainer_state(out):  # a checkpoint already has the layers dropped
        _check_layers(cfg)
    out.mkdir(parents=True, exist_ok=True)  # only once the data are good: a refused run leaves no folder behind
    with run_lock(out):
        return _train_locked(cfg, data, plan, out, stop_after=stop_after, evaluate=evaluate, progress=progress)


def _train_locked(cfg: TrainConfig, data: TrainingData, plan: list[Batch], out: Path, *, stop_after: int | None, evaluate: bool,
                  progress: bool) -> Path:
    """The run itself, in ``out``, whose lock this process holds."""
    tc = cfg.training
    base = prepare_base_model(cfg, data, out)
    state = load_trainer_state(out)
    device = _device(tc.device)
    model = TermModel(out / LAST_CHECKPOINT if state else _init_folder(cfg) or base, pooling=cfg.model.pooling, max_length=cfg.model.max_length)
    if state is None:  # a checkpoint is saved with the layers already dropped
        drop_layers(model, cfg.model.drop_layers)
    freeze_layers(model, cfg.model.freeze_layers)  # requires_grad is not saved: again on every resume
    model.to(device).train()
    optimizer = torch.optim.AdamW(layerwise_lr_groups(model, tc.lr, tc.layer_lr_decay), lr=tc.lr, weight_decay=tc.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1.0 - s / len(plan)))
    start = 0
    if state is not None:
        if state["plan_length"] != len(plan):
            raise ConfigError(
                f"{out / LAST_CHECKPOINT} belongs to a run of {state['plan_length']} steps; this config plans {len(plan)}",
                fix="resume with the same config and data, or delete the checkpoint folder to start over",
                code="E414",
            )
        restore_optimizer(optimizer, state, out)
        scheduler.load_state_dict(state["scheduler"])
        restore_rng(state)
        start = int(state["step"])
        logger.info("resuming from step %d of %d", start, len(plan))
    lc = cfg.loss
    shift = cfg.pairs.depth_shift
    tree_loss = {ps.source: TreeLoss(lc.alpha, lc.beta, data.bands.get(ps.source) or lc.lambdas or lc.lambda_,
                                     depth_shift=shift, mean_depth=ps.mean_depth()) for ps in data.pair_sets}
    synonym_loss = SynonymLoss(lc.synonym_alpha, lc.synonym_beta, lc.synonym_base, lc.miner_margin)
    rank = (RankLoss(lc.rank_margin, lc.rank_gamma), lc.rank_weight) if lc.rank_weight > 0 else None
    distilling = max(tc.distill_weight, tc.distill_weight_tree or 0.0) > 0
    distiller = anchorer = None
    if distilling or tc.anchor_weight > 0:  # one frozen base serves both
        teacher = TermModel(base, pooling=cfg.model.pooling, max_length=cfg.model.max_length).to(device)
        if distilling:
            distiller = Distiller(teacher, tc.distill_weight, tc.distill_shared_word, tc.distill_shared_word_tree, tc.distill_weight_tree)
        if tc.anchor_weight > 0:
            anchorer = Anchorer(teacher, data.anchors, tc.anchor_weight, tc.anchor_size, tc.seed)
    end = len(plan) if stop_after is None else min(len(plan), stop_after)
    running: dict[str, float] = {}
    from tqdm.auto import tqdm

    bar = tqdm(total=len(plan), initial=start, disable=not progress, unit="step", desc="training")
    began = time.perf_counter()
    for step in range(start, end):
        batch = plan[step]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            parts = {batch.source: batch_loss(model, batch, tree_loss, synonym_loss, distiller, rank)}
            if anchorer is not None:
                parts[ANCHOR_LOSS] = anchorer(model, step)
        loss = sum(parts.values(), torch.zeros((), device=device))
        value = float(loss.detach())
        if not np.isfinite(value):
            raise FloatingPointError(f"non-finite loss {value} at step {step} ({batch.source})")
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        for name, part in parts.items():
            v = float(part.detach())
            running[name] = v if name not in running else 0.9 * running[name] + 0.1 * v
        bar.update(1)
        bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()}, refresh=False)
        if (step + 1) % 10 == 0 or step + 1 == end:
            logger.info("step %d/%d %s (%.1f steps/s)", step + 1, len(plan), {k: round(v, 4) for k, v in running.items()},
                        (step + 1 - start) / (time.perf_counter() - began))
        if tc.save_every and (step + 1) % tc.save_every == 0 and step + 1 < end:
            save_trainer_state(out, model, optimizer, scheduler, step + 1, len(plan))
    bar.close()
    if end < len(plan):
        save_trainer_state(out, model, optimizer, scheduler, end, len(plan))
        logger.info("stopped after step %d of %d; call train() again to resume", end, len(plan))
        return out
    if tc.merge_with_base != 1.0:
        interpolate_with_base(model, base, tc.merge_with_base)
    evalset = EvalSet.from_parts(data.eval_pairs, data.eval_synonyms.groups)
    with writing_output(out, "trained model"):
        model.save(out)
        evalset.save(out / HELDOUT_FILE)
    manifest: dict[str, Any] = {
        "name": cfg.name,
        "base_model": base if Path(base).exists() else cfg.model.base,
        "pooling": cfg.model.pooling,
        "max_length": cfg.model.max_length,
        "normalize": True,
        "steps": len(plan),
        "merge_with_base": tc.merge_with_base,
        "train_seconds": round(time.perf_counter() - began, 1),
        "final_losses": running,
        "data_sources": data.manifest(),
        "source_summaries": data.source_summaries,
        "config": cfg.to_dict(),
        "versions": library_versions(),
        "evaluation": {},
    }
    with writing_output(out, "trained model"):
        write_manifest(out, manifest)
    if evaluate:
        manifest["evaluation"] = evaluate_pair(out, manifest["base_model"], evalset)
        with writing_output(out, "trained model"):
            write_manifest(out, manifest)
    shutil.rmtree(out / LAST_CHECKPOINT, ignore_errors=True)
    return out


def evaluate_pair(model: Path, base: str, evalset: EvalSet) -> dict[str, Any]:
    """Held-out metrics of the base model and the trained one (loaded as ``ehrfeat evaluate`` does)."""
    from ehrfeat.models.loader import load_encoder

    return {name: evaluate_encoder(load_encoder(path), evalset) for name, path in (("base", base), ("trained", str(model)))}

"""WiSE-FT: the fine-tuned weights interpolated with the base's (Wortsman et al., CVPR 2022).

``θ = θ_base + w · (θ_fine-tuned − θ_base)``. Fine-tuning on terminology
hierarchies sharpens the distinctions it trains on (sibling vs synonym, parent vs
child) and, with every step, pulls whole trees closer together; the
interpolated model keeps most of the first and little of the second, because the
losses are not linear in the weights. ``training.merge_with_base = w`` applies it
to the final model only (checkpoints hold the fine-tuned weights, so a resumed run
merges the same way). 1.0 keeps the fine-tuned weights.

``python -m ehrfeat.training.merge RUN OUT --weight W`` merges a finished, unmerged run
into a new folder (its held-out set and manifest with it), which is what training with
``merge_with_base = W`` writes, without training again; ``RUN`` is left as it is.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

import torch

from ehrfeat.errors import ConfigError, EhrfeatError, ModelError
from ehrfeat.models.loader import resolve_model
from ehrfeat.training.model import TermModel

__all__ = ["interpolate_with_base", "merge_run"]

logger = logging.getLogger(__name__)


@torch.no_grad()
def interpolate_with_base(model: TermModel, base: str | Path, weight: float) -> int:
    """Set ``model``'s transformer weights to ``base + weight * (model - base)``; returns the tensors changed."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"merge weight must be in [0, 1], got {weight}")
    if weight == 1.0:
        return 0
    from transformers import AutoModel

    base_state = AutoModel.from_pretrained(str(resolve_model(str(base)))).state_dict()
    changed = 0
    for name, tensor in model.transformer.state_dict().items():
        reference = base_state.get(name)
        if reference is None or reference.shape != tensor.shape:
            raise ModelError(
                f"cannot merge with the base: {name} is {'missing' if reference is None else 'shaped differently'} in {base}",
                fix="merge only with the model the run was fine-tuned from (model.base), or set merge_with_base = 1.0",
                code="E309",
            )
        if tensor.is_floating_point():
            reference = reference.to(device=tensor.device, dtype=tensor.dtype)
            tensor.copy_(reference + weight * (tensor - reference))
            changed += 1
    logger.info("WiSE-FT: %d tensors set to base + %.2f x (fine-tuned - base)", changed, weight)
    return changed


def merge_run(run: str | Path, out: str | Path, weight: float) -> Path:
    """Write ``run`` (a finished run with ``merge_with_base = 1``) merged at ``weight`` into the new folder ``out``.

    ``out`` must be new, empty or a folder this function wrote (its manifest names ``merged_from``):
    never the run itself or another run.
    """
    from ehrfeat.evaluation import HELDOUT_FILE
    from ehrfeat.paths import check_output_folder
    from ehrfeat.training.checkpoint import read_manifest, write_manifest

    if not 0.0 < weight <= 1.0:
        raise ConfigError(f"merge weight must be in (0, 1], got {weight}",
                          fix="1.0 keeps the fine-tuned weights; 0.6 moves them 40 % of the way back to the base", code="E1723")
    run = Path(run)
    manifest = read_manifest(run)
    if float(manifest.get("merge_with_base", 1.0)) != 1.0:
        raise ModelError(f"{run} is not a finished training run with unmerged weights (merge_with_base is "
                         f"{manifest['merge_with_base']} in its manifest)",
                         fix="merge the folder `ehrfeat train` wrote with merge_with_base = 1.0", code="E1722")
    target = check_output_folder(out, _merged_here, "merged model folder", example="runs/merged")
    model = TermModel(run, pooling=manifest["pooling"], max_length=int(manifest["max_length"]))
    interpolate_with_base(model, manifest["base_model"], weight)
    model.save(target)
    if (run / HELDOUT_FILE).is_file():
        shutil.copy2(run / HELDOUT_FILE, target / HELDOUT_FILE)
    manifest["merge_with_base"] = weight
    manifest["merged_from"] = str(run)
    manifest["evaluation"] = {}
    write_manifest(target, manifest)
    return target


def _merged_here(folder: Path) -> bool:
    """A folder :func:`merge_run` wrote (so it may write it again)."""
    from ehrfeat.training.checkpoint import read_manifest

    try:
        return "merged_from" in read_manifest(folder)
    except ModelError:
        return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m ehrfeat.training.merge", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--weight", type=float, required=True, help="w in base + w x (fine-tuned - base), in [0, 1]")
    args = parser.parse_args()
    try:
        sys.stdout.write(f"{merge_run(args.run, args.out, args.weight)}\n")
    except EhrfeatError as exc:  # bad input: the message names the folder and the fix
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None

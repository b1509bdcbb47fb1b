"""WiSE-FT: the fine-tuned weights interpolated with the base's (Wortsman et al., CVPR 2022).

``θ = θ_base + w · (θ_fine-tuned − θ_base)``. Fine-tuning on terminology
hierarchies sharpens the distinctions it trains on (sibling vs synonym, parent vs
child) and, with every step, pulls whole trees closer together; the
interpolated model keeps most of the first and little of the second, because the
losses are not linear in the weights. ``training.merge_with_base = w`` applies it
to the final model only (checkpoints hold the fine-tuned weights, so a resumed run
merges the same way). 1.0 keeps the fine-tuned weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ehrfeat.errors import ModelError
from ehrfeat.models.loader import resolve_model
from ehrfeat.training.model import TermModel

__all__ = ["interpolate_with_base"]

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

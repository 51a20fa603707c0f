"""MC dropout (Gal & Ghahramani 2016): keep dropout on at prediction and average several passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .backends import PREDICT_BATCH
from .forward import as_batch, float_batches

if TYPE_CHECKING:
    from .classifier import DigitClassifier


def has_dropout(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.dropout._DropoutNd) for m in model.modules())


@torch.no_grad()
def mc_dropout_proba(classifier: DigitClassifier, images: np.ndarray, samples: int = 10, seed: int = 0,
                     batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """(S, N, K) softmax probabilities of ``samples`` passes with dropout on (BatchNorm stays in eval mode)."""
    model = classifier.model
    if not has_dropout(model):
        raise ValueError(f"MC dropout needs a model with dropout layers; {classifier.card.arch!r} has none")
    if samples < 2:
        raise ValueError(f"MC dropout needs at least 2 samples, not {samples}")
    x = as_batch(images)
    generator_state = torch.get_rng_state()
    torch.manual_seed(seed)  # the same images give the same samples: reports are reproducible
    dropouts = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    try:
        for m in dropouts:
            m.train()
        out = np.empty((samples, len(x), classifier.num_classes), np.float32)
        for i, batch in zip(range(0, len(x), batch_size), float_batches(x, batch_size, classifier.device),
                            strict=True):  # each (B, 1, 28, 28)
            for s in range(samples):
                out[s, i:i + len(batch)] = torch.softmax(model(batch).float(), dim=1).cpu().numpy()
    finally:
        for m in dropouts:
            m.eval()
        torch.set_rng_state(generator_state)
    return out

"""Digits as the networks take them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def as_batch(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"images must be uint8 N x 28 x 28 (MNIST style), got shape {x.shape}")
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255, white ink on black), got {x.dtype}")
    return np.ascontiguousarray(x)


def float_batches(images: np.ndarray, batch_size: int, device: torch.device | str | None = None
                  ) -> Iterator[torch.Tensor]:
    """uint8 images (N, H, W), `batch_size` at a time, as the networks take them: (B, 1, H, W) float32 in 0..1
    on `device` (None: the CPU). Converted after the move, so only uint8 crosses to the device."""
    import torch  # not at module level: the onnxruntime backend never needs it (``backends``)

    for i in range(0, len(images), batch_size):
        yield torch.from_numpy(images[i:i + batch_size]).to(device).unsqueeze(1).float().div_(255)

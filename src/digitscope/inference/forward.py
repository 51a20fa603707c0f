"""Digits as the networks take them."""

from __future__ import annotations

import numpy as np


def as_batch(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"images must be uint8 N x 28 x 28 (MNIST style), got shape {x.shape}")
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255, white ink on black), got {x.dtype}")
    return np.ascontiguousarray(x)

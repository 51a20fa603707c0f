"""Batched augmentation on whole tensors: one random affine (and optional elastic) warp per image,
all images of a batch in one ``grid_sample`` call — no per-sample Python."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate: float = 10.0  # degrees, uniform in [-rotate, rotate]
    scale: float = 0.1  # zoom factor uniform in [1 - scale, 1 + scale]
    shift: float = 0.1  # fraction of the image size, per axis
    shear: float = 5.0  # degrees
    elastic: float = 0.0  # displacement amplitude in pixels (0 = off)

    @property
    def enabled(self) -> bool:
        return any((self.rotate, self.scale, self.shift, self.shear, self.elastic))


def _uniform(n: int, bound: float, device) -> torch.Tensor:
    return (torch.rand(n, device=device) * 2 - 1) * bound


def random_affine_grid(n: int, size: tuple[int, int], cfg: AugmentConfig, device) -> torch.Tensor:
    """(n, H, W, 2) sampling grid of a random rotation / scale / shear / shift per image."""
    angle = _uniform(n, math.radians(cfg.rotate), device)
    shear = _uniform(n, math.radians(cfg.shear), device)
    zoom = 1 + _uniform(n, cfg.scale, device)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
    theta = torch.zeros(n, 2, 3, device=device)
    # grid_sample maps output -> input coordinates, so the inverse zoom makes digits bigger when zoom > 1.
    theta[:, 0, 0] = cos / zoom
    theta[:, 0, 1] = (-sin + tan * cos) / zoom
    theta[:, 1, 0] = sin / zoom
    theta[:, 1, 1] = (cos + tan * sin) / zoom
    theta[:, :, 2] = _uniform(2 * n, 2 * cfg.shift, device).view(n, 2)  # [-1, 1] spans the image
    return F.affine_grid(theta, [n, 1, *size], align_corners=False)


def elastic_offsets(n: int, size: tuple[int, int], amplitude: float, device) -> torch.Tensor:
    """Smooth random displacement (n, H, W, 2) in grid units: a coarse 4x4 field upsampled bicubically."""
    h, w = size
    coarse = torch.randn(n, 2, 4, 4, device=device)
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    scale = torch.tensor([2 * amplitude / w, 2 * amplitude / h], device=device).view(1, 2, 1, 1)
    return (field * scale).permute(0, 2, 3, 1)


def augment_batch(x: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """x: (N, C, H, W) floats in [0, 1], ink bright on a zero background -> warped copy, same shape."""
    if not cfg.enabled or len(x) == 0:
        return x
    n, _, h, w = x.shape
    grid = random_affine_grid(n, (h, w), cfg, x.device)
    if cfg.elastic > 0:
        grid = grid + elastic_offsets(n, (h, w), cfg.elastic, x.device)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

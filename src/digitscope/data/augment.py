"""Batched augmentation on whole tensors: one random affine (and optional elastic) warp per image,
all images of a batch in one ``grid_sample`` call, optionally a random stroke width, and a slash through chosen
images (``slash``: the slashed zero) — no per-sample Python."""

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
    thickness: float = 0.0  # stroke width change, uniform in [-thickness, thickness] (``stroke_width``; 0 = off)

    @property
    def enabled(self) -> bool:
        return any((self.rotate, self.scale, self.shift, self.shear, self.elastic, self.thickness))


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
    # The warp is drawn in pixels; the grid's coordinates run -1..1 along each side, so on an image wider than it
    # is high (a line of digits) the cross terms scale by the aspect ratio: a 5-degree shear stays 5 degrees.
    aspect = size[0] / size[1]  # H / W
    theta[:, 0, 0] = cos / zoom
    theta[:, 0, 1] = (-sin + tan * cos) / zoom * aspect
    theta[:, 1, 0] = sin / zoom / aspect
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


def stroke_width(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Thicker or thinner strokes, as another pen would write them: (N, C, H, W) ink in [0, 1], amount (N,) in
    [-1, 1]. Above 0 each image moves that far toward its 3x3 grey dilation: the ink grows by up to a pixel. Below 0
    its grey levels are raised to the power 1 + 2|amount|: the partly covered pixels at a stroke's edges fade and
    its core stays, a stroke thinner by a fraction of a pixel. (Moving toward an erosion instead would leave a faint
    line rather than a thin one: MNIST's strokes are only two or three pixels wide.)"""
    # Past 1 a blend would overshoot the dilation (ink above 1): larger amounts, such as the hard examples'
    # scaled-up augmentation asks for, stop at a full dilation or the cube.
    t = amount.clamp(-1, 1).view(-1, 1, 1, 1)
    thicker = x + t.clamp(min=0) * (_dilate3x3(x) - x)
    return thicker.pow(1 + 2 * (-t).clamp(min=0))


def _dilate3x3(x: torch.Tensor) -> torch.Tensor:
    """``max_pool2d(x, 3, stride=1, padding=1)`` for ink >= 0, as a row then a column maximum of shifted views: the
    same result, and on one-channel digits many times faster than the pooling kernel on this CPU."""
    padded = F.pad(x, (1, 1, 1, 1))  # zeros: no ink is below 0, so they never win a maximum
    rows = torch.maximum(torch.maximum(padded[..., :-2], padded[..., 1:-1]), padded[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def slash(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A pen stroke through each chosen image's ink, from below its lower left to above its upper right, as many
    European and technical hands write a zero ("Ø"); CVL's writers do, MNIST's almost never. x: (N, C, H, W) ink in
    [0, 1], chosen: (N,) bool. The ends overshoot the ink by up to 3 pixels and move by up to 2, so the stroke's
    slant varies; its width is 1.5-3 pixels and its ink as bright as the image's brightest."""
    if not chosen.any():
        return x
    sub = x[chosen]
    n, _, h, w = sub.shape
    ink = sub.amax(1) > 0.3  # (n, H, W)
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    cols, rows = ink.any(1), ink.any(2)  # (n, W), (n, H)
    left = torch.where(cols, xs, w).amin(1).float()
    right = torch.where(cols, xs, -1).amax(1).float()
    top = torch.where(rows, ys, h).amin(1).float()
    bottom = torch.where(rows, ys, -1).amax(1).float()
    over = torch.rand(n, 2, device=x.device) * 3
    move = _uniform(4 * n, 2.0, x.device).view(n, 4)
    x0, y0 = left - over[:, 0] + move[:, 0], bottom + over[:, 0] + move[:, 1]
    x1, y1 = right + over[:, 1] + move[:, 2], top - over[:, 1] + move[:, 3]
    dx, dy = (x1 - x0).view(n, 1, 1), (y1 - y0).view(n, 1, 1)
    px, py = xs.view(1, 1, w) - x0.view(n, 1, 1), ys.view(1, h, 1) - y0.view(n, 1, 1)
    along = ((px * dx + py * dy) / (dx * dx + dy * dy).clamp(min=1.0)).clamp(0, 1)  # the nearest point's place
    distance = torch.hypot(px - along * dx, py - along * dy)  # (n, H, W) pixels from the stroke's centre line
    half_width = 0.75 + torch.rand(n, 1, 1, device=x.device) * 0.75
    stroke = (half_width + 0.5 - distance).clamp(0, 1) * sub.amax(dim=(1, 2, 3)).view(n, 1, 1)
    stroke = torch.where((right >= left).view(n, 1, 1), stroke, 0.0)  # no ink, no slash
    out = x.clone()
    out[chosen] = torch.maximum(sub, stroke.unsqueeze(1))
    return out


def augment_batch(x: torch.Tensor, cfg: AugmentConfig) -> torch.Tensor:
    """x: (N, C, H, W) floats in [0, 1], ink bright on a zero background -> warped copy, same shape."""
    if not cfg.enabled or len(x) == 0:
        return x
    n, _, h, w = x.shape
    if cfg.thickness > 0:  # before the warp, which then smooths the grown or shrunk edges like any other
        x = stroke_width(x, _uniform(n, cfg.thickness, x.device))
    grid = random_affine_grid(n, (h, w), cfg, x.device)
    if cfg.elastic > 0:
        grid = grid + elastic_offsets(n, (h, w), cfg.elastic, x.device)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

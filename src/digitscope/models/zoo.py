"""The architectures. Each takes (N, 1, 28, 28) pixels in [0, 1] and returns (N, num_classes) logits."""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_model

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Standardize(nn.Module):
    """Pixels in [0, 1] -> zero mean, unit variance (MNIST statistics); part of every model so that
    saved and exported models take the same input as the library."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - MNIST_MEAN) / MNIST_STD


NORMS = ("batch", "group")


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0, norm: str = "batch") -> nn.Sequential:
    """Conv, normalisation, ReLU. 'group' normalises each image by itself (GroupNorm, 8 channels a group): its
    answer does not depend on what else was in the batch, which matters when batches mix digits with noise."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of: {', '.join(NORMS)}")
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c_out) if norm == "batch" else nn.GroupNorm(max(1, c_out // 8), c_out),
        nn.ReLU(inplace=True),
    )


class VariantHead(nn.Linear):
    """K latent variants per digit ("1", "1 with a flag", "1 with a base") learnt from digit labels alone:
    K logits per digit, merged by logsumexp, so a digit's probability is the sum of its variants'."""

    def __init__(self, in_features: int, num_classes: int, variants: int):
        super().__init__(in_features, num_classes * variants)
        self.num_classes, self.variants = num_classes, variants

    def variant_logits(self, x: torch.Tensor) -> torch.Tensor:  # (N, classes, variants)
        return super().forward(x).unflatten(-1, (self.num_classes, self.variants))  # no batch size baked into an export

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, classes)
        return torch.logsumexp(self.variant_logits(x), dim=2)


@register_model("flagship: 7-conv BatchNorm CNN (~330k params), strided convs instead of pooling; "
                "variants=K gives each digit K latent variants; norm='group' uses GroupNorm instead; "
                "width2=C gives the second stage C channels (default 2 x width) and the last conv 2 x C")
def digitnet(num_classes: int = 10, width: int = 32, dropout: float = 0.4, variants: int = 1,
             norm: str = "batch", width2: int | None = None) -> nn.Module:
    # The first stage, on 26x26 and 24x24 maps, costs most of the time; the second, on 10x10 and smaller, can be
    # widened apart from it (width2 96: about 1.3x the training time, and no better: benchmarks/LOG.md).
    w1 = width
    w2 = width2 or 2 * width
    w3 = 2 * w2
    n = {"norm": norm}
    return nn.Sequential(
        Standardize(),
        conv_bn(1, w1, 3, **n), conv_bn(w1, w1, 3, **n),
        conv_bn(w1, w1, 5, stride=2, padding=2, **n),  # (N, w1, 12, 12)
        nn.Dropout(dropout),
        conv_bn(w1, w2, 3, **n), conv_bn(w2, w2, 3, **n),
        conv_bn(w2, w2, 5, stride=2, padding=2, **n),  # (N, w2, 4, 4)
        nn.Dropout(dropout),
        conv_bn(w2, w3, 4, **n),  # (N, w3, 1, 1)
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(w3, num_classes) if variants == 1 else VariantHead(w3, num_classes, variants),
    )


@register_model("fast preset: three-conv BatchNorm net (~32k params) for training in seconds")
def quicknet(num_classes: int = 10, width: int = 24) -> nn.Module:
    w1, w2 = width, width * 4 // 3
    return nn.Sequential(
        Standardize(),
        conv_pool_bn(1, w1, 5),  # (N, w1, 14, 14)
        conv_pool_bn(w1, w2, 3),  # (N, w2, 7, 7)
        conv_pool_bn(w2, 2 * w2, 3),  # (N, 2*w2, 3, 3)
        nn.Flatten(),
        nn.Linear(2 * w2 * 9, num_classes),
    )


def conv_pool_bn(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """Pooling before BatchNorm and ReLU: they then run on a quarter of the pixels, which on a CPU is a
    third of a small net's training time."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


@register_model("the numerical-loss paper's DNN (Suzuki et al. 2021): 784-512-512 ReLU MLP with dropout")
def mlp(num_classes: int = 10, hidden: int = 512, dropout: float = 0.2) -> nn.Module:
    return nn.Sequential(
        Standardize(), nn.Flatten(),
        nn.Linear(784, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


@register_model("the numerical-loss paper's simple CNN: conv32-conv64-maxpool-dropout-fc128")
def cnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        Standardize(),
        nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),  # (N, 64*12*12)
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(128, num_classes),
    )


class RowRNN(nn.Module):
    """Reads the image as a sequence of 28 rows of 28 pixels (the numerical-loss paper's RNN)."""

    def __init__(self, num_classes: int = 10, hidden: int = 128, cell: str = "lstm"):
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.standardize = Standardize()
        self.rnn = rnn_cls(28, hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.standardize(x).flatten(1, 2)  # (N, 28, 28): 28 steps of 28 pixels
        out, _ = self.rnn(rows)
        return self.head(out[:, -1])


@register_model("the numerical-loss paper's RNN: an LSTM (or GRU) over the 28 rows of the image")
def rnn(num_classes: int = 10, hidden: int = 128, cell: str = "lstm") -> nn.Module:
    return RowRNN(num_classes, hidden, cell)


@register_model("LeNet-5 (LeCun 1998): conv6-pool-conv16-pool-fc120-fc84, tanh")
def lenet5(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        Standardize(),
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),  # (N, 6, 14, 14)
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),  # (N, 16, 5, 5)
        nn.Flatten(),
        nn.Linear(16 * 25, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, num_classes),
    )


class InceptionBlock(nn.Module):
    """The capstone report's single inception layer: 1x1->3x3, 1x1->5x5 and maxpool->1x1 branches, concatenated."""

    def __init__(self, c_in: int, width: int = 64):
        super().__init__()
        self.b3 = nn.Sequential(nn.Conv2d(c_in, width, 1), nn.ReLU(True), nn.Conv2d(width, width, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(c_in, width, 1), nn.ReLU(True), nn.Conv2d(width, width, 5, padding=2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(c_in, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.cat([self.b3(x), self.b5(x), self.pool(x)], dim=1))  # (N, 3*width, H, W)


@register_model("the multi-digit capstone report's inception-like net (Amundson 2017): one inception block, "
                "dropout 0.3, fc128")
def inception(num_classes: int = 10, width: int = 64) -> nn.Module:
    return nn.Sequential(
        Standardize(),
        InceptionBlock(1, width),
        nn.MaxPool2d(4),  # (N, 3*width, 7, 7): keeps the fully connected layer to ~1.2M weights
        nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(3 * width * 49, 128), nn.ReLU(True),
        nn.Linear(128, num_classes),
    )

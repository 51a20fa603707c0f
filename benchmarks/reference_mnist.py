"""The reference recipe: PyTorch's well-known ``examples/mnist`` (main.py), written out here so the
speed benchmark compares against exactly that network and optimiser.

Network: conv(1->32, 3) - ReLU - conv(32->64, 3) - ReLU - maxpool 2 - dropout .25 - fc(9216->128) -
ReLU - dropout .5 - fc(128->10) - log_softmax. Adadelta lr 1.0, StepLR(gamma 0.7) per epoch, batch 64,
inputs normalised with (0.1307, 0.3081), fp32. Batches are indexed from whole-dataset tensors (no
per-sample DataLoader), so the comparison is of recipes, not of data pipelines.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn


class ReferenceNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = self.dropout2(F.relu(self.fc1(torch.flatten(x, 1))))
        return F.log_softmax(self.fc2(x), dim=1)


def _normalise(images_uint8: torch.Tensor) -> torch.Tensor:
    return (images_uint8.float().div(255).unsqueeze(1) - 0.1307) / 0.3081


@torch.no_grad()
def test_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = torch.cat([model(_normalise(x[i:i + 1000])).argmax(1) for i in range(0, len(x), 1000)])
    return (pred == y).float().mean().item()


def time_to_accuracy(x_train, y_train, x_test, y_test, target: float, max_epochs: int = 14,
                     seed: int = 1) -> dict:
    """Train epoch by epoch; after each, read test accuracy (not timed). Stop at ``target``."""
    torch.manual_seed(seed)
    model = ReferenceNet()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    seconds, history = 0.0, []
    for epoch in range(1, max_epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            loss = F.nll_loss(model(_normalise(x_train[idx])), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        seconds += time.perf_counter() - t0
        acc = test_accuracy(model, x_test, y_test)
        history.append({"epoch": epoch, "seconds": round(seconds, 1), "test_accuracy": acc})
        if acc >= target:
            return {"reached": True, "seconds": seconds, "epochs": epoch, "accuracy": acc, "history": history}
    return {"reached": False, "seconds": seconds, "epochs": max_epochs, "accuracy": acc, "history": history}


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__ + "\nA module, not a benchmark: `python benchmarks/train_speed.py` "
                            "times it against the `fast` preset.",
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    print("reference_mnist.py is imported by benchmarks/train_speed.py: run that one.")

"""Knowledge distillation into the reading model's reader: measured, not adopted (experiments/README.md).

The student learnt ``(1 - weight) * loss + weight * CE(student, teachers)``, the second term over the images the
teachers read right; the teachers' probabilities were those of each augmented training batch, computed with the
student's forward pass under ``torch.no_grad()``. Teachers: the digit networks of saved models, frozen.
Result (benchmarks/LOG.md): mean exact string over the four validation sets 97.58% against 97.64%, below the bar
of +0.1 point set before training.
"""

from __future__ import annotations

import torch
from torch import nn

from digitscope.models.gate import digit_reader, digit_reader_card
from digitscope.models.persist import load_model
from digitscope.store.bundled import resolve_model_path


def load_teachers(spec: str, num_classes: int, device: torch.device) -> list[nn.Module]:
    """The digit networks of the saved models in ``spec`` (comma-separated names or paths), frozen."""
    teachers = []
    for source in filter(None, (s.strip() for s in spec.split(","))):
        model, card = load_model(resolve_model_path(source))
        classes = digit_reader_card(card)["arch_kwargs"].get("num_classes", 10)
        if classes != num_classes:
            raise ValueError(f"--distill {source}: its digit network has {classes} classes, this model {num_classes}")
        teachers.append(digit_reader(model, card).to(device).requires_grad_(False))
    return teachers


def distilled_loss(loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, teacher_probs: torch.Tensor,
                   weight: float) -> torch.Tensor:
    """(1 - weight) * loss + weight * cross-entropy to the teachers' probabilities (N, K), the latter only over the
    images the teachers read right: their soft answers carry what they know (which digits look alike), their
    mistakes nothing worth learning."""
    right = teacher_probs.argmax(1) == y  # (N,)
    imitation = -(teacher_probs * torch.log_softmax(logits, dim=1)).sum(1)  # (N,)
    return (1 - weight) * loss + weight * (imitation * right).sum() / right.sum().clamp(min=1)


if __name__ == "__main__":  # the property the experiment relied on: a teacher's mistake teaches nothing
    logits = torch.zeros(2, 3, requires_grad=True)
    teacher_probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    distilled_loss(torch.zeros(()), logits, torch.tensor([0, 2]), teacher_probs, weight=1.0).backward()
    torch.testing.assert_close(logits.grad[0], torch.full((3,), 1 / 3) - teacher_probs[0])
    assert logits.grad[1].abs().max() == 0
    print("ok")

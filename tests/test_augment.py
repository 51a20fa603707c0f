"""Batched augmentation: the stroke-width change grows or shrinks the ink and nothing else; the slash crosses a
chosen digit from lower left to upper right and touches nothing else."""

from pathlib import Path

import numpy as np
import torch

from digitscope.data.augment import AugmentConfig, _dilate3x3, augment_batch, slash, stroke_width

SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


def _digits() -> torch.Tensor:
    with np.load(SAMPLE) as f:
        return torch.from_numpy(f["images"][:8]).float().div(255).unsqueeze(1)  # (8, 1, 28, 28)


def test_stroke_width_thickens_and_thins_each_image_by_its_own_amount():
    x = _digits()
    amount = torch.tensor([0.0, 0.5, 1.0, -0.5, -1.0, 0.0, 0.5, -0.5])
    y = stroke_width(x, amount)
    mass_before, mass_after = x.sum(dim=(1, 2, 3)), y.sum(dim=(1, 2, 3))
    torch.testing.assert_close(y[amount == 0], x[amount == 0])
    assert (mass_after[amount > 0] > mass_before[amount > 0]).all()
    assert (mass_after[amount < 0] < mass_before[amount < 0]).all()
    assert mass_after[2] > mass_after[1] and mass_after[4] < mass_after[3]  # further with a larger amount
    assert y.min() >= 0 and y.max() <= 1
    beyond = stroke_width(x, amount * 1.5)  # past a full dilation or the cube: those, still ink in [0, 1]
    torch.testing.assert_close(beyond, stroke_width(x, (amount * 1.5).clamp(-1, 1)))
    assert beyond.min() >= 0 and beyond.max() <= 1
    grown = (y[2, 0] > 0) & ~(x[2, 0] > 0)  # new ink only next to old ink: a pen, not a smudge
    near = torch.nn.functional.max_pool2d((x[2:3] > 0).float(), 3, stride=1, padding=1)[0, 0] > 0
    assert grown.any() and not (grown & ~near).any()
    thinned = amount < 0  # the edges fade, the full-strength core stays and no ink appears
    assert not ((y[thinned] > 0) & (x[thinned] == 0)).any()
    assert torch.equal(y[thinned][x[thinned] == 1], x[thinned][x[thinned] == 1])


def test_a_batch_gets_a_stroke_width_only_when_asked():
    x = _digits()
    torch.manual_seed(0)
    thick = augment_batch(x, AugmentConfig(rotate=0, scale=0, shift=0, shear=0, thickness=0.8))
    assert not torch.equal(thick, x) and thick.shape == x.shape
    assert AugmentConfig(rotate=0, scale=0, shift=0, shear=0, thickness=0.0).enabled is False


def test_a_slash_crosses_each_chosen_zero_from_lower_left_to_upper_right():
    x = _digits()  # four 0s, then four 1s
    x[5] = 0  # a blank image chosen gets no slash: there is no digit to cross
    chosen = torch.tensor([True, True, True, True, False, True, False, False])
    torch.manual_seed(0)
    y = slash(x, chosen)
    assert torch.equal(y[~chosen], x[~chosen]) and torch.equal(y[5], x[5])
    assert y.min() >= 0 and y.max() <= 1 and (y >= x).all()  # ink is only added
    for k in range(4):
        new = (y[k, 0] - x[k, 0]) > 0.5
        rows, cols = torch.nonzero(new, as_tuple=True)
        ink = torch.nonzero(x[k, 0] > 0.3)
        (top, left), (bottom, right) = ink.amin(0), ink.amax(0)
        assert len(rows) >= (bottom - top)  # a stroke at least as long as the zero is high
        assert rows[cols == cols.min()].float().mean() > rows[cols == cols.max()].float().mean()  # rises to the right
        centre = ((top + bottom) / 2, (left + right) / 2)
        near_centre = ((rows - centre[0]).abs() <= 2) & ((cols - centre[1]).abs() <= 2)
        assert near_centre.any()  # through the zero's hole


def test_the_dilation_is_a_3x3_maximum():
    x = _digits()
    torch.testing.assert_close(_dilate3x3(x), torch.nn.functional.max_pool2d(x, 3, stride=1, padding=1), rtol=0, atol=0)



def test_a_wide_line_is_sheared_and_rotated_by_the_angles_asked_not_stretched_by_its_width():
    # An upright stroke across a 32 x 160 line: a shear or rotation of at most 10 degrees may lean it by at most
    # tan(10 deg) x 32 = 5.6 pixels from top to bottom (in the grid's -1..1 units a wide image would lean 5x more).
    line = torch.zeros(64, 1, 32, 160)
    line[:, :, 2:30, 79:81] = 1.0
    for cfg in (AugmentConfig(rotate=0.0, scale=0.0, shift=0.0, shear=10.0),
                AugmentConfig(rotate=10.0, scale=0.0, shift=0.0, shear=0.0)):
        warped = augment_batch(line, cfg)[:, 0]  # (64, 32, 160)
        columns = torch.arange(160, dtype=torch.float32)
        top = (warped[:, 4] * columns).sum(1) / warped[:, 4].sum(1)
        bottom = (warped[:, 27] * columns).sum(1) / warped[:, 27].sum(1)
        lean = (top - bottom).abs()
        assert lean.max() <= 23 * np.tan(np.radians(10)) + 0.5  # rows 4 and 27: 23 pixels apart
        assert lean.max() > 1.0  # and it does lean

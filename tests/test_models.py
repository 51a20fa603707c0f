import pytest
import torch

from digitscope.models import create_model, list_models

COMPOSITES = {  # architectures built from others: what they are made of
    "ensemble": {"members": [{"arch": "quicknet", "arch_kwargs": {}}, {"arch": "mlp", "arch_kwargs": {}}]},
    "specialists": {"generalist": {"arch": "quicknet", "arch_kwargs": {}}, "threshold": 1.5,
                    "specialists": [{"arch": "mlp", "arch_kwargs": {}, "pair": [4, 9]}]},
    "gate": {"reader": {"arch": "quicknet", "arch_kwargs": {"num_classes": 10}},
             "detector": {"arch": "mlp", "arch_kwargs": {"num_classes": 11}}},
}


@pytest.mark.parametrize("name", [m.name for m in list_models() if m.reads == "digit"])
def test_every_architecture_maps_images_to_logits(name):
    model = create_model(name, num_classes=11, **COMPOSITES.get(name, {})).eval()
    with torch.no_grad():
        logits = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 11)
    assert torch.isfinite(logits).all()


def test_required_architectures_are_registered():
    assert {"mlp", "cnn", "rnn", "lenet5", "inception", "digitnet", "quicknet"} <= {m.name for m in list_models()}


def test_unknown_architecture_names_the_choices():
    with pytest.raises(ValueError, match="choose one of: .*digitnet"):
        create_model("resnet9000")


def test_group_norm_digitnet_answers_each_image_alone():
    # With norm="group" an image's logits do not depend on the other images of its batch, even in training mode.
    torch.manual_seed(0)
    model = create_model("digitnet", norm="group", dropout=0.0).train()
    digit = torch.rand(1, 1, 28, 28)
    with torch.no_grad():
        alone = model(digit)
        with_noise = model(torch.cat([digit, 5 * torch.rand(7, 1, 28, 28)]))[:1]
    assert torch.allclose(alone, with_noise, atol=1e-5)
    with pytest.raises(ValueError, match="choose one of: batch, group"):
        create_model("digitnet", norm="layer")


def test_digitnet_second_stage_width_is_its_own():
    plain, wide = create_model("digitnet"), create_model("digitnet", width2=96)
    convs = lambda m: [c.out_channels for c in m.modules() if isinstance(c, torch.nn.Conv2d)]  # noqa: E731
    assert convs(plain) == [32, 32, 32, 64, 64, 64, 128]
    assert convs(wide) == [32, 32, 32, 96, 96, 96, 192]
    assert wide(torch.rand(2, 1, 28, 28)).shape == (2, 10)

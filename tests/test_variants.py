"""Variant map: per-digit clusters of embeddings, their sizes, error rates and exemplars, and the command."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from digitscope import data
from digitscope.analysis.variants import cluster_variants
from digitscope.cli import app
from digitscope.inference.classifier import load

runner = CliRunner()


def blobs(sizes: dict[int, list[int]], seed: int = 0):
    """Tight, far-apart blobs in 16-d: ``sizes[digit]`` lists each of that digit's blob sizes.

    Returns embeddings, labels, the blob of each point, and whether it is the one point put on its blob's centre.
    """
    rng = np.random.default_rng(seed)
    embeddings, labels, blob, centre_point = [], [], [], []
    for digit, counts in sizes.items():
        for b, n in enumerate(counts):
            centre = rng.normal(0, 100, 16)
            points = centre + rng.normal(0, 1, (n, 16))
            points[0] = centre
            embeddings.append(points)
            labels += [digit] * n
            blob += [(digit, b)] * n
            centre_point += [True] + [False] * (n - 1)
    order = rng.permutation(len(labels))  # interleaved, as in a real split
    return (np.concatenate(embeddings)[order], np.array(labels)[order], [blob[i] for i in order],
            np.array(centre_point)[order])


def test_obvious_clusters_are_found_with_their_sizes_and_error_rates():
    embeddings, labels, blob, centre_point = blobs({3: [12, 40, 25], 8: [30, 10, 20]})
    predictions = labels.copy()
    # Errors in one blob of each digit: 4 of the 25 threes, all 10 of the small eights.
    wrong = [i for i, b in enumerate(blob) if b == (3, 2)][:4] + [i for i, b in enumerate(blob) if b == (8, 1)]
    predictions[wrong] = 5
    clusters = cluster_variants(embeddings, labels, predictions, k=3, seed=0, per_cluster=5)
    summary = [(c.digit, c.rank, c.size, c.errors) for c in clusters]
    assert summary == [(3, 1, 40, 0), (3, 2, 25, 4), (3, 3, 12, 0), (8, 1, 30, 0), (8, 2, 20, 0), (8, 3, 10, 10)]
    assert clusters[1].error_rate == pytest.approx(4 / 25) and clusters[5].error_rate == 1.0
    for c in clusters:
        assert len(c.exemplars) == 5
        assert len({blob[i] for i in c.exemplars}) == 1 and labels[c.exemplars[0]] == c.digit
        assert centre_point[c.exemplars[0]]  # nearest the centre first


def test_a_digit_with_fewer_images_than_clusters_gets_one_cluster_each():
    embeddings, labels, _, _ = blobs({0: [20, 20], 7: [1, 1]})
    clusters = cluster_variants(embeddings, labels, labels, k=4, per_cluster=3)
    assert [(c.digit, c.size) for c in clusters if c.digit == 7] == [(7, 1), (7, 1)]
    assert sum(c.size for c in clusters if c.digit == 0) == 40


@pytest.mark.parametrize("kwargs, message", [({"k": 0}, "--clusters must be at least 1"),
                                             ({"per_cluster": 0}, "--per-cluster must be at least 1")])
def test_bad_options_say_what_is_wrong(kwargs, message):
    embeddings, labels, _, _ = blobs({0: [5]})
    with pytest.raises(ValueError, match=message):
        cluster_variants(embeddings, labels, labels, **kwargs)


def test_variants_command_counts_every_image_and_error(tiny_dataset, tmp_path):
    out = tmp_path / "variants"
    result = runner.invoke(app, ["variants", "--data", "tiny:train", "--limit", "300", "--clusters", "2",
                                 "--per-cluster", "3", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    arrays = data.load("tiny:train")
    images, labels = arrays.images[:300], arrays.labels[:300]
    model = load("default")
    predictions = model.best_digit(model.predict_proba(images))  # the digit each image is read as
    assert report["n"] == 300 and [d["digit"] for d in report["digits"]] == sorted(set(labels.tolist()))
    for d in report["digits"]:
        mine = labels == d["digit"]
        sizes = [c["size"] for c in d["clusters"]]
        assert sizes == sorted(sizes, reverse=True) and sum(sizes) == mine.sum() and len(sizes) == 2
        assert sum(c["errors"] for c in d["clusters"]) == (predictions[mine] != d["digit"]).sum()
        for c in d["clusters"]:
            assert c["error_rate"] == pytest.approx(c["errors"] / c["size"])
            assert len(c["exemplars"]) == 3 and all(labels[i] == d["digit"] for i in c["exemplars"])
        assert (out / f"digit{d['digit']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    assert "--limit 300" in text and all(f"(digit{d['digit']}.png)" in text for d in report["digits"])


def test_variants_of_chosen_digits_only_keep_the_splits_numbering(tiny_dataset, tmp_path):
    result = runner.invoke(app, ["variants", "--data", "tiny:train", "--limit", "300", "--clusters", "2",
                                 "--digits", "1,7", "--out", str(tmp_path / "v"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    labels = data.load("tiny:train").labels[:300]
    assert [d["digit"] for d in report["digits"]] == [1, 7]
    for d in report["digits"]:
        assert sum(c["size"] for c in d["clusters"]) == (labels == d["digit"]).sum()
        assert all(labels[i] == d["digit"] for c in d["clusters"] for i in c["exemplars"])
    assert sorted(p.name for p in (tmp_path / "v").glob("*.png")) == ["digit1.png", "digit7.png"]


@pytest.mark.parametrize("args, message", [
    (["--data", "tiny:train", "--clusters", "0"], "--clusters must be at least 1"),
    (["--data", "tiny:train", "--limit", "0"], "--limit must be at least 1"),
    (["--data", "imagenet:train"], "unknown dataset"),
    (["--data", "tiny:train", "--digits", "1,seven"], "--digits takes digits separated by commas"),
    (["--data", "tiny:train", "--digits", "1,12"], "--digits takes digits 0-9"),
])
def test_wrong_options_say_what_is_wrong(args, message, tiny_dataset, tmp_path):
    result = runner.invoke(app, ["variants", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output


def test_a_variant_head_sums_its_variants_and_groups_images_by_the_variant_that_claims_them():
    import torch

    from digitscope.analysis.variants import head_variants
    from digitscope.models import create_model

    model = create_model("digitnet", variants=3).eval()
    with torch.no_grad():
        x = torch.rand(4, 1, 28, 28)
        body, head = model[:-1], model[-1]
        variant_logits = head.variant_logits(body(x))
        probs = torch.softmax(model(x), dim=1)
        summed = torch.softmax(variant_logits.flatten(1), dim=1).view(4, 10, 3).sum(2)
    torch.testing.assert_close(probs, summed)  # a digit's probability is the sum of its variants'
    logits = np.full((5, 10, 2), -5.0)
    logits[[0, 1, 2], 1, 0] = 5.0  # three 1s claimed by variant 0
    logits[[3, 4], 1, 1] = 5.0  # two by variant 1
    groups = head_variants(logits, np.ones(5, int), np.array([1, 1, 1, 7, 1]))
    assert [(g.size, g.errors) for g in groups] == [(3, 0), (2, 1)]

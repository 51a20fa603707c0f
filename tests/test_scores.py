import numpy as np
import pytest

import digitscope
from digitscope.inference.mc_dropout import mc_dropout_proba
from digitscope.uncertainty import (
    SCORES,
    energy,
    entropy,
    margin,
    max_logit,
    max_probability,
    member_disagreement,
    mutual_information,
)


def test_scores_on_hand_made_values():
    probs = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(max_probability(probs), [0.7, 1 / 3])
    np.testing.assert_allclose(margin(probs), [0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(entropy(probs), [-(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1)),
                                                np.log(3)])
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(max_logit(logits), [2.0, 0.0])
    np.testing.assert_allclose(energy(logits), [np.log(np.e ** 2 + 2), np.log(3)])


def test_member_scores_separate_agreement_from_disagreement():
    agree = np.array([[0.9, 0.1], [0.9, 0.1]])  # two members, same answer
    disagree = np.array([[0.99, 0.01], [0.01, 0.99]])  # confident members, opposite answers
    members = np.stack([agree, disagree], axis=1)  # (S=2, N=2, K=2)
    mi = mutual_information(members)
    assert mi[0] == pytest.approx(0.0, abs=1e-9) and mi[1] > 0.6
    np.testing.assert_allclose(member_disagreement(members), [0.0, 0.5])


def test_every_score_is_higher_for_the_confident_example():
    logits = np.array([[8.0, 0.0, 0.0], [0.1, 0.0, 0.05]])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    swapped = probs.copy()
    swapped[1] = probs[1, [1, 0, 2]]  # on the second example the members disagree on the top class
    members = np.stack([probs, swapped])
    inputs = {"probs": probs, "logits": logits, "members": members}
    for name, (needs, score) in SCORES.items():
        s = score(inputs[needs])
        assert s[0] > s[1], name


def test_mc_dropout_samples_differ_and_average_close_to_the_plain_prediction():
    model = digitscope.load("default")
    images = np.zeros((4, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255  # a vertical bar: a 1
    samples = mc_dropout_proba(model, images, samples=8)
    assert samples.shape == (8, 4, 11)  # the ten digits and "not a digit"
    assert not np.allclose(samples[0], samples[1])
    np.testing.assert_allclose(samples, mc_dropout_proba(model, images, samples=8))  # seeded: reproducible
    assert samples.mean(0).argmax(1).tolist() == model.predict(images).tolist()
    assert not model.model.training

"""Confidence scores, each a function of logits (N, K) or of member probabilities (S, N, K).

Convention: every score is "higher = more confident that this is a known digit", so one threshold rule
("reject below t") and one AUROC convention serve them all. Uncertainties (entropy, mutual information,
disagreement) are therefore returned negated where they appear in ``SCORES``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.special import softmax as _softmax

from ..labels import NOT_A_DIGIT


def softmax(logits: np.ndarray) -> np.ndarray:
    return _softmax(np.asarray(logits, np.float64), axis=-1)


def max_probability(probs: np.ndarray) -> np.ndarray:
    """(N, K) probabilities -> (N,) the top class's probability (MSP, Hendrycks & Gimpel)."""
    return np.asarray(probs).max(axis=-1)


def digit_confidence(probs: np.ndarray) -> np.ndarray:
    """(N, K) -> (N,) the probability of the most probable digit: the reject rule's score. The digits are
    columns 0-9. For a 10-class model this is the max probability; for an 11-class one (column 10 = "not a
    digit") it is (1 - p(not a digit)) x the top renormalised digit probability, so doubt about whether the
    image is a digit at all and doubt about which digit it is both lower it."""
    return np.asarray(probs)[..., :NOT_A_DIGIT].max(axis=-1)


def margin(probs: np.ndarray) -> np.ndarray:
    """(N, K) -> (N,) top-1 minus top-2 probability: small when two digits compete."""
    top2 = np.sort(np.asarray(probs), axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def entropy(probs: np.ndarray) -> np.ndarray:
    """(..., K) -> (...) predictive entropy in nats."""
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=-1)


def max_logit(logits: np.ndarray) -> np.ndarray:
    return np.asarray(logits).max(axis=-1)


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, K) -> (N,) negative free energy T * logsumexp(logits / T) (Liu et al. 2020): high in distribution."""
    return temperature * logsumexp(np.asarray(logits, np.float64) / temperature, axis=-1)


def mutual_information(member_probs: np.ndarray) -> np.ndarray:
    """(S, N, K) -> (N,) entropy of the mean minus mean entropy: the epistemic part of the uncertainty,
    high where the members (ensemble models or dropout samples) disagree."""
    member_probs = np.asarray(member_probs)
    return entropy(member_probs.mean(axis=0)) - entropy(member_probs).mean(axis=0)


def member_disagreement(member_probs: np.ndarray) -> np.ndarray:
    """(S, N, K) -> (N,) fraction of members whose top class differs from the averaged prediction's."""
    member_probs = np.asarray(member_probs)
    consensus = member_probs.mean(axis=0).argmax(axis=-1)
    return (member_probs.argmax(axis=-1) != consensus).mean(axis=0)


# name -> (needs, function) with "higher = more confident"; needs is 'probs', 'logits' or 'members'.
SCORES = {
    "max-probability": ("probs", max_probability),
    "margin": ("probs", margin),
    "neg-entropy": ("probs", lambda p: -entropy(p)),
    "max-logit": ("logits", max_logit),
    "energy": ("logits", energy),
    "neg-mutual-information": ("members", lambda m: -mutual_information(m)),
    "agreement": ("members", lambda m: 1.0 - member_disagreement(m)),
}

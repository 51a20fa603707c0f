import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from digitscope.cli import app
from digitscope.costs import mean_cost, min_cost_decision, parse_cost
from digitscope.training.config import TrainConfig
from digitscope.training.losses import make_loss


def test_numerical_loss_matches_a_hand_computed_value():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = torch.tensor([0, 2])
    p = torch.softmax(logits, 1)
    ce = -(torch.log(p[0, 0]) + torch.log(p[1, 2])) / 2
    expected_value = p @ torch.tensor([0.0, 1.0, 2.0])
    value_term = ((0 - expected_value[0]).abs() + (2 - expected_value[1]).abs()) / 2
    loss = make_loss(TrainConfig(loss="numerical", label_smoothing=0.0, alpha=0.05, beta=0.9), 3)(logits, y)
    assert loss.item() == pytest.approx((0.9 * ce + 0.1 * 0.05 * value_term).item(), rel=1e-6)


def test_cost_parsing_inline_numeric_and_file(tmp_path):
    c = parse_cost("1->7=5, 7->1=5")
    assert c[1, 7] == 5 and c[7, 1] == 5 and c[2, 3] == 1 and c[4, 4] == 0
    assert parse_cost("numeric")[3, 8] == 5
    (tmp_path / "c.json").write_text(json.dumps(parse_cost("numeric").tolist()))
    np.testing.assert_array_equal(parse_cost(str(tmp_path / "c.json")), parse_cost("numeric"))


@pytest.mark.parametrize("spec, message", [
    ("1->7", "TRUE->ANSWER=COST"),
    ("1->12=3", "only 10 classes"),
    ("1->7=-2", "cannot be negative"),
    ("3->3=1", "costs nothing"),
    ("nonsense", "neither"),
])
def test_malformed_cost_matrices_are_refused_with_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_cost(spec)


def test_wrong_shape_file_is_refused(tmp_path):
    (tmp_path / "c.csv").write_text("0,1\n1,0\n")
    with pytest.raises(ValueError, match="10 x 10"):
        parse_cost(str(tmp_path / "c.csv"))


def test_min_cost_decision_on_a_worked_example():
    probs = np.zeros((1, 10))
    probs[0, [1, 9]] = [0.45, 0.55]  # torn between 1 and 9
    cost = parse_cost("numeric")
    assert probs.argmax() == 9
    # expected cost of answering j: 0.45*|1-j| + 0.55*|9-j|: 9 -> 3.6, 1 -> 4.4, 5 -> 4.0, 8 -> 3.7
    assert min_cost_decision(probs, cost)[0] == 9
    cost_17 = parse_cost("9->1=10,1->9=1")
    # answering 9 risks 0.45 * C[1][9] = 0.45; answering 1 risks 0.55 * C[9][1] = 5.5: still 9
    assert min_cost_decision(probs, cost_17)[0] == 9
    cost_91 = parse_cost("1->9=10")
    # answering 9 now risks 0.45 * 10 = 4.5; answering 1 risks 0.55 * 1 = 0.55: the rule answers 1
    assert min_cost_decision(probs, cost_91)[0] == 1
    assert mean_cost(np.array([1]), np.array([9]), cost_91) == 10


def test_evaluate_with_min_cost_decision_reports_mean_cost(tiny_dataset):
    result = CliRunner().invoke(app, ["evaluate", "--data", "tiny:test", "--decision", "min-cost", "--cost", "numeric",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert "mean_cost" in json.loads(result.output)
    result = CliRunner().invoke(app, ["evaluate", "--data", "tiny:test", "--decision", "min-cost"])
    assert result.exit_code == 2 and "needs a cost matrix" in result.output

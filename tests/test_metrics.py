import numpy as np

from digitscope.analysis import classification_report


def test_numeric_errors_follow_seed_004_definitions():
    y_true = np.array([1, 7, 0, 3, 9])
    y_pred = np.array([7, 7, 9, 3, 8])  # errors of magnitude 6, 9 and 1
    probs = np.full((5, 10), 0.01)
    probs[np.arange(5), y_pred] = 0.91
    r = classification_report(y_true, probs)
    assert r["errors"] == 3 and abs(r["error_rate"] - 0.6) < 1e-12
    assert abs(r["numeric_error_per_image"] - 16 / 5) < 1e-12
    assert abs(r["numeric_error_per_misidentified"] - 16 / 3) < 1e-12
    assert r["error_magnitude_histogram"] == {"1": 1, "6": 1, "9": 1}
    assert r["confusion_matrix"][1][7] == 1 and r["confusion_matrix"][3][3] == 1
    assert r["per_class"][7]["precision"] == 0.5 and r["per_class"][7]["recall"] == 1.0


def test_perfect_predictions():
    y = np.arange(10)
    r = classification_report(y, np.eye(10))
    assert r["accuracy"] == 1.0 and r["numeric_error_per_misidentified"] == 0.0
    assert r["log_loss"] < 1e-9

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


def test_the_worst_writers_and_the_one_to_seven_rate_are_reported():
    from digitscope.analysis.writers import writer_report

    # ten writers of ten digits each; writer 9 writes 1s that are read as 7
    labels = np.tile(np.arange(10), 10)
    writers = np.repeat(np.arange(10), 10)
    answers = labels.copy()
    answers[(writers == 9) & (labels == 1)] = 7
    answers[(writers == 3) & (labels == 4)] = 9
    r = writer_report(labels, answers, writers)
    assert r["accuracy"] == 0.98 and r["writers"] == 10
    assert r["worst_decile_accuracy"] == r["worst_writer_accuracy"] == 0.9  # one writer is the worst tenth
    assert r["confusion"] == "1->7" and r["confusion_rate"] == 0.1  # one of the ten 1s
    assert r["per_digit"][1] == 0.9 and r["per_digit"][0] == 1.0
    assert writer_report(labels, answers, writers, confusion=(4, 9))["confusion_rate"] == 0.1

"""Shared fixtures: an isolated data cache and a tiny synthetic digit dataset registered like a real one."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from digitscope import data

# `make setup` writes this once it has installed everything the tests need (Python extras, fonts, Fashion-MNIST,
# chromium). After it, a test that skips for want of something is a set-up that went wrong, not an optional
# feature: it fails, with its reason. Without it (a bare `pip install -e .`), the skips stay skips.
SETUP_STAMP = Path(sys.prefix) / ".installed"


def _reason(report) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and SETUP_STAMP.exists():
        report.outcome = "failed"
        report.longrepr = (f"skipped, though `make setup` ran ({SETUP_STAMP}), which installs everything the tests "
                           f"need: {_reason(report)}\nRun `make clean setup` (scripts/system-packages.sh included).")


_skipped_modules: list[str] = []  # a module that skips whole (importorskip) stays collected as skipped: failing
                                  # its collection would stop the whole run, so the session fails at the end instead


def pytest_collectreport(report):
    if report.skipped and SETUP_STAMP.exists():
        _skipped_modules.append(f"{report.nodeid}: {_reason(report)}")


def pytest_sessionfinish(session, exitstatus):
    if _skipped_modules and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    for line in _skipped_modules:
        terminalreporter.write_line(f"FAILED (skipped, though `make setup` ran: run `make clean setup`) {line}",
                                    red=True)


def synthetic_digits(n: int, seed: int) -> data.Arrays:
    """Ten easily separable 28x28 patterns (a bar whose position encodes the class) with pixel noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for c in range(10):
        rows = 4 + 2 * c
        images[labels == c, rows:rows + 3, 6:22] = 230
    return data.Arrays(images, labels.astype(np.int64))


@pytest.fixture
def make_digits():
    return synthetic_digits


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITSCOPE_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def tiny_dataset(data_home):
    """Registers dataset 'tiny' (train 640 / val 200 / test 200) in an isolated cache."""
    info = data.register(data.DatasetInfo(
        name="tiny", description="synthetic bars for tests", splits=("train", "val", "test"),
        fetch=lambda: {"train": synthetic_digits(640, 1), "val": synthetic_digits(200, 2),
                       "test": synthetic_digits(200, 3)},
    ))
    return info


@pytest.fixture(scope="session")
def amounts_reader():
    """The Reader with the bundled line reader for written amounts beside its cuts (loaded once: it exports an
    ONNX graph on first use)."""
    from digitscope.reading import Reader

    return Reader(line_model="amounts")


@pytest.fixture
def ten_class_model(tmp_path):
    """The bundled default's digit reader on its own, saved as a 10-class model: stem tmp_path / "reader".
    (The default itself says "not a digit" to the bars of the tiny dataset, as it should.)"""
    from digitscope.models.gate import digit_reader, digit_reader_card
    from digitscope.models.persist import load_model, save_model
    from digitscope.store.bundled import resolve_model_path

    model, card = load_model(resolve_model_path("default"))
    save_model(tmp_path / "reader", digit_reader(model, card), dict(digit_reader_card(card)))
    return tmp_path / "reader"

"""The typed model card: read and written back byte for byte, old cards upgraded in one place, unknown keys kept."""

import json

import numpy as np
import pytest

import digitscope
from digitscope.models import create_model
from digitscope.models.persist import load_model, save_model
from digitscope.store.bundled import BUNDLED, WEIGHTS_DIR, writable_stem
from digitscope.store.card import CARD_FORMAT, ModelCard, upgrade
from digitscope.store.saved import read_card, write_card


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_card_is_written_back_byte_for_byte(name):
    path = WEIGHTS_DIR / f"{name}.json"
    text = path.read_text()
    assert ModelCard.from_json(path).to_json() == text
    assert ModelCard.from_json(str(path)).to_json() == text
    assert ModelCard.from_json(text).to_json() == text
    card = ModelCard.from_json(path)
    assert not card.extra  # every key of a bundled card has its field
    if card.reads == "line":  # the line reader for amounts, with the reject rule fitted for it and its classifier
        assert card.reading["number_reject"]["classifier"] in BUNDLED
        return
    assert card.arch in ("gate", "specialists") and card.num_classes == 11  # a gate, or a gate with specialists
    assert card.temperature == card.calibration["temperature"]


def test_key_order_nulls_and_unknown_keys_survive():
    d = {"format": CARD_FORMAT, "reads": "digit", "command": "made by hand", "arch": "quicknet", "arch_kwargs": {},
         "data": None, "someday": {"a": 1}, "seed": 0}
    card = ModelCard.from_dict(d)
    assert card.extra == {"someday": {"a": 1}} and card.seed == 0 and card.data is None
    assert list(card.to_dict().items()) == list(d.items())
    card.calibration = {"temperature": 2.0}  # a key added after reading goes after those read
    assert list(card.to_dict()) == [*d, "calibration"]
    assert ModelCard.from_json(card.to_json()) == card


def test_a_new_card_lists_its_keys_in_the_fields_order_and_leaves_out_the_unset():
    card = ModelCard(arch="quicknet", seed=0, command="x", calibration={"temperature": 1.5})
    assert list(card.to_dict()) == ["format", "arch", "arch_kwargs", "seed", "command", "calibration"]
    assert card.num_classes == 10 and card.temperature == 1.5 and ModelCard().temperature == 1.0


def test_old_cards_are_upgraded_where_they_are_read():
    old = {"format": CARD_FORMAT, "arch": "digitnet", "arch_kwargs": {},
           "reject": {"score": "max-probability", "threshold": 0.9}}
    card = ModelCard.from_json(json.dumps(old))
    assert list(card.to_dict())[:2] == ["format", "reads"] and card.reads == "digit"
    assert card.reject == {"score": "digit-confidence", "threshold": 0.9}
    assert ModelCard.from_json(json.dumps({**old, "arch": "seqnet"})).reads == "sequence"
    current = json.loads((WEIGHTS_DIR / "default.json").read_text())
    assert list(upgrade(current).items()) == list(current.items())


def test_what_is_not_a_card_is_refused(tmp_path):
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a digitscope model card"):
        ModelCard.from_json(tmp_path / "other.json")


def test_save_model_takes_a_card_or_a_dict_and_writes_the_same(tmp_path):
    model = create_model("quicknet")
    kwargs = {"arch": "quicknet", "arch_kwargs": {}, "seed": 3}
    written = save_model(tmp_path / "a", model, ModelCard(**kwargs))
    save_model(tmp_path / "b", model, kwargs)
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text() == written.to_json()
    assert written.reads == "digit" and list(written.to_dict())[:2] == ["format", "reads"]
    _, card = load_model(tmp_path / "a")
    assert card == written


def test_classes_say_what_the_columns_of_predict_proba_mean(ten_class_model):
    default = digitscope.load("default")
    np.testing.assert_array_equal(default.classes_, np.arange(11))  # 10: "not a digit"
    assert default.predict_proba(np.zeros((1, 28, 28), np.uint8)).shape[1] == len(default.classes_)
    np.testing.assert_array_equal(digitscope.load(ten_class_model).classes_, np.arange(10))
    pair = digitscope.DigitClassifier(create_model("quicknet", num_classes=2),
                                      {"arch": "quicknet", "arch_kwargs": {"num_classes": 2},
                                       "config": {"classes": "4,9"}})
    np.testing.assert_array_equal(pair.classes_, [4, 9])


def test_a_bundled_model_is_written_only_to_a_copy(tmp_path):
    with pytest.raises(ValueError, match="--out"):
        writable_stem("default")
    mine = writable_stem("default", tmp_path / "copy")
    write_card(mine, read_card(WEIGHTS_DIR / "default"))  # the caller writes the new card beside the weights
    with pytest.raises(ValueError, match="installed package"):  # nor is a model of one's own copied into it
        writable_stem(mine, WEIGHTS_DIR)
    assert mine == tmp_path / "copy" / "model"
    assert mine.with_suffix(".safetensors").read_bytes() == (WEIGHTS_DIR / "default.safetensors").read_bytes()
    assert writable_stem(mine) == mine  # a model of the user's own is written in place

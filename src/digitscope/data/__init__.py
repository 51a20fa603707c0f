"""Datasets in one canonical form: uint8 images + int64 labels, checksummed and cached atomically."""

from . import candidates, emnist, fashion, kannada, mnist, sequences, svhn
from .cache import Arrays, DataUnavailableError, array_checksum, data_dir
from .registry import (
    DatasetInfo,
    cache_path,
    describe_cache,
    fetch,
    get_dataset,
    list_datasets,
    load,
    parse_spec,
    register,
)

register(DatasetInfo(
    name="mnist",
    description="MNIST handwritten digits: train 55k / val 5k (tail of the official 60k) / test 10k",
    splits=("train", "val", "test", "train-full"),
    fetch=mnist.fetch,
    checksums=mnist.CHECKSUMS,
))
register(DatasetInfo(
    name="fashion",
    description="Fashion-MNIST clothing, evaluation-only out-of-distribution set: test 10k / train 60k",
    splits=fashion.SPLITS,
    fetch=fashion.fetch,
    checksums=fashion.CHECKSUMS,
    trainable=False,
))
register(DatasetInfo(
    name="kannada",
    description="Kannada-MNIST handwritten Kannada digits 0-9: train 60k / test 10k / dig 10,240 (Dig-MNIST)",
    splits=kannada.SPLITS,
    fetch=kannada.fetch,
))
register(DatasetInfo(
    name="svhn",
    description="SVHN cropped house-number digits, RGB 32x32: test 26,032 / train 73,257 / extra 531,131",
    splits=svhn.SPLITS,
    fetch=svhn.fetch,
    fetch_split=svhn.fetch_split,
))
register(DatasetInfo(
    name="emnist-letters",
    description="EMNIST handwritten letters, labels 1-26 = a-z (case merged): train 124,800 / test 20,800",
    splits=emnist.SPLITS,
    fetch=emnist.fetch,
))
for _name, _split, _what in (
        ("mnist-sequences", sequences.mnist_sequences_split, "seed 003's sequences of 1-5 MNIST digits in 28x140"),
        ("house-scenes", sequences.house_scenes_split, "house-number-like colour scenes of 1-5 MNIST digits, "
                                                        "as ink maps in 48x144")):
    register(DatasetInfo(
        name=_name,
        description=f"{_what}, targets for the sequence model: train 30k / val 2k / test 5k, from the MNIST "
                    "split of the same name",
        splits=sequences.SPLITS, fetch=sequences.fetch_all(_split), fetch_split=_split,
        made_by=("reading", "preprocess.py", "data/sequences.py"),
    ))
register(DatasetInfo(
    name="mnist-candidates",
    description="MNIST digits plus the Reader's candidates cut from synthetic strings of them: 0-9 where a candidate "
                "is one whole digit, 10 'not a digit' where it is none; from the MNIST split of the same name",
    splits=candidates.SPLITS, fetch=candidates.fetch, fetch_split=candidates.candidates_split,
    made_by=("reading", "preprocess.py", "data/candidates.py"),
))

__all__ = [
    "Arrays", "DataUnavailableError", "DatasetInfo", "array_checksum", "cache_path", "data_dir",
    "describe_cache", "fetch", "get_dataset", "list_datasets", "load", "parse_spec", "register",
]

"""The datasets the Reader makes, registered beside MNIST's: they are cached like any dataset, under a key naming
the exact files whose code makes them, so that editing anything else (batch reading, the reject rule) keeps them."""

from __future__ import annotations

from ..data import MNIST_TERMS, DatasetInfo, register
from ..data.cvl import TERMS as CVL_TERMS
from ..data.orand import TERMS as ORAND_TERMS
from ..data.qmnist import TERMS as QMNIST_TERMS
from . import candidates, cvl_candidates, line_sets, orand_candidates, sequence_sets

# What cuts a string into candidates and labels them: the generator of the strings, the segmentation, the one
# preprocessing path, the box overlap.
CANDIDATE_CODE = ("preprocess.py", "boxes.py", "data/synthetic.py", "reading/reader.py", "reading/segment.py",
                  "reading/path.py", "reading/prior.py", "reading/scene.py", "reading/candidates.py",
                  "reading/marks.py", "reading/paper.py")
# What draws a sequence image and its targets.
SEQUENCE_CODE = ("preprocess.py", "data/synthetic.py", "models/seqnet.py", "reading/scene.py",
                 "reading/sequence_model.py", "reading/sequence_sets.py")

for _name, _split, _what in (
        ("mnist-sequences", sequence_sets.mnist_sequences_split,
         "sequences of 1-5 MNIST digits in 28x140 (as in the multi-digit capstone report)"),
        ("house-scenes", sequence_sets.house_scenes_split, "house-number-like colour scenes of 1-5 MNIST digits, "
                                                           "as ink maps in 48x144")):
    register(DatasetInfo(
        name=_name,
        description=f"{_what}, targets for the sequence model: train 30k / val 2k / test 5k, from the MNIST "
                    "split of the same name",
        splits=sequence_sets.SPLITS, fetch_split=_split,
        made_by=SEQUENCE_CODE,
    ))
register(DatasetInfo(
    name="mnist-candidates",
    description="MNIST digits plus the Reader's candidates cut from synthetic strings of them: 0-9 where a candidate "
                "is one whole digit, 10 'not a digit' where it is none; from the MNIST split of the same name",
    splits=candidates.SPLITS, fetch_split=candidates.candidates_split,
    made_by=CANDIDATE_CODE,
    terms=MNIST_TERMS,
))
register(DatasetInfo(
    name="orand-candidates",
    description="the Reader's candidates and the whole digits of ORAND-CAR-A train amounts (fit ~4/5 / choose ~1/5 "
                "of them, by amount), 0-9 or 10 'not a digit', with 90k / 3k of mnist-candidates:train / val",
    splits=orand_candidates.SPLITS, fetch_split=orand_candidates.candidates_split,
    made_by=(*CANDIDATE_CODE, "data/orand.py", "reading/orand_candidates.py"),
    terms=f"{ORAND_TERMS}; {MNIST_TERMS}",
))
register(DatasetInfo(
    name="cvl-candidates",
    description="CVL digits plus the Reader's candidates cut from synthetic strings of them, 0-9 or 10 'not a digit': "
                "train from cvl:train / val from cvl:valid (choosing only)",
    splits=cvl_candidates.SPLITS, fetch_split=cvl_candidates.cvl_candidates_split,
    made_by=(*CANDIDATE_CODE, "data/cvl.py", "reading/cvl_candidates.py"), choose_only=("val",),
    terms=CVL_TERMS,
))
READING_PARTS = {"train": ("orand-candidates:fit", "cvl-candidates:train"),
                 "val": ("orand-candidates:choose", "cvl-candidates:val")}
register(DatasetInfo(
    name="reading-candidates",
    description="what the reading model learns from: orand-candidates (real amounts' cuts, MNIST's) and "
                "cvl-candidates (European writers' cuts): train = their fit and train / val = choose and val",
    splits=tuple(READING_PARTS),  # nothing of its own: both splits are made of their parts
    parts=READING_PARTS, choose_only=("val",),
    terms=f"{ORAND_TERMS}; {MNIST_TERMS}; {CVL_TERMS}",
))
register(DatasetInfo(
    name="mnist-writers-candidates",
    description="mnist-candidates from the writer-disjoint MNIST splits: train from mnist-writers:train / val from "
                "mnist-writers:val",
    splits=("train", "val"), fetch_split=candidates.writers_candidates_split,
    made_by=CANDIDATE_CODE,
    terms=f"{MNIST_TERMS}; {QMNIST_TERMS}",
))
# The kinds of data the reading model learnt from (digits and the Reader's cuts of them, MNIST's, CVL's, the cheque
# writers'), with no validation writer among them: its own MNIST part came from mnist:train, which holds most of
# mnist-writers:val.
CLEAN_CUTS_PARTS = {"train": ("mnist-writers-candidates:train", "cvl-candidates:train", "orand-cuts:fit"),
                    "val": ("mnist-writers:val", "cvl:valid")}
register(DatasetInfo(
    name="writers-cuts",
    description="every writer's digits and the Reader's cuts of them, no validation writer among them: train = "
                "mnist-writers-candidates:train + cvl-candidates:train + orand-cuts:fit / val = mnist-cvl:val",
    splits=tuple(CLEAN_CUTS_PARTS),  # nothing of its own: both splits are made of their parts
    parts=CLEAN_CUTS_PARTS, choose_only=("val",),
    terms=f"{MNIST_TERMS}; {QMNIST_TERMS}; {CVL_TERMS}; {ORAND_TERMS}",
))
register(DatasetInfo(
    name="orand-cuts",
    description="the whole digits and the Reader's candidates of ORAND-CAR-A train amounts alone (orand-candidates "
                "without its MNIST share), 0-9 or 10 'not a digit': fit ~4/5 / choose ~1/5 of them, by amount",
    splits=orand_candidates.SPLITS, fetch_split=orand_candidates.cuts_split,
    made_by=(*CANDIDATE_CODE, "data/orand.py", "reading/orand_candidates.py"),
    terms=ORAND_TERMS,
))
register(DatasetInfo(
    name="amount-lines",
    description="whole amounts for the line reader, through the Reader's page ink into 32x160: train = 60k "
                "written amounts of cvl:train and mnist-writers:train digits (separators, underlines, dashes) + the "
                "ORAND-CAR-A train amounts of orand-candidates' fit side / val = its choose side + 2k amounts of "
                "cvl:valid and mnist-writers:val digits",
    splits=(*line_sets.PARTS, *line_sets.SPLITS), fetch_split=line_sets.lines_split,
    made_by=("preprocess.py", "data/synthetic.py", "data/orand.py", "models/linenet.py", "reading/scene.py",
             "reading/paper.py", "reading/segment.py", "reading/line_model.py", "reading/line_sets.py",
             "reading/orand_candidates.py"),
    parts=line_sets.PARTS,
    terms=f"{ORAND_TERMS}; {MNIST_TERMS}; {QMNIST_TERMS}; {CVL_TERMS}",
))

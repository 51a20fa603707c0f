"""Architectures behind one registry."""

from . import ensemble, gate, linenet, seqnet, specialists, zoo  # noqa: F401  (registers the architectures)
from .registry import ModelEntry, count_parameters, create_model, list_models, model_entry, register_model

__all__ = ["ModelEntry", "count_parameters", "create_model", "list_models", "model_entry", "register_model"]

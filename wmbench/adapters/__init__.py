"""Stage 3 (beside metrics): the adapter base class and the registry."""

from wmbench.adapters.base import Adapter, ContextBatch, ReferenceAdapter, Requirements
from wmbench.adapters.registry import ENTRY_POINT_GROUP, available, load_adapter, resolve

__all__ = [
    "Adapter", "ContextBatch", "ENTRY_POINT_GROUP", "ReferenceAdapter", "Requirements",
    "available", "load_adapter", "resolve",
]

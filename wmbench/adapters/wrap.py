"""A plain model as an adapter: a ``torch.nn.Module`` (a ``LightningModule`` too) or a
function, called with the documented signature::

    model(frames, horizon)            -> predicted frames
    model(frames, horizon, actions)   -> predicted frames   (requirements.uses_actions)

``frames``: ``float32 (B, C, 3, H, W)`` in ``[0, 1]``, on the model's device;
``horizon``: the number of frames to predict; ``actions``: ``float32 (B, C + horizon -
1, A)``. It returns ``float (B, horizon, 3, H, W)`` in ``[0, 1]``: what
:meth:`Adapter.predict` returns (see :class:`~wmbench.adapters.base.ContextBatch`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch

from wmbench.adapters.base import Adapter, ContextBatch, Requirements
from wmbench.errors import WmbenchError

SIGNATURE = "model(frames, horizon)"
SIGNATURE_WITH_ACTIONS = "model(frames, horizon, actions)"


class ModelAdapter(Adapter):
    """Calls a wrapped model with the documented signature (see the module docstring).
    :func:`as_adapter` makes one subclass per wrapped model, carrying its name and
    requirements."""

    def __init__(self, model: Callable[..., torch.Tensor]):
        super().__init__()
        self.model = model  # an nn.Module attribute: setup() moves it to the device, in eval mode

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        if self.requirements.uses_actions:
            return self.model(batch.frames, batch.horizon, batch.actions)
        return self.model(batch.frames, batch.horizon)

    def describe(self) -> dict[str, Any]:
        return {
            "wraps": _qualified_name(self.model),
            "call": SIGNATURE_WITH_ACTIONS if self.requirements.uses_actions else SIGNATURE,
        }


def _qualified_name(model: object) -> str:
    target = model if inspect.isfunction(model) or inspect.ismethod(model) else type(model)
    return f"{target.__module__}:{target.__qualname__}"


def _display_name(model: object) -> str:
    return getattr(model, "__name__", None) or type(model).__name__


def _check_signature(model: Callable[..., Any], arguments: int) -> None:
    """Refuse a callable that cannot take ``arguments`` positional arguments."""
    target = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    try:
        signature.bind(*range(arguments))
    except TypeError as exc:
        wanted = SIGNATURE_WITH_ACTIONS if arguments == 3 else SIGNATURE
        raise WmbenchError(
            f"{_display_name(model)} cannot be called as {wanted}: its signature is "
            f"{signature} ({exc}); wrap it in a wmbench.Adapter instead"
        ) from exc


def as_adapter(model: object, requirements: Requirements | None = None, name: str | None = None) -> Adapter:
    """``model`` itself if it is an :class:`Adapter`; else an adapter calling it with the
    documented signature, named ``name`` (default: the function's or class's name)."""
    if isinstance(model, Adapter):
        if requirements is not None or name is not None:
            raise WmbenchError(
                f"{type(model).__name__} is an Adapter: set its requirements and name on its "
                "class, not through evaluate()"
            )
        return model
    if inspect.isclass(model):
        raise WmbenchError(f"got the class {model.__name__}; pass an instance (or a function)")
    if not callable(model):
        raise WmbenchError(
            f"cannot evaluate a {type(model).__name__}: expected a wmbench.Adapter, a "
            f"torch.nn.Module or a function callable as {SIGNATURE}"
        )
    requirements = requirements or Requirements()
    _check_signature(model, 3 if requirements.uses_actions else 2)
    label = name or _display_name(model)
    cls = type(
        label,
        (ModelAdapter,),
        {
            "name": label,
            "requirements": requirements,
            "__module__": ModelAdapter.__module__,
            "__qualname__": f"{ModelAdapter.__qualname__}[{label}]",
        },
    )
    return cls(model)

"""Find adapters by name, lazily.

An adapter spec is one of:

* a short name: a reference adapter (``copy_last``, ``oracle``, ...: the modules of
  :mod:`wmbench.baselines`) or a name registered by an installed package under the
  ``wmbench.adapters`` entry-point group;
* ``package.module:Class``: an importable class;
* ``path/to/file.py:Class`` (or ``path/to/file.py`` when the file defines exactly
  one adapter class).

Unknown names raise :class:`~wmbench.errors.UnknownNameError` with suggestions.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from wmbench.adapters import extras
from wmbench.adapters.base import Adapter
from wmbench.errors import AdapterError, UnknownNameError, WmbenchError
from wmbench.registry import Registry

ENTRY_POINT_GROUP = "wmbench.adapters"
BASELINES = "wmbench.baselines"


def _class_in(module: ModuleType, class_name: str | None, where: str) -> type[Adapter]:
    defined = {
        n: c for n, c in vars(module).items()
        if inspect.isclass(c) and issubclass(c, Adapter) and c.__module__ == module.__name__
    }
    if class_name is None:
        if len(defined) != 1:
            raise WmbenchError(f"{where} defines {len(defined)} adapter classes; name one as {where}:Class")
        return next(iter(defined.values()))
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UnknownNameError(f"class in {where}", class_name, list(defined))
    if not (inspect.isclass(cls) and issubclass(cls, Adapter)):
        raise WmbenchError(f"{where}:{class_name} is not a subclass of wmbench.Adapter")
    return cls


def _baseline(module: str) -> type[Adapter]:
    return _class_in(importlib.import_module(module), None, module)


def _baselines() -> dict[str, Callable[[], type]]:
    """Each reference adapter's short name (its module's) and how to load it."""
    package = importlib.import_module(BASELINES)
    return {m.name: partial(_baseline, f"{BASELINES}.{m.name}") for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_")}


ADAPTERS: Registry[type[Adapter]] = Registry("adapter", Adapter, ENTRY_POINT_GROUP, sources=_baselines)


def available() -> list[str]:
    """Every short name that resolves: reference adapters and entry points."""
    return ADAPTERS.names()


def listing() -> list[dict[str, Any]]:
    """Every short name with where it comes from (``built-in`` or the entry point's
    ``module:Class``), the extras it needs (``pip install 'wmbench[EXTRA]'``) and which
    of their requirements are not installed (for wmbench's own extras)."""
    builtins = _baselines()
    rows = [{"name": name, "source": "built-in", "extras": [], "missing": []} for name in builtins]
    for name, ep in ADAPTERS.entry_points().items():
        if name in builtins:
            continue  # a reference adapter's name is taken by it
        ours = ep.dist is not None and ep.dist.name == "wmbench"
        rows.append({"name": name, "source": ep.value.split(" [")[0], "extras": list(ep.extras),
                     "missing": [r for extra in ep.extras for r in extras.missing(extra)] if ours else []})
    return sorted(rows, key=lambda r: r["name"])


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    name = "wmbench_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise WmbenchError(f"adapter file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise WmbenchError(f"adapter file {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def resolve(spec: str) -> type[Adapter]:
    """The adapter class named by ``spec`` (see the module docstring)."""
    target, _, class_name = spec.partition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise WmbenchError(f"adapter file {path} does not exist")
        return _class_in(_import_file(path), class_name or None, target)
    if class_name:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise WmbenchError(f"adapter module '{target}' cannot be imported: {exc}") from exc
        return _class_in(module, class_name, target)
    return ADAPTERS.resolve(spec)


def load_adapter(spec: str, config: dict[str, Any] | None = None) -> Adapter:
    """Resolve ``spec`` and construct the adapter with ``config`` as keyword arguments."""
    cls, config = resolve(spec), dict(config or {})
    try:
        inspect.signature(cls).bind(**config)
    except TypeError as exc:
        raise WmbenchError(f"adapter '{spec}' rejected its config {config}: {exc}") from exc
    try:
        adapter = cls(**config)
    except WmbenchError:  # the adapter's own one-line error, with its exit code
        raise
    except Exception as exc:
        raise AdapterError(cls.display_name(), f"__init__ raised {type(exc).__name__}: {exc}") from exc
    adapter.config = config
    return adapter

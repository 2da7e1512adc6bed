"""One registry for everything found by name: adapters, metrics and scenes.

A :class:`Registry` maps short names to classes of one base class. Classes arrive in
three ways, all lazily (nothing is imported before a name is looked up):

* built-in classes register themselves when their module is imported (a decorator or
  a base class's ``__init_subclass__``); the registry imports every module of its
  ``builtins`` package on the first lookup of a name it does not hold yet, so adding a
  metric or scene is adding a module, with no list of imports to edit;
* ``sources``: names known up front, each loaded by its own function on first use
  (the reference adapters, one module per adapter);
* installed packages declare entry points in the registry's ``group``::

      [project.entry-points."wmbench.metrics"]
      my_metric = "my_package.metrics:MyMetric"

  An entry point whose class needs optional dependencies names the package's extra
  (``"my_package.models:Big [gpu]"``); when it cannot be imported, the error gives the
  command that installs them (``pip install 'my_package[gpu]'``).

A second, different class under a name already taken is refused, as is a class that
does not derive from the base class; an unknown name suggests the closest known ones.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

from wmbench.errors import RegistryError, UnknownNameError

T = TypeVar("T", bound=type)


def qualified_name(cls: type) -> str:
    """``package.module:Class``: how results and errors name a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


class Registry(Mapping[str, T], Generic[T]):
    """Classes deriving from ``base`` by name (see the module docstring). ``kind`` names
    the entries in errors ("metric", "scene", "adapter")."""

    def __init__(
        self,
        kind: str,
        base: T,
        group: str,
        builtins: str | None = None,
        sources: Callable[[], Mapping[str, Callable[[], type]]] | None = None,
    ):
        self.kind, self.base, self.group = kind, base, group
        self._builtins, self._sources = builtins, sources
        self._classes: dict[str, T] = {}
        self._builtins_loaded = builtins is None

    # -- registering -------------------------------------------------------------------------

    def add(self, name: str, cls: type) -> T:
        """Register ``cls`` under ``name``; the same class again (a reloaded module) replaces it."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise RegistryError(f"{self.kind} '{name}': {cls!r} is not a subclass of {qualified_name(self.base)}")
        known = self._classes.get(name)
        if known is not None and qualified_name(known) != qualified_name(cls):
            raise RegistryError(
                f"{self.kind} '{name}' is registered twice: by {qualified_name(known)} "
                f"and by {qualified_name(cls)}; rename one"
            )
        self._classes[name] = cls  # type: ignore[assignment]
        return cls  # type: ignore[return-value]

    def register(self, cls: T) -> T:
        """Class decorator: register ``cls`` under its ``name`` attribute."""
        return self.add(cast(Any, cls).name, cls)

    # -- finding -----------------------------------------------------------------------------

    def entry_points(self) -> dict[str, EntryPoint]:
        """The installed packages' entry points of this registry's group, by name."""
        return {ep.name: ep for ep in entry_points(group=self.group)}

    def _load_entry_point(self, ep: EntryPoint) -> type:
        """``ep``'s class; an import failure names the entry point and, when it declares
        extras (``module:Class [extra]``), the command that installs them."""
        try:
            return ep.load()
        except ImportError as exc:
            package = ep.dist.name if ep.dist is not None else "PACKAGE"
            hint = "".join(f"; pip install '{package}[{extra}]'" for extra in ep.extras)
            raise RegistryError(f"{self.kind} '{ep.name}' ({ep.value}) cannot be imported: {exc}{hint}") from exc

    def _load_builtins(self) -> None:
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        package = importlib.import_module(self._builtins)  # type: ignore[arg-type]
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)

    def _lazy(self) -> dict[str, Callable[[], type]]:
        """Loaders of the names known without importing anything: sources, then entry points."""
        found: dict[str, Callable[[], type]] = {
            name: partial(self._load_entry_point, ep) for name, ep in self.entry_points().items()
        }
        if self._sources is not None:
            found.update(self._sources())
        return found

    def names(self) -> list[str]:
        """Every name that resolves (built-ins, sources and entry points), sorted."""
        self._load_builtins()
        return sorted(set(self._classes) | set(self._lazy()))

    def resolve(self, name: str) -> T:
        """The class registered as ``name``, loading it if needed; unknown names raise
        :class:`~wmbench.errors.UnknownNameError` with suggestions."""
        if name not in self._classes:
            lazy = self._lazy()
            if name in lazy:
                loaded = lazy[name]()
                if name not in self._classes:
                    self.add(name, loaded)
                elif self._classes[name] is not loaded:
                    self.add(name, loaded)  # refused: another class took the name
            else:
                self._load_builtins()
        if name not in self._classes:
            raise UnknownNameError(self.kind, name, self.names())
        return self._classes[name]

    # -- the Mapping interface: registry[name], name in registry, iteration -----------------------

    def __getitem__(self, name: str) -> T:
        try:
            return self.resolve(name)
        except UnknownNameError as exc:
            raise KeyError(name) from exc

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

"""Optional dependencies of adapters: wmbench's extras (``pip install 'wmbench[EXTRA]'``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution, version

from packaging.requirements import InvalidRequirement, Requirement

from wmbench.errors import WmbenchError


def missing(extra: str) -> list[str]:
    """The requirements of wmbench's ``extra`` that are not installed (as written in
    ``pyproject.toml``, e.g. ``diffusers>=0.42``); a requirement installed at a version
    outside its range counts as missing."""
    try:
        requires = distribution("wmbench").requires or []
    except PackageNotFoundError:  # running from a source tree that was never installed
        return []
    absent = []
    for line in requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or not req.marker.evaluate({"extra": extra}):
            continue
        wanted = f"{req.name}{req.specifier}"
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            absent.append(wanted)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            absent.append(f"{wanted} (found {installed})")
    return absent


def require(extra: str, adapter: str) -> None:
    """Raise :class:`WmbenchError` naming the install command when ``extra`` is missing."""
    absent = missing(extra)
    if absent:
        raise WmbenchError(
            f"adapter '{adapter}' needs the '{extra}' extra: pip install 'wmbench[{extra}]' "
            f"(missing: {', '.join(absent)})"
        )

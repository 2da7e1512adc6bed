"""The reference adapters, one module per adapter named by its short name:
``wmbench.baselines.copy_last``, ``wmbench.baselines.oracle``, ...

Their files are the repository's top-level ``baselines/`` folder. A wheel installs them
into this package; in a source checkout this package reads them from that folder, so
every adapter has the same module name (recorded in results) on every machine.
Modules whose name starts with ``_`` are helpers, not adapters.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1] / "baselines"

if not any(_HERE.glob("[!_]*.py")) and _CHECKOUT.is_dir():  # a source checkout
    __path__.append(str(_CHECKOUT))

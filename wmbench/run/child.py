"""The isolated adapter process (``wmbench run --isolate``, see :mod:`wmbench.run.isolated`).

Started as ``python -m wmbench.run.child FD`` in an empty temporary directory, with an
environment stripped of wmbench's variables, the test secret and the paths of the run,
it constructs the adapter from its spec and config and answers the run's requests on
the connection ``FD`` (:mod:`wmbench.run.wire`), one at a time:

* ``load``: the import path, spec and config; answers the adapter's identity;
* ``setup``: the device;
* ``call``: one adapter method with its inputs, made under the run's precision
  (autocast), default dtype and inference mode as the run would have made it in
  process; answers the output and the seconds it took (device synchronised);
* ``speed``: the speed protocol (:func:`wmbench.run.speed.measure_speed`) run here,
  around the adapter's own calls, on the inputs it is sent; answers its record;
* ``close``.

It is never given an episode, a seed, the secret or a path of the cache, and it
imports nothing that loads episodes (:mod:`wmbench.worlds`) unless the adapter does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

import torch

from wmbench.adapters.base import Adapter, ContextBatch
from wmbench.adapters.registry import load_adapter
from wmbench.errors import WmbenchError
from wmbench.run import wire
from wmbench.run.calls import AdapterCalls
from wmbench.run.speed import measure_speed, timed

#: The methods a run may call (an adapter's other attributes are not reachable).
CALLABLE = ("setup", "predict", "predict_with_truth", "reset", "step", "score_surprise")


@dataclass(frozen=True)
class PublicTask:
    """What of the task the speed protocol reads: all public, in the task file."""

    name: str
    horizon: int
    fps: float
    resolution: int


@contextmanager
def applied(state: dict[str, Any]) -> Iterator[None]:
    """The run's torch state of a call (see :func:`wmbench.run.isolated.call_state`):
    only the keys present are applied."""
    with ExitStack() as stack:
        if "inference" in state:
            stack.enter_context(torch.inference_mode(state["inference"]))
            if not state["inference"]:
                stack.enter_context(torch.set_grad_enabled(state["grad"]))
        device_type = state["device_type"]
        if torch.amp.is_autocast_available(device_type):
            stack.enter_context(
                torch.autocast(device_type, dtype=wire.DTYPES[state["autocast_dtype"]], enabled=state["autocast"])
            )
        default = torch.get_default_dtype()
        torch.set_default_dtype(wire.DTYPES[state["default_dtype"]])
        stack.callback(torch.set_default_dtype, default)
        yield


def identity(adapter: Adapter) -> dict[str, Any]:
    """What the run records about the adapter, and what its harness reads."""
    cls = type(adapter)
    methods = [m for m in CALLABLE if hasattr(Adapter, m)]
    return {
        "name": adapter.display_name(),
        "module": cls.__module__,
        "qualname": cls.__qualname__,
        "privileged": adapter.privileged,
        "requirements": asdict(adapter.requirements),
        "capabilities": adapter.capabilities(),
        "implements": {m: adapter.implements(m) for m in methods},
        "details": adapter.describe(),
    }


class Server:
    """The adapter and the answers to the run's requests."""

    def __init__(self) -> None:
        self.adapter: Adapter | None = None

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        sys.path[:] = request["path"]
        torch.set_num_threads(request["threads"])
        self.adapter = load_adapter(request["spec"], request["config"])
        return identity(self.adapter)

    def describe(self, request: dict[str, Any]) -> dict[str, Any]:
        return cast(Adapter, self.adapter).describe()

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        method, adapter = request["method"], cast(Adapter, self.adapter)
        if method not in CALLABLE:
            raise WmbenchError(f"the run cannot call {method}() of an isolated adapter")
        args = request["args"]
        if request["batch"] is not None:
            args = [ContextBatch(**request["batch"]), *args]
        device = adapter.device if method != "setup" else torch.device(args[0])
        if method == "setup":
            args = [device]
        with applied(request["state"]):
            value, seconds = timed(device, lambda: getattr(adapter, method)(*args))
        return {"value": value, "seconds": seconds}

    def speed(self, request: dict[str, Any]) -> dict[str, Any]:
        adapter = cast(Adapter, self.adapter)
        task = PublicTask(**request["task"])
        harness = AdapterCalls(adapter, cast(Any, task), request["timeout"])
        inputs = ContextBatch(**request["inputs"])
        return measure_speed(
            cast(Any, harness),
            inputs,
            torch.device(request["device"]),
            request["precision"],
            lambda: applied(request["state"]),
            budget_s=request["budget"],
        )


def answer(server: Server, request: dict[str, Any]) -> dict[str, Any]:
    """The reply to ``request``: its value, or what it raised (type name, message and,
    for wmbench's own errors, their exit code)."""
    try:
        if request["op"] not in ("load", "describe", "call", "speed"):
            raise WmbenchError(f"unknown request {request['op']!r}")
        return {"value": getattr(server, request["op"])(request)}
    except Exception as exc:
        return {
            "raised": type(exc).__name__,
            "message": str(exc),
            "exit_code": exc.exit_code if isinstance(exc, WmbenchError) else None,
        }


def main() -> int:
    connection = Connection(int(sys.argv[1]))
    sys.argv[1:] = []
    server = Server()
    while True:
        try:
            request = wire.receive(connection)
        except EOFError:  # the run has gone
            return 0
        if request["op"] == "close":
            return 0
        try:
            wire.send(connection, answer(server, request))
        except OSError:  # the run has gone while the call ran
            return 0


if __name__ == "__main__":
    sys.exit(main())

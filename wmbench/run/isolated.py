"""``wmbench run --isolate``: the adapter in a process of its own.

:func:`start_isolated` starts :mod:`wmbench.run.child` and returns an
:class:`IsolatedAdapter`, which stands in the run for the adapter: the harness calls
it as it would call the adapter, and each call is sent to the child with only the
adapter's inputs (context frames, actions, horizon, fps; a privileged reference
adapter also gets the true future it is entitled to) and answered with its output.
Messages are JSON and raw tensor bytes (:mod:`wmbench.run.wire`), never pickle.

The child runs in a fresh temporary directory, with the run's environment less every
``WMBENCH_*`` variable and anything naming a hidden value (the cache and output
directories, the release, the test secret), and with no argument but the number of its
connection. A call that outlives ``--timeout`` (the harness's time limit, here in the
parent) or a child that dies ends the child; the call fails as an adapter failure of
its episodes, and the next call starts a new child (the adapter constructed and set up
again). What isolation guarantees and what it does not: docs/contracts.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from functools import cache
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch

from wmbench.adapters.base import Adapter, ContextBatch, Requirements
from wmbench.errors import AdapterError, WmbenchError
from wmbench.run import wire

#: Seconds the child may take to end after ``close`` before it is killed.
CLOSE_GRACE_S = 10.0
#: Seconds a child whose connection closed is given to be seen ending.
ENDING_S = 2.0


class IsolatedProcessDied(Exception):
    """The adapter's process ended while it was answering a call."""


@cache
def raised_type(name: str, wmbench_error: bool) -> type[Exception]:
    """An exception class named ``name``: what an exception raised in the child becomes."""
    return type(name, (WmbenchError if wmbench_error else Exception,), {})


def call_state(device_type: str, mode: bool = True) -> dict[str, Any]:
    """The torch state a call is made in here (autocast, default dtype and, with
    ``mode``, inference and grad mode), for the child to apply around the call."""
    state: dict[str, Any] = {
        "device_type": device_type,
        "autocast": torch.is_autocast_enabled(device_type),
        "autocast_dtype": str(torch.get_autocast_dtype(device_type)).removeprefix("torch."),
        "default_dtype": str(torch.get_default_dtype()).removeprefix("torch."),
    }
    if mode:
        state.update(inference=torch.is_inference_mode_enabled(), grad=torch.is_grad_enabled())
    return state


class Hidden:
    """What the child's environment and import path must not name: directories (named
    by a path that is one of them or lies under one) and the test secret (anywhere)."""

    def __init__(self, paths: Iterable[Path | str | None], secret: str | None):
        self.paths = [str(Path(p).resolve()) for p in paths if p is not None]
        self.secret = secret or os.environ.get("WMBENCH_TEST_SECRET") or None
        ends = r"(?=$|[/\\:;,\s'\"])"
        self.pattern = re.compile("|".join(re.escape(p) + ends for p in self.paths)) if self.paths else None

    def named_in(self, text: str) -> bool:
        """Whether ``text`` holds a hidden directory's path or the secret."""
        return bool(self.secret and self.secret in text) or bool(self.pattern and self.pattern.search(text))


def child_environment(hidden: Hidden) -> dict[str, str]:
    """The run's environment less ``WMBENCH_*`` and whatever names a hidden value, with
    the import path of this wmbench."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WMBENCH_") and not hidden.named_in(k) and not hidden.named_in(v)
    }
    root = str(Path(__file__).resolve().parents[2])  # the directory that holds the wmbench package
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def child_spec(spec: str) -> str:
    """``spec`` as the child resolves it from another directory: a file path made absolute."""
    target, colon, name = spec.partition(":")
    return f"{Path(target).resolve()}{colon}{name}" if target.endswith(".py") else spec


class AdapterProcess:
    """The child process and its connection; started on first use, again after it ended."""

    def __init__(self, spec: str, config: dict[str, Any], hidden: Hidden):
        self.spec, self.config, self.hidden = spec, dict(config), hidden
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: Connection | None = None
        self.directory: str | None = None
        self.device: str | None = None
        self.label = spec

    def start(self) -> dict[str, Any]:
        """Start the child and construct the adapter there; returns its identity."""
        ours, theirs = Pipe()
        self.directory = tempfile.mkdtemp(prefix="wmbench-adapter-")
        path = [os.getcwd() if p == "" else os.path.abspath(p) for p in sys.path]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wmbench.run.child", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=self.directory,
            env=child_environment(self.hidden),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        self.connection = ours
        found = self.request(
            {
                "op": "load",
                "spec": child_spec(self.spec),
                "config": self.config,
                "threads": torch.get_num_threads(),
                "path": [p for p in path if not self.hidden.named_in(p)],
            },
            "loading",
        )
        if self.device is not None:
            self.request(
                {
                    "op": "call",
                    "method": "setup",
                    "batch": None,
                    "args": [self.device],
                    "state": call_state(torch.device(self.device).type),
                },
                "setup()",
            )
        return found

    def request(self, message: dict[str, Any], what: str, deadline: float | None = None) -> Any:
        """Send ``message`` and wait for its answer (until ``deadline``, monotonic
        seconds); what the child raised is raised here, by type name and message."""
        if self.process is None:
            self.start()
        assert self.process is not None and self.connection is not None
        try:
            wire.send(self.connection, message)
            while not self.connection.poll(0.05):
                if self.process.poll() is not None:
                    raise EOFError
                if deadline is not None and time.monotonic() > deadline:
                    raise IsolatedProcessDied(f"the adapter's process did not answer {what} in time; it was ended")
            reply = wire.receive(self.connection)
        except wire.WireError as exc:
            self.stop()
            raise IsolatedProcessDied(
                f"the adapter's process answered {what} with a malformed message ({exc}); it was ended"
            ) from exc
        except (EOFError, OSError) as exc:
            how = self.ended()
            self.stop()
            raise IsolatedProcessDied(f"the adapter's process {how} during {what}") from exc
        except BaseException:  # a time limit, an interrupt: the child's state is unknown
            self.stop()
            raise
        if "raised" in reply:
            code = reply.get("exit_code")
            error = raised_type(str(reply["raised"]), isinstance(code, int))(str(reply.get("message")))
            if isinstance(error, WmbenchError) and isinstance(code, int):
                error.exit_code = code
            raise error
        return reply.get("value")

    def ended(self) -> str:
        """How the child ended, in words (it is given a moment to be seen ending)."""
        assert self.process is not None
        try:
            code = self.process.wait(ENDING_S)
        except subprocess.TimeoutExpired:
            return "closed its connection"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def stop(self) -> None:
        """End the child now (it is started again on the next request)."""
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.close_files()

    def close(self) -> None:
        """Ask the child to end, then make sure it did."""
        if self.process is not None and self.process.poll() is None and self.connection is not None:
            try:
                wire.send(self.connection, {"op": "close"})
                self.process.wait(CLOSE_GRACE_S)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.stop()
        self.process = None

    def close_files(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        self.process = None


class IsolatedAdapter(Adapter):
    """The adapter of another process, as the run calls it (see the module docstring).
    Its class takes the child adapter's name, requirements and class path."""

    capability_names: list[str] = []

    def __init__(self, process: AdapterProcess, found: dict[str, Any]):
        super().__init__()
        self.process = process
        self.process.label = found["name"]
        self.native = dict(found["implements"])
        self.details = found["details"]
        #: Seconds the child's calls took since :meth:`clock` began.
        self.elapsed = 0.0

    @classmethod
    def capabilities(cls) -> list[str]:
        return list(cls.capability_names)

    def implements(self, method: str) -> bool:
        return bool(self.native.get(method, False))

    def describe(self) -> dict[str, Any]:
        return self.details

    def _call(self, method: str, *args: Any, batch: ContextBatch | None = None) -> Any:
        fields = (
            None
            if batch is None
            else {"frames": batch.frames, "horizon": batch.horizon, "fps": batch.fps, "actions": batch.actions}
        )
        message = {
            "op": "call",
            "method": method,
            "batch": fields,
            "args": list(args),
            "state": call_state(self.device.type),
        }
        reply = self.process.request(message, f"{method}()")
        if not isinstance(reply, dict) or "value" not in reply or not isinstance(reply.get("seconds"), (int, float)):
            self.process.stop()
            raise IsolatedProcessDied(f"the adapter's process answered {method}() with a malformed message")
        self.elapsed += reply["seconds"]
        return reply["value"]

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.process.device = str(device)
        self._call("setup", str(device))

    def predict(self, batch: ContextBatch) -> Any:
        return self._call("predict", batch=batch)

    def predict_with_truth(self, batch: ContextBatch, future: torch.Tensor) -> Any:
        return self._call("predict_with_truth", future, batch=batch)

    def reset(self, context: torch.Tensor, fps: float, actions: torch.Tensor | None = None) -> None:
        self._call("reset", context, fps, actions)

    def step(self, action: torch.Tensor | None = None) -> Any:
        return self._call("step", action)

    def score_surprise(self, clips: torch.Tensor, fps: float, context: int) -> Any:
        return self._call("score_surprise", clips, fps, context)

    def clock(self, device: torch.device, call: Callable[[], Any]) -> tuple[Any, float]:
        """``(call(), seconds)``: the seconds the child's calls took, timed there as
        :func:`wmbench.run.speed.timed` times them (the transfer between processes excluded)."""
        self.elapsed = 0.0
        value = call()
        return value, self.elapsed

    def measure_speed(
        self,
        task: Any,
        inputs: ContextBatch,
        precision: str,
        forward_context: Callable[[], AbstractContextManager[object]],
        budget_s: float | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        """The speed protocol run in the child around the adapter's own calls
        (:func:`wmbench.run.speed.measure_speed`), under the run's precision context."""
        with forward_context():
            state = call_state(self.device.type, mode=False)
        message = {
            "op": "speed",
            "state": state,
            "precision": precision,
            "device": str(self.device),
            "budget": budget_s,
            "timeout": timeout,
            "task": {"name": task.name, "horizon": task.horizon, "fps": task.fps, "resolution": task.resolution},
            "inputs": {
                "frames": inputs.frames,
                "horizon": inputs.horizon,
                "fps": inputs.fps,
                "actions": inputs.actions,
            },
        }
        start = time.monotonic()
        deadline = None if budget_s is None or timeout is None else start + budget_s + timeout + 60
        try:
            record = self.process.request(message, "the speed protocol", deadline)
            if not isinstance(record, dict):
                raise IsolatedProcessDied(f"the adapter's process answered the speed protocol with {record!r}")
        except Exception as exc:
            return {
                "measured": False,
                "isolated": True,
                "reason": f"the speed protocol failed: {type(exc).__name__}: {exc}",
            }
        # the protocol's wall time as the run saw it: a bound the child's own timings cannot beat
        return dict(record, isolated=True, run_wall_s=time.monotonic() - start)

    def close(self) -> None:
        """Keep the adapter's last description, then end its process."""
        if self.process.process is not None:
            try:
                self.details = self.process.request({"op": "describe"}, "describe()")
            except Exception:  # noqa: BLE001 - its description at start stands
                pass
        self.process.close()


def start_isolated(spec: str, config: dict[str, Any], hidden: Hidden) -> IsolatedAdapter:
    """The adapter ``spec`` constructed with ``config`` in a process of its own, whose
    environment and import path name nothing ``hidden``."""
    if os.name != "posix":
        raise WmbenchError("--isolate needs a POSIX system (Linux, macOS); run with --no-isolate here, or under WSL")
    process = AdapterProcess(spec, config, hidden)
    try:
        found = process.start()
    except IsolatedProcessDied as exc:
        raise AdapterError(spec, str(exc)) from exc
    except WmbenchError:
        process.close()
        raise
    except Exception as exc:
        process.close()
        raise AdapterError(spec, f"could not be loaded in its own process: {type(exc).__name__}: {exc}") from exc
    cls = type(
        found["qualname"].rsplit(".", 1)[-1],
        (IsolatedAdapter,),
        {
            "name": found["name"],
            "requirements": Requirements(**found["requirements"]),
            "privileged": found["privileged"],
            "capability_names": found["capabilities"],
            "__module__": found["module"],
            "__qualname__": found["qualname"],
        },
    )
    return cls(process, found)

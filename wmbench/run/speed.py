"""The speed protocol: how fast an adapter predicts, measured the same way for every model.

Definitions (also in ``docs/speed.md``):

* A **frame** is one predicted frame of one episode; "frames per second" always means
  predicted frames per second of wall time, never sequences or batches per second.
* **Step latency** (ms, lower is better): wall time of one :meth:`Adapter.step` call
  (one new frame) at batch size 1; p50, p95, p99 over the timed steps (rollouts of the
  task's horizon, each started by :meth:`Adapter.reset`).
* **Time to first frame** (ms): :meth:`Adapter.reset` with the context plus the first
  :meth:`Adapter.step`, at batch size 1; median over the rollouts.
* **Throughput** (frames/s, higher is better): ``calls * batch * horizon`` predicted
  frames divided by the summed wall time of ``calls`` :meth:`Adapter.predict` calls at
  the run's batch size (split into pieces of ``max_batch_size`` when the adapter asks).
* **Spread** (unitless, lower is steadier): the interquartile range of a kind's call
  times divided by their median (``relative_iqr``); p5 and p95 are recorded too. A
  spread above ``SpeedProtocol.max_relative_iqr`` is flagged (``spread_too_wide``) and
  warned about: the numbers are then not steady enough to compare.

Calibration (as pytest-benchmark's): after ``warmup`` discarded calls, each kind of call
(batch-1 steps, ``predict`` at the run's batch size) is timed until at least
``min_calls`` calls and ``min_time_s`` seconds of timed calls were made, so that a fast
model is sampled as densely as a slow one.
* **Real-time factor** (unitless): ``1000 / p50 step latency / task fps``: scene seconds
  produced per wall second at batch size 1; >= 1 keeps up with real time.
* **Peak memory** (MiB): device memory allocated by PyTorch during the protocol (CUDA
  only, else null) and the process's peak resident host memory since it started.

Every timed call runs in ``eval()`` and ``torch.inference_mode()``, after ``warmup``
discarded calls, with the device synchronised before and after. The protocol has a
time budget (``wmbench run --speed-budget``), half of it for the steps and the rest for
the ``predict`` calls: no call starts once its share is spent, and the record says how
many calls of each kind were made (``calls``) and whether the budget cut the protocol
short; each call is also bounded by the run's ``--timeout``. Timings cover the
model only; data loading and scoring are timed per batch during the run (see
:func:`wmbench.results.derived.harness_overhead`).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from wmbench.adapters.base import ContextBatch
from wmbench.run import provenance

if TYPE_CHECKING:
    from wmbench.run.harness import Harness

FRAME_DEFINITION = "one predicted frame of one episode; frames/s = predicted frames per second of wall time"


@dataclass(frozen=True)
class SpeedProtocol:
    """How much is measured: ``warmup`` discarded calls of each kind, then timed calls of
    each kind until at least ``min_calls`` of them and ``min_time_s`` seconds of timed
    calls were made; a kind whose relative IQR exceeds ``max_relative_iqr`` is flagged."""

    warmup: int = 2
    min_calls: int = 20
    min_time_s: float = 1.0
    max_relative_iqr: float = 0.10

    def enough(self, seconds: list[float]) -> bool:
        """Whether the timed calls ``seconds`` fill the minimum count and time."""
        return len(seconds) >= self.min_calls and sum(seconds) >= self.min_time_s


#: The clock of every timing here (a test may replace it with a fake one).
clock = time.perf_counter


#: The protocol of every run (tests use a shorter one).
DEFAULT_PROTOCOL = SpeedProtocol()


class SpeedSpreadWarning(UserWarning):
    """A speed measurement spread too wide to compare (a busy machine, a model with
    variable cost)."""


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(device: torch.device, call: Callable[[], Any]) -> tuple[Any, float]:
    """``(call(), seconds)`` with the device synchronised before and after."""
    synchronize(device)
    start = clock()
    value = call()
    synchronize(device)
    return value, clock() - start


def _device_record(device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return {"type": "cuda", "name": torch.cuda.get_device_name(index), "driver": _nvidia_driver(),
                "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    return {"type": device.type, "name": platform.processor() or platform.machine(), "driver": None,
            "threads": torch.get_num_threads()}


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out.strip() else None


def host_peak_mib() -> float | None:
    """Peak resident memory of this process since it started, MiB (``None`` where the
    ``resource`` module does not exist, i.e. on Windows)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def call_statistics(seconds: list[float]) -> dict[str, float]:
    """Percentiles, mean and spread (ms) of call times ``seconds``, and their ``count``."""
    ms = 1e3 * np.asarray(seconds)
    p5, p25, p50, p75, p95, p99 = (float(v) for v in np.percentile(ms, [5, 25, 50, 75, 95, 99]))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": float(ms.mean()), "count": int(ms.size), "p5": p5,
            "iqr": p75 - p25, "relative_iqr": (p75 - p25) / p50 if p50 > 0 else 0.0}


class Budget:
    """Seconds the protocol may take, shared out between its phases, and the calls it
    made of each kind."""

    def __init__(self, seconds: float | None):
        self.seconds, self.deadline = seconds, None if seconds is None else clock() + seconds
        self.phase_end = self.deadline
        self.calls = {"reset": 0, "step": 0, "predict": 0}
        self.spent = False

    def phase(self, share: float) -> None:
        """Start a phase that may take ``share`` of the seconds left (1: all of them)."""
        if self.deadline is not None:
            now = clock()
            self.phase_end = now + share * max(0.0, self.deadline - now)

    def allows(self) -> bool:
        """Whether another call may start in this phase; ``spent`` records any phase cut short."""
        over = self.phase_end is not None and clock() >= self.phase_end
        self.spent = self.spent or over
        return not over

    def call(self, harness: Harness, kind: str, device: torch.device, body: Callable[[], Any]) -> tuple[Any, float]:
        """``timed(body)`` under the run's per-call timeout, counted."""
        with harness.limited(f"{kind}()"):
            result = timed(device, body)
        self.calls[kind] += 1
        return result


def _step_latencies(harness: Harness, one: ContextBatch, context: int, device: torch.device,
                    protocol: SpeedProtocol, budget: Budget) -> tuple[list[float], list[float]]:
    """Per-step and time-to-first-frame seconds of batch-1 rollouts (a warm-up rollout of
    ``warmup`` steps discarded), rollout after rollout until the protocol has enough."""
    adapter = harness.adapter
    past = None if one.actions is None else one.actions[:, : context - 1]
    steps = [None if one.actions is None else one.actions[:, context - 1 + k] for k in range(one.horizon)]
    step_times: list[float] = []
    first_frame: list[float] = []
    warm = protocol.warmup > 0
    while (warm or not protocol.enough(step_times)) and budget.allows():
        _, reset_time = budget.call(harness, "reset", device, lambda: adapter.reset(one.frames, one.fps, past))
        for k in range(min(protocol.warmup, one.horizon) if warm else one.horizon):
            if (not warm and protocol.enough(step_times)) or not budget.allows():
                break
            _, seconds = budget.call(harness, "step", device, lambda: adapter.step(steps[k]))
            if not warm:
                step_times.append(seconds)
                if k == 0:
                    first_frame.append(reset_time + seconds)
        warm = False
    return step_times, first_frame


def _predict_times(harness: Harness, inputs: ContextBatch, device: torch.device, protocol: SpeedProtocol,
                   budget: Budget) -> tuple[list[float], Any]:
    """Seconds of timed ``predict`` calls at the run's batch size (``warmup`` discarded),
    and the last call's outputs."""
    times: list[float] = []
    outputs = None
    for _ in range(protocol.warmup):
        if budget.allows():
            budget.call(harness, "predict", device, lambda: harness.raw(inputs))
    while not protocol.enough(times) and budget.allows():
        outputs, seconds = budget.call(harness, "predict", device, lambda: harness.raw(inputs))
        times.append(seconds)
    return times, outputs


def _flag_spread(record: dict[str, Any], protocol: SpeedProtocol, what: str) -> list[str]:
    """The kinds of call (``step_latency_ms``, ``predict_latency_ms``) whose spread is too
    wide, each warned about in one line."""
    wide = []
    for kind in ("step_latency_ms", "predict_latency_ms"):
        stats = record.get(kind)
        if stats is not None and stats["relative_iqr"] > protocol.max_relative_iqr:
            wide.append(kind)
            warnings.warn(f"speed of {what}: {kind} spread too wide (IQR "
                          f"{100 * stats['relative_iqr']:.0f}% of the median over {stats['count']} calls, limit "
                          f"{100 * protocol.max_relative_iqr:.0f}%); measure on an idle machine to compare",
                          SpeedSpreadWarning, stacklevel=3)
    return wide


def measure_speed(harness: Harness, inputs: ContextBatch, device: torch.device, precision: str,
                  forward_context: Callable[[], AbstractContextManager] = nullcontext,
                  protocol: SpeedProtocol | None = None, budget_s: float | None = None) -> dict[str, Any]:
    """Run the protocol (default: :data:`DEFAULT_PROTOCOL`) on ``inputs`` (the adapter's
    input at the run's batch size, on ``device``), calling the adapter through
    ``harness`` as the run does, within ``budget_s`` seconds (``None``: no budget)."""
    protocol = protocol or DEFAULT_PROTOCOL
    adapter, task = harness.adapter, harness.task
    record: dict[str, Any] = {
        "protocol": asdict(protocol), "frame": FRAME_DEFINITION, "device": _device_record(device),
        "precision": precision, "input_dtype": str(inputs.frames.dtype).removeprefix("torch."),
        "batch_size": inputs.batch_size, "max_batch_size": adapter.requirements.max_batch_size,
        "resolution": {"task": task.resolution, "model": int(inputs.frames.shape[-1])},
        "context": int(inputs.frames.shape[1]), "horizon": inputs.horizon, "fps": task.fps,
        "libraries": {k: v for k, v in provenance.library_versions().items() if k in ("torch", "pytorch-lightning")},
    }
    if harness.privileged:
        return dict(record, measured=False, reason="privileged reference adapter: it reads the answer, not a model")
    if not harness.predicts_frames:
        return dict(record, measured=False, reason="the model predicts no frames, and the protocol times frames")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for module in adapter.modules():
        module.eval()
    one = ContextBatch(frames=inputs.frames[:1], horizon=inputs.horizon, fps=inputs.fps,
                       actions=None if inputs.actions is None else inputs.actions[:1])
    budget = Budget(budget_s)
    try:
        with torch.inference_mode(), forward_context():
            budget.phase(0.5)
            step_times, first_frame = _step_latencies(harness, one, record["context"], device, protocol, budget)
            budget.phase(1.0)
            predict_times, outputs = _predict_times(harness, inputs, device, protocol, budget)
    except Exception as exc:  # a broken adapter: the run itself reports its errors
        return dict(record, measured=False, calls=budget.calls,
                    reason=f"adapter raised {type(exc).__name__} during the protocol: {exc}")
    record.update(budget_s=budget_s, budget_spent=budget.spent, calls=budget.calls)
    if not step_times and not predict_times:
        return dict(record, measured=False, reason=f"the speed budget of {budget_s:g} s (--speed-budget) was spent "
                                                   "before a timed call")
    latency = call_statistics(step_times) if step_times else None
    record.update(
        measured=True,
        output_dtype=str(outputs[0].dtype).removeprefix("torch.") if predict_times else None,
        step_latency_ms=latency,
        time_to_first_frame_ms=float(1e3 * np.median(first_frame)) if first_frame else None,
        predict_latency_ms=call_statistics(predict_times) if predict_times else None,
        throughput_frames_per_s=len(predict_times) * inputs.batch_size * inputs.horizon / sum(predict_times)
        if predict_times else None,
        real_time_factor=1e3 / latency["p50"] / task.fps if latency else None,
        peak_memory_mib={
            "device": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "host": host_peak_mib(),
        },
    )
    record["spread_too_wide"] = _flag_spread(record, protocol, f"{adapter.display_name()} on {task.name}")
    return record

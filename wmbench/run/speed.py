"""The speed protocol: how fast an adapter predicts, measured the same way for every model.

Definitions (also in ``docs/speed.md``):

* A **frame** is one predicted frame of one episode; "frames per second" always means
  predicted frames per second of wall time, never sequences or batches per second.
* **Step latency** (ms, lower is better): wall time of one :meth:`Adapter.step` call
  (one new frame) at batch size 1; p50, p95, p99 over ``rollouts * horizon`` steps.
* **Time to first frame** (ms): :meth:`Adapter.reset` with the context plus the first
  :meth:`Adapter.step`, at batch size 1; median over the rollouts.
* **Throughput** (frames/s, higher is better): ``calls * batch * horizon`` predicted
  frames divided by the summed wall time of ``calls`` :meth:`Adapter.predict` calls at
  the run's batch size (split into pieces of ``max_batch_size`` when the adapter asks).
* **Real-time factor** (unitless): ``1000 / p50 step latency / task fps``: scene seconds
  produced per wall second at batch size 1; >= 1 keeps up with real time.
* **Peak memory** (MiB): device memory allocated by PyTorch during the protocol (CUDA
  only, else null) and the process's peak resident host memory since it started.

Every timed call runs in ``eval()`` and ``torch.inference_mode()``, after ``warmup``
discarded calls, with the device synchronised before and after. The protocol has a
time budget (``wmbench run --speed-budget``): no call starts once it is spent, and the
record says how many calls of each kind were made (``calls``) and whether the budget
cut the protocol short; each call is also bounded by the run's ``--timeout``. Timings cover the
model only; data loading and scoring are timed per batch during the run (see
:func:`wmbench.results.derived.harness_overhead`).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
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
    """How much is measured: discarded warm-up calls, timed batch-1 rollouts (of the
    task's horizon each) and timed ``predict`` calls at the run's batch size."""

    warmup: int = 2
    rollouts: int = 2
    throughput_calls: int = 3


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(device: torch.device, call: Callable[[], Any]) -> tuple[Any, float]:
    """``(call(), seconds)`` with the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    value = call()
    synchronize(device)
    return value, time.perf_counter() - start


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


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = 1e3 * np.asarray(seconds)
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean()), "count": int(ms.size)}


class Budget:
    """Seconds the protocol may take, and the calls it made of each kind."""

    def __init__(self, seconds: float | None):
        self.seconds, self.deadline = seconds, None if seconds is None else time.perf_counter() + seconds
        self.calls = {"reset": 0, "step": 0, "predict": 0}
        self.spent = False

    def allows(self) -> bool:
        """Whether another call may start (once not, never again)."""
        self.spent = self.spent or (self.deadline is not None and time.perf_counter() >= self.deadline)
        return not self.spent

    def call(self, harness: Harness, kind: str, device: torch.device, body: Callable[[], Any]) -> tuple[Any, float]:
        """``timed(body)`` under the run's per-call timeout, counted."""
        with harness.limited(f"{kind}()"):
            result = timed(device, body)
        self.calls[kind] += 1
        return result


def _step_latencies(harness: Harness, one: ContextBatch, context: int, device: torch.device,
                    protocol: SpeedProtocol, budget: Budget) -> tuple[list[float], list[float]]:
    """Per-step and time-to-first-frame seconds of batch-1 rollouts (warm-up discarded)."""
    adapter = harness.adapter
    past = None if one.actions is None else one.actions[:, : context - 1]
    steps = [None if one.actions is None else one.actions[:, context - 1 + k] for k in range(one.horizon)]
    step_times, first_frame = [], []
    for rollout in range(protocol.rollouts + 1):  # rollout 0 is the warm-up
        if not budget.allows():
            break
        _, reset_time = budget.call(harness, "reset", device, lambda: adapter.reset(one.frames, one.fps, past))
        count = protocol.warmup if rollout == 0 else one.horizon
        for k in range(count):
            if not budget.allows():
                break
            _, seconds = budget.call(harness, "step", device, lambda: adapter.step(steps[k % one.horizon]))
            if rollout:
                step_times.append(seconds)
                if k == 0:
                    first_frame.append(reset_time + seconds)
    return step_times, first_frame


def measure_speed(harness: Harness, inputs: ContextBatch, device: torch.device, precision: str,
                  forward_context: Callable[[], AbstractContextManager] = nullcontext,
                  protocol: SpeedProtocol = SpeedProtocol(), budget_s: float | None = None) -> dict[str, Any]:
    """Run the protocol on ``inputs`` (the adapter's input at the run's batch size, on
    ``device``), calling the adapter through ``harness`` as the run does, within
    ``budget_s`` seconds (``None``: no budget)."""
    adapter, task, predict = harness.adapter, harness.task, harness.raw
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
            step_times, first_frame = _step_latencies(harness, one, record["context"], device, protocol, budget)
            calls = []
            for number in range(protocol.warmup + protocol.throughput_calls):
                if not budget.allows():
                    break
                result = budget.call(harness, "predict", device, lambda: predict(inputs))
                if number >= protocol.warmup:
                    calls.append(result)
    except Exception as exc:  # a broken adapter: the run itself reports its errors
        return dict(record, measured=False, calls=budget.calls,
                    reason=f"adapter raised {type(exc).__name__} during the protocol: {exc}")
    record.update(budget_s=budget_s, budget_spent=budget.spent, calls=budget.calls)
    if not step_times and not calls:
        return dict(record, measured=False, reason=f"the speed budget of {budget_s:g} s (--speed-budget) was spent "
                                                   "before a timed call")
    latency = _percentiles(step_times) if step_times else None
    return dict(
        record, measured=True,
        output_dtype=str(calls[-1][0][0].dtype).removeprefix("torch.") if calls else None,
        step_latency_ms=latency,
        time_to_first_frame_ms=float(1e3 * np.median(first_frame)) if first_frame else None,
        throughput_frames_per_s=len(calls) * inputs.batch_size * inputs.horizon / sum(s for _, s in calls)
        if calls else None,
        real_time_factor=1e3 / latency["p50"] / task.fps if latency else None,
        peak_memory_mib={
            "device": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "host": host_peak_mib(),
        },
    )

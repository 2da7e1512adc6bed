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
discarded calls, with the device synchronised before and after. Timings cover the
model only; data loading and scoring are timed per batch during the run (see
:func:`wmbench.results.record.harness_overhead`).
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

from wmbench.adapters.base import Adapter, ContextBatch
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


def _step_latencies(adapter: Adapter, one: ContextBatch, context: int, device: torch.device,
                    protocol: SpeedProtocol) -> tuple[list[float], list[float]]:
    """Per-step and time-to-first-frame seconds of batch-1 rollouts (warm-up discarded)."""
    past = None if one.actions is None else one.actions[:, : context - 1]
    steps = [None if one.actions is None else one.actions[:, context - 1 + k] for k in range(one.horizon)]
    step_times, first_frame = [], []
    for rollout in range(protocol.rollouts + 1):  # rollout 0 is the warm-up
        _, reset_time = timed(device, lambda: adapter.reset(one.frames, one.fps, past))
        count = protocol.warmup if rollout == 0 else one.horizon
        for k in range(count):
            _, seconds = timed(device, lambda: adapter.step(steps[k % one.horizon]))
            if rollout:
                step_times.append(seconds)
                if k == 0:
                    first_frame.append(reset_time + seconds)
    return step_times, first_frame


def measure_speed(harness: Harness, inputs: ContextBatch, device: torch.device, precision: str,
                  forward_context: Callable[[], AbstractContextManager] = nullcontext,
                  protocol: SpeedProtocol = SpeedProtocol()) -> dict[str, Any]:
    """Run the protocol on ``inputs`` (the adapter's input at the run's batch size, on
    ``device``), calling the adapter through ``harness`` as the run does."""
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
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for module in adapter.modules():
        module.eval()
    one = ContextBatch(frames=inputs.frames[:1], horizon=inputs.horizon, fps=inputs.fps,
                       actions=None if inputs.actions is None else inputs.actions[:1])
    try:
        with torch.inference_mode(), forward_context():
            step_times, first_frame = _step_latencies(adapter, one, record["context"], device, protocol)
            for _ in range(protocol.warmup):
                predict(inputs)
            calls = [timed(device, lambda: predict(inputs)) for _ in range(protocol.throughput_calls)]
    except Exception as exc:  # a broken adapter: the run itself reports its errors
        return dict(record, measured=False, reason=f"adapter raised {type(exc).__name__} during the protocol: {exc}")
    out = calls[-1][0]
    frames = protocol.throughput_calls * inputs.batch_size * inputs.horizon
    latency = _percentiles(step_times)
    return dict(
        record, measured=True,
        output_dtype=str(out[0].dtype if isinstance(out, list) else out.dtype).removeprefix("torch."),
        step_latency_ms=latency,
        time_to_first_frame_ms=float(1e3 * np.median(first_frame)),
        throughput_frames_per_s=frames / sum(seconds for _, seconds in calls),
        real_time_factor=1e3 / latency["p50"] / task.fps,
        peak_memory_mib={
            "device": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "host": host_peak_mib(),
        },
    )

"""A pytest plugin for model authors: assert an adapter's step latency in their own tests.

Installed with wmbench (entry point ``pytest11``), it provides the fixture
``wmbench_step_latency``, built on pytest-benchmark's ``benchmark``::

    def test_my_model_is_fast_enough(wmbench_step_latency):
        stats = wmbench_step_latency(MyModel(), task="drop_single")
        assert stats["median"] * 1e3 < 20  # ms per step at batch size 1

It times :meth:`Adapter.step` as the speed protocol does (``docs/speed.md``): batch
size 1, the context of the task's first dev episode, ``eval()`` and
``inference_mode()``, warm-up steps discarded, the device synchronised around each
step. It returns pytest-benchmark's statistics in seconds (``min``, ``max``,
``mean``, ``median``, ``stddev``, ``rounds``, ...), which also appear in its report
and its ``--benchmark-json`` and ``--benchmark-compare`` files. Under
``--benchmark-disable`` the step runs once, untimed, and the statistics are ``None``.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


def _step_inputs(task_name: str, device: Any):
    """The task, its first dev episode's context on ``device``, past and per-step actions."""
    from wmbench.frames import as_float
    from wmbench.run.data import collate
    from wmbench.tasks import get_task, split_seeds
    from wmbench.worlds import EpisodeCache, default_cache_dir

    task = get_task(task_name)
    episode = EpisodeCache(default_cache_dir()).get(task, "dev", split_seeds(task, "dev", 1)[0])
    batch = collate([episode])
    context = as_float(batch.context).to(device)
    actions = None if batch.actions is None else batch.actions.to(device)
    past = None if actions is None else actions[:, : task.context - 1]
    steps = [None if actions is None else actions[:, task.context - 1 + k] for k in range(task.horizon)]
    return task, context, past, steps


@pytest.fixture
def wmbench_step_latency(benchmark) -> Callable[..., dict[str, float] | None]:
    """``measure(adapter, task="drop_single", rounds=50, warmup=3, device="cpu")``: time
    ``rounds`` single steps of ``adapter`` (see the module docstring)."""

    def measure(
        adapter, task: str = "drop_single", rounds: int = 50, warmup: int = 3, device: str = "cpu"
    ) -> dict[str, float] | None:
        import torch

        from wmbench.adapters.registry import load_adapter
        from wmbench.run.speed import synchronize

        if isinstance(adapter, str):
            adapter = load_adapter(adapter, {})
        torch_device = torch.device(device)
        spec, context, past, steps = _step_inputs(task, torch_device)
        adapter.setup(torch_device)
        position = {"k": 0}

        def reset() -> None:
            adapter.reset(context, spec.fps, past)
            position["k"] = 0

        def step() -> None:
            with torch.inference_mode():
                adapter.step(steps[position["k"] % spec.horizon])
            synchronize(torch_device)
            position["k"] += 1
            if position["k"] == spec.horizon:
                reset()

        with torch.inference_mode():
            reset()
        benchmark.extra_info.update(task=spec.name, device=device, batch_size=1, unit="seconds per step")
        benchmark.pedantic(step, rounds=rounds, warmup_rounds=warmup, iterations=1)
        stats = getattr(benchmark, "stats", None)
        return None if stats is None else dict(stats.stats.as_dict())

    return measure

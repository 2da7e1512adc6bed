"""``wmbench run --isolate``: the adapter in a process of its own finds nothing it must
not see, scores as it does in process, and fails one line at a time."""

from __future__ import annotations

import json
import secrets
import time

import numpy as np
import pytest
import torch

from wmbench.errors import AdapterError, WmbenchError
from wmbench.frames import as_float
from wmbench.run import wire

from ..fakes.hostile import SECRET_PREFIX, digest

TASK = "drop_single"
QUICK = dict(progress=False, logger="none", speed_budget=2.0)


def _run(tmp_path, name, adapter, split="dev", limit=1, config=None, secret=None, **execution):
    from wmbench.results import write_result
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.worlds import EpisodeCache

    spec = RunSpec(adapter=adapter, tasks=(TASK,), split=split, limit=limit, adapter_config=config or {})
    cache = EpisodeCache(tmp_path.parent / "isolated-cache")
    log = evaluate(spec, tmp_path / name, cache, Execution(**{**QUICK, **execution}), secret)
    return write_result(log)


def _rows(tmp_path, name):
    from wmbench.run.writer import read_rows

    return read_rows(tmp_path / name)


@pytest.fixture(scope="module")
def hunted(tmp_path_factory):
    """A test-split run of the hostile adapter, isolated (the default) and not."""
    from wmbench import get_task
    from wmbench.tasks import split_seeds
    from wmbench.worlds import EpisodeCache

    root = tmp_path_factory.mktemp("hunt")
    secret = SECRET_PREFIX + secrets.token_hex(8)
    task = get_task(TASK)
    seed = split_seeds(task, "test", 1, secret)[0]
    episode = EpisodeCache(root.parent / "isolated-cache").get(task, "test", seed)
    context = {f.tobytes() for f in episode.context_frames}
    future = [f for f in episode.future_frames if f.tobytes() not in context]
    frames = [digest(f.tobytes()) for f in future]
    frames += [digest(as_float(torch.from_numpy(f).permute(2, 0, 1)).numpy().tobytes()) for f in future]
    config = {"seeds": [digest(str(seed))], "secret": digest(secret), "frames": frames, "secret_length": len(secret)}

    def run(name, **execution):
        result = _run(root, name, "tests.fakes.hostile:Hostile", "test", config=config, secret=secret, **execution)
        return result["adapter"]["details"]

    return {"isolated": run("isolated"), "in process": run("in-process", isolate=False), "future": len(future)}


def test_a_hostile_adapter_finds_nothing_it_must_not_see_when_isolated(hunted):
    assert hunted["future"] > 0
    assert hunted["isolated"]["found"] == {"nothing": []}
    assert hunted["isolated"]["episode_modules"] == []


def test_the_same_hunt_in_process_finds_the_seed_the_secret_and_the_future(hunted):
    found = hunted["in process"]["found"]
    assert {kind for kinds in found.values() for kind in kinds} == {"seed", "secret", "future frame"}
    assert {"seed", "future frame"} <= set(found["gc.get_objects()"])
    assert "secret" in found["stack frames"]
    cache = [kinds for where, kinds in found.items() if where.startswith("the cache ")]
    assert cache and {"seed", "future frame"} <= set(cache[0])  # its files, found from the run's objects
    assert hunted["in process"]["episode_modules"]


def test_isolated_scores_equal_in_process_scores(tmp_path):
    isolated = _run(tmp_path, "isolated", "copy_last", isolate=True)
    in_process = _run(tmp_path, "in-process", "copy_last")
    assert isolated["execution"]["isolate"] is True and in_process["execution"]["isolate"] is False
    timing = {"latency_ms", "overhead_ms", "checksum"}
    rows = [
        [{k: v for k, v in r.items() if k not in timing} for r in _rows(tmp_path, name)]
        for name in ("isolated", "in-process")
    ]
    assert rows[0] == rows[1] and all(r["status"] == "ok" for r in rows[0])
    assert isolated["adapter"]["class"] == in_process["adapter"]["class"]
    assert isolated["adapter"]["capabilities"] == in_process["adapter"]["capabilities"]
    assert isolated["speed"][TASK]["measured"] and isolated["speed"][TASK]["isolated"]
    assert isolated["speed"][TASK]["calls"]["predict"] >= 1 and isolated["speed"][TASK]["run_wall_s"] > 0


def test_a_crashed_child_is_a_failure_of_its_episodes_and_the_next_batch_runs_again(tmp_path):
    result = _run(tmp_path, "crash", "tests.fakes.broken:Dies", limit=2, isolate=True, on_error="skip", batch_size=1)
    rows = _rows(tmp_path, "crash")
    assert [r["status"] for r in rows] == ["failed", "failed"]  # each batch in a new child, which dies again
    assert all("process was killed by SIGKILL during predict()" in r["error"] for r in rows)
    assert result["speed"][TASK]["measured"] is False


def test_a_crash_stops_the_run_with_one_line_and_keeps_the_row(tmp_path):
    with pytest.raises(AdapterError, match=r"adapter 'Dies', task 'drop_single', episode .*killed by SIGKILL") as info:
        _run(tmp_path, "crash", "tests.fakes.broken:Dies", isolate=True)
    assert info.value.exit_code == 3 and "\n" not in str(info.value)
    assert [r["status"] for r in _rows(tmp_path, "crash")] == ["failed"]


def test_a_stuck_call_in_the_child_ends_at_the_timeout(tmp_path):
    start = time.monotonic()
    with pytest.raises(AdapterError, match=r"predict\(\) did not return within the 1 s timeout"):
        _run(tmp_path, "slow", "tests.fakes.slow:Sleeper", config={"seconds": 30}, isolate=True, timeout=1.0)
    assert time.monotonic() - start < 25
    assert [r["status"] for r in _rows(tmp_path, "slow")] == ["failed"]


def test_errors_of_the_adapter_keep_their_one_line_and_exit_code(tmp_path):
    with pytest.raises(WmbenchError, match=r"adapter 'InitFails': __init__ raised FileNotFoundError") as info:
        _run(tmp_path, "init", "tests.fakes.broken:InitFails", isolate=True)
    assert info.value.exit_code == 3
    with pytest.raises(AdapterError, match=r"episode .*: raised RuntimeError: model exploded"):
        _run(tmp_path, "raises", "tests.fakes.broken:Raises", isolate=True)


def test_an_adapter_object_cannot_be_isolated(tmp_path):
    from wmbench.baselines.copy_last import CopyLast
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.worlds import EpisodeCache

    with pytest.raises(WmbenchError, match="cannot be isolated"):
        evaluate(
            RunSpec(adapter="copy_last", tasks=(TASK,)),
            tmp_path,
            EpisodeCache(tmp_path),
            Execution(isolate=True),
            adapter=CopyLast(),
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.uint8, torch.bool, torch.int64])
def test_tensors_cross_the_wire_exactly(dtype):
    from multiprocessing import Pipe

    ours, theirs = Pipe()
    tensor = (torch.rand(2, 3, 4) * 100).to(dtype)
    wire.send(
        ours,
        {
            "t": tensor,
            "empty": torch.zeros(0, 3, dtype=dtype),
            "meta": torch.empty(2, device="meta"),
            "other": np.zeros(2),
            "nested": [(1, 2.5, None, "x")],
        },
    )
    got = wire.receive(theirs)
    assert torch.equal(got["t"], tensor) and got["t"].dtype == dtype
    assert got["empty"].shape == (0, 3) and got["meta"].is_meta
    assert type(got["other"]).__name__ == "ndarray" and not isinstance(got["other"], np.ndarray)
    assert got["nested"] == [[1, 2.5, None, "x"]]


def test_a_malformed_message_is_refused_without_unpickling():
    from multiprocessing import Pipe

    ours, theirs = Pipe()
    ours.send_bytes(b"1")
    ours.send_bytes(json.dumps({"$tensor": 0, "dtype": "float32", "shape": [4], "device": "cpu"}).encode())
    ours.send_bytes(b"\x00" * 3)  # 3 bytes for 4 floats
    with pytest.raises(wire.WireError, match="sent with 3 bytes"):
        wire.receive(theirs)
    ours.send_bytes(b"1")
    ours.send_bytes(b"\x80\x04K\x01.")  # a pickle
    with pytest.raises(wire.WireError, match="malformed message"):
        wire.receive(theirs)


def test_the_child_environment_names_no_hidden_path_or_secret(monkeypatch, tmp_path):
    from wmbench.run.isolated import Hidden, child_environment

    cache = tmp_path / "cache"
    monkeypatch.setenv("WMBENCH_CACHE", str(cache))
    monkeypatch.setenv("WMBENCH_TEST_SECRET", "top-secret")
    monkeypatch.setenv("MY_DATA", f"{cache}/drop_single:/elsewhere")
    monkeypatch.setenv("NOTE", "the top-secret is here")
    monkeypatch.setenv("SIBLING", f"{cache}-old")  # another directory, whose name begins the same
    env = child_environment(Hidden([cache, None], None))
    assert not {"WMBENCH_CACHE", "WMBENCH_TEST_SECRET", "MY_DATA", "NOTE"} & set(env)
    assert env["SIBLING"] == f"{cache}-old" and "PATH" in env


def test_the_child_makes_each_call_under_the_runs_precision_and_modes():
    from wmbench.run.child import applied
    from wmbench.run.isolated import call_state

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        state = call_state("cpu")
    assert state["autocast"] and state["inference"]
    with applied(state):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert torch.is_inference_mode_enabled()
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu") and not torch.is_inference_mode_enabled()
    with applied(call_state("cpu")):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32

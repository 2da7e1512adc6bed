"""The example adapter wrapping a plain torch.nn.Module runs from its file."""

from __future__ import annotations

import pytest
import torch

from wmbench import get_task
from wmbench.frames import as_float
from wmbench.results import load_result
from wmbench.run.checks import resize

from .conftest import REPO

EXAMPLE = REPO / "examples" / "tiny_convnet.py"


def _run(cli, out, config="{}"):
    return cli("run", "--adapter", f"{EXAMPLE}:TinyConvNet", "--adapter-config", config, "--tasks", "drop_single",
               "--limit", 2, "--out", out, "--no-progress", "--logger", "none")


def test_untrained_net_is_a_frozen_world_at_its_resolution(cli, tmp_path, cache):
    code, stdout, err = _run(cli, tmp_path / "out")
    assert code == 0, err
    result = load_result(tmp_path / "out")
    adapter = result.record["adapter"]
    assert adapter["name"] == "tiny_convnet"
    assert adapter["requirements"] == {"context": 2, "resolution": 64, "uses_actions": False, "max_batch_size": 32,
                                       "predicts_frames": True}
    row = result.rows[0]
    episode = cache.get(get_task("drop_single"), "dev", row["seed"])
    last = as_float(torch.from_numpy(episode.context_frames[-1:]).permute(0, 3, 1, 2))[None]
    future = as_float(torch.from_numpy(episode.future_frames).permute(0, 3, 1, 2))[None]
    expected = resize(resize(last, 64), 128).expand(-1, 16, -1, -1, -1)  # down to 64 px and back up
    assert row["metrics"]["mse"] == pytest.approx(float(((expected[0] - future[0]) ** 2).mean()), rel=1e-5)
    assert not (tmp_path / "out" / "logs").exists()  # --logger none


def test_a_checkpoint_changes_the_predictions(cli, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_convnet_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.TinyNet()
    torch.nn.init.constant_(net.body[-1].bias, 0.2)  # a brighter world
    torch.save(net.state_dict(), tmp_path / "net.pt")
    code, _, err = _run(cli, tmp_path / "trained", f'{{"checkpoint": "{tmp_path / "net.pt"}"}}')
    assert code == 0, err
    code, _, _ = _run(cli, tmp_path / "untrained")
    trained, untrained = load_result(tmp_path / "trained").rows, load_result(tmp_path / "untrained").rows
    assert all(t["metrics"]["mse"] > u["metrics"]["mse"] for t, u in zip(trained, untrained))


def test_a_missing_checkpoint_is_a_one_line_error(cli, tmp_path):
    code, _, err = _run(cli, tmp_path / "out", '{"checkpoint": "nope.pt"}')
    assert code == 2 and err.strip() == "wmbench: error: tiny_convnet: checkpoint nope.pt does not exist"

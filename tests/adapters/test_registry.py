"""The adapter registry: four ways to name an adapter, and suggestions."""

from __future__ import annotations

import sys
import textwrap

import pytest

from wmbench.adapters import Adapter, available, load_adapter, resolve
from wmbench.errors import UnknownNameError, WmbenchError

ADAPTER_SOURCE = textwrap.dedent('''
    import torch
    from wmbench import Adapter

    class Mine(Adapter):
        def predict(self, batch):
            return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)
''')


def test_short_name():
    assert resolve("copy_last").__name__ == "CopyLast"
    assert {"copy_last", "oracle"} <= set(available())


def test_module_and_class(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(ADAPTER_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = resolve("mypkg.models:Mine")
    assert issubclass(cls, Adapter) and cls.__name__ == "Mine"


def test_file_and_class(tmp_path):
    path = tmp_path / "my_adapter.py"
    path.write_text(ADAPTER_SOURCE)
    assert resolve(f"{path}:Mine").__name__ == "Mine"
    assert resolve(str(path)).__name__ == "Mine"  # the only adapter in the file


def test_entry_point(tmp_path, monkeypatch):
    (tmp_path / "ep_models.py").write_text(ADAPTER_SOURCE)
    dist = tmp_path / "ep_models-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-models\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[wmbench.adapters]\nmine = ep_models:Mine\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "mine" in available()
    assert resolve("mine").__name__ == "Mine"
    sys.modules.pop("ep_models", None)


def test_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'copy_last'"):
        resolve("copy_lst")


def test_bad_specs_are_clear(tmp_path):
    with pytest.raises(WmbenchError, match="does not exist"):
        resolve(str(tmp_path / "nope.py") + ":X")
    with pytest.raises(WmbenchError, match="cannot be imported"):
        resolve("no_such_module_xyz:X")
    path = tmp_path / "two.py"
    path.write_text(ADAPTER_SOURCE + "\nclass Other(Mine):\n    pass\n")
    with pytest.raises(WmbenchError, match="defines 2 adapter classes"):
        resolve(str(path))
    with pytest.raises(UnknownNameError, match="did you mean 'Mine'"):
        resolve(f"{path}:Mien")


def test_config_is_passed_and_recorded():
    adapter = load_adapter("copy_last", {})
    assert adapter.config == {}
    with pytest.raises(WmbenchError, match="rejected its config"):
        load_adapter("copy_last", {"bogus": 1})


def test_model_adapters_are_listed_with_their_extras():
    from wmbench.adapters import extras
    from wmbench.adapters.registry import listing

    rows = {row["name"]: row for row in listing()}
    assert rows["copy_last"] == {"name": "copy_last", "source": "built-in", "extras": [], "missing": []}
    assert rows["cosmos"]["source"] == "wmbench.adapters.cosmos:Cosmos" and rows["cosmos"]["extras"] == ["cosmos"]
    assert rows["vjepa2"]["extras"] == ["vjepa"] and rows["vjepa2"]["missing"] == extras.missing("vjepa")


def test_an_extra_that_is_not_installed_is_named_with_its_install_command(tmp_path, monkeypatch):
    from wmbench.adapters import extras

    dist = tmp_path / "needs_extra-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: needs-extra\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[wmbench.adapters]\nheavy = no_such_module_here:Heavy [gpu]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(WmbenchError, match=r"adapter 'heavy' .*cannot be imported.*pip install 'needs-extra\[gpu\]'"):
        resolve("heavy")
    monkeypatch.setattr(extras, "version", lambda name: "0.1" if name == "diffusers" else "9.9")
    with pytest.raises(
        WmbenchError,
        match=r"needs the 'cosmos' extra: pip install 'wmbench\[cosmos\]' \(missing: diffusers>=0.42 \(found 0.1\)\)",
    ):
        extras.require("cosmos", "cosmos")

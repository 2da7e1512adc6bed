"""The one registry behind adapters, metrics and scenes: duplicates and foreign classes
refused, suggestions for unknown names, built-ins and entry points loaded lazily."""

from __future__ import annotations

import sys
import textwrap

import pytest

from wmbench.adapters.registry import ADAPTERS
from wmbench.errors import RegistryError, UnknownNameError
from wmbench.metrics import METRICS
from wmbench.registry import Registry, qualified_name
from wmbench.worlds import SCENES


class Base:
    name = ""


def fresh(**kwargs) -> Registry:
    return Registry("thing", Base, "wmbench.tests.things", **kwargs)


def test_registers_by_name_and_refuses_another_class_under_it():
    things = fresh()

    @things.register
    class First(Base):
        name = "first"

    assert things["first"] is First and things.resolve("first") is First and "first" in things
    assert things.register(First) is First  # the same class again (a reloaded module) is fine

    class Impostor(Base):
        name = "first"

    with pytest.raises(RegistryError, match=r"thing 'first' is registered twice: by .*First and by .*Impostor"):
        things.register(Impostor)
    assert things["first"] is First


def test_refuses_a_class_of_another_kind():
    with pytest.raises(RegistryError, match="is not a subclass of tests.test_registry:Base"):
        fresh().add("number", int)


def test_unknown_names_get_suggestions():
    things = fresh()
    things.add("copy_last", type("CopyLast", (Base,), {}))
    with pytest.raises(UnknownNameError, match="unknown thing 'copy_lst'; did you mean 'copy_last'"):
        things.resolve("copy_lst")
    assert things.get("copy_lst") is None and "copy_lst" not in things


def test_builtins_are_imported_on_the_first_miss(tmp_path, monkeypatch):
    package = tmp_path / "my_things"
    package.mkdir()
    (package / "__init__.py").write_text("from tests.test_registry import Base\n")
    (package / "lamp.py").write_text(
        textwrap.dedent("""
        from tests.test_registry import Base, THINGS

        @THINGS.register
        class Lamp(Base):
            name = "lamp"
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "THINGS", fresh(builtins="my_things"), raising=False)
    things = sys.modules[__name__].THINGS
    assert "my_things.lamp" not in sys.modules  # nothing imported yet
    assert things.names() == ["lamp"] and things["lamp"].__name__ == "Lamp"
    for module in ("my_things", "my_things.lamp"):
        monkeypatch.delitem(sys.modules, module)


def test_sources_are_loaded_only_when_used():
    loaded = []

    def lamp() -> type:
        loaded.append("lamp")
        return type("Lamp", (Base,), {})

    things = fresh(sources=lambda: {"lamp": lamp})
    assert things.names() == ["lamp"] and loaded == []
    assert things["lamp"].__name__ == "Lamp" and loaded == ["lamp"]


@pytest.fixture
def entry_points(tmp_path, monkeypatch):
    """Installs a distribution whose entry points are ``[group] name = module:Class`` lines."""

    def install(module: str, source: str, lines: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        dist = tmp_path / f"{module}-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text(lines)
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install


def test_metrics_and_scenes_come_from_their_entry_point_groups(entry_points, monkeypatch):
    for registry in (METRICS, SCENES):
        monkeypatch.setattr(registry, "_classes", dict(registry._classes))  # forget the plug-ins afterwards
    entry_points(
        "plugin_things",
        """
        from wmbench.metrics import EpisodeMetric
        from wmbench.worlds import Scene

        class Brightness(EpisodeMetric):
            name, unit, higher_is_better = "brightness", "intensity", True

            def score(self, pred, truth):
                return pred.double().mean((1, 2, 3, 4))

        class Empty(Scene):
            pass
    """,
        "[wmbench.metrics]\nbrightness = plugin_things:Brightness\n[wmbench.scenes]\nempty = plugin_things:Empty\n",
    )
    assert "brightness" in METRICS.names() and METRICS["brightness"].__name__ == "Brightness"
    assert SCENES["empty"].__name__ == "Empty"
    sys.modules.pop("plugin_things", None)


def test_an_entry_point_of_the_wrong_kind_is_refused(entry_points, monkeypatch):
    monkeypatch.setattr(METRICS, "_classes", dict(METRICS._classes))
    entry_points(
        "wrong_things", "class NotAMetric:\n    pass\n", "[wmbench.metrics]\nwrong = wrong_things:NotAMetric\n"
    )
    with pytest.raises(
        RegistryError, match="metric 'wrong': .* is not a subclass of wmbench.metrics.base:EpisodeMetric"
    ):
        METRICS.resolve("wrong")
    sys.modules.pop("wrong_things", None)


def test_reference_adapters_have_stable_module_names():
    cls = ADAPTERS["copy_last"]
    assert qualified_name(cls) == "wmbench.baselines.copy_last:CopyLast"
    assert {"copy_last", "oracle", "linear_extrapolation"} <= set(ADAPTERS.names())

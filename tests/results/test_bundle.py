"""Submission bundles (``wmbench submit``): packed, checked when unpacked, and built
into the leaderboard; an edited or escaping member is refused."""

from __future__ import annotations

import io
import tarfile


def _rewrite(bundle, out, change):
    """Copy a bundle's members into ``out``, passing each (name, bytes) through ``change``."""
    with tarfile.open(bundle) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            name, data = change(member.name, src.extractfile(member).read())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_submit_bundles_build_the_site_and_tampering_is_caught(suite_runs, cli, tmp_path):
    code, out, err = cli("submit", suite_runs / "copy_last", "--out", tmp_path / "cl.tar.gz")
    assert code == 0, err
    assert "copy_last on mini v3" in out and "1 kept predictions" in out
    with tarfile.open(tmp_path / "cl.tar.gz") as tar:
        names = tar.getnames()
    assert names[0] == "bundle.json" and "result.json" in names and any(n.startswith("predictions/") for n in names)
    code, out, err = cli(
        "leaderboard", tmp_path / "cl.tar.gz", suite_runs / "oracle", "--verify", "--out", tmp_path / "site"
    )
    assert code == 0, err
    assert out.count("verified 1 episodes") == 2 and list((tmp_path / "site" / "models" / "cl").rglob("*.gif"))
    _rewrite(
        tmp_path / "cl.tar.gz",
        tmp_path / "edited.tar.gz",
        lambda n, d: (n, d.replace(b'"failed": 0', b'"failed": 1', 1) if n == "result.json" else d),
    )
    code, _, err = cli("leaderboard", tmp_path / "edited.tar.gz", "--out", tmp_path / "site2")
    assert code == 2 and "'result.json' does not match its SHA-256 in bundle.json" in err
    _rewrite(tmp_path / "cl.tar.gz", tmp_path / "escape.tar.gz", lambda n, d: ("../" + n if n == "run.json" else n, d))
    code, _, err = cli("leaderboard", tmp_path / "escape.tar.gz", "--out", tmp_path / "site3")
    assert code == 2 and "unsafe name: '../run.json'" in err and not (tmp_path / "run.json").exists()

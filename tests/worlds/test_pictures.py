"""Pictures: strips and animations of episodes, with tracks and occluders overlaid."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from wmbench.errors import OutputError
from wmbench.worlds import OCCLUDER_ID, Episode, ObjectSpec, Rollout
from wmbench.worlds.pictures import (
    CONTEXT_COLOUR,
    FUTURE_COLOUR,
    HEADER,
    LABEL,
    OCCLUDER_OUTLINE,
    animation,
    display_scale,
    overlay,
    save_picture,
    shown_frames,
    strip,
)

RES, CONTEXT, HORIZON = 32, 4, 6
RED = (230, 25, 75)


def _episode(hidden_from: int = 99) -> Episode:
    """A red square moving right across a grey frame; a dark occluder over columns
    20..27 from frame 0; the object is reported invisible from ``hidden_from`` on."""
    t = CONTEXT + HORIZON
    frames = np.full((t, RES, RES, 3), 200, np.uint8)
    ids = np.zeros((t, RES, RES), np.uint8)
    pixels = np.zeros((t, 1, 2), np.float32)
    for i in range(t):
        x = 2 + 2 * i
        frames[i, 14:18, x : x + 4] = RED
        ids[i, 14:18, x : x + 4] = 1
        pixels[i, 0] = (x + 1.5, 15.5)
    frames[:, :, 20:28] = 60
    ids[:, :, 20:28] = OCCLUDER_ID
    visibility = np.ones((t, 1), np.float32)
    visibility[hidden_from:] = 0
    truth = Rollout(frames=frames, instance_ids=ids, states=np.zeros((t, 1, 6)), pixels=pixels,
                    visibility=visibility)
    return Episode(task="synthetic", version=1, split="dev", seed=0, fps=10, context=CONTEXT, horizon=HORIZON,
                   objects=[ObjectSpec(id=1, shape="box", colour=RED, mass=1.0, size=(0.1, 0.1))], truth=truth)


def test_shown_frames_keep_the_last_context_and_last_future_frame():
    assert shown_frames(8, 24, 1) == (list(range(8)), list(range(8, 24)))
    assert shown_frames(8, 24, 3) == ([1, 4, 7], [8, 11, 14, 17, 20, 23])
    assert shown_frames(8, 24, 5) == ([2, 7], [8, 13, 18, 23])
    past, future = shown_frames(8, 24)  # automatic: at most 12 columns (plus the last frame)
    assert past[-1] == 7 and future[0] == 8 and future[-1] == 23 and len(past) + len(future) <= 13
    with pytest.raises(ValueError):
        shown_frames(8, 24, 0)


def test_strip_layout_rows_columns_and_phase_bars():
    episode = _episode()
    scale = display_scale(RES)
    assert scale == 4  # 32 px frames are shown at 128 px
    image = strip([episode, episode], every=1)
    size = RES * scale
    rows = (image.shape[0] - HEADER) // size
    assert rows == 2
    # the phase bars above the frames: blue over the context, orange over the future
    bar = image[HEADER - 4]
    assert (bar == CONTEXT_COLOUR).all(1).sum() >= CONTEXT * size
    assert (bar == FUTURE_COLOUR).all(1).sum() >= HORIZON * size
    assert np.nonzero((bar == CONTEXT_COLOUR).all(1))[0].max() < np.nonzero((bar == FUTURE_COLOUR).all(1))[0].min()
    # the first frame, enlarged, sits below the header after the label column
    np.testing.assert_array_equal(image[HEADER : HEADER + size, LABEL : LABEL + size],
                                  np.repeat(np.repeat(episode.frames[0], scale, 0), scale, 1))


def test_tracks_are_drawn_only_where_the_object_is_visible():
    scale = display_scale(RES)
    plain = overlay(_episode(), 9, scale)
    tracked = overlay(_episode(), 9, scale, tracks=True)
    hidden = overlay(_episode(hidden_from=3), 9, scale, tracks=True)
    changed = (tracked != plain).any(2)
    ys, xs = np.nonzero(changed)
    # the path from frame 0 to frame 9 runs along y = 15.5 from x = 3.5 to x = 21.5 (display: x 4)
    assert abs(ys.mean() / scale - 15.5) < 1 and xs.min() / scale < 5 and xs.max() / scale > 20
    hidden_changed = (hidden != plain).any(2)
    assert hidden_changed.sum() > 0  # the visible part (frames 0..2)
    assert not hidden_changed[:, 10 * scale :].any()  # nothing after the object was hidden


def test_occluder_outline_follows_the_occluder():
    scale = display_scale(RES)
    outlined = overlay(_episode(), 0, scale, occluders=True)
    yellow = (outlined == OCCLUDER_OUTLINE).all(2)
    xs = np.nonzero(yellow.any(0))[0]
    assert yellow.sum() > 0 and xs.min() >= 20 * scale - 2 and xs.max() <= 28 * scale + 1
    assert not (overlay(_episode(), 0, scale) == OCCLUDER_OUTLINE).all(2).any()


def test_animation_has_one_image_per_frame_framed_by_phase():
    images = animation([_episode()])
    assert len(images) == CONTEXT + HORIZON
    corner = lambda image: tuple(image[image.shape[0] - 5, 5])  # noqa: E731  (inside the frame border)
    assert corner(images[CONTEXT - 1]) == CONTEXT_COLOUR and corner(images[CONTEXT]) == FUTURE_COLOUR


def test_save_png_and_gif(tmp_path):
    episodes = [_episode(), _episode(hidden_from=5)]
    png = save_picture(episodes, tmp_path / "a" / "strip.png", every=2, tracks=True, occluders=True)
    np.testing.assert_array_equal(np.asarray(Image.open(png).convert("RGB")),
                                  strip(episodes, every=2, tracks=True, occluders=True))
    gif = Image.open(save_picture(episodes, tmp_path / "anim.gif"))
    assert gif.n_frames == CONTEXT + HORIZON and gif.info["duration"] == 100  # 10 fps
    assert gif.size == animation(episodes)[0].shape[1::-1]


def test_bad_output_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match=r"strip.jpg: pictures are written as .png .* or .gif"):
        save_picture([_episode()], tmp_path / "strip.jpg")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=f"cannot write {blocker / 'x.png'}"):
        save_picture([_episode()], blocker / "x.png")


def test_pictures_command_draws_a_task(cli, tmp_path):
    out = tmp_path / "drop.png"
    code, stdout, _ = cli("pictures", "drop_single", "--out", out, "--episodes", "2", "--every", "4",
                          "--resolution", "64", "--tracks")
    image = np.asarray(Image.open(out).convert("RGB"))
    size = 64 * display_scale(64)
    assert code == 0 and stdout.strip() == str(out)
    assert (image.shape[0] - HEADER) // size == 2 and image.shape[1] > 6 * size


def test_pictures_command_errors(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("WMBENCH_TEST_SECRET", raising=False)
    code, _, err = cli("pictures", "drop_single", "--split", "test", "--out", tmp_path / "x.png")
    assert code == 2 and "test split needs a secret" in err
    code, _, err = cli("pictures", "drop_single", "--out", tmp_path / "x.bmp")
    assert code == 2 and "x.bmp: pictures are written as .png" in err
    code, _, err = cli("pictures")
    assert code == 2 and "name a TASK or pass --all" in err

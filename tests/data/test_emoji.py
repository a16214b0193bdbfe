"""The emoji dataset builder: real font, real Unicode data, a small slice of it."""

from pathlib import Path

import pytest

from explorer.data import emoji
from explorer.cli import main

pytestmark = pytest.mark.skipif(not Path(emoji.FONT).is_file(), reason="fonts-noto-color-emoji not installed")


def test_read_emoji_test_has_groups_and_sequences():
    if not Path(emoji.EMOJI_TEST).is_file():
        pytest.skip("unicode-data not installed")
    rows = emoji.read_emoji_test()
    groups = {g for _, _, g in rows}
    assert {"Smileys & Emotion", "Food & Drink", "Flags"} <= groups
    assert any(len(s) > 1 and "\u200d" in s for s, _, _ in rows)          # ZWJ sequences
    assert ("\U0001F600", "grinning face", "Smileys & Emotion") in rows


def test_render_is_centred_rgb_on_white():
    from PIL import ImageFont
    font = ImageFont.truetype(emoji.FONT, emoji.FONT_SIZE)
    arr, why = emoji.render_emoji(font, "\U0001F600", 64)
    assert why == "" and arr.shape == (64, 64, 3)
    assert (arr[0, 0] == 255).all() and (arr[-1, -1] == 255).all()      # white corners
    assert arr[32, 32].tolist() != [255, 255, 255]                      # ink in the middle
    arr2, why2 = emoji.render_emoji(font, "\U0001F44B\U0001F3FD", 64)   # skin tone sequence: one glyph
    assert why2 == "" and not (arr2 == arr).all()
    assert emoji.render_emoji(font, " ", 64) == (None, "blank")


def test_build_small_dataset_drops_duplicates_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path))
    test_file = tmp_path / "emoji-test.txt"
    test_file.write_text(
        "# group: Smileys & Emotion\n"
        "1F600 ; fully-qualified # \U0001F600 E1.0 grinning face\n"
        "1F600 ; fully-qualified # \U0001F600 E1.0 grinning face again\n"
        "263A FE0F ; fully-qualified # x E0.6 smiling face\n"
        "263A ; unqualified # x E0.6 smiling face\n"
        "# group: Food & Drink\n"
        "1F34E ; fully-qualified # x E0.6 red apple\n"
        "# group: Component\n"
        "1F3FB ; fully-qualified # x E1.0 light skin tone\n", encoding="utf-8")
    info = emoji.build_emoji(emoji_test=test_file)
    assert info["count"] == 3 and info["dropped"]["duplicate"] == 1 and info["candidates"] == 4
    assert info["class_names"] == ["Smileys & Emotion", "Food & Drink"]
    assert info["class_counts"] == {"Smileys & Emotion": 2, "Food & Drink": 1}
    from explorer.data.datasets import load_dataset
    ds = load_dataset("emoji", resolution=32, channels=3)
    assert ds.images.shape == (3, 3, 32, 32) and ds.labels.tolist() == [0, 0, 1]
    assert ds.class_names == ["Smileys & Emotion", "Food & Drink"]
    # a corrupt dataset file is a clear error, not a crash deep in safetensors
    Path(info["path"]).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="delete it to rebuild"):
        load_dataset("emoji")


def test_datasets_cli(tmp_path, capsys):
    out = tmp_path / "e.safetensors"
    test_file = tmp_path / "t.txt"
    test_file.write_text("# group: Animals & Nature\n1F436 ; fully-qualified # x E0.6 dog face\n", encoding="utf-8")
    assert main(["datasets", "emoji", "--out", str(out), "--emoji-test", str(test_file), "--json"]) == 0
    assert '"count": 1' in capsys.readouterr().out
    from safetensors.torch import load_file
    assert load_file(str(out))["images"].shape == (1, 3, 64, 64)

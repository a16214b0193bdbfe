"""Projection (inversion) into w / w+: SSIM maths, recovery of a tiny model's own sample, class inference,
stopping, the encoder's files, hostile uploads, and recipes/links that carry a projected latent."""

from __future__ import annotations

import io
import json
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.explore import ssim as S
from explorer.explore.encoder import EncoderError, encoder_stem, load_encoder, save_encoder, train_encoder
from explorer.explore.inversion import LossWeights, ProjectConfig, Projector
from explorer.explore.latent_prior import latent_prior
from explorer.explore.latents import LatentState, Limits, decode_ws, encode_ws, state_to_ws
from explorer.explore.projection_io import fit_image, link_fits, projected_state
from explorer.explore.recipes import from_query_params, from_recipe, parse_recipe_json, recipe_json, to_query_params
from tests.factories import export_generator, tiny_generator

PIXELS = LossWeights(l2=1.0, l1=0.0, ms_ssim=0.0, critic=0.0, classifier=0.0, prior=0.0)


def _sample(G, seed: int, cls: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.randn(1, G.cfg.z_dim, generator=torch.Generator().manual_seed(seed))
    c = None if cls is None else torch.tensor([cls])
    with torch.no_grad():
        w = G.mapping(z, c)
        return w, G.synthesis(w)[0]


# ---------------------------------------------------------------- SSIM


def test_ssim_matches_an_independent_reference() -> None:
    from scipy.ndimage import correlate
    rng = np.random.default_rng(0)
    a = rng.random((20, 24))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    g = S.gaussian_window(11).double().numpy()
    k = np.outer(g, g)

    def blur(z: np.ndarray) -> np.ndarray:
        return correlate(z, k, mode="constant")[5:-5, 5:-5]
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(a), blur(b)
    sxx, syy, sxy = blur(a * a) - mx ** 2, blur(b * b) - my ** 2, blur(a * b) - mx * my
    ref = (((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))).mean()
    out = S.ssim(torch.tensor(a)[None, None].float(), torch.tensor(b)[None, None].float(), data_range=1.0)
    assert float(out[0]) == pytest.approx(ref, abs=1e-5)


def test_ms_ssim_uses_the_scales_a_small_image_holds() -> None:
    assert S.ms_scales(32, 7) == 3 and S.ms_scales(64, 7) == 4 and S.ms_scales(32, 11) == 2
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(S.ms_ssim(x, x, win_size=7), torch.ones(2), atol=1e-5)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    assert float(S.ms_ssim(x, noisy, win_size=7)[0]) < 0.9
    assert float(S.psnr(x, noisy)[0]) < float(S.psnr(x, (x + 0.05 * torch.randn_like(x)).clamp(-1, 1))[0])


# ---------------------------------------------------------------- projection


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_tiny_models_own_sample_is_recovered(optimizer: str) -> None:
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    w_true, x = _sample(G, 3)
    proj = Projector(G)
    res = proj.project(x, ProjectConfig(space="w", steps=150, lr=0.1, weights=PIXELS, optimizer=optimizer))
    prior = proj.prior(None)
    start = Projector(G).project(x, ProjectConfig(space="w", steps=0, weights=PIXELS))   # the mean w
    w_err = float((prior.whiten(res.ws[0, 0]) - prior.whiten(w_true[0])).square().mean().sqrt())
    w_err0 = float((prior.whiten(start.ws[0, 0]) - prior.whiten(w_true[0])).square().mean().sqrt())
    assert res.figures.psnr > 40 and res.figures.ssim > 0.99, res.figures
    assert w_err < 0.2 * w_err0, (w_err, w_err0)              # found w near the true one, in std units
    assert res.image.shape == (32, 32, 1) and not res.stopped and len(res.history) == res.steps
    # Adam runs every step; L-BFGS stops early once its step underflows (converged)
    assert res.steps == 150 if optimizer == "adam" else 0 < res.steps <= 150


def test_w_plus_is_at_least_as_close_as_w() -> None:
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    (wa, _), (wb, _) = _sample(G, 1), _sample(G, 2)
    ws = torch.cat([wa[:, None].expand(-1, 1, -1), wb[:, None].expand(-1, G.num_ws - 1, -1)], 1)   # style-mixed
    with torch.no_grad():
        x = G.synthesis(ws)[0]
    proj = Projector(G)
    cfg = ProjectConfig(steps=120, lr=0.1, weights=PIXELS)
    r_w = proj.project(x, cfg)
    r_wp = proj.project(x, ProjectConfig(space="w+", steps=120, lr=0.1, weights=PIXELS))
    assert r_wp.figures.psnr > r_w.figures.psnr + 3, (r_w.figures.psnr, r_wp.figures.psnr)   # mixed: w cannot fit it
    assert r_wp.history[-1] <= r_w.history[-1] * 1.05
    assert bool((r_w.ws == r_w.ws[:, :1]).all()) and not bool((r_wp.ws == r_wp.ws[:, :1]).all())


def test_conditional_dcgan_class_is_inferred() -> None:
    G = tiny_generator(classes=3, arch="dcgan")
    _, x = _sample(G, 4, cls=2)
    res = Projector(G).project(x, ProjectConfig(steps=60, lr=0.1, class_trial_steps=20, weights=PIXELS))
    assert res.class_index == 2
    assert res.ws[0, 0, -3:].tolist() == [0.0, 0.0, 1.0]       # the one-hot part stays the class's
    chosen = Projector(G).project(x, ProjectConfig(steps=5, class_index=0, weights=PIXELS))
    assert chosen.class_index == 0


def test_stop_and_progress_callbacks() -> None:
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    _, x = _sample(G, 0)
    seen: list[tuple[int, float, tuple]] = []
    res = Projector(G).project(x, ProjectConfig(steps=100), should_stop=lambda: len(seen) >= 5,
                               on_progress=lambda s, loss, img: seen.append((s, loss, img.shape)))
    assert res.stopped and res.steps == 5 and [s for s, _, _ in seen] == [1, 2, 3, 4, 5]
    assert seen[0][2] == (32, 32, 1) and all(np.isfinite(loss) for _, loss, _ in seen)


def test_lbfgs_progress_shows_the_best_so_far() -> None:
    """The page's live image and loss follow the best point, not the line search's rejected trials."""
    G = tiny_generator(classes=0, arch="film", w_avg=True)
    _, x = _sample(G, 3)
    seen: list[tuple[int, float, np.ndarray]] = []
    res = Projector(G).project(x, ProjectConfig(steps=60, weights=PIXELS),
                               on_progress=lambda s, loss, img: seen.append((s, loss, img.copy())))
    losses = [loss for _, loss, _ in seen]
    assert len(seen) == res.steps == len(res.history)
    assert any(b > a for a, b in zip(res.history, res.history[1:]))      # the search did try worse points
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert losses == [min(res.history[:i + 1]) for i in range(len(res.history))]


def test_wrong_target_shape_is_refused() -> None:
    G = tiny_generator(classes=0, arch="film")
    with pytest.raises(ValueError, match="fit it first"):
        Projector(G).project(np.zeros((16, 16, 3), np.uint8))


def test_prior_distance_and_percentile() -> None:
    G = tiny_generator(classes=0, arch="style")
    p = latent_prior(G, None, n=2048, held_out=1024)
    assert p.percentile(0.0) == 0.0 and p.percentile(1e9) == 100.0
    assert 30 < p.percentile(float(p.typical.median())) < 70
    assert float(p.distance(p.mean)) == pytest.approx(0.0, abs=1e-4)
    u = torch.randn(5, p.rank)
    assert torch.allclose(p.whiten(p.colour(u)), u, atol=1e-3)


def test_figures_report_critic_and_far_latents(tmp_path) -> None:
    from tests.factories import make_run
    j, _ = make_run(tmp_path / "runs" / "r", d_arch="dcgan", classes=3)
    from explorer.gan.device import load_generator
    G, meta = load_generator(j)
    proj = Projector.for_model(G, meta)
    assert proj.nets.critic is not None and proj.encoder is None
    _, x = _sample(G, 0, cls=1)
    res = proj.project(x, ProjectConfig(steps=3, class_index=1))
    f = res.figures
    assert f.realness is not None and f.target_realness is not None and f.feature_distance is not None
    assert "discriminator" in f.feature_space and 0 <= f.w_percentile <= 100
    assert f.w_p99 == pytest.approx(proj.prior(1).quantile(0.99))
    far = type(f)(**{**f.__dict__, "w_distance": 2.0 * f.w_p99, "psnr": 9.0})
    assert len(far.warnings()) == 2 and "cannot represent" in far.warnings()[0]


# ---------------------------------------------------------------- encoder


def test_encoder_trains_saves_and_guards_its_file(tmp_path) -> None:
    G, side = export_generator(tmp_path / "pre" / "tiny", classes=["a", "b"], arch="style")
    meta = {**json.loads(side.read_text()), "path": str(side)}
    enc, summary = train_encoder(G, steps=30, batch=8)
    assert summary["steps"] == 30 and "latent_rmse_std" in summary and "class_accuracy" in summary
    j = save_encoder(enc, side, meta["sha256"], summary)
    assert j == encoder_stem(side).with_suffix(".json") and j.exists()
    back = load_encoder(meta)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    a, b = enc.predict(x)[0], back.predict(x)[0]
    assert torch.allclose(a, b, atol=0.05 * float(a.abs().max()))             # float16 storage
    res = Projector(G, encoder=back).project(x[0], ProjectConfig(steps=0))
    assert res.start == "encoder" and res.steps == 0
    with pytest.raises(EncoderError, match="another version"):
        load_encoder({**meta, "sha256": "0" * 64})
    w = j.with_suffix(".safetensors")
    w.write_bytes(w.read_bytes()[:-10])
    with pytest.raises(EncoderError, match="corrupt"):
        load_encoder(meta)
    assert load_encoder({**meta, "path": str(tmp_path / "none.json")}) is None


# ---------------------------------------------------------------- uploads


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_hostile_uploads_are_rejected_with_reasons() -> None:
    assert fit_image(b"", "a.png", 32, 1)[1] == "the file is empty"
    assert "not a usable image" in fit_image(b"<html>hello</html>", "a.png", 32, 1)[1]
    big = Image.new("L", (1, 1))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (50_000).to_bytes(4, "big") + (50_000).to_bytes(4, "big")     # a bomb's header: 50000 x 50000
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")             # with a valid chunk CRC
    img, why, notes = fit_image(bytes(data), "bomb.png", 32, 1)
    assert img is None and "too large" in why and notes == []
    huge = fit_image(b"\0" * (21 * 1024 ** 2), "huge.png", 32, 1)[1]
    assert huge == "the file is too large: 21 MB (the limit is 20 MB)"
    assert "font" in fit_image(_png(Image.new("L", (8, 8))), "a.png", 64, 62)[1]


def test_a_tiny_upload_is_accepted_with_a_note_that_it_was_enlarged() -> None:
    from explorer.explore.projection_io import enlarged_note
    one = _png(Image.new("RGB", (1, 1), (200, 10, 10)))
    img, why, _ = fit_image(one, "dot.png", 32, 3)
    assert why is None and img.shape == (32, 32, 3)
    for fit in ("crop", "pad"):
        note = enlarged_note(one, 32, fit)
        assert note is not None and "1x1 px" in note and "enlarged 32x" in note
    assert enlarged_note(_png(Image.new("RGB", (16, 40))), 32) is None        # half the size or more: fine
    assert enlarged_note(b"not an image", 32) is None


def test_a_thin_upload_padded_is_not_said_to_be_enlarged() -> None:
    from explorer.explore.projection_io import enlarged_note
    strip = _png(Image.new("L", (5000, 10)))
    assert "enlarged 3x" in enlarged_note(strip, 32, "crop")                 # a 10 px square, enlarged
    note = enlarged_note(strip, 32, "pad")
    assert "enlarged" not in note and "0.1 px tall" in note and "Crop keeps more" in note
    assert enlarged_note(_png(Image.new("L", (60, 40))), 32, "pad") is None   # 21 px of 32 left: fine


def test_an_rgba_upload_is_fitted_by_crop_or_pad() -> None:
    im = Image.new("RGBA", (60, 30), (255, 0, 0, 0))
    im.paste((0, 0, 255, 255), (20, 0, 40, 30))
    crop, why, notes = fit_image(_png(im), "wide.png", 32, 3, fit="crop")
    pad, _, _ = fit_image(_png(im), "wide.png", 32, 3, fit="pad")
    assert why is None and crop.shape == pad.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert tuple(crop[0, 0]) == (255, 255, 255)                  # transparent -> white, not red
    assert tuple(pad[0, 16]) == (255, 255, 255) and crop[16, 16, 2] > 200
    assert notes == ["alpha: transparency composited onto white"]
    dark, _, notes = fit_image(_png(im), "wide.png", 32, 3, background=(0, 0, 0))   # a model drawn on black
    assert tuple(dark[0, 0]) == (0, 0, 0) and notes == ["alpha: transparency composited onto black"]


def test_a_dark_garment_on_white_is_inverted_for_a_model_that_draws_on_black() -> None:
    im = Image.new("L", (40, 40), 250)                            # a product photo: a dark shirt on white
    im.paste(30, (10, 8, 30, 34))
    shirt = _png(im)
    auto, why, notes = fit_image(shirt, "shirt.png", 32, 1, background=(0, 0, 0))
    assert why is None and auto[0, 0, 0] < 10 and auto[16, 16, 0] > 200      # light garment on black now
    assert notes == ["tones inverted: its background is light where this model draws on black"]
    kept, _, notes = fit_image(shirt, "shirt.png", 32, 1, background=(0, 0, 0), tones="keep")
    assert kept[0, 0, 0] > 240 and notes == []
    same, _, notes = fit_image(shirt, "shirt.png", 32, 1, background=(255, 255, 255))   # a model on white
    assert same[0, 0, 0] > 240 and notes == []
    forced, _, notes = fit_image(shirt, "shirt.png", 32, 1, background=(255, 255, 255), tones="invert")
    assert forced[0, 0, 0] < 10 and notes == ["tones inverted: as asked"]
    for level in (100, 128, 150):                                 # a mid-grey border is not the other side
        grey = Image.new("L", (40, 40), level)
        assert fit_image(_png(grey), "g.png", 32, 1, background=(0, 0, 0))[0][0, 0, 0] == level
    cut = Image.new("RGBA", (40, 40), (0, 0, 0, 0))               # a dark shirt cut out (transparent around)
    cut.paste((40, 40, 40, 255), (10, 8, 30, 34))
    a, _, notes = fit_image(_png(cut), "cut.png", 32, 1, background=(0, 0, 0))
    assert a[0, 0, 0] < 10 and a[16, 16, 0] > 200                 # light on black, not dark on black
    assert notes == ["alpha: transparency composited onto white",
                     "tones inverted: a dark cut-out, set on white and inverted, as this model draws on black"]
    cut.paste((230, 230, 230, 255), (10, 8, 30, 34))              # a light one is already right
    a, _, notes = fit_image(_png(cut), "cut.png", 32, 1, background=(0, 0, 0))
    assert a[0, 0, 0] < 10 and a[16, 16, 0] > 200 and notes == ["alpha: transparency composited onto black"]
    colour, _, notes = fit_image(_png(im.convert("RGB")), "shirt.png", 32, 3, background=(0, 0, 0))
    assert colour[0, 0, 0] > 240 and notes == []                  # a colour model's image keeps its colours
    with pytest.raises(ValueError, match="tones"):
        fit_image(shirt, "shirt.png", 32, 1, tones="negative")


def test_the_models_background_is_the_median_of_its_samples_borders() -> None:
    from explorer.explore.projection_io import model_background

    class Paper(torch.nn.Module):                                 # draws a grey square on black paper
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.cfg = type("Cfg", (), {"z_dim": 4, "num_classes": 0})()
            self.channels, self.p = channels, torch.nn.Parameter(torch.zeros(1))

        def forward(self, z, c):
            x = -torch.ones(len(z), self.channels, 8, 8)
            x[:, :, 2:6, 2:6] = 0.0
            return x
    assert model_background(Paper(1)) == (0, 0, 0)                # type: ignore[arg-type]
    assert model_background(Paper(3)) == (0, 0, 0)                # type: ignore[arg-type]
    G = tiny_generator(classes=3, arch="film", w_avg=True)        # any model: a colour in range, deterministic
    a, b = model_background(G), model_background(G)
    assert a == b and all(0 <= v <= 255 for v in a)


# ---------------------------------------------------------------- recipes and links


def test_a_projected_latent_round_trips_through_recipes_and_links() -> None:
    G = tiny_generator(classes=3, arch="film", w_avg=True)
    _, x = _sample(G, 0, cls=1)
    res = Projector(G).project(x, ProjectConfig(space="w+", steps=5, class_index=1))
    state = projected_state(LatentState("tiny", "0123456789ab", 7), res)
    assert torch.equal(state_to_ws(G, state), res.ws)             # what the projection measured is what renders
    lim = Limits.of(G)
    back, warns = parse_recipe_json(recipe_json(state), limits=lim)
    assert back == state and not warns
    q = to_query_params(state)
    fits, n = link_fits(state)
    assert fits and n < 2000
    back_q, warns = from_query_params(q, limits=lim)
    assert back_q == state and not warns
    old = json.loads(recipe_json(LatentState("tiny", "0123456789ab", 7)))
    assert "projected" not in old and from_recipe(old, limits=lim)[0].projected == ""   # old recipes still load


def test_bad_projected_latents_are_dropped_with_a_warning() -> None:
    G = tiny_generator(classes=0, arch="style")
    lim = Limits.of(G)
    base = json.loads(recipe_json(LatentState("tiny", "0123456789ab", 7)))
    for bad in ("@@@", encode_ws(torch.zeros(3)), 42):
        st, warns = from_recipe({**base, "projected": bad}, limits=lim)
        assert st.projected == "" and warns
    with pytest.raises(ValueError, match="values"):
        decode_ws(encode_ws(torch.zeros(5)), G.num_ws, 8)
    w = torch.randn(8)
    assert torch.allclose(decode_ws(encode_ws(w), G.num_ws, 8)[0, -1], w, atol=1e-2)


def test_cli_train_encoder_writes_it_beside_the_model(tmp_path, capsys) -> None:
    from explorer.cli import main
    _, side = export_generator(tmp_path / "m" / "tiny")
    assert main(["train-encoder", str(side), "--minutes", "0.005", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["encoder"] == str(encoder_stem(side).with_suffix(".json")) and out["steps"] > 0
    assert main(["train-encoder", str(tmp_path / "missing.json")]) == 2


def test_a_48_megapixel_photo_passes_the_size_check() -> None:
    from explorer.imaging.decode import decode_image
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (8000).to_bytes(4, "big") + (6000).to_bytes(4, "big")         # a phone photo's header
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    why = decode_image(bytes(data), "phone.png")[1]
    assert why is not None and "too large" not in why                            # its (forged) data is what fails


@pytest.mark.parametrize("side", [(12_000, 9_000), (50_000, 50_000), (7_500, 7_500)])
def test_too_large_uploads_get_our_limit_not_pillows_words(side) -> None:
    from explorer.imaging.decode import Limits, decode_image
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = side[0].to_bytes(4, "big") + side[1].to_bytes(4, "big")      # the header of a huge PNG
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    want = f"too large: {side[0]}x{side[1]} pixels (limit {Limits.max_pixels:,} pixels, {Limits.max_side} per side)"
    for why in (decode_image(bytes(data), "big.png")[1], fit_image(bytes(data), "big.png", 32, 1)[1]):
        assert want in why and "89478485" not in why and "decompression bomb" not in why.lower()


def test_shipped_encoders_fit_their_models_and_stay_small() -> None:
    from explorer.gan.device import load_generator
    from explorer.settings import pretrained_dir
    found = sorted(pretrained_dir().glob("*-encoder.json"))
    assert {p.name for p in found} >= {"fashion-mnist-encoder.json", "emoji-encoder.json"}
    for j in found:
        assert j.with_suffix(".safetensors").stat().st_size < 5 * 2**20
        G, meta = load_generator(j.name.removesuffix("-encoder.json"), "cpu")
        enc = load_encoder(meta)                                    # sha256 of the generator and the weights checked
        x = torch.zeros(1, G.cfg.channels, G.cfg.resolution, G.cfg.resolution)
        ws, logits = enc.predict(x)
        assert ws.shape == (1, G.num_ws, enc.cfg.width) and (logits is None) == (not G.cfg.num_classes)


def test_a_wrong_length_latent_names_the_sizes_this_model_takes() -> None:
    from explorer.explore.latents import decode_ws, encode_ws
    three = encode_ws(torch.zeros(1, 1, 3))
    with pytest.raises(ValueError, match=r"this model needs 4$"):              # one w for every layer: one size
        decode_ws(three, 1, 4)
    with pytest.raises(ValueError, match=r"needs 4 \(w\) or 8 \(w\+\)"):
        decode_ws(three, 2, 4)


def test_a_cut_value_in_a_recipe_warning_keeps_its_closing_quote() -> None:
    from explorer.explore.recipes import short_repr
    s = short_repr("x" * 100)
    assert s.startswith("'xxx") and s.endswith("...'") and len(s) == 40

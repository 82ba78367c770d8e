"""The figure writer: a PNG from one Agg drawing is matplotlib's own ``savefig`` of the same box, pixel for pixel.

:func:`musclecog.plots.save_figure` crops every file to the figure's tight box snapped to the files' pixel
grid (:func:`musclecog.plots.snap_bbox`). The PNG is cut from one drawing of the figure with a margin
(:func:`musclecog.plots.render_png`), or drawn at the box itself when text wraps or the box reaches past the
margin; either way its pixels are those ``savefig(bbox_inches=<the box>)`` writes (the reference: matplotlib,
called here), its size that of ``savefig(bbox_inches="tight")`` within a pixel, its bytes the same on every
call. Figures: real ones of the package (a forest, a Kaplan-Meier panel, trajectories, a path diagram, an MR
scatter whose axes edge lies on a half pixel), and made-up ones for the edge cases.
"""

from __future__ import annotations

import io
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import pyplot as plt
from PIL import Image

import musclecog.plots as plots
from musclecog.plots import STYLE, draw, encode_png, render_png, save_figure, snap_bbox

DPI = STYLE["savefig.dpi"]


@pytest.fixture(scope="module")
def makers() -> dict[str, Callable[[], Any]]:
    """Figure name -> a function drawing it anew (save_figure closes what it writes)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_mr_figures import SETTINGS, _harmonised
    from test_plots import CTX, _low_mm, _result

    from musclecog.analyses import run_analysis
    from musclecog.mr.analysis import run_mr
    from musclecog.plots.mr import scatter
    from musclecog.simulate import simulate
    from musclecog.simulate.charls import simulate_charls
    from musclecog.simulate.nhanes import simulate_nhanes

    km = run_analysis(_low_mm(simulate_nhanes(seed=5, n=400).data),
                      {"type": "kaplan_meier", "event": "death", "duration": "followup_years",
                       "exposure": "low_mm_fnih_alm"}, CTX)
    trajectories = run_analysis(simulate_charls(seed=3, n=300).data,
                                {"type": "mixed_model", "outcome": "cognition", "exposure": "grip_group",
                                 "covariates": ["age"], "exposure_reference": 1, "random": "intercept"}, CTX)
    path = run_analysis(simulate("chen", 300, seed=2).data,
                        {"type": "simple_mediation", "exposure": "tug_s", "mediator": "knee_ext_kg",
                         "outcome": "mmse", "covariates": ["age", "sex"], "bootstrap": 30}, CTX)
    mr = run_mr(_harmonised(False), SETTINGS, "grip", "cognitive_impairment", seed=3)
    forest = _result()
    return {"forest": lambda: draw(forest), "kaplan_meier": lambda: draw(km),
            "trajectories": lambda: draw(trajectories), "path_diagram": lambda: draw(path),
            "mr_scatter": lambda: scatter(mr), "text_past_margin": _text_past_margin, "empty": _empty,
            "constrained_layout": _constrained}


def _text_past_margin() -> Any:
    fig, ax = plots.new_figure(4, 3)
    ax.plot([0, 1], [0, 1])
    fig.text(-0.5, 0.5, "two inches left of the figure")  # beyond PNG_MARGIN
    return fig


def _constrained() -> Any:
    """A layout engine: savefig lays the figure out (drawing it, without pixels) before it draws it."""
    fig, axes = plots.new_figure(5, 3, ncols=2, layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [1, 0])
        ax.set_ylabel("a label long enough to move the axes")
    return fig


def _empty() -> Any:
    with plt.rc_context(STYLE):
        return plt.figure(figsize=(3, 2))


DRAWN = {"forest": "once", "kaplan_meier": "once", "mr_scatter": "once", "trajectories": "box",
         "path_diagram": "box", "text_past_margin": "box", "empty": "once", "constrained_layout": "once"}
"""How render_png draws each: ``once`` (cut from one drawing; the forest's row labels reach past the
figure's left edge), ``box`` (wrapped text: trajectories' and a path diagram's notes; a box past the margin)."""


def _laid_out(fig: Any) -> Any:
    """The box ``savefig(bbox_inches="tight")`` measures: after a drawing without pixels at the file's dpi."""
    fig.set_dpi(DPI)
    fig.draw_without_rendering()
    bbox = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    fig.set_dpi(STYLE["figure.dpi"])
    return bbox


def _savefig_rgba(fig: Any, bbox: Any) -> np.ndarray:
    with plt.rc_context({**STYLE, "svg.fonttype": "none"}):
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, bbox_inches=bbox)
    with Image.open(out) as im:
        return np.asarray(im.convert("RGBA"))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk of a PNG file."""
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


@pytest.mark.parametrize("name", list(DRAWN))
def test_png_is_savefig_of_the_snapped_box(name: str, makers: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The image's pixels are ``savefig(bbox_inches=<the snapped box>)``'s exactly, whether cut from the one
    drawing or drawn at the box; its size is ``savefig(bbox_inches="tight")``'s within a pixel."""
    calls: list[Any] = []
    draw_box = plots._draw_box
    monkeypatch.setattr(plots, "_draw_box", lambda *a: calls.append(a) or draw_box(*a))
    fig = makers[name]()
    engine = fig.get_layout_engine() is not None
    with plt.rc_context({**STYLE, "svg.fonttype": "none"}):
        image, bbox = render_png(fig, DPI)
        if engine:  # constrained layout does not reach a fixed point: each savefig would move the axes again
            fig.set_layout_engine("none")
        ref = _savefig_rgba(fig, bbox)
        tight = io.BytesIO()
        fig.savefig(tight, format="png", dpi=DPI, bbox_inches="tight")
        laid_out = _laid_out(fig)
    assert ("box" if calls else "once") == DRAWN[name]
    assert image.mode == "RGB" and (ref[..., 3] == 255).all()
    np.testing.assert_array_equal(np.asarray(image), ref[..., :3])
    # the box is savefig's tight box, snapped: its corners on the grid, at most half a pixel away
    # (with a layout engine, laid out anew by each drawing, a size within 1e-5 px of a whole number of
    # pixels may be truncated to the next)
    assert np.abs(bbox.extents - snap_bbox(laid_out, DPI).extents).max() * DPI <= (1 if engine else 1e-9)
    assert np.abs(bbox.p0 - laid_out.p0).max() * DPI <= 0.5 + 1e-9
    with Image.open(tight) as im:
        assert max(abs(a - b) for a, b in zip(im.size, image.size, strict=True)) <= 1
    plt.close(fig)


def test_transparent_figures_are_rgba_and_opaque_ones_rgb(makers: dict, tmp_path: Path) -> None:
    fig = makers["kaplan_meier"]()
    fig.set_facecolor("none")
    with plt.rc_context(STYLE):
        image, bbox = render_png(fig, DPI)
    ref = _savefig_rgba(fig, bbox)
    assert image.mode == "RGBA" and (ref[..., 3] < 255).any()
    np.testing.assert_array_equal(np.asarray(image), ref)
    save_figure(fig, tmp_path / "t.png")
    with Image.open(tmp_path / "t.png") as im:
        assert im.mode == "RGBA"
    save_figure(makers["kaplan_meier"](), tmp_path / "o.png")
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGB"


def test_png_bytes_are_deterministic_and_carry_matplotlibs_phys(makers: dict, tmp_path: Path) -> None:
    """Two calls write the same bytes; the PNG has matplotlib's ``pHYs`` for 300 dpi and no text chunks."""
    save_figure(makers["forest"](), tmp_path / "a.png", tmp_path / "copy.png")
    save_figure(makers["forest"](), tmp_path / "b.png")
    png = (tmp_path / "a.png").read_bytes()
    assert png == (tmp_path / "b.png").read_bytes() == (tmp_path / "copy.png").read_bytes()
    fig = makers["forest"]()
    with plt.rc_context(STYLE):
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    ours, theirs = dict(_chunks(png)), dict(_chunks(out.getvalue()))
    assert ours[b"pHYs"] == theirs[b"pHYs"] == struct.pack(">IIB", 11811, 11811, 1)  # 300 / 0.0254 per metre
    assert {t for t, _ in _chunks(png)} == set(theirs) == {b"IHDR", b"pHYs", b"IDAT", b"IEND"}


def test_every_file_has_the_same_box(makers: dict, tmp_path: Path) -> None:
    """The SVG is the same with or without a PNG next to it; its size is the PNG's box; other suffixes are
    savefig's (PDF here)."""
    save_figure(makers["forest"](), tmp_path / "f.png", tmp_path / "f.svg", tmp_path / "f.pdf")
    save_figure(makers["forest"](), tmp_path / "alone.svg")
    svg = (tmp_path / "f.svg").read_bytes()
    assert svg == (tmp_path / "alone.svg").read_bytes()
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
    with Image.open(tmp_path / "f.png") as im:
        width, height = im.size
    size = re.search(rb'<svg[^>]* width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    assert size is not None
    assert [float(v) for v in size.groups()] == pytest.approx([width / DPI * 72, height / DPI * 72], rel=1e-6)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_encode_png_is_read_back_by_pil_with_the_same_pixels_and_dpi(mode: str) -> None:
    """Our PNG writer (filter 0, ISA-L deflate): PIL decodes exactly the pixels written, in the same mode,
    with the 300 dpi pHYs chunk; a figure-like image (flat colours, antialiased edges) is about PIL's size."""
    rng = np.random.default_rng(4)
    channels = len(mode)
    pixels = np.full((301, 457, channels), 255, np.uint8)
    pixels[50:250, 40:400, :3] = rng.integers(0, 256, 3)  # a filled box
    pixels[::7, :, :3] = rng.integers(0, 256, (1, 457, 3), dtype=np.uint8)  # lines
    pixels[120:140, 200:260] = rng.integers(0, 256, (20, 60, channels), dtype=np.uint8)  # noise
    image = Image.fromarray(pixels, mode)
    data = encode_png(image, 300)
    back = Image.open(io.BytesIO(data))
    assert back.mode == mode and back.size == (457, 301)
    np.testing.assert_array_equal(np.asarray(back), pixels)
    assert back.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert set(back.info) == {"dpi"}  # no text chunks
    assert encode_png(image, 300) == data
    pil = io.BytesIO()
    image.save(pil, format="png", dpi=(300, 300), compress_level=1)
    assert len(data) < 1.5 * len(pil.getvalue())

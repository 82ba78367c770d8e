"""Figures. One module per kind of figure (``forest``, ``paths``, ``trajectories``, ``survival``, ``mr``,
``reproduction``, ``triangulation``; ``ticks`` the ticks of ratio axes); this package owns the shared style, the deterministic writer and :func:`draw`, which
turns an analysis result into its figure. Plots read results and never fit; results never import plots."""

from __future__ import annotations

import importlib
import io
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axis import Axis
from matplotlib.text import Text
from matplotlib.transforms import Bbox

STYLE: Any = {  # matplotlib types rcParams keys as literals
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "musclecog",
}


def new_figure(width: float = 6.0, height: float = 4.0, **kwargs: Any) -> tuple[Any, Any]:
    """A figure and axes in the package style (``plt.subplots`` arguments pass through)."""
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(width, height), **kwargs)


def save_figure(fig: Any, *paths: str | Path) -> None:
    """Write a figure to each path (PNG at 300 dpi, SVG with its text as text; the format from the suffix),
    without volatile metadata, and close it.

    Every file is cropped to one box: the figure's tight bounding box padded by ``savefig.pad_inches`` (as
    ``bbox_inches="tight"``), snapped to whole pixels at 300 dpi (:func:`snap_bbox`). The PNG is drawn once
    (:func:`render_png`, which measures the box on the renderer that draws it, where savefig would lay the
    figure out once more for the box; wrapped text is measured first, then drawn at the box) and holds the
    pixels of ``savefig(bbox_inches=<the box>)``: RGB when all are opaque, RGBA otherwise, deflated by ISA-L
    at level 1, with the 300 dpi ``pHYs`` chunk and no text chunks (:func:`encode_png`). Other files are
    ``savefig(bbox_inches=<the box>)``."""
    targets = [Path(p) for p in paths]
    dpi = STYLE["savefig.dpi"]
    with plt.rc_context({**STYLE, "svg.fonttype": "none"}):
        if any(_is_png(path) for path in targets):
            image, bbox = render_png(fig, dpi)
            png = encode_png(image, dpi)
        else:
            png, bbox = b"", snap_bbox(tight_bbox(fig, dpi), dpi)
        for path in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            if _is_png(path):
                path.write_bytes(png)
            else:
                fig.savefig(path, metadata={"Date": None}, bbox_inches=bbox)
    plt.close(fig)


def _is_png(path: Path) -> bool:
    return path.suffix.lower() == ".png"


def tight_bbox(fig: Any, dpi: float) -> Any:
    """The figure's tight bounding box in inches, padded by ``savefig.pad_inches``, laid out at ``dpi``: the
    box ``savefig(bbox_inches="tight", dpi=dpi)`` crops a raster file to.

    Measured on the figure's renderer without drawing (``get_tightbbox`` lays out the ticks, titles and
    aspect it measures, as ``tight_layout`` does), unless the figure has a layout engine, which runs only in
    a drawing: then laid out by ``draw_without_rendering`` first, as savefig does."""
    original = fig.dpi
    fig.set_dpi(dpi)
    try:
        if fig.get_layout_engine() is not None:
            fig.draw_without_rendering()
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    finally:
        fig.set_dpi(original)


def snap_bbox(bbox: Any, dpi: float) -> Bbox:
    """``bbox`` (inches) with its corners on the files' pixel grid at ``dpi`` (:data:`PIXEL_PHASE`): the lower
    left corner at the nearest grid point, the size in pixels that of ``savefig(bbox_inches=bbox)``'s image
    (truncated, as matplotlib sizes a canvas)."""
    return _pixel_box(*_snap(bbox.x0 * dpi + PIXEL_PHASE, bbox.y0 * dpi + PIXEL_PHASE, bbox.width * dpi,
                             bbox.height * dpi), dpi)


def _snap(x0: float, y0: float, width: float, height: float) -> tuple[int, int, int, int]:
    """A box in pixels with whole corners: the nearest lower left corner, the size truncated as
    ``FigureCanvasBase.get_width_height`` does (within 1e-8 of a whole pixel counts as whole)."""
    return math.floor(x0 + 0.5), math.floor(y0 + 0.5), int(width + 1e-8), int(height + 1e-8)


def _pixel_box(x0: int, y0: int, width: int, height: int, dpi: float) -> Bbox:
    """In inches, the pixels ``[x0, x0 + width) x [y0, y0 + height)`` of the files' grid (pixel 0 starts
    :data:`PIXEL_PHASE` of a pixel left of and below the figure's corner)."""
    return Bbox.from_extents((x0 - PIXEL_PHASE) / dpi, (y0 - PIXEL_PHASE) / dpi, (x0 + width - PIXEL_PHASE) / dpi,
                             (y0 + height - PIXEL_PHASE) / dpi)


PIXEL_PHASE = 1 / 3
"""The files' pixel grid lies this fraction of a pixel left of and below the figure's own. Axes edges and
ticks often fall on half pixels of the figure's grid (an axes bottom at 0.11 of 4.5 inches is at 148.5 px at
300 dpi), where Agg's snapping of lines rounds, so that a difference of 1e-13 px in a computed position (a
figure drawn from tables written with 12 digits, or the same drawing shifted by a different whole number of
pixels) moves a line by one pixel. On a grid a third of a pixel off, positions at multiples of 1/8 pixel are
at least 1/24 pixel from such a tie. (Cropping to an unsnapped box, as savefig does, shifts by an arbitrary
fraction, which happens to work as well.)"""

PNG_MARGIN = (1.0, 1.0, 2.0, 0.5)
"""Inches drawn left of, below, right of and above the figure by :func:`render_png`. A tight box may reach
past the figure (a forest's long row labels 0.8 inch left, the legend and note below a trajectory figure
0.7 inch, the reproduction figure's verdicts 1.7 inch right); one inside the margins is cut from the single
drawing, one beyond them is drawn a second time at its own size (the same pixels, more time)."""


def render_png(fig: Any, dpi: float) -> tuple[Image.Image, Bbox]:
    """The figure's image at ``dpi`` cropped to its snapped tight box (:func:`snap_bbox`), and that box.

    One Agg drawing (``savefig(format="raw")``, so savefig's colours and transparency apply) of the figure
    with :data:`PNG_MARGIN` around it, on the files' pixel grid (:data:`PIXEL_PHASE`); the tight box is
    measured on its renderer when it has drawn, and the crop is ``savefig(bbox_inches=<the box>)``'s image
    (the drawing moves by whole pixels). Two cases draw the box itself: a box reaching beyond the margin,
    and a figure with wrapped text (matplotlib wraps it to the edges of the canvas drawn, which savefig
    makes the box: measured first, :func:`tight_bbox`, then drawn). The image is RGB when every pixel is opaque,
    RGBA otherwise (:func:`_crop`)."""
    if _wraps_text(fig):
        bbox = snap_bbox(tight_bbox(fig, dpi), dpi)
        return _draw_box(fig, dpi, bbox), bbox
    width, height = fig.get_size_inches()
    left, bottom, right, top = (round(m * dpi) for m in PNG_MARGIN)  # pixels of the grid
    found: dict[str, Any] = {}

    def crop(event: Any) -> None:  # the last drawing counts (a layout engine's pass draws first)
        tight = fig.get_tightbbox(event.renderer)  # inches from the canvas's corner, not the figure's
        if tight is fig.bbox_inches:  # nothing to bound: the figure, as savefig
            tight = Bbox.from_bounds((left + PIXEL_PHASE) / dpi, (bottom + PIXEL_PHASE) / dpi, width, height)
        box = tight.padded(plt.rcParams["savefig.pad_inches"])
        x0, y0, w, h = _snap(box.x0 * dpi, box.y0 * dpi, box.width * dpi, box.height * dpi)  # canvas pixels
        found["bbox"] = _pixel_box(x0 - left, y0 - bottom, w, h, dpi)
        canvas = np.asarray(event.renderer.buffer_rgba())  # rows top down
        row = canvas.shape[0] - (y0 + h)
        inside = x0 >= 0 and row >= 0 and y0 >= 0 and x0 + w <= canvas.shape[1]
        found["image"] = _crop(canvas, x0, row, w, h) if inside else None

    size = math.ceil(width * dpi) + left + right + 1, math.ceil(height * dpi) + bottom + top + 1
    cid = fig.canvas.mpl_connect("draw_event", crop)
    try:
        fig.savefig(_Discard(), format="raw", dpi=dpi, bbox_inches=_pixel_box(-left, -bottom, *size, dpi))
    finally:
        fig.canvas.mpl_disconnect(cid)
    bbox, image = found["bbox"], found["image"]
    return (_draw_box(fig, dpi, bbox) if image is None else image), bbox


def _wraps_text(artist: Any) -> bool:
    """Whether a text under ``artist`` is to be wrapped (``wrap=True``). Tick labels are not looked at: an
    axis lists its ticks by laying them out (``fig.findobj`` would cost a tenth of the drawing), and
    matplotlib makes them without wrapping."""
    for child in artist.get_children():
        if isinstance(child, Axis):
            if child.label.get_wrap() or child.offsetText.get_wrap():
                return True
        elif (isinstance(child, Text) and child.get_wrap()) or _wraps_text(child):
            return True
    return False


def _draw_box(fig: Any, dpi: float, bbox: Bbox) -> Image.Image:
    """The image of ``savefig(format="raw", bbox_inches=bbox)`` (``bbox`` snapped), RGB if opaque."""
    out = io.BytesIO()
    fig.savefig(out, format="raw", dpi=dpi, bbox_inches=bbox)
    shape = (int(bbox.height * dpi + 1e-8), int(bbox.width * dpi + 1e-8), 4)
    return _crop(np.frombuffer(out.getbuffer(), np.uint8).reshape(shape), 0, 0, shape[1], shape[0])


def _crop(canvas: np.ndarray, left: int, top: int, width: int, height: int) -> Image.Image:
    """A copy of the ``width`` x ``height`` pixels at (``left``, ``top``) of a C-ordered RGBA canvas (rows top
    down): RGB when all are opaque, else RGBA. (PIL reads the rows in place; a numpy copy of the RGB
    channels would take ten times as long.)"""
    opaque = int(canvas[top : top + height, left : left + width, 3].min()) == 255
    rows = canvas.reshape(-1)[(top * canvas.shape[1] + left) * 4 :]
    mode, raw = ("RGB", "RGBX") if opaque else ("RGBA", "RGBA")
    return Image.frombytes(mode, (width, height), rows, "raw", raw, canvas.shape[1] * 4, 1)


def encode_png(image: Image.Image, dpi: float) -> bytes:
    """PNG bytes of an 8-bit RGB or RGBA image: ``IHDR``, ``pHYs`` of ``dpi`` (as matplotlib writes it), one
    ``IDAT`` and ``IEND``; no text chunks, so the same bytes on every call.

    Every row has filter type 0 (none) and the stream is deflated by ISA-L at level 1 (``isal``, already used
    for GWAS files): about a tenth of PIL's encoding time at zlib level 1, for files of about the same size
    (``benchmarks/bench_figures.py``); any PNG reader decodes the same pixels (tested with PIL)."""
    from isal import isal_zlib

    channels = {"RGB": 3, "RGBA": 4}[image.mode]
    width, height = image.size
    rows = np.empty((height, 1 + width * channels), np.uint8)
    rows[:, 0] = 0  # filter type: none
    rows[:, 1:] = np.asarray(image).reshape(height, width * channels)
    ppm = round(dpi / 0.0254)  # pixels per metre, PIL's and matplotlib's rounding
    colour_type = 2 if channels == 3 else 6
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)),
        _png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
        _png_chunk(b"IDAT", isal_zlib.compress(rows.data, 1)),
        _png_chunk(b"IEND", b""),
    ])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class _Discard(io.RawIOBase):
    """A file that keeps nothing: where :func:`render_png` has savefig write the canvas it has cropped."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


FIGURES: dict[str, str] = {
    "forest": "musclecog.plots.forest:forest_figure",
    "path_diagram": "musclecog.plots.paths:path_figure",
    "change_scatter": "musclecog.plots.paths:change_figure",
    "trajectories": "musclecog.plots.trajectories:trajectory_figure",
    "kaplan_meier": "musclecog.plots.survival:km_figure",
    "one_sample_mr": "musclecog.plots.mr:one_sample",
    "mr_pair": "musclecog.plots.mr:scatter",
    "meta_analysis": "musclecog.plots.meta:meta_figure",
    "dose_response": "musclecog.plots.doseresponse:dose_response_figure",
}
"""A result's ``figure_kind`` -> the ``module:function`` that draws it (imported when needed)."""


def draw(result: Any) -> Any:
    """The figure of one analysis result (a :class:`musclecog.core.results.AnalysisResult`)."""
    kind = type(result).figure_kind
    try:
        module, name = FIGURES[kind].split(":")
    except KeyError:
        raise KeyError(f"no figure for results of kind {kind!r}; known kinds: {sorted(FIGURES)}") from None
    return getattr(importlib.import_module(module), name)(result)

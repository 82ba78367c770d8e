"""The MR pair figures drawn from the written tables (rule mr_figures) are the bytes drawn from the result in memory.

A pair job writes only tables; rule ``mr_figures`` reads them back (12 significant digits) and draws the four
figures. The PNG files must be identical to those drawn from the :class:`MRResult` itself, for a continuous and a
binary outcome, with excluded (``mr_keep`` False) rows and ids that look like numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.errors import DataError
from musclecog.mr.analysis import MRSettings, run_mr
from musclecog.plots import save_figure
from musclecog.plots.mr import (
    FIGURE_TABLES,
    Z_95,
    all_figures,
    figure_data,
    read_figure_data,
    write_pair_figures,
)
from musclecog.results import write_table

SETTINGS = MRSettings(nboot=50, presso_n_distribution=60)


def _harmonised(binary: bool, seed: int = 4, k: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bx = rng.normal(0, 0.05, k) + 0.02
    sx = rng.uniform(0.003, 0.006, k)
    sy = rng.uniform(0.01, 0.03, k)
    by = rng.normal(-0.2 * bx, sy)
    frame = pd.DataFrame({
        "SNP": [f"{100000 + 7 * i}" if i % 3 == 0 else f"rs{1000 + i}" for i in range(k)],  # some numeric-like ids
        "effect_allele.exposure": "A", "other_allele.exposure": "G",
        "beta.exposure": bx / 3.0, "se.exposure": sx / 3.0, "eaf.exposure": 0.3,
        "pval.exposure": 1e-10, "samplesize.exposure": 300_000, "units.exposure": "SD",
        "beta.outcome": by / 7.0, "se.outcome": sy / 7.0, "eaf.outcome": 0.3,
        "pval.outcome": 0.5, "samplesize.outcome": 100_000,
        "mr_keep": [i % 10 != 4 for i in range(k)], "palindromic": False, "ambiguous": False,
    })
    if binary:
        frame["ncase.outcome"] = 20_000.0
        frame["ncontrol.outcome"] = 80_000.0
        frame["units.outcome"] = "log odds"
        frame["prevalence.outcome"] = 0.2
    return frame


def _write_tables(tmp_path: Path, harmonised: pd.DataFrame, result) -> dict[str, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    tables = {**result.tables(), "harmonised": harmonised}
    paths = {name: tmp_path / f"{name}.tsv" for name in FIGURE_TABLES}
    for name, path in paths.items():
        write_table(tables[name], path)
    return paths


def _png_bytes(figures: dict, folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, fig in figures.items():
        save_figure(fig, folder / f"{name}.png")
        out[name] = (folder / f"{name}.png").read_bytes()
    return out


@pytest.mark.parametrize("binary", [False, True])
def test_figures_from_tables_are_the_figures_from_the_result(tmp_path: Path, binary: bool) -> None:
    harmonised = _harmonised(binary)
    result = run_mr(harmonised, SETTINGS, "grip", "cognitive_impairment", seed=3)
    assert result.binary_outcome is binary
    data = read_figure_data(_write_tables(tmp_path, harmonised, result))
    memory = figure_data(result)
    assert [m for m, _ in data.lines] == [m for m, _ in memory.lines]
    np.testing.assert_allclose([b for _, b in data.lines], [b for _, b in memory.lines], rtol=1e-11)
    assert len(data.data) == int(harmonised["mr_keep"].sum()) == len(memory.data)
    assert data.data["SNP"].tolist() == memory.data["SNP"].tolist()  # "100000" stays text
    assert data.binary_outcome is binary
    from_result = _png_bytes(all_figures(result), tmp_path / "memory")
    from_tables = _png_bytes(all_figures(data), tmp_path / "tables")
    assert set(from_result) == {"scatter", "forest", "funnel", "leave_one_out"}
    for name, png in from_result.items():
        assert png == from_tables[name], name


def test_bad_tables_are_refused_with_the_fix(tmp_path: Path) -> None:
    harmonised = _harmonised(False)
    result = run_mr(harmonised, MRSettings(methods=("ivw", "egger")), "grip", "cognitive_impairment", seed=3)
    paths = _write_tables(tmp_path, harmonised, result)
    with pytest.raises(DataError, match=r"tables \['single_snp'\] are not given"):
        read_figure_data({k: v for k, v in paths.items() if k != "single_snp"})
    write_table(harmonised.drop(columns=["se.outcome"]), paths["harmonised"])
    with pytest.raises(DataError, match=r"harmonised.tsv lacks the columns \['se.outcome'\]; rerun"):
        read_figure_data(paths)
    write_table(harmonised, paths["harmonised"])
    write_table(result.to_tidy().iloc[:0], paths["estimates"])
    with pytest.raises(DataError, match="estimates.tsv has no rows"):
        read_figure_data(paths)


def test_figures_of_a_run_drawn_by_two_processes_are_the_same_files(tmp_path: Path) -> None:
    tables, figures, memory = {}, {}, {}
    for pair, binary in (("grip__ci", True), ("ci__grip", False)):
        harmonised = _harmonised(binary, seed=7 if binary else 8)
        result = run_mr(harmonised, SETTINGS, "grip", "cognitive_impairment", seed=5)
        tables[pair] = _write_tables(tmp_path / pair, harmonised, result)
        memory[pair] = _png_bytes(all_figures(result), tmp_path / "memory" / pair)
    for processes in (2,):  # one process: the first test
        figures = {pair: {name: tmp_path / f"p{processes}" / pair / f"{name}.png" for name in memory[pair]}
                   for pair in tables}
        for paths in figures.values():
            next(iter(paths.values())).parent.mkdir(parents=True)
        used = write_pair_figures(tables, figures, processes=processes)
        assert used == {"grip__ci": 27, "ci__grip": 27}
        for pair, paths in figures.items():
            for name, path in paths.items():
                assert path.read_bytes() == memory[pair][name], (processes, pair, name)


def test_the_95_percent_quantile_literal_is_scipys() -> None:
    from scipy import special, stats

    # what the figures used, scipy.stats.norm.isf(0.025); ndtri(0.975) differs in the last bit
    assert Z_95 == -special.ndtri(0.025) == stats.norm.isf(0.025) != special.ndtri(0.975)

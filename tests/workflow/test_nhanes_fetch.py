"""`musclecog fetch-nhanes` against a local HTTP server serving fixture files in CDC's layout, and the Wang
analyses end to end on a fixture in the NHANES 1999-2002 layout whose DXA file holds five imputations.

The fixture is generated here (no CDC data): 1999-2000 and 2001-2002 files DEMO, BMX, CFQ and the imputed
whole-body DXA file (``dxx``/``dxx_b``, ``_MULT_`` = 1..5, limb lean mass in grams). Its truth: DSST is 4 points
lower with low ALM (FNIH cut-offs), and the five imputations of each person's limb lean mass differ by noise.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml
from runner import run_snakemake

from musclecog.cli import main
from musclecog.errors import ConfigError, DataError
from musclecog.nhanes import MANIFEST, fetch, plan_files

N_PER_CYCLE = 700
M = 5


def _write_xpt(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_xport(frame, str(path), file_format_version=5, table_name=path.stem.upper()[:8])


def write_fixture(root: Path, seed: int = 7) -> None:
    """The 1999-2002 files under ``root`` as CDC lays them out (``Public/<year>/DataFiles``, ``Dxa``)."""
    rng = np.random.default_rng(seed)
    for year, suffix, first in ((1999, "", 1), (2001, "_B", 9966)):
        n = N_PER_CYCLE
        seqn = np.arange(first, first + n, dtype=float)
        male = rng.random(n) < 0.48
        age = rng.integers(60, 86, n).astype(float)
        height = np.where(male, 175, 161) + rng.normal(0, 6, n)
        bmi = rng.normal(28, 4.5, n).clip(17, 50)
        alm = (np.where(male, 22.5, 16.0) - 0.08 * (age - 60) + rng.normal(0, 2.6, n)).clip(9, 40)  # kg, one true value
        low = np.where(male, alm < 19.75, alm < 15.02)
        edu = rng.integers(1, 6, n).astype(float)
        dsst = (52 - 0.55 * (age - 60) + 2.0 * edu - 4.0 * low + rng.normal(0, 9, n)).clip(0, 133).round()
        dsst[rng.random(n) < 0.08] = np.nan  # not tested
        strata = rng.integers(1, 14, n).astype(float) + (0 if year == 1999 else 13)
        demo = pd.DataFrame({
            "SEQN": seqn, "RIDAGEYR": age, "RIAGENDR": np.where(male, 1.0, 2.0),
            "RIDRETH1": rng.integers(1, 6, n).astype(float), "DMDEDUC2": edu,
            "WTMEC4YR": rng.uniform(2000, 40000, n).round(1), "SDMVSTRA": strata,
            "SDMVPSU": rng.integers(1, 3, n).astype(float),
        })
        bmx = pd.DataFrame({"SEQN": seqn, "BMXBMI": bmi.round(2), "BMXHT": height.round(1)})
        cfq = pd.DataFrame({"SEQN": seqn, "CFDRIGHT": dsst})
        # the imputed DXA file: every person 5 times; limbs split the true ALM, imputations add noise
        share = np.array([0.13, 0.13, 0.37, 0.37])
        rows = []
        for k in range(1, M + 1):
            limbs = (alm[:, None] * share[None, :] + rng.normal(0, 0.15, (n, 4))) * 1000.0
            rows.append(pd.DataFrame({"SEQN": seqn, "_MULT_": float(k), "DXDLALE": limbs[:, 0].round(1),
                                      "DXDRALE": limbs[:, 1].round(1), "DXDLLLE": limbs[:, 2].round(1),
                                      "DXDRLLE": limbs[:, 3].round(1)}))
        dxx = pd.concat(rows).sort_values(["SEQN", "_MULT_"], kind="stable")
        public = root / "Public" / str(year) / "DataFiles"
        _write_xpt(demo, public / f"DEMO{suffix}.xpt")
        _write_xpt(bmx, public / f"BMX{suffix}.xpt")
        _write_xpt(cfq, public / f"CFQ{suffix}.xpt")
        _write_xpt(dxx, root / "Dxa" / f"dxx{suffix.lower()}.xpt")
    # what CDC answers for a file that does not exist: a web page
    (root / "Public" / "1999" / "DataFiles" / "MGX.xpt").write_text("<!DOCTYPE html><html><body>Page not found"
                                                                  "</body></html>")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def cdc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server on 127.0.0.1 (a free port) with the fixture files; yields (base_url, dxa_base_url)."""
    root = tmp_path_factory.mktemp("cdc")
    write_fixture(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield f"{url}/Public", f"{url}/Dxa"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_urls_follow_cdcs_layout() -> None:
    files = plan_files(["2011-2012", "2001-2002"], ["DEMO", "dxx"][:1])
    assert [f.url for f in files] == ["https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2011/DataFiles/DEMO_G.xpt",
                                      "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2001/DataFiles/DEMO_B.xpt"]
    (dxx,) = plan_files(["2001-2002"], ["DXX"])
    assert dxx.url == "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Dxa/dxx_b.xpt" and dxx.filename == "dxx_b.xpt"
    assert plan_files(["2011-2012"], ["DEMO_G"])[0].filename == "DEMO_G.xpt"  # the cycle letter may be given
    with pytest.raises(ConfigError, match=r"unknown cycle\(s\) \['2012-2013'\]; known: 1999-2000"):
        plan_files(["2012-2013"], ["DEMO"])
    with pytest.raises(ConfigError, match="DXX .* exists for 1999-2000, 2001-2002, 2003-2004, 2005-2006 only, not 2011"):
        plan_files(["2011-2012"], ["DXX"])
    with pytest.raises(ConfigError, match="not NHANES file names"):
        plan_files(["2011-2012"], ["../etc/passwd"])


def test_fetch_downloads_checks_and_records(cdc: tuple[str, str], tmp_path: Path) -> None:
    base, dxa = cdc
    out = tmp_path / "nhanes"
    done = fetch(["1999-2000", "2001-2002"], ["DEMO", "DXX"], out, base_url=base, dxa_base_url=dxa)
    assert sorted(p.name for p in out.iterdir()) == sorted(["DEMO.xpt", "DEMO_B.xpt", "dxx.xpt", "dxx_b.xpt", MANIFEST])
    manifest = pd.read_csv(out / MANIFEST, sep="\t")
    assert manifest["rows"].tolist() == [N_PER_CYCLE, M * N_PER_CYCLE, N_PER_CYCLE, M * N_PER_CYCLE]
    assert manifest["url"].iloc[1] == f"{dxa}/dxx.xpt"
    import hashlib
    assert manifest["sha256"].iloc[0] == hashlib.sha256((out / "DEMO.xpt").read_bytes()).hexdigest()
    assert all(f.downloaded for f in done)
    again = fetch(["1999-2000"], ["DEMO"], out, base_url=base, dxa_base_url=dxa)
    assert not again[0].downloaded  # present and readable: kept


def test_fetch_refuses_missing_files_and_web_pages(cdc: tuple[str, str], tmp_path: Path) -> None:
    base, dxa = cdc
    out = tmp_path / "nhanes"
    with pytest.raises(DataError, match=r"HTTP 404 .*\(OSQ, 1999-2000\); check the file name and cycle"):
        fetch(["1999-2000"], ["OSQ"], out, base_url=base, dxa_base_url=dxa)
    with pytest.raises(DataError, match="the server sent a web page, not a SAS transport file"):
        fetch(["1999-2000"], ["MGX"], out, base_url=base, dxa_base_url=dxa)
    assert list(out.iterdir()) == []  # no partial file, no manifest


def test_fetch_command_writes_a_stub_that_validates(cdc: tuple[str, str], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base, dxa = cdc
    out = tmp_path / "nhanes"
    rc = main(["fetch-nhanes", "--cycle", "1999-2000", "2001-2002", "--files", "DEMO", "CFQ", "DXX",
               "--out", str(out), "--base-url", base, "--dxa-base-url", dxa, "--cohort", "wang"])
    assert rc == 0, capsys.readouterr().err
    stub = out / "wang.yaml"
    config = yaml.safe_load(stub.read_text())
    tables = config["cohorts"]["wang"]["tables"]
    assert [Path(t["path"]).name for t in tables] == ["DEMO.xpt", "DEMO_B.xpt", "CFQ.xpt", "CFQ_B.xpt", "dxx.xpt",
                                                     "dxx_b.xpt"]
    assert config["cohorts"]["wang"]["stack"] == [[0, 1], [2, 3], [4, 5]]
    assert tables[4]["columns"]["SEQN"] == "id" and tables[4]["columns"]["_MULT_"] == "imputation"
    assert tables[2]["columns"]["CFDRIGHT"] == "dsst"
    assert main(["validate", str(stub)]) == 0, capsys.readouterr().err
    assert main(["fetch-nhanes", "--cycle", "1999-2000", "--files", "DEMO", "--out", str(out), "--base-url", base,
                 "--cohort", "wang"]) == 1
    assert "wang.yaml exists" in capsys.readouterr().err


WANG = """
seed: 20261203
targets: "{workflow_dir}/resources/review_targets.tsv"
cohorts:
  wang:
    description: NHANES 1999-2002 layout fixture, age 60+, five DXA imputations
    tables:
      - {path: "DIR/DEMO.xpt", columns: &demo {SEQN: id, RIDAGEYR: age, RIAGENDR: sex, RIDRETH1: race,
          DMDEDUC2: education, WTMEC4YR: survey_weight, SDMVSTRA: survey_strata, SDMVPSU: survey_psu}}
      - {path: "DIR/DEMO_B.xpt", columns: *demo}
      - {path: "DIR/BMX.xpt", columns: &bmx {SEQN: id, BMXBMI: bmi, BMXHT: height_cm}}
      - {path: "DIR/BMX_B.xpt", columns: *bmx}
      - {path: "DIR/CFQ.xpt", columns: &cfq {SEQN: id, CFDRIGHT: dsst}}
      - {path: "DIR/CFQ_B.xpt", columns: *cfq}
      - {path: "DIR/dxx.xpt", columns: &dxx {SEQN: id, _MULT_: imputation, DXDLALE: lean_la_g, DXDRALE: lean_ra_g,
          DXDLLLE: lean_ll_g, DXDRLLE: lean_rl_g}}
      - {path: "DIR/dxx_b.xpt", columns: *dxx}
    stack: [[0, 1], [2, 3], [4, 5], [6, 7]]
    join: left
    recode:
      sex: {1: male, 2: female}
      race: {1: mexican_american, 2: other_hispanic, 3: white, 4: black, 5: other}
      education: {1: less_than_9th, 2: grade_9_11, 3: high_school, 4: some_college, 5: college}
    derive:
      - {name: alm_kg, expr: "(lean_la_g + lean_ra_g + lean_ll_g + lean_rl_g) / 1000"}
      - low_mm_fnih_alm
      - age_group
    keep_if: {dsst: {not_missing: true}}
    survey: {weight: survey_weight, strata: survey_strata, psu: survey_psu}
analyses:
  wang_dsst_low_alm:
    type: group_comparison
    cohort: wang
    outcome: dsst
    groups: [low_mm_fnih_alm]
    covariates: [age, sex, education]
    weighting: both
  wang_dsst_alm:
    type: regression
    cohort: wang
    outcome: dsst
    exposure: alm_kg
    models: {crude: [], adjusted: [age, sex, education]}
"""


@pytest.mark.slow
def test_wang_analyses_run_end_to_end_on_imputed_dxa(cdc: tuple[str, str], tmp_path: Path) -> None:
    base, dxa = cdc
    data = tmp_path / "nhanes"
    fetch(["1999-2000", "2001-2002"], ["DEMO", "BMX", "CFQ", "DXX"], data, base_url=base, dxa_base_url=dxa)
    config = tmp_path / "wang.yaml"
    config.write_text(WANG.replace("DIR", str(data)))
    results = tmp_path / "results"
    proc = run_snakemake(results, "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-4000:]
    est = pd.read_csv(results / "estimates" / "wang_dsst_low_alm.tsv", sep="\t")
    assert (est["m"] == M).all()
    pooled = est["std_error"].notna()  # SDs are means over the imputations (said in their note), no fmi
    assert est.loc[pooled, "fmi"].between(0, 1).all() and est.loc[~pooled, "note"].str.contains("mean over 5").all()
    flow = pd.read_csv(results / "cohorts" / "wang.flow.tsv", sep="\t")
    cohort = pd.read_parquet(results / "cohorts" / "wang.parquet")
    assert sorted(cohort["imputation"].unique()) == list(range(1, M + 1))
    people = cohort.loc[cohort["imputation"] == 1, "id"]
    assert people.is_unique and est["n"].max() == len(people) == flow["n_out"].iloc[-1] // M
    join = flow.set_index("step").loc["join dxx.xpt + dxx_b.xpt"]
    assert join["n_excluded"] == 0 and "repeated for every imputation of its id (1400 -> 7000 rows)" in join["reason"]
    # the truth: 4 points lower DSST with low ALM (adjusted difference; the 95% CI covers it)
    diff = est[est["method"] == "linear regression, adjusted for age, sex, education"].iloc[0]
    assert diff["term"] == "low_mm_fnih_alm=1 vs 0" and diff["conf_low"] < -4.0 < diff["conf_high"]

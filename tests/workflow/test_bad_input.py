"""The bad-input matrix (issue 18): every case ends with a clear error and writes no result file.

Each case asserts the exit status, the first line of the message and that nothing was written. Cases whose
pipeline path is a job script are run in-process through the job's own code (``log_to`` around
``build_cohort`` + ``write_cohort``, or ``run_analysis`` + ``write_table``: what ``build_cohort.py`` and
``fit_analysis.py`` do), which exits with status 1 and one ``musclecog <Error>: ...`` line on stderr. Cases
decided while Snakemake loads and validates the config (YTE templating, YAML tags, schema bounds,
``results_dir`` outside the working directory) and two representative job failures run the real
``snakemake`` command line.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from runner import REPO, SNAKEMAKE

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import DataError
from musclecog.ingest import build_cohort, write_cohort
from musclecog.io import write_input_table, write_parquet
from musclecog.log import log_to
from musclecog.mr.gwas.formats import GwasSpec
from musclecog.mr.gwas.readers import read_gwas
from musclecog.results import write_table
from musclecog.simulate import simulate

NHANES = "nhanes_2011_2014"


# ------------------------------------------------------------------------------------------ helpers
def _outputs(results: Path, cohort: str) -> dict[str, str]:
    return {
        "data": str(results / "cohorts" / f"{cohort}.parquet"),
        "flow": str(results / "cohorts" / f"{cohort}.flow.tsv"),
        "table1": str(results / "cohorts" / f"{cohort}.table1.tsv"),
    }


def _written(results: Path) -> list[str]:
    """Result files under ``results`` (logs excepted: a failed job keeps its log)."""
    if not results.exists():
        return []
    return sorted(str(p.relative_to(results)) for p in results.rglob("*") if p.is_file() and "logs" not in p.parts)


def _first_error_line(stderr: str) -> str:
    return next((line for line in stderr.splitlines() if line.startswith("musclecog ")), "<no musclecog line>")


def ingest_job(tmp_path: Path, capsys: pytest.CaptureFixture[str], tables: list[dict], **cohort: object) -> str:
    """Run the ingest job's code on one cohort; return the first error line (the job must fail with 1)."""
    results = tmp_path / "results"
    spec = {"tables": tables, **cohort}
    with pytest.raises(SystemExit) as exit_info, log_to(results / "logs" / "cohort.log"):
        write_cohort(build_cohort("bad", spec, seed=1, base_dir=tmp_path), _outputs(results, "bad"))
    assert exit_info.value.code == 1
    assert _written(results) == [], "a failed ingest job must write no result file"
    return _first_error_line(capsys.readouterr().err)


def analysis_job(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: pd.DataFrame, entry: dict) -> str:
    """Run the fit_analysis job's code; return the first error line (the job must fail with 1)."""
    results = tmp_path / "results"
    context = RunContext(analysis="bad", cohort=entry["cohort"], seed=1, survey=None, threads=1)
    with pytest.raises(SystemExit) as exit_info, log_to(results / "logs" / "bad.log"):
        write_table(run_analysis(data, entry, context).to_tidy(), results / "estimates" / "bad.tsv")
    assert exit_info.value.code == 1
    assert _written(results) == []
    return _first_error_line(capsys.readouterr().err)


def snakemake(tmp_path: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line in the repository, with a config file written from ``config``."""
    cmd = [str(SNAKEMAKE), "--nolock", "--cores", "1"]
    if config is not None:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config) if isinstance(config, dict) else config)
        cmd += ["--configfile", str(path)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def demo(shared_data_dir: Path) -> Path:
    return shared_data_dir / NHANES / "DEMO_G.XPT"


def _truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


DEMO_COLUMNS = {"SEQN": "id", "RIDAGEYR": "age", "SDDSRVYR": "nhanes_cycle"}


# ------------------------------------------------------------------------------- completeness
@pytest.mark.shared_data
@pytest.mark.parametrize("fraction", [0.6, 0.9])
def test_truncated_xpt_is_an_error(tmp_path, capsys, demo, fraction):
    cut = _truncate(demo, tmp_path / "DEMO_G.XPT", fraction)
    line = ingest_job(tmp_path, capsys, [{"path": cut.name, "columns": DEMO_COLUMNS}])
    assert line.startswith(f"musclecog DataError: {cut}: ")
    assert "truncated or corrupt" in line and "download or copy it again" in line


@pytest.mark.shared_data
def test_truncated_xpt_on_a_record_boundary_is_an_error(tmp_path, capsys, demo):
    """Cut at a multiple of 80 bytes (whole cards) but inside an observation: the record count shows it."""
    data = demo.read_bytes()
    cut = tmp_path / "DEMO_G.XPT"
    cut.write_bytes(data[: int(len(data) * 0.6) // 80 * 80])
    line = ingest_job(tmp_path, capsys, [{"path": cut.name, "columns": DEMO_COLUMNS}])
    assert line.startswith(f"musclecog DataError: {cut}: the data section")
    assert "not a whole number of observations of 384 bytes" in line


@pytest.mark.shared_data
def test_complete_xpt_still_reads(tmp_path, demo):
    cohort = build_cohort("demo", {"tables": [{"path": str(demo), "columns": DEMO_COLUMNS}]}, seed=1)
    assert len(cohort.data) == 9756  # every person in DEMO_G (NHANES 2011-2012 documentation: 9,756)


def _csv_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 20_000
    return pd.DataFrame({"id": np.arange(1, n + 1), "age": rng.uniform(60, 90, n).round(1),
                         "grip_kg": rng.normal(30, 8, n).round(1)})


def test_truncated_gzip_is_an_error(tmp_path, capsys):
    full = tmp_path / "full.csv.gz"
    _csv_frame().to_csv(full, index=False)
    cut = _truncate(full, tmp_path / "cohort.csv.gz", 0.6)
    line = ingest_job(tmp_path, capsys, [{"path": cut.name, "columns": {"id": "id", "age": "age"}}])
    assert line == (
        f"musclecog DataError: {cut}: the gzip stream is truncated or corrupt (Truncated compressed stream). The "
        "file was probably cut short by an interrupted download or copy: fetch it again (check it with "
        f"`gzip -t {cut}`)."
    )


@pytest.mark.parametrize("damage", ["truncated", "flipped bytes"])
def test_corrupt_parquet_is_an_error(tmp_path, capsys, damage):
    full = tmp_path / "full.parquet"
    write_parquet(_csv_frame(), full)
    data = bytearray(full.read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 6 // 10]
    else:  # inside the first data page: only the page checksum (written by write_parquet) can tell
        data[200:260] = bytes(b ^ 0xFF for b in data[200:260])
    bad = tmp_path / "cohort.parquet"
    bad.write_bytes(bytes(data))
    line = ingest_job(tmp_path, capsys, [{"path": bad.name, "columns": {"id": "id", "age": "age"}}])
    assert line.startswith(f"musclecog DataError: {bad}: cannot be read as parquet (")
    assert line.endswith("The file is truncated, corrupt or not parquet: write or copy it again, check its "
                         "encoding (`encoding:`), or set 'format:' in the config.")


def test_truncated_gwas_gzip_is_an_error(tmp_path):
    frame = pd.DataFrame({"SNP": [f"rs{i}" for i in range(30_000)], "effect_allele": "A", "other_allele": "G",
                          "beta": 0.01, "se": 0.02, "eaf": 0.3, "pval": 0.5})
    full = tmp_path / "full.tsv.gz"
    frame.to_csv(full, sep="\t", index=False)
    cut = _truncate(full, tmp_path / "gwas.tsv.gz", 0.6)
    spec = GwasSpec(name="grip", path=str(cut), n=1000)
    with pytest.raises(DataError) as info:
        read_gwas(spec)
    assert str(info.value).startswith(f"GWAS file {cut}: the compressed stream is truncated or corrupt")


# ----------------------------------------------------------------------------------- encodings
LATIN1 = "id,age,city\n1,71,Paris\n2,68,Besan\xe7on\n3,80,N\xeemes\n4,75,Lyon\n5,66,Metz\n6,70,Caen\n"


def test_latin1_text_in_a_utf8_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "towns.csv"
    path.write_bytes(LATIN1.encode("latin-1"))
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "columns": {"id": "id", "age": "age", "city": "city"}}])
    assert line == (
        f"musclecog DataError: {path}: text is not valid utf-8 at line 3, column 'city', byte 33 "
        "(b'\\xe7' in b'2,68,Besan\\xe7on'). Set `encoding: latin-1` (or the file's real encoding, e.g. cp1252) "
        "for this table in the config."
    )


def test_declared_latin1_is_decoded_and_no_bytes_reach_the_outputs(tmp_path):
    path = tmp_path / "towns.csv"
    path.write_bytes(LATIN1.encode("latin-1"))
    spec = {"tables": [{"path": path.name, "encoding": "latin-1", "columns": {"id": "id", "age": "age", "city": "city"}}]}
    cohort = build_cohort("towns", spec, seed=1, base_dir=tmp_path)
    write_cohort(cohort, _outputs(tmp_path / "results", "towns"))
    back = pd.read_parquet(tmp_path / "results" / "cohorts" / "towns.parquet")
    assert back["city"].tolist() == ["Paris", "Besançon", "Nîmes", "Lyon", "Metz", "Caen"]
    for name in ("towns.parquet", "towns.table1.tsv", "towns.flow.tsv"):
        text = (tmp_path / "results" / "cohorts" / name).read_bytes()
        assert b"b'" not in text and b'b"' not in text


def test_xpt_text_not_in_the_declared_encoding_is_an_error(tmp_path, capsys):
    path = tmp_path / "towns.xpt"
    write_input_table(pd.DataFrame({"SEQN": [1.0, 2.0], "AGE": [70.0, 71.0], "TOWN": ["Paris", "Metz"]}), path)
    raw = path.read_bytes().replace(b"Metz", b"M\xe9tz")  # a latin-1 byte in a text field
    path.write_bytes(raw)
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "columns": {"SEQN": "id", "AGE": "age", "TOWN": "town"}}])
    assert line.startswith(f"musclecog DataError: {path}: column 'TOWN' has text that is not valid utf-8 (")
    assert line.endswith("Set `encoding: latin-1` (or the file's real encoding) for this table in the config.")
    ok = build_cohort("t", {"tables": [{"path": path.name, "encoding": "latin-1",
                                        "columns": {"SEQN": "id", "AGE": "age", "TOWN": "town"}}]},
                      seed=1, base_dir=tmp_path)
    assert ok.data["town"].tolist() == ["Paris", "Métz"]


def test_unknown_encoding_is_an_error(tmp_path, capsys):
    path = tmp_path / "towns.csv"
    path.write_text("id,age\n1,70\n2,71\n")
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "encoding": "latin-9x", "columns": {"id": "id"}}])
    assert line.startswith("musclecog DataError: unknown text encoding 'latin-9x' in 'encoding:'")


# ---------------------------------------------------------------------------------- delimiters
@pytest.mark.parametrize(("sep", "shown"), [(";", "sep: ';'"), ("\t", 'sep: "\\t"'), ("|", "sep: '|'")])
def test_wrong_delimiter_is_named(tmp_path, capsys, sep, shown):
    path = tmp_path / "cohort.csv"
    _csv_frame().head(50).to_csv(path, sep=sep, index=False)
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "columns": {"id": "id", "age": "age"}}])
    assert line.startswith(f"musclecog DataError: cohort.csv: wrong delimiter? set `{shown}` for this table")
    ok = build_cohort("c", {"tables": [{"path": path.name, "sep": sep, "columns": {"id": "id", "age": "age"}}]},
                      seed=1, base_dir=tmp_path)
    assert len(ok.data) == 50


# ------------------------------------------------------------------------------ data crashes
@pytest.fixture(scope="module")
def liao() -> pd.DataFrame:
    return simulate("liao", 245, 1).data


REGRESSION = {"type": "regression", "cohort": "liao", "outcome": "nback1_acc", "exposure": "grip_kg",
              "covariates": ["age", "extra"]}


def test_all_missing_exposure_is_an_error(tmp_path, capsys, liao):
    data = liao.assign(grip_kg=np.nan, extra=0.0)
    line = analysis_job(tmp_path, capsys, data, REGRESSION)
    assert line == (
        "musclecog ModelError: analyses.bad (nback1_acc, adjusted, overall): column 'grip_kg' is missing in all 245 "
        "rows, so nothing can be fitted. Check the cohort's column mapping and missing_codes (is it read from the "
        "right file and column?), or leave the column out of this analysis"
    )


def test_all_missing_exposure_in_mediation_is_an_error(tmp_path, capsys, liao):
    entry = {"type": "simple_mediation", "cohort": "liao", "exposure": "grip_kg", "mediator": "sts30",
             "outcome": "nback1_acc", "bootstrap": 50}
    line = analysis_job(tmp_path, capsys, liao.assign(grip_kg=np.nan), entry)
    assert line.startswith("musclecog ModelError: analyses.bad: column 'grip_kg' is missing in all 245 rows")


def test_inf_in_a_covariate_outside_the_dictionary_is_an_error(tmp_path, capsys, liao):
    extra = np.random.default_rng(0).normal(size=len(liao))
    extra[[3, 10]] = [np.inf, -np.inf]
    line = analysis_job(tmp_path, capsys, liao.assign(extra=extra), REGRESSION)
    assert line == (
        "musclecog DataError: analyses.bad (nback1_acc, adjusted, overall): column 'extra' has 2 infinite values "
        "(rows 3, 10); a model needs finite numbers. Fix them in the cohort table, or set them missing "
        "(missing_codes: {extra: [.inf, -.inf]})"
    )


def test_inf_in_an_input_file_is_an_error_at_ingest(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    path.write_text("id,age,score\n1,70,1.5\n2,71,inf\n3,72,2.0\n4,73,-inf\n5,74,1.0\n")
    line = ingest_job(tmp_path, capsys, [{"path": path.name}])
    assert line.startswith("musclecog DataError: cohort.csv [score]: column 'score' has 2 infinite values (inf, -inf;")
    assert line.endswith("or set them missing with cohorts.bad.missing_codes: {score: [.inf, -.inf]}.")
    # the suggested fix works and is counted in the flow table
    fixed = build_cohort("ok", {"tables": [{"path": path.name}], "missing_codes": {"score": [float("inf"), float("-inf")]}},
                         seed=1, base_dir=tmp_path)
    assert int(fixed.data["score"].isna().sum()) == 2
    flow = fixed.flow.set_index("step")
    assert "missing_codes.score" in flow.index


def test_empty_gzip_member_and_header_only_file(tmp_path, capsys):
    path = tmp_path / "cohort.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("id,age\n")
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "columns": {"id": "id", "age": "age"}}])
    assert line.startswith(f"musclecog DataError: {path}: the table has no rows")


# --------------------------------------------------------------------- the real command line
def _default_like(results: Path, **extra: object) -> dict:
    return {"seed": 1, "results_dir": str(results), "allow_outside": True,
            "cohorts": {"liao": {"simulate": {"design": "liao", "n": 245}}}, **extra}


@pytest.mark.slow
def test_yte_template_is_refused_and_runs_no_code(tmp_path):
    marker = tmp_path / "code_ran"
    results = tmp_path / "results"
    config = (
        "__use_yte__: true\n"
        f"seed: ?__import__('pathlib').Path({str(marker)!r}).write_text('x') and 1\n"
        f"results_dir: {results}\nallow_outside: true\n"
        "cohorts:\n  liao:\n    simulate:\n      design: liao\n      n: ?int(\"2\" + \"45\")\n"
    )
    proc = snakemake(tmp_path, config=config)
    assert proc.returncode == 1, proc.stderr
    assert _first_error_line(proc.stderr).startswith(
        f"musclecog ConfigError: {tmp_path / 'config.yaml'}: line 1 sets '__use_yte__', which turns on "
        "Snakemake's YTE templating"
    )
    assert not marker.exists(), "the YTE expression ran"
    assert _written(results) == []
    # the check is what stopped it: Snakemake's own loader (yte, as in snakemake.common.configfile) runs the code
    import yte

    loaded = yte.process_yaml(config, require_use_yte=True)
    assert marker.exists() and loaded["cohorts"]["liao"]["simulate"]["n"] == 245


@pytest.mark.slow
def test_yte_without_the_workflow_profile_still_stops_the_run(tmp_path):
    """``--workflow-profile none`` skips the early check: Snakemake evaluates the template while parsing the
    command line (before any workflow code), and the Snakefile's check then stops the run (documented)."""
    results = tmp_path / "results"
    config = f"__use_yte__: true\nseed: ?1 + 1\nresults_dir: {results}\nallow_outside: true\ncohorts: {{}}\n"
    proc = snakemake(tmp_path, "--workflow-profile", "none", config=config)
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr).startswith(f"musclecog ConfigError: {tmp_path / 'config.yaml'}: line 1 sets")
    assert _written(results) == []


@pytest.mark.slow
def test_yaml_python_tag_is_refused(tmp_path):
    marker = tmp_path / "code_ran"
    config = f"seed: !!python/object/apply:os.system ['touch {marker}']\ncohorts: {{}}\n"
    proc = snakemake(tmp_path, config=config)
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr) == (
        f"musclecog ConfigError: {tmp_path / 'config.yaml'}: line 1 has the YAML tag "
        f"'!!python/object/apply:os.system', which is refused (tags make the loader build objects). Remove the tag "
        "and write the plain value. A musclecog config is data, never code: write the values out (use {name_dir} "
        "placeholders and --config overrides for what changes between runs)."
    )
    assert not marker.exists()


@pytest.mark.slow
def test_results_dir_outside_needs_allow_outside(tmp_path):
    results = tmp_path / "elsewhere"
    config = _default_like(results)
    del config["allow_outside"]
    proc = snakemake(tmp_path, config=config)
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr) == (
        f"musclecog ConfigError: config: 'results_dir' is {str(results)!r}, which resolves to {results}, outside "
        f"the working directory {REPO}. Set `allow_outside: true` in the config (or --config allow_outside=True) "
        "to write there, or choose a folder inside the working directory."
    )
    assert _written(results) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("n", 10**9, "'cohorts.liao.simulate.n' is 1,000,000,000, above the limit of 2,000,000"),
        ("bootstrap", 10**8, "'analyses.med.bootstrap' is 100,000,000, above the limit of 1,000,000"),
    ],
)
def test_huge_sizes_are_refused_with_the_limit(tmp_path, key, value, message):
    results = tmp_path / "results"
    config = _default_like(results)
    if key == "n":
        config["cohorts"]["liao"]["simulate"]["n"] = value
    else:
        config["analyses"] = {"med": {"type": "simple_mediation", "cohort": "liao", "exposure": "grip_kg",
                                      "mediator": "sts30", "outcome": "nback1_acc", "bootstrap": value}}
    proc = snakemake(tmp_path, config=config)
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr).startswith(f"musclecog ConfigError: config: {message}")
    assert _written(results) == []


@pytest.mark.slow
@pytest.mark.shared_data
def test_truncated_xpt_fails_the_pipeline(tmp_path, shared_data_dir):
    """The issue's case end to end: the NHANES example with DEMO_G cut to 60% stops at ingest, writing nothing."""
    data = tmp_path / "nhanes"
    data.mkdir()
    for f in (shared_data_dir / NHANES).iterdir():
        (data / f.name).symlink_to(f)
    (data / "DEMO_G.XPT").unlink()
    _truncate(shared_data_dir / NHANES / "DEMO_G.XPT", data / "DEMO_G.XPT", 0.6)
    results = tmp_path / "results"
    proc = subprocess.run(
        [str(SNAKEMAKE), "--nolock", "--cores", "1", "--configfile", "config/examples/nhanes_2011_2014.yaml",
         "--config", f"nhanes_dir={data}", f"results_dir={results}", "allow_outside=True",
         "--", f"{results}/cohorts/{NHANES}.parquet"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr).startswith(
        f"musclecog DataError: {data / 'DEMO_G.XPT'}: a SAS transport file is a sequence of 80-byte records"
    )
    assert _written(results) == []


@pytest.mark.slow
def test_wrong_delimiter_fails_the_pipeline(tmp_path):
    """A representative job failure through Snakemake: exit 1, the message on the console, no outputs."""
    path = tmp_path / "cohort.csv"
    _csv_frame().head(50).to_csv(path, sep=";", index=False)
    results = tmp_path / "results"
    config = {"seed": 1, "results_dir": str(results), "allow_outside": True,
              "cohorts": {"mine": {"tables": [{"path": str(path), "columns": {"id": "id", "age": "age"}}]}}}
    proc = snakemake(tmp_path, "--", f"{results}/cohorts/mine.parquet", config=config)
    assert proc.returncode == 1
    assert _first_error_line(proc.stderr).startswith(
        f"musclecog DataError: {path}: wrong delimiter? set `sep: ';'` for this table in the config"
    )
    assert _written(results) == []


# ----------------------------------------------------------- the same two crashes in every analysis family
FAMILIES = {  # default-config analyses, on smaller synthetic cohorts of the same designs
    "cohort7y_decline_mixed": 600,
    "charls_grip_gee": 800,
    "charls_impairment_cox": 800,
    "grip_reaction_time_one_sample_mr": 3000,
    "wang_dsst_knee_force": 600,
}


@pytest.fixture(scope="module")
def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _family_case(default_config: dict, name: str) -> tuple[dict, pd.DataFrame]:
    entry = dict(default_config["analyses"][name])
    cohort = dict(default_config["cohorts"][entry["cohort"]])
    cohort["simulate"] = {**cohort["simulate"], "n": FAMILIES[name]}
    return entry, build_cohort(entry["cohort"], cohort, seed=1).data


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_all_missing_exposure_in_every_family_is_an_error(tmp_path, capsys, default_config, name):
    entry, data = _family_case(default_config, name)
    line = analysis_job(tmp_path, capsys, data.assign(**{entry["exposure"]: np.nan}), entry)
    assert line.startswith(("musclecog DataError: analyses.bad", "musclecog ModelError: analyses.bad")), line
    assert repr(entry["exposure"]) in line and "missing" in line


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_inf_covariate_in_every_family_is_an_error(tmp_path, capsys, default_config, name):
    entry, data = _family_case(default_config, name)
    extra = np.random.default_rng(0).normal(size=len(data))
    extra[:60] = np.inf  # early rows: baseline visits of long cohorts included
    if "models" in entry:
        entry["models"] = {k: [*v, "extra"] for k, v in entry["models"].items()}
    else:
        entry["covariates"] = [*entry.get("covariates", []), "extra"]
    line = analysis_job(tmp_path, capsys, data.assign(extra=extra), entry)
    assert line.startswith("musclecog DataError: analyses.bad"), line
    assert "column 'extra' has" in line and "infinite values" in line


def test_semicolon_gwas_file_names_the_delimiter(tmp_path):
    path = tmp_path / "gwas.txt"
    pd.DataFrame({"SNP": ["rs1", "rs2"], "effect_allele": ["A", "C"], "other_allele": ["G", "T"], "beta": [0.1, 0.2],
                  "se": [0.01, 0.02], "pval": [0.01, 0.2]}).to_csv(path, sep=";", index=False)
    with pytest.raises(DataError) as info:
        read_gwas(GwasSpec(name="g", path=str(path), n=100))
    assert str(info.value).startswith(f"GWAS file {path}: cannot tell the delimiter of the header")
    assert "wrong delimiter? set `sep: ';'` under 'gwas.<trait>'" in str(info.value)


def test_utf16_file_suggests_utf16(tmp_path, capsys):
    path = tmp_path / "excel.csv"
    path.write_bytes("id,age\n1,70\n2,71\n".encode("utf-16"))
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "columns": {"id": "id", "age": "age"}}])
    assert line.startswith(f"musclecog DataError: {path}: text is not valid utf-8 at line 1 (the header), byte 0 ")
    assert "Set `encoding: utf-16`" in line
    ok = build_cohort("c", {"tables": [{"path": path.name, "encoding": "utf-16", "columns": {"id": "id", "age": "age"}}]},
                      seed=1, base_dir=tmp_path)
    assert ok.data["age"].tolist() == [70, 71]


def test_stata_text_is_decoded_in_the_declared_encoding(tmp_path):
    """Stata files carry their own encoding; ``encoding:`` overrides it and no bytes reach the table."""
    path = tmp_path / "towns.dta"
    write_input_table(pd.DataFrame({"id": [1.0, 2.0], "age": [70.0, 71.0], "town": ["Besançon", "Nîmes"]}), path)
    got = build_cohort("t", {"tables": [{"path": path.name}]}, seed=1, base_dir=tmp_path).data
    assert got["town"].tolist() == ["Besançon", "Nîmes"]
    got = build_cohort("t", {"tables": [{"path": path.name, "encoding": "utf-8"}]}, seed=1, base_dir=tmp_path).data
    assert got["town"].tolist() == ["Besançon", "Nîmes"]


def test_stata_text_not_in_the_declared_encoding_is_an_error(tmp_path, capsys):
    path = tmp_path / "towns.dta"
    write_input_table(pd.DataFrame({"id": [1.0, 2.0], "age": [70.0, 71.0], "town": ["Besançon", "Nîmes"]}), path)
    line = ingest_job(tmp_path, capsys, [{"path": path.name, "encoding": "ascii"}])
    assert line.startswith(f"musclecog DataError: {path}: cannot be read as dta (")
    assert "check its encoding (`encoding:`)" in line


@pytest.mark.slow
def test_one_bad_analysis_fails_its_cohort_job_after_fitting_the_others(tmp_path):
    """Two analyses of one cohort, one job (``fit_jobs: per_cohort``): the bad one's error is on the console and
    in its own log, the good one is still fitted and logged, and the job then fails, leaving no estimates."""
    results = tmp_path / "results"
    pairs = {"good": [["grip_kg", "nback1_acc"]], "bad": [["grip_kg", "no_such_column"]]}
    analyses = {name: {"type": "correlation", "cohort": "liao", "pairs": pair} for name, pair in pairs.items()}
    proc = snakemake(tmp_path, config=_default_like(results, analyses=analyses))
    assert proc.returncode == 1
    assert "Error in rule fit_cohort_liao" in proc.stderr, proc.stderr[-3000:]
    line = _first_error_line(proc.stderr)
    assert line.startswith("musclecog ") and "no_such_column" in line, line
    logs = results / "logs" / "estimates"
    assert "no_such_column" in (logs / "bad.log").read_text()
    assert "analysis good (correlation) done" in (logs / "good.log").read_text()
    assert not list(results.glob("estimates/*.tsv")), "Snakemake removes the outputs of the failed job"


@pytest.mark.slow
def test_cohorts_sharing_a_fit_job_are_one_job_and_a_bad_analysis_fails_it_after_the_others(tmp_path):
    """Two synthetic cohorts naming the same ``fit_job`` are simulated and fitted in one job, rule
    fit_cohort_<fit_job>: a bad analysis of the first cohort is reported on the console and in its log, the
    second cohort is still simulated and its analysis fitted and logged, then the job fails, leaving no
    estimates and no cohort table (Snakemake removes the job's outputs; the logs stay)."""
    results = tmp_path / "results"
    cohorts = {"liao": {"fit_job": "small", "simulate": {"design": "liao", "n": 245}},
               "li": {"fit_job": "small", "simulate": {"design": "li", "n": 109}}}
    analyses = {"bad": {"type": "correlation", "cohort": "liao", "pairs": [["grip_kg", "no_such_column"]]},
                "good": {"type": "correlation", "cohort": "li", "pairs": [["grip_kg", "nback1_acc"]]}}
    config = {**_default_like(results, analyses=analyses), "cohorts": cohorts}
    plan = snakemake(tmp_path, "-n", config=config)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert re.search(r"^fit_cohort_small\s+1$", plan.stdout + plan.stderr, flags=re.M), plan.stdout[-3000:]
    assert "simulate_cohort" not in plan.stdout + plan.stderr
    proc = snakemake(tmp_path, config=config)
    assert proc.returncode == 1
    assert "Error in rule fit_cohort_small" in proc.stderr, proc.stderr[-3000:]
    assert "no_such_column" in _first_error_line(proc.stderr)
    logs = results / "logs"
    assert "no_such_column" in (logs / "estimates" / "bad.log").read_text()
    assert "analysis good (correlation) done" in (logs / "estimates" / "good.log").read_text()
    assert "cohort li: 109 rows written" in (logs / "cohorts" / "li.log").read_text()
    assert "cohort liao: 245 rows written" in (logs / "cohorts" / "liao.log").read_text()
    assert not list(results.glob("estimates/*.tsv")) and not list(results.glob("cohorts/*.parquet"))


def test_a_fit_job_name_that_is_not_a_rule_name_is_a_config_error(tmp_path):
    """`fit_job` becomes part of a rule name: anything but letters, digits and _ is refused before a job runs."""
    results = tmp_path / "results"
    config = {**_default_like(results), "cohorts": {"liao": {"fit_job": "small studies",
                                                             "simulate": {"design": "liao", "n": 245}}}}
    proc = snakemake(tmp_path, "-n", config=config)
    assert proc.returncode == 1
    line = _first_error_line(proc.stderr)
    assert line.startswith("musclecog ConfigError:") and "fit_job" in line and "small studies" in line, line
    assert _written(results) == []

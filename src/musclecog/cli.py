"""The ``musclecog`` console command: the first ten minutes with one's own data.

::

    musclecog init TABLE... [-o config/my_study.yaml]   guess column roles, write a commented config stub
    musclecog validate CONFIG [--set KEY=VALUE ...]     schema + data checks without Snakemake; what would run
    musclecog run [SNAKEMAKE ARGS...]                   snakemake on this workflow, arguments passed through
    musclecog fetch-nhanes --cycle C... --files F... --out DIR   download public NHANES files, check, write a stub
    musclecog --version

Every guess ``init`` makes is marked ``# GUESS`` in the stub, with its reason; ``validate`` reads the data
exactly as the pipeline's ``build_cohort`` rule does, so an error here is the error the run would stop with.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from musclecog import __version__
from musclecog.errors import MusclecogError

MUSCLE = ("grip_kg", "grip_best_kg", "grip_combined_kg", "alm_kg", "knee_ext_kg", "sts30")
COGNITION = ("dsst", "mmse", "moca", "cognition", "nback2_acc", "reaction_time_ms", "fluid_intelligence")
ADJUST = ("age", "sex", "education", "bmi")
# keys of an analysis entry that name cohort columns
COLUMN_KEYS = ("outcome", "exposure", "time", "event", "entry", "exit", "mediator", "instrument")
COLUMN_LIST_KEYS = ("outcomes", "covariates", "mediators", "instruments", "by")


def _q(value: Any) -> str:
    """A YAML scalar (JSON strings are valid YAML and quote whatever needs it)."""
    return json.dumps(value)


def _cohort_lines(name: str, guesses: Sequence[Any]) -> list[str]:
    lines = [f"  {name}:", f"    description: {_q('GUESS: describe the cohort (who, where, when)')}", "    tables:"]
    for table in guesses:
        lines += [f"      - path: {_q(table.path)}    # {table.n_rows:,} rows", "        columns:"]
        if not any(c.variable for c in table.columns):
            lines[-1] = "        columns: {}  # GUESS, CHECK: no column recognised; map them (name: variable)"
        if not any(c.variable == "id" for c in table.columns):
            lines.append("        # GUESS, CHECK: no identifier column recognised: map the column naming people to id")
        width = max(len(_q(c.column)) for c in table.columns)
        for c in table.columns:
            if c.variable is None:
                lines.append(f"          # {_q(c.column)}: ???{' ' * (width - len(_q(c.column)))}  # {c.reason}")
            else:
                mark = "GUESS" if c.confident else "GUESS, CHECK"
                pad = " " * (width - len(_q(c.column)))
                lines.append(f"          {_q(c.column)}: {c.variable}{pad}  # {mark}: {c.reason}")
    long = next((t for t in guesses if t.wave), None)
    if long is not None and long.wave == "wave":
        lines.append("    wave: wave  # GUESS: ids repeat (one row per visit); this column numbers the visits")
    elif long is not None:
        lines.append(f"    wave: {{order_by: {long.wave}, time_from: {long.wave}}}  # GUESS: ids repeat (one row "
                     f"per visit): visits numbered by {long.wave} within id, time = {long.wave} - first visit's")
    recodes = {c.variable: c.recode for t in guesses for c in t.columns if c.variable and c.recode}
    if recodes:
        lines.append("    recode:  # GUESS: the codes of the file -> the dictionary's levels")
        for variable, codes in recodes.items():
            body = ", ".join(f"{_q(k)}: {v}" for k, v in codes.items())
            lines.append(f"      {variable}: {{{body}}}")
    if len(guesses) > 1:
        lines += [
            "    # GUESS: the tables are joined on id (inner join: people in every table). Tables that are the",
            "    # same file for two periods are stacked first (stack: [[0, 1]]); see docs/ingest.md.",
            "    join: inner",
        ]
    return lines


def _survey_lines(mapped: set[str]) -> list[str]:
    keys = {"survey_weight": "weight", "survey_strata": "strata", "survey_psu": "psu"}
    found = {key: var for var, key in keys.items() if var in mapped}
    if not found:
        return []
    if "weight" not in found:  # a design without weights is not a design the schema accepts
        return [f"    # survey: {{weight: ???, {', '.join(f'{k}: {v}' for k, v in found.items())}}}  # GUESS, CHECK: "
                "design columns found but no weight; map the weight column to survey_weight and uncomment"]
    body = ", ".join(f"{key}: {var}" for key, var in found.items())
    return [f"    survey: {{{body}}}  # GUESS: survey design columns (see docs/crosssectional.md)"]


def _analysis_lines(cohort: str, mapped: set[str]) -> list[str]:
    exposure = next((v for v in MUSCLE if v in mapped), None)
    outcome = next((v for v in COGNITION if v in mapped), None)
    if exposure is None or outcome is None:
        return [
            "analyses: {}",
            "# No muscle measure and cognitive outcome were both recognised, so no analysis is proposed. Add one,",
            "# e.g.  my_regression: {type: regression, cohort: " + cohort + ", outcome: dsst, exposure: grip_kg}",
            "# (the analysis types and their keys: workflow/schemas/analyses/, docs/).",
        ]
    covariates = [v for v in ADJUST if v in mapped]
    return [
        "analyses:",
        f"  {outcome}_on_{exposure}:  # GUESS: a first analysis from the recognised columns",
        "    type: regression",
        f"    cohort: {cohort}",
        f"    outcome: {outcome}",
        f"    exposure: {exposure}",
        f"    covariates: {json.dumps(covariates)}",
    ]


def _gwas_lines(guesses: Sequence[Any]) -> list[str]:
    if not guesses:
        return []
    lines = ["gwas:  # GUESS: these files look like GWAS summary statistics (docs/mr_data.md)"]
    for i, table in enumerate(guesses):
        lines += [
            f"  trait{i + 1}:  # name the trait",
            f"    path: {_q(table.path)}    # {table.n_rows:,} variants",
            f"    {table.note}",
        ]
    lines += ["# mr:  pairs of traits, e.g.  trait1__trait2: {exposure: trait1, outcome: trait2}"]
    return lines


def render_stub(tables: Sequence[Any], cohort: str, sources: Sequence[str]) -> str:
    """The commented config stub for the guessed tables (see :func:`musclecog.guess.guess_table`)."""
    cohort_tables = [t for t in tables if t.kind == "cohort"]
    gwas_tables = [t for t in tables if t.kind == "gwas"]
    mapped = {c.variable for t in cohort_tables for c in t.columns if c.variable}
    lines = [
        f"# musclecog config stub written by `musclecog init` {__version__} from:",
        *[f"#   {path}" for path in sources],
        "# Every line marked GUESS was guessed from column names and values against the variable dictionary",
        "# (resources/variables.tsv): check each one. 'GUESS, CHECK' means the values did not fit: fix the unit",
        "# (units:), the missing codes (missing_codes:) or the mapping. Unrecognised columns are commented out",
        "# ('???'): give them a dictionary name, or keep them under their own name.",
        "# Then: musclecog validate <this file>   and   musclecog run --configfile <this file> --cores all",
        "# Every key: config/README.md.",
        "",
        "seed: 20261125  # GUESS: any integer; the same seed gives identical tables",
        f"results_dir: {_q('results/' + cohort)}",
        "",
    ]
    if cohort_tables:
        lines += ["cohorts:", *_cohort_lines(cohort, cohort_tables), *_survey_lines(mapped), ""]
        lines += _analysis_lines(cohort, mapped)
    lines += _gwas_lines(gwas_tables)
    for table in (t for t in tables if t.kind == "summary"):
        lines += [f"# {table.path} ({table.n_rows:,} rows): {table.note}",
                  f"#   columns: {', '.join(c.column for c in table.columns)}"]
    return "\n".join(lines) + "\n"


def cmd_init(args: argparse.Namespace) -> int:
    from musclecog.guess import guess_table
    from musclecog.io import read_input_table

    tables = []
    for path in args.tables:
        if not Path(path).is_file():
            raise MusclecogError(f"{path}: no such file. Name the data files to read (csv, tsv, xpt, dta, sav, parquet).")
        frame = read_input_table(path, format=args.format)
        tables.append(guess_table(str(Path(path).resolve()), frame))
    text = render_stub(tables, args.cohort, [str(Path(p).resolve()) for p in args.tables])
    yaml.safe_load(text)  # the stub must parse: a broken stub is a bug here, not the user's
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise MusclecogError(f"{out} exists: choose another --output, or --force to overwrite it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    guessed = sum(1 for t in tables for c in t.columns if c.variable)
    unsure = sum(1 for t in tables for c in t.columns if c.variable and not c.confident)
    print(f"wrote {out}: {guessed} column roles guessed ({unsure} to check), "
          f"{sum(t.kind == 'gwas' for t in tables)} GWAS files. Check every GUESS, then: musclecog validate {out}")
    return 0


def cmd_fetch_nhanes(args: argparse.Namespace) -> int:
    from musclecog.guess import guess_table
    from musclecog.io import read_input_table
    from musclecog.nhanes import fetch

    out = Path(args.out)
    stub_path = Path(args.config) if args.config else out / f"{args.cohort}.yaml"
    if stub_path.exists() and not args.force:
        raise MusclecogError(f"{stub_path} exists: choose another --config, or --force to overwrite it.")
    fetched = fetch(args.cycle, args.files, out, base_url=args.base_url, dxa_base_url=args.dxa_base_url,
                    force=args.force)
    for f in fetched:
        print(f"{'downloaded' if f.downloaded else 'kept      '} {f.path} ({f.n_rows:,} rows, {len(f.columns)} columns, "
              f"sha256 {f.sha256[:12]})")
    # one table per file and cycle, each file's cycles next to each other so they can be stacked
    first = {name: i for i, name in reversed(list(enumerate(f.file.name for f in fetched)))}
    files = sorted(fetched, key=lambda f: first[f.file.name])  # stable: cycles keep their order
    tables = [guess_table(str(f.path.resolve()), read_input_table(f.path)) for f in files]
    text = render_stub(tables, args.cohort, [f.file.url for f in files])
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        groups.setdefault(f.file.name, []).append(i)
    stacks = [g for g in groups.values() if len(g) > 1]
    if stacks:
        line = f"    stack: {json.dumps(stacks)}  # the cycles of each file, stacked before the join on id"
        text = text.replace("    join: inner\n", f"    join: inner\n{line}\n", 1)
    yaml.safe_load(text)
    stub_path.parent.mkdir(parents=True, exist_ok=True)
    stub_path.write_text(text)
    print(f"wrote {stub_path} and {out / 'nhanes_manifest.tsv'}. Check every GUESS, then: musclecog validate {stub_path}")
    return 0


def _overrides(pairs: Sequence[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MusclecogError(f"--set {pair!r}: write KEY=VALUE, e.g. --set nhanes_dir=/data/nhanes")
        out[key] = yaml.safe_load(value) if value else ""
    return out


def _analysis_columns(entry: Mapping[str, Any]) -> list[str]:
    columns = [str(entry[k]) for k in COLUMN_KEYS if isinstance(entry.get(k), str)]
    for key in COLUMN_LIST_KEYS:
        value = entry.get(key)
        if isinstance(value, list):
            columns += [str(v) for v in value if isinstance(v, str)]
    return columns


def _describe_analysis(name: str, entry: Mapping[str, Any]) -> str:
    parts = [f"{k}={entry[k]}" for k in (*COLUMN_KEYS, *COLUMN_LIST_KEYS) if entry.get(k) not in (None, [], "")]
    return f"  {name}: {entry['type']} on {entry['cohort']} ({', '.join(parts)})"


def cmd_validate(args: argparse.Namespace) -> int:
    from musclecog.analyses import build_spec
    from musclecog.config import schema_dir, validate_config
    from musclecog.core.spec import RunContext
    from musclecog.ingest import build_cohort
    from musclecog.mr.pipeline import pair_jobs
    from musclecog.seeds import derive_seed

    path = Path(args.config)
    if not path.is_file():
        raise MusclecogError(f"{path}: no such config file")
    raw = yaml.safe_load(path.read_text()) or {}
    raw.update(_overrides(args.set))
    config = validate_config(raw, schema_dir(), base_dir=Path.cwd())
    print(f"{path}: the config is valid (schemas in {schema_dir()})")
    frames = {}
    for name, spec in (config.get("cohorts") or {}).items():
        if "simulate" in spec:
            print(f"cohort {name}: synthetic ({spec['simulate'].get('design', '?')}), simulated at run time")
            continue
        if args.no_data:
            continue
        cohort = build_cohort(name, spec, derive_seed(config["seed"], "cohort", name), base_dir=Path.cwd())
        frames[name] = cohort.data
        excluded = int(cohort.flow["n_excluded"].fillna(0).sum()) if "n_excluded" in cohort.flow else 0
        print(f"cohort {name}: {len(cohort.data):,} rows x {cohort.data.shape[1]} columns after ingestion "
              f"({excluded:,} rows excluded, each counted in its flow table)")
    analyses = config.get("analyses") or {}
    print(f"would fit {len(analyses)} analyses:")
    for name, entry in analyses.items():
        cohort_name = entry["cohort"]
        survey = (config["cohorts"][cohort_name] or {}).get("survey")
        build_spec(entry, RunContext(analysis=name, cohort=cohort_name, survey=survey))
        if cohort_name in frames:
            absent = [c for c in _analysis_columns(entry) if c not in frames[cohort_name].columns]
            if absent:
                raise MusclecogError(f"analyses.{name}: cohort {cohort_name!r} has no column(s) {absent}; "
                                     f"it has {sorted(frames[cohort_name].columns)}")
        print(_describe_analysis(name, entry))
    pairs = pair_jobs(config.get("mr")) if config.get("mr") else {}
    if pairs:
        print(f"would run {len(pairs)} MR pairs: {', '.join(sorted(pairs))}")
    print(f"run it with: musclecog run --configfile {path} --cores all")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from musclecog.config import workflow_dir

    snakemake = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which("snakemake")
    if snakemake is None:
        raise MusclecogError("snakemake is not installed in this environment (pip install -r requirements.lock)")
    passed = list(args.snakemake_args)
    if passed[:1] == ["--"]:
        passed = passed[1:]
    if not any(a in ("-s", "--snakefile") or a.startswith("--snakefile=") for a in passed):
        passed = ["--snakefile", str(workflow_dir() / "Snakefile"), *passed]
    if not any(a in ("-c", "--cores", "-j", "--jobs") or a.startswith(("--cores=", "--jobs=")) for a in passed):
        passed += ["--cores", "all"]
    return subprocess.call([snakemake, *passed], env=dict(os.environ))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musclecog",
        description="Epidemiology of muscle strength and mass and cognition in ageing: first steps with your own "
        "data (init, validate) and the Snakemake workflow (run).",
        epilog="Each command has its own --help. Docs: README.md, config/README.md.",
    )
    parser.add_argument("--version", action="version", version=f"musclecog {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    init = sub.add_parser("init", help="guess column roles of your tables and write a commented config stub",
                          description="Read the tables (csv, tsv, xpt, dta, sav, parquet), guess each column's "
                          "role against the variable dictionary (names, then values), and write a config stub "
                          "with every guess marked GUESS.")
    init.add_argument("tables", nargs="+", metavar="TABLE", help="data files of one cohort, or GWAS files")
    init.add_argument("-o", "--output", default="config/my_study.yaml",
                      help="the stub to write ('-' for standard output; default: config/my_study.yaml)")
    init.add_argument("--cohort", default="my_cohort", help="the cohort's name in the config (default: my_cohort)")
    init.add_argument("--format", default="auto", help="file format when the extension does not say (default: auto)")
    init.add_argument("--force", action="store_true", help="overwrite an existing output file")
    init.set_defaults(func=cmd_init)
    val = sub.add_parser("validate", help="check a config and its data without Snakemake; say what would run",
                         description="Validate the config against the schemas, read and check every real "
                         "cohort's data as the pipeline would, and list the analyses and MR pairs it would fit.")
    val.add_argument("config", metavar="CONFIG", help="a config file (YAML)")
    val.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="a top-level value, as snakemake's --config (e.g. --set nhanes_dir=/data/nhanes)")
    val.add_argument("--no-data", action="store_true", help="check the config only, do not read the data")
    val.set_defaults(func=cmd_validate)
    run = sub.add_parser("run", help="run the Snakemake workflow (arguments passed through to snakemake)",
                         usage="musclecog run [SNAKEMAKE ARGS...]",
                         description="Runs snakemake --snakefile <musclecog>/Snakefile [SNAKEMAKE ARGS] (with "
                         "--cores all unless cores or jobs are given). Every argument except -h/--help goes to "
                         "snakemake unchanged (`musclecog run -- --help` shows snakemake's help). Example: "
                         "musclecog run --configfile config/my_study.yaml -n")
    run.set_defaults(func=cmd_run, snakemake_args=[])
    from musclecog.nhanes import BASE_URL, CYCLES, DXA_BASE_URL

    fetch = sub.add_parser("fetch-nhanes", help="download public NHANES files from CDC, check them, write a config stub",
                           description="Download the named files of the named NHANES cycles (SAS transport), check "
                           "each one (a transport file with SEQN; an HTML error page is refused), record size and "
                           "SHA-256 in nhanes_manifest.tsv, and write a config stub as `init` does. Files already "
                           "present and readable are kept.",
                           epilog="Example: musclecog fetch-nhanes --cycle 2011-2012 2013-2014 --files DEMO BMX MGX "
                           "CFQ --out data/nhanes. DXX = the multiply imputed whole-body DXA files of 1999-2006.")
    fetch.add_argument("--cycle", nargs="+", required=True, metavar="CYCLE", help=f"cycles: {', '.join(CYCLES)}")
    fetch.add_argument("--files", nargs="+", required=True, metavar="FILE",
                       help="file names without the cycle letter (DEMO BMX MGX CFQ DXX ...)")
    fetch.add_argument("--out", required=True, help="the folder to write the files into")
    fetch.add_argument("--cohort", default="nhanes", help="the cohort's name in the stub (default: nhanes)")
    fetch.add_argument("--config", help="the stub to write (default: OUT/<cohort>.yaml)")
    fetch.add_argument("--base-url", default=BASE_URL, help=f"where the files are (default: {BASE_URL})")
    fetch.add_argument("--dxa-base-url", default=DXA_BASE_URL,
                       help=f"where the imputed DXA files are (default: {DXA_BASE_URL})")
    fetch.add_argument("--force", action="store_true", help="download again and overwrite the stub")
    fetch.set_defaults(func=cmd_fetch_nhanes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``musclecog`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["run"] and argv[1:2] not in (["-h"], ["--help"]):
        args = parser.parse_args(["run"])  # the rest goes to snakemake untouched, even options named like ours
        args.snakemake_args = argv[1:]
    else:
        args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MusclecogError as exc:
        print(f"musclecog {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

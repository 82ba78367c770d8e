"""Validation of the pipeline configuration, before any job starts.

The top-level layout is checked against ``workflow/schemas/config.schema.yaml``; each analysis
against ``workflow/schemas/analyses/<type>.schema.yaml`` (the set of files there *is* the set of
analysis types); each GWAS trait and MR pair against ``gwas.schema.yaml`` and ``mr.schema.yaml``.
Then cross-references are checked: an analysis names a known cohort, an MR pair names known
traits, and every input file exists. Every message names the key's path and the fix.

Paths may use placeholders of top-level ``*_dir`` keys, e.g. ``{nhanes_dir}/DEMO_G.XPT`` with
``--config nhanes_dir=/data/nhanes``; a config is data, never evaluated as code. ``{workflow_dir}`` is built
in: the folder of the workflow's Snakefile (the clone this package comes from), so that a config copied
elsewhere (a Snakemake module, a snakedeploy deployment) still finds the workflow's own ``resources/``.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from musclecog.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def schema_dir() -> Path:
    """The ``workflow/schemas/`` folder of the repository this package was installed from."""
    return workflow_dir() / "workflow" / "schemas"


SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""YAML's safe loader, libyaml's C implementation where PyYAML was built with it (about 10x faster than the
pure-Python one: a run reads its config and about 30 schema files several times before the first job)."""


def load_yaml(stream: Any) -> Any:
    """Parse YAML text or an open file with :data:`SAFE_LOADER` (plain data only: no tags, no objects)."""
    return yaml.load(stream, Loader=SAFE_LOADER)


def load_schema(path: Path) -> dict[str, Any]:
    """Read a YAML/JSON schema file."""
    with open(path) as fh:
        return load_yaml(fh)


def analysis_types(schema_dir: str | Path) -> list[str]:
    """The analysis types the pipeline knows: one schema file each in ``schemas/analyses/``."""
    return sorted(p.name.removesuffix(".schema.yaml") for p in Path(schema_dir, "analyses").glob("*.schema.yaml"))


def _key_path(prefix: str, parts: Iterator[Any] | list[Any]) -> str:
    path = prefix
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<top level>"


def _format_error(err: jsonschema.ValidationError, prefix: str, source: str) -> str:
    where = _key_path(prefix, list(err.absolute_path))
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        hints = []
        for key in extra:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return (
            f"{source}: unknown key {', '.join(hints)} under '{where}'. "
            f"Allowed keys there: {', '.join(allowed) or '(none)'}. Fix the spelling or remove the key."
        )
    if err.validator == "anyOf" and all("required" in sub for sub in err.validator_value):
        keys = [key for sub in err.validator_value for key in sub["required"]]
        return f"{source}: '{where}' needs at least one of the keys {', '.join(keys)}; the config has nothing to run."
    if err.validator == "oneOf" and all(set(sub) == {"required"} for sub in err.validator_value):
        keys = [key for sub in err.validator_value for key in sub["required"]]
        given = [k for k in keys if isinstance(err.instance, Mapping) and k in err.instance]
        return (
            f"{source}: '{where}' takes exactly one of the keys {', '.join(keys)}; "
            f"it has {', '.join(given) if given else 'none of them'}. Keep one."
        )
    if err.validator == "required":
        return f"{source}: '{where}' lacks a required key: {err.message}. Add it (see config/README.md)."
    if err.validator == "enum":
        close = difflib.get_close_matches(str(err.instance), [str(v) for v in err.validator_value], n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return (
            f"{source}: '{where}' is {err.instance!r}, which is not one of "
            f"{', '.join(map(str, err.validator_value))}.{hint}"
        )
    if err.validator in ("maximum", "exclusiveMaximum"):
        why = err.schema.get("description", "")
        return (
            f"{source}: '{where}' is {err.instance:,}, above the limit of {err.validator_value:,}"
            + (f" ({why})" if why else "") + ". Lower it."
        )
    if err.validator == "type":
        return (
            f"{source}: '{where}' should be of type {err.validator_value} but is {err.instance!r} "
            f"({type(err.instance).__name__}). Change the value in the config."
        )
    return f"{source}: '{where}': {err.message}. See config/README.md for this key."


def _check(instance: Any, schema: Mapping[str, Any], prefix: str, source: str) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        # a misspelt key is both unknown and a missing required one: name the unknown key (with its
        # likely correction) first; otherwise the deepest, most specific error
        unknown = [e for e in errors if e.validator == "additionalProperties"]
        best = unknown[0] if unknown else jsonschema.exceptions.best_match(errors)
        raise ConfigError(_format_error(best, prefix, source))


def check_against_schema(instance: Any, schema: Mapping[str, Any], where: str) -> None:
    """Validate one config entry against its schema; a :class:`ConfigError` names the key and the fix."""
    _check(instance, schema, where, "config")


def workflow_dir() -> Path:
    """The folder holding the workflow's ``Snakefile``, ``workflow/`` and ``resources/`` (this package's clone)."""
    return Path(__file__).resolve().parents[2]


def substitute_placeholders(value: str, config: Mapping[str, Any], where: str) -> str:
    """Replace ``{name_dir}`` placeholders in a path by the top-level config value of that name.

    ``{workflow_dir}`` defaults to :func:`workflow_dir` when the config does not set it.
    """

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "workflow_dir" and config.get(key) in (None, ""):
            return str(workflow_dir())
        if key not in config or config[key] in (None, ""):
            raise ConfigError(
                f"config: '{where}' uses the placeholder {{{key}}} but '{key}' is not set. "
                f"Give it on the command line: snakemake --config {key}=/path/to/folder"
            )
        return str(config[key])

    return _PLACEHOLDER.sub(repl, value)


def _iter_paths(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield (key path, containing mapping, key) for every input path in the config."""
    for name, cohort in (config.get("cohorts") or {}).items():
        for i, table in enumerate(cohort.get("tables") or []):
            yield f"cohorts.{name}.tables[{i}].path", table, "path"
    for name, trait in (config.get("gwas") or {}).items():
        if "path" in trait:
            yield f"gwas.{name}.path", trait, "path"
    for name, pair in (config.get("mr") or {}).items():
        if pair.get("reference_panel"):
            yield f"mr.{name}.reference_panel", pair, "reference_panel"
    for name, analysis in (config.get("analyses") or {}).items():
        studies = analysis.get("studies") if isinstance(analysis, dict) else None
        if isinstance(studies, dict) and "path" in studies:
            yield f"analyses.{name}.studies.path", analysis["studies"], "path"
    if config.get("targets"):
        yield "targets", config, "targets"


def _check_analyses(cfg: dict[str, Any], schema_dir: Path) -> None:
    """Each analysis against its type's schema, and its cohort reference."""
    known_types = analysis_types(schema_dir)
    cohorts = cfg.get("cohorts") or {}
    for name, analysis in (cfg.get("analyses") or {}).items():
        where = f"analyses.{name}"
        atype = analysis.get("type")
        if atype not in known_types:
            close = difflib.get_close_matches(str(atype), known_types, n=1)
            raise ConfigError(
                f"config: '{where}.type' is {atype!r}, which is not an analysis type. Known types: "
                f"{', '.join(known_types)}." + (f" Did you mean '{close[0]}'?" if close else "")
            )
        schema = load_schema(schema_dir / "analyses" / f"{atype}.schema.yaml")
        _check(analysis, schema, where, "config")
        if "pool" in analysis:
            _check_pool(name, analysis, cfg)
        if "cohort" in schema.get("required", []) and analysis["cohort"] not in cohorts:
            close = difflib.get_close_matches(str(analysis["cohort"]), list(cohorts), n=1)
            raise ConfigError(
                f"config: '{where}.cohort' names the cohort {analysis['cohort']!r}, which is not defined under "
                f"'cohorts'. Defined cohorts: {', '.join(cohorts) or '(none)'}."
                + (f" Did you mean '{close[0]}'?" if close else "")
            )


def _check_pool(name: str, entry: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """A ``pool:`` entry names analyses of the config, none of them a meta-analysis, whose cohorts are all
    synthetic or all real."""
    analyses = config.get("analyses") or {}
    cohorts = config.get("cohorts") or {}
    where = f"analyses.{name}.pool.analyses"
    unknown = [a for a in entry["pool"]["analyses"] if a not in analyses]
    if unknown:
        raise ConfigError(f"config: '{where}' names {unknown}, which are not analyses of this config")
    nested = [a for a in entry["pool"]["analyses"] if analyses[a].get("type") == "meta_analysis"]
    if nested:
        raise ConfigError(f"config: '{where}' names the meta-analyses {nested}; pool cohort analyses only")
    kinds: dict[str, list[str]] = {}
    for a in entry["pool"]["analyses"]:
        cohort = cohorts.get(analyses[a].get("cohort"), {})
        kinds.setdefault("synthetic" if "simulate" in cohort else "real", []).append(a)
    if len(kinds) > 1:
        raise ConfigError(
            f"config: '{where}' mixes synthetic cohorts ({kinds['synthetic']}) with real ones ({kinds['real']}). "
            "Synthetic recovery and real replication are different evidence: pool them in two meta_analysis entries."
        )


def _check_mr(cfg: dict[str, Any], schema_dir: Path) -> None:
    """GWAS traits and MR pairs against their schemas, and the pairs' trait references."""
    for section in ("gwas", "mr"):
        schema_path = schema_dir / f"{section}.schema.yaml"
        if cfg.get(section) and schema_path.exists():
            schema = load_schema(schema_path)
            for name, entry in cfg[section].items():
                _check(entry, schema, f"{section}.{name}", "config")
    traits = cfg.get("gwas") or {}
    for name, pair in (cfg.get("mr") or {}).items():
        for role in ("exposure", "outcome"):
            trait = pair.get(role)
            if trait is not None and trait not in traits:
                raise ConfigError(
                    f"config: 'mr.{name}.{role}' names the GWAS trait {trait!r}, which is not defined under "
                    f"'gwas'. Defined traits: {', '.join(traits) or '(none)'}."
                )


def _resolve_paths(cfg: dict[str, Any], base: Path, check_files: bool) -> None:
    """Substitute path placeholders in place and check that every input file exists."""
    for where, holder, key in _iter_paths(cfg):
        resolved = substitute_placeholders(str(holder[key]), cfg, where)
        holder[key] = resolved
        if check_files:
            p = Path(resolved)
            p = p if p.is_absolute() else base / p
            # a PLINK reference panel is a prefix of .bed/.bim/.fam files
            exists = p.exists() or (key == "reference_panel" and Path(f"{p}.bed").exists())
            if not exists:
                raise ConfigError(
                    f"config: '{where}' points to {resolved!r}, which does not exist (looked in {p.resolve()}). "
                    "Correct the path, or set the folder placeholder with --config <name>_dir=/path."
                )


def validate_config(
    config: Mapping[str, Any],
    schema_dir: str | Path,
    base_dir: str | Path = ".",
    check_files: bool = True,
) -> dict[str, Any]:
    """Validate a pipeline configuration and resolve its paths.

    Parameters
    ----------
    config : mapping
        The configuration as Snakemake loaded it (config file plus ``--config`` overrides).
    schema_dir : path
        The folder ``workflow/schemas``.
    base_dir : path
        Relative input paths are taken relative to this folder (the working directory).
    check_files : bool
        Whether to check that every input file exists.

    Returns
    -------
    dict
        A deep copy of the config with path placeholders substituted.

    Raises
    ------
    ConfigError
        On the first problem found, naming the key path and the fix.
    """
    schema_dir = Path(schema_dir)
    cfg = copy.deepcopy(dict(config))
    _check(cfg, load_schema(schema_dir / "config.schema.yaml"), "", "config")

    _check_analyses(cfg, schema_dir)
    _check_mr(cfg, schema_dir)
    _resolve_paths(cfg, Path(base_dir), check_files)
    check_results_dir(cfg, base_dir)
    return cfg


def check_results_dir(cfg: Mapping[str, Any], base_dir: str | Path = ".") -> Path:
    """``results_dir`` must lie inside the working directory unless ``allow_outside: true``.

    Returns
    -------
    Path
        The resolved results folder.

    Raises
    ------
    ConfigError
        Naming the path, the working directory and the key that allows it.
    """
    base = Path(base_dir).resolve()
    given = str(cfg.get("results_dir", "results"))
    target = (base / given).resolve()
    if not target.is_relative_to(base) and not cfg.get("allow_outside", False):
        raise ConfigError(
            f"config: 'results_dir' is {given!r}, which resolves to {target}, outside the working directory "
            f"{base}. Set `allow_outside: true` in the config (or --config allow_outside=True) to write there, "
            "or choose a folder inside the working directory."
        )
    return target


# --------------------------------------------------------------------------------------------------
# a config is data: refuse templating and YAML tags before anything loads the file

_TEMPLATE_KEYS = ("__use_yte__", "__definitions__", "__variables__")
_CODE_FIX = (
    "A musclecog config is data, never code: write the values out (use {name_dir} placeholders and "
    "--config overrides for what changes between runs)."
)


def refuse_code_in_config(path: str | Path) -> None:
    """Refuse a config file that could run code or build objects when loaded.

    Snakemake loads a YAML config with YTE templating: a top-level ``__use_yte__: true`` makes every
    ``?expression`` value Python that runs while the file is read. YAML tags (``!!python/object``, any
    ``!tag``) ask the loader to build objects. This reads the file with YAML's scanner only (no
    constructor runs) and refuses both, before Snakemake parses the file.

    Parameters
    ----------
    path : path
        The config file (YAML or JSON).

    Raises
    ------
    ConfigError
        Naming the file, the line and the key or tag, and the fix.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc}). Save it as UTF-8 text.") from None

    def invalid(exc: yaml.YAMLError) -> ConfigError:
        return ConfigError(f"{path}: not valid YAML ({exc}). Fix the syntax (indent with spaces, quote values with ':').")

    try:
        tokens = list(yaml.scan(text, Loader=SAFE_LOADER))
    except yaml.YAMLError as exc:
        raise invalid(exc) from None
    for token in tokens:
        if isinstance(token, yaml.TagToken):
            handle, suffix = token.value
            tag = f"{handle or ''}{suffix}"
            raise ConfigError(
                f"{path}: line {token.start_mark.line + 1} has the YAML tag {tag!r}, which is refused (tags make "
                f"the loader build objects). Remove the tag and write the plain value. {_CODE_FIX}"
            )
    try:
        doc = load_yaml(text)  # libyaml's scanner leaves some syntax errors to the parser
    except yaml.YAMLError as exc:
        raise invalid(exc) from None
    keys = [k for k in _TEMPLATE_KEYS if isinstance(doc, dict) and k in doc]
    if keys:
        line = next((i + 1 for i, s in enumerate(text.splitlines()) if s.lstrip().startswith(keys[0])), 1)
        raise ConfigError(
            f"{path}: line {line} sets {keys[0]!r}, which turns on Snakemake's YTE templating (Python code in "
            f"'?' values runs when the file is loaded); refused. Remove the key. {_CODE_FIX}"
        )


def config_files_in_command_line(argv: list[str], cwd: str | Path = ".") -> list[Path]:
    """The config files a Snakemake command line will load.

    The files after ``--configfile``/``--configfiles`` (or an abbreviation of them, or ``--configfile=``),
    plus ``config/config.yaml`` of ``cwd`` when no config file is given (the Snakefile's default).
    """
    files: list[str] = []
    taking = False
    for arg in argv:
        name, eq, value = arg.partition("=")
        if arg.startswith("-"):
            taking = len(name) >= len("--configf") and "--configfiles".startswith(name)
            if taking and eq:
                files.append(value)
                taking = False
        elif taking:
            files.append(arg)
    if not files:
        default = Path(cwd) / "config" / "config.yaml"
        return [default] if default.exists() else []
    return [Path(cwd) / f for f in files]


def refuse_code_in_command_line(argv: list[str] | None = None, cwd: str | Path = ".") -> None:
    """Check every config file a Snakemake command line names (see :func:`refuse_code_in_config`).

    Runs from the workflow profile (``profiles/default``), which Snakemake reads before it loads any
    config file; on a refused file it prints the message and exits with status 1.
    """
    import sys

    refuse_code_in_files(config_files_in_command_line(list(sys.argv[1:] if argv is None else argv), cwd))


def refuse_code_in_files(paths: Iterable[str | Path]) -> None:
    """:func:`refuse_code_in_config` on each existing file; on a refused one print the message and exit 1."""
    import sys

    for path in map(Path, paths):
        if path.is_file():
            try:
                refuse_code_in_config(path)
            except ConfigError as exc:
                print(f"musclecog ConfigError: {exc}", file=sys.stderr)
                raise SystemExit(1) from None

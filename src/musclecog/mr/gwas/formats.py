"""GWAS layouts: the standard column names, the trait spec, and mapping a file's header to the standard names.

Four layouts are recognised: ``twosamplemr`` (TwoSampleMR's names, with or without the ``.exposure`` /
``.outcome`` suffix), ``ssf`` (the GWAS Catalog summary-statistics format), ``columns`` (any table with a
column map ``{source column: standard name}``) and ``vcf`` (the IEU GWAS-VCF, read by
:mod:`musclecog.mr.gwas.vcf`); ``auto`` detects the first two from the header and ``vcf`` from the file name
(``.vcf``, ``.vcf.gz``, ``.vcf.bgz``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.mr.gwas.vcf import is_vcf_path

STANDARD_COLUMNS: tuple[str, ...] = (
    "SNP", "chr", "pos", "effect_allele", "other_allele", "beta", "se", "eaf", "pval", "samplesize", "ncase",
    "ncontrol",
)
"""Columns of a standardised GWAS table (TwoSampleMR's names without the side suffix)."""

REQUIRED = ("SNP", "effect_allele", "beta", "se")
NUMERIC = ("beta", "se", "eaf", "pval", "samplesize", "ncase", "ncontrol", "odds_ratio", "neg_log10_pval")
FORMATS = ("auto", "twosamplemr", "ssf", "columns", "vcf")
NULL_VALUES = ["", "NA", "na", "N/A", "NaN", "nan", "NR", "NR ", ".", "null", "NULL", "None"]
SOURCE_ONLY = ("odds_ratio", "neg_log10_pval")
"""Standard names a column map may use that become beta / pval during standardisation."""

SSF_MAP = {
    "variant_id": "SNP",
    "rsid": "SNP",
    "chromosome": "chr",
    "base_pair_location": "pos",
    "effect_allele": "effect_allele",
    "other_allele": "other_allele",
    "beta": "beta",
    "odds_ratio": "odds_ratio",
    "standard_error": "se",
    "effect_allele_frequency": "eaf",
    "p_value": "pval",
    "neg_log_10_p_value": "neg_log10_pval",
    "n": "samplesize",
    "n_cases": "ncase",
    "ncase": "ncase",
    "ncontrol": "ncontrol",
    "n_controls": "ncontrol",
}
TWOSAMPLEMR_NAMES = ("SNP", "beta", "se", "effect_allele", "other_allele", "eaf", "pval", "samplesize", "ncase",
                     "ncontrol", "chr", "pos")


@dataclass(frozen=True)
class GwasSpec:
    """One GWAS trait of the config's ``gwas:`` section (see docs/mr_data.md).

    Attributes
    ----------
    name : str
        The trait's key in the config.
    path : str or None
        Summary-statistics file (``None`` for a synthetic trait, whose file the pipeline writes).
    format : {"auto", "twosamplemr", "ssf", "columns", "vcf"}
    columns : mapping
        ``{source column: standard name}``; with ``format: auto`` it overrides the detected names.
    sep : str or None
        Delimiter; detected from the header line when None.
    trait_type : {"continuous", "binary"}
    units : str
        ``"log odds"`` for binary traits (TwoSampleMR's convention), e.g. ``"SD"`` for standardised traits.
    n, ncase, ncontrol : float or None
        Constants used where the file has no such column.
    prevalence : float or None
        Population prevalence of a binary trait (liability-scale variance explained, Steiger).
    build : str or None
        Declared genome build (e.g. GRCh37); pairs of traits with different builds are refused.
    allow_indels : bool
        Keep multi-base alleles (A/C/G/T strings) and D/I codes; otherwise they are counted out.
    strict : bool
        Turn every counted exclusion into an error.
    sample : str or None
        GWAS-VCF: the sample (trait) column to read (default the first).
    region : str, tuple of str, or None
        Read only the variants in ``chrom:start-end`` (1-based, inclusive), or in any of several regions
        (a bgzip file with a tabix index ``<path>.tbi`` through the index, GWAS-VCF and other layouts alike;
        else GWAS-VCF files scanned in batches, other layouts filtered after reading; needs chromosome and
        position).
    """

    name: str
    path: str | None = None
    format: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    sep: str | None = None
    trait_type: str = "continuous"
    units: str = ""
    n: float | None = None
    ncase: float | None = None
    ncontrol: float | None = None
    prevalence: float | None = None
    build: str | None = None
    allow_indels: bool = False
    strict: bool = False
    sample: str | None = None
    region: str | tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, name: str, entry: Mapping[str, Any], path: str | None = None) -> GwasSpec:
        """Build the spec from a validated config entry (``path`` overrides ``entry['path']``, e.g. for the
        file a synthetic trait's rule wrote)."""
        where = f"gwas.{name}"
        fmt = entry.get("format", "auto")
        if fmt not in FORMATS:
            raise ConfigError(f"config: '{where}.format' is {fmt!r}; use one of {', '.join(FORMATS)}")
        columns = dict(entry.get("columns") or {})
        if fmt == "vcf" and columns:
            raise ConfigError(f"config: '{where}' has format 'vcf' and a 'columns' map; a GWAS-VCF needs no map")
        if fmt == "columns" and not columns:
            raise ConfigError(f"config: '{where}' has format 'columns' but no 'columns' map {{source: standard}}")
        bad = sorted(set(columns.values()) - set(STANDARD_COLUMNS) - set(SOURCE_ONLY))
        if bad:
            raise ConfigError(
                f"config: '{where}.columns' maps to unknown standard names {bad}; use "
                f"{', '.join(STANDARD_COLUMNS + SOURCE_ONLY)}"
            )
        binary = entry.get("type") == "binary" or (entry.get("type") is None and entry.get("ncase") is not None)
        units = entry.get("units") or ("log odds" if binary else "")
        if binary and units != "log odds":
            raise ConfigError(
                f"config: '{where}.units' is {units!r} for a binary trait; binary effects must be log odds"
            )
        sim = entry.get("simulate")
        return cls(
            name=name,
            path=path if path is not None else entry.get("path"),
            format=fmt,
            columns=columns,
            sep=entry.get("sep"),
            trait_type="binary" if binary else "continuous",
            units=str(units),
            n=entry.get("n"),
            ncase=entry.get("ncase"),
            ncontrol=entry.get("ncontrol"),
            prevalence=entry.get("prevalence"),
            build=entry.get("build") or (sim or {}).get("build"),
            allow_indels=bool(entry.get("allow_indels", False)),
            strict=bool(entry.get("strict", False)),
            sample=entry.get("sample"),
            region=_region_entry(entry.get("region")),
        )

    @property
    def is_vcf(self) -> bool:
        """Whether the file is read as a GWAS-VCF (``format: vcf``, or ``auto`` with a ``.vcf[.gz]`` name)."""
        return self.format == "vcf" or (self.format == "auto" and self.path is not None and is_vcf_path(self.path))


def _region_entry(value: Any) -> str | tuple[str, ...] | None:
    """``region`` as given: one region (a string) or several (a tuple)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return str(value)


def _check_mapped_columns(header: list[str], spec: GwasSpec, path: str | Path) -> None:
    missing_mapped = sorted(set(spec.columns) - set(header))
    if missing_mapped:
        close = {m: [h for h in header if h.lower() == m.lower()] for m in missing_mapped}
        hint = "; ".join(f"'{m}' (did you mean {c[0]!r}?)" for m, c in close.items() if c)
        raise DataError(
            f"GWAS file {path}: the column map of gwas.{spec.name} names columns {missing_mapped} that the file "
            f"does not have. Columns in the file: {show_values(header, limit=30)}." + (f" {hint}" if hint else "")
            + " Fix 'gwas.<trait>.columns'."
        )


def detect_format(header: list[str], spec: GwasSpec, path: str | Path) -> str:
    """The layout of a file: ``spec.format``, or with ``auto`` GWAS-SSF, TwoSampleMR or the column map."""
    if spec.format != "auto":
        return spec.format
    present = set(header)
    stems = {h.split(".")[0] for h in header}
    if "base_pair_location" in present or "standard_error" in present:
        return "ssf"
    if stems & set(TWOSAMPLEMR_NAMES) and {"SNP", "beta", "se"} <= stems:
        return "twosamplemr"
    if spec.columns:
        return "columns"
    raise DataError(
        f"GWAS file {path}: the layout is neither TwoSampleMR nor GWAS-SSF (columns: "
        f"{show_values(header, limit=20)}). Give gwas.{spec.name}.columns, e.g. "
        "{MarkerName: SNP, Allele1: effect_allele, Allele2: other_allele, Effect: beta, StdErr: se, P: pval}"
    )


def _ssf_map(header: list[str]) -> dict[str, str]:
    present = set(header)
    mapping: dict[str, str] = {}
    for src, std in SSF_MAP.items():
        if src in present and std not in mapping.values():
            mapping[src] = std
    return mapping


def _twosamplemr_map(header: list[str], path: str | Path) -> dict[str, str]:
    present = set(header)
    suffixes = {h.split(".", 1)[1] for h in header if "." in h and h.split(".", 1)[0] in TWOSAMPLEMR_NAMES}
    suffixes &= {"exposure", "outcome"}
    if len(suffixes) > 1:
        raise DataError(
            f"GWAS file {path} has both .exposure and .outcome columns: it looks already harmonised. "
            "Feed it to an MR pair with 'harmonised:' instead of as a GWAS trait."
        )
    suffix = f".{suffixes.pop()}" if suffixes else ""
    mapping: dict[str, str] = {}
    for std in TWOSAMPLEMR_NAMES:
        for cand in (f"{std}{suffix}", std):
            if cand in present and std not in mapping.values():
                mapping[cand] = std
                break
    return mapping


def column_map(header: list[str], spec: GwasSpec, path: str | Path) -> tuple[dict[str, str], str]:
    """Map source columns to standard names; returns ``({source: standard}, detected format)``.

    The layout's own names first (:func:`detect_format`), then the spec's column map, which overrides them.

    Raises
    ------
    DataError
        If a mapped column is not in the file or a required column cannot be found.
    """
    _check_mapped_columns(header, spec, path)
    fmt = detect_format(header, spec, path)
    if fmt == "ssf":
        mapping = _ssf_map(header)
    elif fmt == "twosamplemr":
        mapping = _twosamplemr_map(header, path)
    else:
        mapping = {}
    for src, std in spec.columns.items():
        mapping = {s: t for s, t in mapping.items() if t != std}
        mapping[src] = std
    std_names = set(mapping.values())
    need = [c for c in REQUIRED if c not in std_names]
    if "beta" in need and "odds_ratio" in std_names:
        need.remove("beta")
    if need:
        raise DataError(
            f"GWAS file {path} ({fmt} layout) lacks the required column(s) {need}. Columns in the file: "
            f"{show_values(header, limit=30)}. Map them with gwas.{spec.name}.columns {{source: standard}}."
        )
    return mapping, fmt

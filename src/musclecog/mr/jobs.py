"""The ``mr:`` section of the config as jobs: one per directed exposure -> outcome pair.

:func:`pair_jobs` expands every entry (a ``bidirectional`` entry into two pairs) and checks the options that
depend on the entry's kind (GWAS traits, or an already ``harmonised:`` table); the rules of
``workflow/rules/mr.smk`` are generated from its keys. :func:`adjust_columns` and :func:`adjust_traits` read a
pair's ``adjust_for`` for the multivariable step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from musclecog.errors import ConfigError

PAIR_KEYS = frozenset({
    "exposure", "outcome", "bidirectional", "harmonised", "exposure_name", "outcome_name", "description",
    "p_threshold", "fallback_p_threshold", "min_instruments", "clump", "clump_r2", "clump_kb", "reference_panel",
    "plink", "steiger_filter", "exclude_snps", "action", "ambiguity_band", "settings", "columns", "id_from_row",
    "adjust_for", "proxies", "proxy_r2", "proxy_kb", "proxy_palindromes", "proxy_maf_threshold", "coloc",
    "coloc_kb", "coloc_p1", "coloc_p2", "coloc_p12",
})
"""Keys of an ``mr:`` entry (the schema workflow/schemas/mr.schema.yaml lists the same)."""


def pair_jobs(mr_config: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Expand the ``mr:`` section into one job per directed pair, keyed ``{exposure}__{outcome}``.

    A ``bidirectional: true`` entry adds the reverse pair with the same settings. A ``harmonised:`` entry is
    keyed by its ``exposure_name__outcome_name`` (default: the entry's key).

    Parameters
    ----------
    mr_config : mapping or None
        The ``mr:`` section.

    Returns
    -------
    dict
        Pair key -> the entry (with ``_entry``, the entry's name, added).

    Raises
    ------
    ConfigError
        Two entries that produce the same directed pair, or an entry with neither traits nor a table.
    """
    jobs: dict[str, dict[str, Any]] = {}
    for name, entry in (mr_config or {}).items():
        where = f"mr.{name}"
        check_entry(entry, where)
        for key, spec in directed_pairs(name, entry, where):
            if key in jobs:
                raise ConfigError(
                    f"config: '{where}' produces the pair {key}, which another mr entry already produces; "
                    "remove one of them (or the bidirectional flag)"
                )
            spec["_entry"] = name
            jobs[key] = spec
    return jobs


def check_entry(entry: Mapping[str, Any], where: str) -> None:
    """Refuse unknown keys, and options that do not apply to the entry's kind (GWAS pair or table)."""
    unknown = sorted(set(entry) - PAIR_KEYS)
    if unknown:
        raise ConfigError(f"config: '{where}' has unknown keys {unknown}; allowed: {sorted(PAIR_KEYS)}")
    if "harmonised" in entry:
        check_harmonised_options(entry, where)
        return
    given = sorted({"columns", "id_from_row"} & set(entry))
    if given:
        raise ConfigError(
            f"config: '{where}' gives {given}, which apply only to a 'harmonised:' table; remove them "
            "(GWAS traits are read with the gwas section's column maps)"
        )
    if "adjust_for" in entry:
        check_adjust_traits(entry, where)


def directed_pairs(name: str, entry: Mapping[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    """The directed pairs ``(key, spec)`` of one entry: a table's one pair, a GWAS pair (and its reverse)."""
    if "harmonised" in entry:
        if "exposure" in entry or "outcome" in entry:
            raise ConfigError(f"config: '{where}' gives both 'harmonised' and exposure/outcome traits; use one")
        exp, out = entry.get("exposure_name"), entry.get("outcome_name")
        key = f"{exp}__{out}" if exp and out else name
        return [(key, dict(entry, exposure_name=exp or name, outcome_name=out or "outcome"))]
    if "exposure" not in entry or "outcome" not in entry:
        raise ConfigError(f"config: '{where}' needs 'exposure' and 'outcome' (GWAS traits) or 'harmonised'")
    exp, out = entry["exposure"], entry["outcome"]
    if exp == out:
        raise ConfigError(f"config: '{where}' has the same trait {exp!r} as exposure and outcome")
    directed = [(f"{exp}__{out}", dict(entry))]
    if entry.get("bidirectional"):
        directed.append((f"{out}__{exp}", dict(entry, exposure=out, outcome=exp)))
    return directed


def check_harmonised_options(entry: Mapping[str, Any], where: str) -> None:
    """Check the types of ``columns``, ``id_from_row`` and ``adjust_for`` of a ``harmonised:`` entry."""
    cols = entry.get("columns", {})
    if not isinstance(cols, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cols.items()):
        raise ConfigError(f"config: '{where}.columns' must map source column -> TwoSampleMR name, got {cols!r}")
    targets = list(cols.values())
    if len(set(targets)) < len(targets):
        raise ConfigError(f"config: '{where}.columns' maps two source columns to the same name: {cols!r}")
    if not isinstance(entry.get("id_from_row", False), bool):
        raise ConfigError(f"config: '{where}.id_from_row' must be true or false, got {entry['id_from_row']!r}")
    adjust = entry.get("adjust_for", {})
    if not isinstance(adjust, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in adjust.items()):
        raise ConfigError(
            f"config: '{where}.adjust_for' must map exposure label -> beta column of the table "
            f"(e.g. {{hdl: hdlc}}), got {adjust!r}"
        )
    exp = str(entry.get("exposure_name") or "")
    if exp and exp in adjust:
        raise ConfigError(f"config: '{where}.adjust_for' repeats the main exposure {exp!r}; list only the others")


def check_adjust_traits(entry: Mapping[str, Any], where: str) -> None:
    """Check ``adjust_for`` of a GWAS pair: a non-empty list of distinct traits, neither the exposure nor the
    outcome, and no ``bidirectional`` (the reverse direction needs its own adjusting traits)."""
    adjust = entry["adjust_for"]
    if not isinstance(adjust, list) or not adjust or not all(isinstance(t, str) for t in adjust):
        raise ConfigError(
            f"config: '{where}.adjust_for' of a GWAS pair must be a list of gwas traits (e.g. [bmi, height]), "
            f"got {adjust!r}"
        )
    if len(set(adjust)) < len(adjust):
        raise ConfigError(f"config: '{where}.adjust_for' lists a trait twice: {adjust}")
    own = sorted(str(t) for t in {entry.get("exposure"), entry.get("outcome")} & set(adjust))
    if own:
        raise ConfigError(f"config: '{where}.adjust_for' lists the pair's own exposure/outcome {own}; list only "
                          "the other exposures")
    if entry.get("bidirectional"):
        raise ConfigError(f"config: '{where}' combines adjust_for with bidirectional; give the reverse direction "
                          "as its own mr entry with its own adjust_for")


def adjust_columns(spec: Mapping[str, Any]) -> dict[str, str]:
    """``adjust_for`` of a ``harmonised:`` pair: exposure label -> beta column (empty when univariable or a GWAS
    pair)."""
    if "harmonised" not in spec:
        return {}
    return dict(spec.get("adjust_for") or {})


def adjust_traits(spec: Mapping[str, Any]) -> list[str]:
    """``adjust_for`` of a GWAS pair: the adjusting traits (empty when univariable or a ``harmonised:`` pair)."""
    if "harmonised" in spec:
        return []
    return list(spec.get("adjust_for") or [])

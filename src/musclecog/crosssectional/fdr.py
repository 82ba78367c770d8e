"""The Benjamini-Hochberg families of a ``regression`` analysis (key ``fdr_family``).

``all_outcomes`` (the default): the p-values of every outcome of the analysis for the same term, within
model (covariate set), weighting and stratum, linear and logistic outcomes together: the outcomes are one
family of questions about the exposure. ``by_method``: within method (model x weighting x
linear/logistic/mixed), stratum and term, so that linear and logistic outcomes are corrected separately
(the behaviour before issue 11, in which a single logistic outcome was a family of one). The adjustment
is :func:`musclecog.core.results.apply_fdr` (R's ``p.adjust(p, "BH")``); the ``fdr_family`` column says
which outcomes each row was corrected with.
"""

from __future__ import annotations

from collections.abc import Hashable
from types import MappingProxyType

import numpy as np

from musclecog.core.results import Estimate, apply_fdr
from musclecog.errors import ConfigError

FDR_FAMILIES = {
    "all_outcomes": "term, model, weighting, stratum",
    "by_method": "term, method, stratum",
}
"""``fdr_family`` -> what the outcomes of one Benjamini-Hochberg family share (the schema's enum)."""


def fdr_family_key(estimate: Estimate, fdr_family: str) -> Hashable:
    """The Benjamini-Hochberg family of a regression estimate.

    ``all_outcomes``: every outcome for the same term within model, weighting and stratum (linear and
    logistic outcomes together); ``by_method``: within method (model x weighting x linear/logistic/mixed),
    stratum and term.
    """
    if fdr_family == "by_method":
        return (estimate.method, estimate.stratum, estimate.term)
    weighted = estimate.method.startswith("survey-weighted")
    return (estimate.extra.get("model"), weighted, estimate.stratum, estimate.term)


def add_fdr(estimates: list[Estimate], fdr_family: str) -> list[Estimate]:
    """Benjamini-Hochberg ``p_fdr`` within each family and the ``fdr_family`` column that describes it.

    Parameters
    ----------
    estimates : list of Estimate
        The rows of a ``regression`` analysis (note rows without a p-value take part with NaN: their
        ``p_fdr`` is NaN and they do not count in the family).
    fdr_family : {"all_outcomes", "by_method"}
        The analysis' ``fdr_family`` key (see :func:`fdr_family_key`).

    Returns
    -------
    list of Estimate
        The same rows with ``p_fdr`` and ``extra["fdr_family"]`` (e.g. ``"3 outcomes (a, b, c); same
        term, model, weighting, stratum"``: the outcomes with a p-value in the row's family).
    """
    if fdr_family not in FDR_FAMILIES:
        raise ConfigError(f"fdr_family is {fdr_family!r}; use one of {', '.join(FDR_FAMILIES)}")
    adjusted = apply_fdr(estimates, lambda e: fdr_family_key(e, fdr_family))
    members: dict[Hashable, list[str]] = {}
    for e in adjusted:
        if np.isfinite(e.p_value):
            members.setdefault(fdr_family_key(e, fdr_family), []).append(e.outcome)
    out = []
    for e in adjusted:
        outcomes = list(dict.fromkeys(members.get(fdr_family_key(e, fdr_family), [])))
        text = f"{len(outcomes)} outcome{'s' if len(outcomes) != 1 else ''}"
        text += f" ({', '.join(outcomes)}); same {FDR_FAMILIES[fdr_family]}" if outcomes else ""
        out.append(e.replace(extra=MappingProxyType({**e.extra, "fdr_family": text})))
    return out

"""The graph of a recursive path model: causal order, directed paths, and direct / indirect / total effects.

Direct, indirect and total effects follow from the coefficient matrix ``B`` (``B[i, j]`` = effect of variable
j in the equation of variable i): total effects ``(I - B)^-1 - I``, indirect = total - direct (Bollen 1987); a
specific indirect effect is the product of the coefficients along its path. All are vectorised over leading
(resample) axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from musclecog.core.results import FitResult
from musclecog.errors import ConfigError
from musclecog.mediation.frame import Equation


def path_coefficients(
    equations: Sequence[Equation], fits: Mapping[str, FitResult]
) -> dict[tuple[str, str], float]:
    """``(outcome, predictor) -> coefficient`` of every path, from the fits keyed by outcome."""
    return {(eq.outcome, p): float(fits[eq.outcome].params[p]) for eq in equations for p in eq.predictors}


def causal_order(equations: Sequence[Equation], source: str) -> list[str]:
    """Variables in a causal order (parents first); a cycle or a self-loop is a config error."""
    parents = {eq.outcome: list(eq.predictors) for eq in equations}
    for out, preds in parents.items():
        if out in preds:
            raise ConfigError(f"{source}.equations.{out}: '{out}' cannot predict itself")
        if not preds:
            raise ConfigError(f"{source}.equations.{out}: give at least one predictor")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(v: str, trail: list[str]) -> None:
        if state.get(v) == 1:
            raise ConfigError(
                f"{source}.equations: the model is not recursive (cycle {' -> '.join([*trail, v])}); "
                "only recursive path models (no feedback loops) are supported"
            )
        if state.get(v) == 2:
            return
        state[v] = 1
        for p in parents.get(v, []):
            visit(p, [*trail, v])
        state[v] = 2
        order.append(v)

    for v in list(parents):
        visit(v, [])
    return order


def effect_matrix(
    variables: Sequence[str], coefs: Mapping[tuple[str, str], np.ndarray | float]
) -> np.ndarray:
    """Direct-effect matrices ``B`` (..., k, k) from coefficients; ``B[i, j]``: j -> i."""
    k = len(variables)
    first = next(iter(coefs.values()), 0.0)
    shape = np.shape(first)
    B = np.zeros((*shape, k, k))
    pos = {v: i for i, v in enumerate(variables)}
    for (out, pred), value in coefs.items():
        B[..., pos[out], pos[pred]] = value
    return B


def total_effects(B: np.ndarray) -> np.ndarray:
    """Total effects ``(I - B)^-1 - I`` of a recursive model (batched over leading axes)."""
    k = B.shape[-1]
    eye = np.eye(k)
    return np.linalg.inv(eye - B) - eye


def simple_paths(equations: Sequence[Equation], source: str, target: str) -> list[tuple[str, ...]]:
    """Every directed path from ``source`` to ``target`` through the equations (at least one step)."""
    parents: dict[str, list[str]] = {}
    for eq in equations:
        parents.setdefault(eq.outcome, []).extend(eq.predictors)
    out: list[tuple[str, ...]] = []

    def walk(node: str, trail: tuple[str, ...]) -> None:
        for par in parents.get(node, []):
            if par == source:
                out.append((source, *trail))
            elif par not in trail:
                walk(par, (par, *trail))

    walk(target, (target,))
    return sorted(out, key=lambda p: (len(p), p))


def path_product(path: Sequence[str], coefs: Mapping[tuple[str, str], np.ndarray | float]) -> np.ndarray:
    """Product of the coefficients along a path (vectorised over resamples)."""
    prod: np.ndarray = np.asarray(1.0)
    for frm, to in zip(path[:-1], path[1:], strict=True):
        prod = prod * np.asarray(coefs[(to, frm)])
    return prod

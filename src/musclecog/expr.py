"""The derivation language of ``derive: [{name: ..., expr: ...}]``: a small, whitelisted expression language.

An expression is parsed with Python's :mod:`ast` (``mode="eval"``) and every node is checked against a
whitelist before anything is evaluated; nothing is ever passed to ``eval``, ``exec`` or ``compile``. The
checked tree is then evaluated column-wise with numpy / pandas (no loop over rows). The language
(``docs/ingest.md``, section "Expressions", is the user's reference):

* numbers (``2011``, ``0.5``, ``inf``), text in quotes (``'female'``), ``True`` / ``False``, column names;
* arithmetic ``+ - * / ** // %`` and unary ``-``; comparisons ``== != < <= > >=`` (chains such as
  ``60 <= age < 70``), ``x in [1, 2]`` / ``x not in [...]``; ``and``, ``or``, ``not`` (three-valued, as R's
  ``&``, ``|``, ``!``: ``False and <missing>`` is False, ``True or <missing>`` is True);
* row-wise functions: ``log``, ``exp``, ``sqrt``, ``abs``, ``round(x, digits=0)``, ``clip(x, lo, hi)``,
  ``min(a, b, ..., min_present=k)``, ``max(...)``, ``where(cond, a, b)``, ``cut(x, [breaks], [labels])``;
* sample-wise functions (they depend on which rows are in the table): ``zscore(x, by=g)``,
  ``quantile_group(x, k, by=g)``;
* per-person functions on long tables (``id`` and ``wave``): ``baseline(x, wave=k)``, ``change(x, wave=k)``,
  ``lag(x, n=1)``, ``time_since(t, origin)``.

A missing input gives a missing result (except where a rule says otherwise: ``min_present``, the
three-valued ``and``/``or``). An operation with no finite result (division by zero, ``log`` of a number
<= 0, ``sqrt`` of a negative number, an overflowing ``exp``) gives a missing value, never ``inf``.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, show_values

MAX_LENGTH = 2000
"""Longest expression accepted (characters)."""


@dataclass(frozen=True)
class Function:
    """One function of the language: its arguments, keywords and stage."""

    name: str
    min_args: int
    max_args: int | None  # None: any number (min, max)
    keywords: tuple[str, ...]
    stage: str  # "row", "person" or "sample"
    usage: str


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("abs", 1, 1, (), "row", "abs(x)"),
        Function("exp", 1, 1, (), "row", "exp(x)"),
        Function("log", 1, 1, (), "row", "log(x) (natural logarithm)"),
        Function("sqrt", 1, 1, (), "row", "sqrt(x)"),
        Function("round", 1, 2, ("digits",), "row", "round(x, digits=0)"),
        Function("clip", 3, 3, (), "row", "clip(x, lo, hi)"),
        Function("min", 2, None, ("min_present",), "row", "min(a, b, ..., min_present=k)"),
        Function("max", 2, None, ("min_present",), "row", "max(a, b, ..., min_present=k)"),
        Function("where", 3, 3, (), "row", "where(condition, if_true, if_false)"),
        Function("cut", 2, 3, ("labels", "right"), "row", "cut(x, [breaks], [labels], right=False)"),
        Function("zscore", 1, 1, ("by",), "sample", "zscore(x, by=group)"),
        Function("quantile_group", 2, 2, ("by",), "sample", "quantile_group(x, k, by=group)"),
        Function("baseline", 1, 1, ("wave",), "person", "baseline(x, wave=k)"),
        Function("change", 1, 1, ("wave",), "person", "change(x, wave=k)"),
        Function("lag", 1, 1, ("n",), "person", "lag(x, n=1)"),
        Function("time_since", 1, 2, ("wave",), "person", "time_since(t, origin) or time_since(t, wave=k)"),
    )
}
"""The whitelist of callable names."""

CONSTANTS: dict[str, float] = {"inf": float("inf")}

_BINOPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%",
}
_CMPOPS: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in",
}
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]' after a value)",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.IfExp: "'a if c else b' (use where(c, a, b))",
    ast.NamedExpr: "assignment (':=')",
    ast.Starred: "'*' unpacking",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple",
    ast.JoinedStr: "an f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def language_summary() -> str:
    """One line naming everything the language allows (used in every error message)."""
    return (
        "The language has numbers, 'text', True/False, inf, column names, + - * / ** // %, comparisons "
        "(== != < <= > >=, in [...]), and/or/not, and the functions "
        + ", ".join(f.usage for f in FUNCTIONS.values())
        + " (docs/ingest.md, 'Expressions')."
    )


class ExpressionError(ConfigError):
    """An expression is not in the language, or names an unknown column or function."""


def _caret(expr: str, col: int) -> str:
    return f"\n    {expr}\n    {' ' * max(col, 0)}^"


@dataclass(frozen=True)
class Expression:
    """A parsed, whitelisted expression.

    Attributes
    ----------
    text : str
        The expression as written.
    where : str
        Its config key (for messages).
    tree : ast.Expression
        The checked syntax tree.
    columns : tuple of str
        Every column name it reads, in order of appearance.
    functions : tuple of str
        Every function it calls.
    """

    text: str
    where: str
    tree: ast.Expression = field(repr=False)
    columns: tuple[str, ...]
    functions: tuple[str, ...]

    @property
    def stage(self) -> str:
        """``"sample"`` if it calls a sample-wise function, ``"person"`` if a per-person one, else ``"row"``."""
        stages = {FUNCTIONS[f].stage for f in self.functions}
        return "sample" if "sample" in stages else "person" if "person" in stages else "row"

    def error(self, message: str, node: ast.AST | None = None) -> ExpressionError:
        """An :class:`ExpressionError` naming the key, the expression and the position of ``node``."""
        col = getattr(node, "col_offset", None)
        pos = f" at column {col + 1}" if col is not None else ""
        return ExpressionError(
            f"config: '{self.where}' = {self.text!r}: {message}{pos}."
            + (_caret(self.text, col) if col is not None else "")
        )

    def check_columns(self, available: Sequence[str]) -> None:
        """Every column it reads exists (else an error listing close matches)."""
        cols = list(map(str, available))
        callees = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        for node in ast.walk(self.tree):
            if id(node) in callees:
                continue
            if isinstance(node, ast.Name) and node.id not in cols and node.id not in CONSTANTS:
                close = difflib.get_close_matches(node.id, cols, n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                raise self.error(f"unknown column {node.id!r}{hint}. Columns: {show_values(sorted(cols), 40)}", node)


def parse(text: str, where: str) -> Expression:
    """Parse and check an expression against the whitelist.

    Parameters
    ----------
    text : str
        The expression (e.g. ``"2011 - birthyr"``).
    where : str
        Its config key, e.g. ``"cohorts.charls.derive[0].expr"``.

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        A syntax error, or any construct outside the language, with its position and what is allowed.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"config: '{where}' is {text!r}; write an expression such as \"2011 - birthyr\".")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"config: '{where}' is {len(text)} characters long; at most {MAX_LENGTH}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = (err.offset or 1) - 1
        raise ExpressionError(
            f"config: '{where}' = {text!r}: not a valid expression ({err.msg}) at column {col + 1}. "
            + language_summary() + _caret(text.strip(), col)
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"config: '{where}' = {text!r}: too deeply nested or not parseable.") from None
    text = text.strip()
    probe = Expression(text, where, tree, (), ())
    columns: list[str] = []
    functions: list[str] = []
    _check(tree.body, probe, columns, functions, list_ok=False)
    return Expression(text, where, tree, tuple(dict.fromkeys(columns)), tuple(dict.fromkeys(functions)))


def _check(node: ast.AST, e: Expression, columns: list[str], functions: list[str], list_ok: bool) -> None:  # noqa: C901
    """Walk the tree; refuse every node type outside the language."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str) and not isinstance(node.value, complex):
            return
        raise e.error(f"the constant {node.value!r} is not allowed (numbers, 'text', True/False only)", node)
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise e.error(f"the name {node.id!r} is not allowed (dunder names)", node)
        if node.id in FUNCTIONS:
            raise e.error(f"{node.id!r} is a function; call it, e.g. {FUNCTIONS[node.id].usage}", node)
        if node.id not in CONSTANTS:
            columns.append(node.id)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise e.error(f"the operator {type(node.op).__name__} is not allowed (+ - * / ** // % only)", node)
        _check(node.left, e, columns, functions, False)
        _check(node.right, e, columns, functions, False)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise e.error("the operator '~' is not allowed (use not)", node)
        _check(node.operand, e, columns, functions, False)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, e, columns, functions, False)
        return
    if isinstance(node, ast.Compare):
        if any(type(op) not in _CMPOPS for op in node.ops):
            raise e.error("'is' / 'is not' are not allowed (use == and !=)", node)
        _check(node.left, e, columns, functions, False)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List):
                    raise e.error("'in' needs a list of constants, e.g. education in [1, 2]", right)
                _check_constant_list(right, e)
            else:
                _check(right, e, columns, functions, False)
        return
    if isinstance(node, ast.List):
        if not list_ok:
            raise e.error("a list is allowed only as cut()'s breaks or labels or after 'in'", node)
        _check_constant_list(node, e)
        return
    if isinstance(node, ast.Call):
        _check_call(node, e, columns, functions)
        return
    what = _REFUSED.get(type(node), f"the construct {type(node).__name__}")
    raise e.error(f"{what} is not allowed. " + language_summary().rstrip("."), node)


def _check_constant_list(node: ast.List, e: Expression) -> None:
    for item in node.elts:
        if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub | ast.UAdd):
            item = item.operand
        if isinstance(item, ast.Name) and item.id in CONSTANTS:
            continue
        if not isinstance(item, ast.Constant) or not isinstance(item.value, int | float | str):
            raise e.error("a list may hold only numbers or 'text'", item)


def _check_call(node: ast.Call, e: Expression, columns: list[str], functions: list[str]) -> None:
    if not isinstance(node.func, ast.Name):
        what = "attribute access ('.')" if isinstance(node.func, ast.Attribute) else "calling the result of an expression"
        raise e.error(f"{what} is not allowed; call one of {', '.join(FUNCTIONS)}", node)
    name = node.func.id
    if name not in FUNCTIONS:
        close = difflib.get_close_matches(name, list(FUNCTIONS), n=2)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise e.error(f"unknown function {name!r}{hint}; allowed: {', '.join(FUNCTIONS)}", node)
    f = FUNCTIONS[name]
    functions.append(name)
    n = len(node.args)
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise e.error(f"'*'/'**' unpacking is not allowed in {name}(); write {f.usage}", node)
    if n < f.min_args or (f.max_args is not None and n > f.max_args):
        raise e.error(f"{name}() takes {f.usage}; got {n} positional argument(s)", node)
    for k in node.keywords:
        if k.arg not in f.keywords:
            allowed = ", ".join(f.keywords) if f.keywords else "none"
            raise e.error(f"{name}() has no keyword {k.arg!r} (keywords: {allowed}); write {f.usage}", k.value)
    for i, a in enumerate(node.args):
        _check(a, e, columns, functions, list_ok=(name == "cut" and i in (1, 2)))
    for k in node.keywords:
        if k.arg == "by" and isinstance(k.value, ast.List):  # by=[sex, centre]: several grouping expressions
            for item in k.value.elts:
                _check(item, e, columns, functions, list_ok=False)
            continue
        _check(k.value, e, columns, functions, list_ok=(name == "cut" and k.arg == "labels"))


# --------------------------------------------------------------------------------------------------
# values


@dataclass
class Value:
    """An evaluated (sub)expression: ``num`` (float, NaN missing), ``bool`` (0/1 float, NaN missing) or
    ``text`` (object, None missing; ``categories`` in order where they are known, e.g. from ``cut``)."""

    kind: str
    data: np.ndarray
    categories: tuple[str, ...] | None = None
    integer: bool = False
    #: what the evaluation did that a reader should know (e.g. rows computed from fewer inputs than given)
    notes: tuple[str, ...] = ()

    def missing(self) -> np.ndarray:
        """Boolean mask of missing values."""
        if self.kind == "text":
            return np.asarray(pd.isna(self.data), bool)
        return np.isnan(self.data)

    def to_series(self, index: pd.Index, name: str) -> pd.Series:
        """The value as a table column: float, nullable Int8 flags, nullable Int64, text or categorical."""
        if self.kind == "bool":
            return pd.Series(pd.array(np.where(self.missing(), pd.NA, self.data), dtype="Int8"), index=index, name=name)
        if self.kind == "text":
            if self.categories is not None:
                return pd.Series(pd.Categorical(self.data, categories=list(self.categories), ordered=True),
                                 index=index, name=name)
            return pd.Series(self.data, index=index, name=name, dtype=object)
        if self.integer:
            return pd.Series(pd.array(np.where(self.missing(), pd.NA, self.data), dtype="Int64"), index=index, name=name)
        return pd.Series(self.data, index=index, name=name)


def _from_series(s: pd.Series) -> Value:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = tuple(map(str, s.cat.categories))
        data = np.asarray(s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v)), dtype=object)
        return Value("text", data, cats if s.cat.ordered else None)
    if pd.api.types.is_bool_dtype(s):
        return Value("bool", s.to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(s):
        return Value("num", s.to_numpy(dtype=float, na_value=np.nan), integer=pd.api.types.is_integer_dtype(s))
    return Value("text", np.asarray(s.astype(object).where(s.notna(), None), dtype=object))


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.nan)


@dataclass
class Context:
    """What an evaluation reads: the table and, for per-person and sample-wise functions, its keys.

    ``reference`` marks the rows whose mean and SD define a z-score (the first wave of a long table,
    else every row).
    """

    data: pd.DataFrame
    expression: Expression
    cache: dict[str, Value] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.data)

    def column(self, name: str) -> Value:
        if name not in self.cache:
            self.cache[name] = _from_series(self.data[name])
        return self.cache[name]

    def keys(self, node: ast.AST, func: str) -> tuple[np.ndarray, np.ndarray]:
        missing = [k for k in ("id", "wave") if k not in self.data.columns]
        if missing:
            raise self.expression.error(
                f"{func}() works on long tables (one row per person x wave) and needs the column(s) "
                f"{', '.join(missing)}; map them (cohorts.<name>.wave) or use a row-wise expression", node)
        wave = pd.to_numeric(self.data["wave"], errors="coerce").to_numpy(float)
        if np.isnan(wave).any():
            raise DataError(f"{self.expression.where}: {func}() needs a wave number in every row; "
                            f"'wave' is missing or not numeric in {int(np.isnan(wave).sum())} rows.")
        return self.data["id"].to_numpy(), wave

    def reference(self) -> np.ndarray:
        if "wave" in self.data.columns:
            w = pd.to_numeric(self.data["wave"], errors="coerce")
            return (w == w.min()).to_numpy(bool)
        return np.ones(self.n, bool)


def evaluate(expr: Expression, data: pd.DataFrame) -> Value:
    """Evaluate a parsed expression on a table (column-wise; no loop over rows).

    Raises
    ------
    ExpressionError
        A type error (e.g. arithmetic on text), a wrong argument, an unknown column.
    DataError
        A data problem (a z-score of a constant, quantile breaks that are not unique).
    """
    expr.check_columns(list(data.columns))
    ctx = Context(data, expr)
    with np.errstate(all="ignore"):
        out = _eval(expr.tree.body, ctx)
    return replace(out, notes=tuple(ctx.notes)) if ctx.notes else out


def _num(v: Value, node: ast.AST, ctx: Context, what: str) -> np.ndarray:
    if v.kind == "text":
        src = ast.get_source_segment(ctx.expression.text, node) or "a value"
        raise ctx.expression.error(f"{what} needs numbers, but {src!r} is text (e.g. compare it: sex == 'female')", node)
    return v.data


def _const(node: ast.AST) -> Any:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _const(node.operand)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    return None


def _int_const(node: ast.AST, ctx: Context, func: str, what: str, lo: int) -> int:
    v = _const(node)
    if isinstance(v, bool) or not isinstance(v, int | float) or float(v) != int(v) or int(v) < lo:
        raise ctx.expression.error(f"{func}(): {what} must be a whole number >= {lo}", node)
    return int(v)


def _eval(node: ast.AST, ctx: Context) -> Value:  # noqa: C901
    n = ctx.n
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return Value("bool", np.full(n, float(node.value)))
        if isinstance(node.value, str):
            return Value("text", np.full(n, node.value, dtype=object))
        assert isinstance(node.value, int | float)  # parse() admits no other constant
        return Value("num", np.full(n, float(node.value)), integer=isinstance(node.value, int))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS and node.id not in ctx.data.columns:
            return Value("num", np.full(n, CONSTANTS[node.id]))
        return ctx.column(node.id)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, ctx)
        if isinstance(node.op, ast.Not):
            return Value("bool", _logical_not(_truth(v, node.operand, ctx)))
        x = _num(v, node.operand, ctx, "a sign")
        return Value("num", -x if isinstance(node.op, ast.USub) else x, integer=v.integer)
    if isinstance(node, ast.BinOp):
        return _binop(node, ctx)
    if isinstance(node, ast.BoolOp):
        truths = [_truth(_eval(v, ctx), v, ctx) for v in node.values]
        acc = truths[0]
        for t in truths[1:]:
            acc = _kleene_and(acc, t) if isinstance(node.op, ast.And) else _kleene_or(acc, t)
        return Value("bool", acc)
    if isinstance(node, ast.Compare):
        return _compare(node, ctx)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _CALLS[node.func.id](node, ctx)
    raise ctx.expression.error(f"{type(node).__name__} is not allowed", node)  # unreachable after parse()


def _binop(node: ast.BinOp, ctx: Context) -> Value:
    left, right = _eval(node.left, ctx), _eval(node.right, ctx)
    sym = _BINOPS[type(node.op)]
    a = _num(left, node.left, ctx, f"'{sym}'")
    b = _num(right, node.right, ctx, f"'{sym}'")
    ops: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power,
        "//": np.floor_divide, "%": np.mod,
    }
    out = ops[sym](a, b)
    out = np.where(b == 0, np.nan, out) if sym in ("/", "//", "%") else out
    integer = left.integer and right.integer and sym in ("+", "-", "*", "//", "%")
    return Value("num", _finite(out), integer=integer)


def _truth(v: Value, node: ast.AST, ctx: Context) -> np.ndarray:
    """A condition as 1/0/NaN (numbers: non-zero is true)."""
    if v.kind == "text":
        src = ast.get_source_segment(ctx.expression.text, node) or "a value"
        raise ctx.expression.error(f"{src!r} is text, not a condition; compare it, e.g. sex == 'female'", node)
    return np.where(np.isnan(v.data), np.nan, (v.data != 0).astype(float))


def _logical_not(a: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(a), np.nan, 1.0 - a)


def _kleene_and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.where(np.isnan(a) | np.isnan(b), np.nan, a * b)
    return np.where((a == 0) | (b == 0), 0.0, out)


def _kleene_or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.where(np.isnan(a) | np.isnan(b), np.nan, np.maximum(a, b))
    return np.where((a == 1) | (b == 1), 1.0, out)


def _compare(node: ast.Compare, ctx: Context) -> Value:
    left = _eval(node.left, ctx)
    acc = np.ones(ctx.n)
    left_node: ast.AST = node.left
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        sym = _CMPOPS[type(op)]
        if sym in ("in", "not in"):
            assert isinstance(right_node, ast.List)
            items = [_const(x) for x in right_node.elts]
            res = _isin(left, items, left_node, ctx)
            if sym == "not in":
                res = _logical_not(res)
            acc = _kleene_and(acc, res)
            continue
        right = _eval(right_node, ctx)
        if (left.kind == "text") != (right.kind == "text"):
            which = left_node if left.kind == "text" else right_node
            src = ast.get_source_segment(ctx.expression.text, which) or "a value"
            raise ctx.expression.error(
                f"'{sym}' compares text ({src!r}) with a number; compare text with text ('female') and numbers "
                "with numbers", node)
        miss = left.missing() | right.missing()
        if left.kind == "text":
            if sym not in ("==", "!="):
                raise ctx.expression.error(f"text can only be compared with == or != (not '{sym}')", node)
            eq = np.asarray(left.data == right.data, bool)
            res = (eq if sym == "==" else ~eq).astype(float)
        else:
            a, b = left.data, right.data
            res = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[sym].astype(float)
        acc = _kleene_and(acc, np.where(miss, np.nan, res))
        left, left_node = right, right_node
    return Value("bool", acc)


def _isin(v: Value, items: list[Any], node: ast.AST, ctx: Context) -> np.ndarray:
    texts = [i for i in items if isinstance(i, str)]
    if v.kind == "text":
        if len(texts) != len(items):
            raise ctx.expression.error("'in' compares text with a list of numbers; quote the items", node)
        res = np.isin(v.data.astype(str), texts).astype(float)
    else:
        if texts:
            raise ctx.expression.error("'in' compares numbers with a list holding text; give numbers", node)
        res = np.isin(v.data, np.asarray(items, float)).astype(float)
    return np.where(v.missing(), np.nan, res)


# --------------------------------------------------------------------------------------------------
# functions


def _kw(node: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[ast.Call, Context], Value]:
    def call(node: ast.Call, ctx: Context) -> Value:
        assert isinstance(node.func, ast.Name)
        v = _eval(node.args[0], ctx)
        x = _num(v, node.args[0], ctx, f"{node.func.id}()")
        return Value("num", _finite(fn(x)), integer=v.integer and node.func.id == "abs")
    return call


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.where(x > 0, x, np.nan))


def _sqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.where(x >= 0, x, np.nan))


def _round(node: ast.Call, ctx: Context) -> Value:
    x = _num(_eval(node.args[0], ctx), node.args[0], ctx, "round()")
    dnode = node.args[1] if len(node.args) > 1 else _kw(node, "digits")
    digits = 0
    if dnode is not None:
        d = _const(dnode)
        if isinstance(d, bool) or not isinstance(d, int):
            raise ctx.expression.error("round(): digits must be a whole number, e.g. round(x, 1)", dnode)
        digits = d
    return Value("num", np.round(x, digits), integer=digits <= 0)


def _clip(node: ast.Call, ctx: Context) -> Value:
    v = _eval(node.args[0], ctx)
    x = _num(v, node.args[0], ctx, "clip()")
    lo = _num(_eval(node.args[1], ctx), node.args[1], ctx, "clip()")
    hi = _num(_eval(node.args[2], ctx), node.args[2], ctx, "clip()")
    bad = ~np.isnan(lo) & ~np.isnan(hi) & (lo > hi)
    if bad.any():
        raise ctx.expression.error("clip(x, lo, hi): lo is above hi", node)
    out = np.where(np.isnan(lo) | np.isnan(hi), np.nan, np.minimum(np.maximum(x, lo), hi))
    return Value("num", out)


def _extreme(node: ast.Call, ctx: Context) -> Value:
    assert isinstance(node.func, ast.Name)
    name = node.func.id
    vals = [_eval(a, ctx) for a in node.args]
    stack = np.vstack([_num(v, a, ctx, f"{name}()") for v, a in zip(vals, node.args, strict=True)])
    k = len(node.args)
    knode = _kw(node, "min_present")
    if knode is not None:
        k = _int_const(knode, ctx, name, "min_present", 1)
        if k > len(node.args):
            raise ctx.expression.error(f"{name}(): min_present={k} is more than its {len(node.args)} arguments", knode)
    present = (~np.isnan(stack)).sum(axis=0)
    partial = int(((present >= k) & (present < len(node.args))).sum())
    if partial:
        src = ast.get_source_segment(ctx.expression.text, node) or name
        ctx.notes.append(f"{src}: {partial} rows from fewer than all {len(node.args)} values (min_present={k})")
    red = np.fmax.reduce(stack, axis=0) if name == "max" else np.fmin.reduce(stack, axis=0)
    return Value("num", np.where(present >= k, red, np.nan), integer=all(v.integer for v in vals))


def _where(node: ast.Call, ctx: Context) -> Value:
    cond = _truth(_eval(node.args[0], ctx), node.args[0], ctx)
    a, b = _eval(node.args[1], ctx), _eval(node.args[2], ctx)
    if (a.kind == "text") != (b.kind == "text"):
        raise ctx.expression.error("where(c, a, b): a and b must both be numbers or both text", node)
    pick = cond == 1
    if a.kind == "text":
        out = np.where(pick, a.data, b.data).astype(object)
        out[np.isnan(cond)] = None
        cats = tuple(dict.fromkeys((a.categories or ()) + (b.categories or ()))) if a.categories or b.categories else None
        return Value("text", out, cats)
    out = np.where(np.isnan(cond), np.nan, np.where(pick, a.data, b.data))
    kind = "bool" if a.kind == b.kind == "bool" else "num"
    return Value(kind, out, integer=a.integer and b.integer)


def _fmt(x: float) -> str:
    return "inf" if x == np.inf else "-inf" if x == -np.inf else f"{x:g}"


def _cut(node: ast.Call, ctx: Context) -> Value:
    x = _num(_eval(node.args[0], ctx), node.args[0], ctx, "cut()")
    bnode = node.args[1]
    if not isinstance(bnode, ast.List):
        raise ctx.expression.error("cut(x, [breaks], [labels]): breaks must be a list of numbers, e.g. [40, 50, 60]", bnode)
    breaks = [_const(b) for b in bnode.elts]
    if len(breaks) < 2 or any(isinstance(b, str | bool) for b in breaks):
        raise ctx.expression.error("cut(): breaks must be at least two numbers", bnode)
    edges = np.asarray(breaks, float)
    if np.any(np.diff(edges) <= 0):
        raise ctx.expression.error(f"cut(): breaks must increase strictly; got {breaks}", bnode)
    rnode = _kw(node, "right")
    right = False
    if rnode is not None:
        r = _const(rnode)
        if not isinstance(r, bool):
            raise ctx.expression.error("cut(): right must be True or False", rnode)
        right = r
    lnode = node.args[2] if len(node.args) > 2 else _kw(node, "labels")
    if lnode is None:
        labels = [
            (f"({_fmt(lo)},{_fmt(hi)}]" if right else f"[{_fmt(lo)},{_fmt(hi)})")
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
    else:
        if not isinstance(lnode, ast.List) or not all(isinstance(_const(x_), str) for x_ in lnode.elts):
            raise ctx.expression.error("cut(): labels must be a list of 'text', one per interval", lnode)
        labels = [str(_const(x_)) for x_ in lnode.elts]
        if len(labels) != len(edges) - 1 or len(set(labels)) != len(labels):
            raise ctx.expression.error(
                f"cut(): {len(edges)} breaks make {len(edges) - 1} intervals, so give {len(edges) - 1} distinct "
                f"labels (got {len(labels)})", lnode)
    # left-closed [b_i, b_{i+1}) (R: right = FALSE), or right-closed (b_i, b_{i+1}] with right=True
    idx = np.searchsorted(edges, x, side="left" if right else "right") - 1
    inside = (idx >= 0) & (idx < len(labels)) & ~np.isnan(x)
    if right:
        inside &= x > edges[0]
    out = np.full(ctx.n, None, dtype=object)
    lab = np.asarray(labels, dtype=object)
    out[inside] = lab[idx[inside]]
    return Value("text", out, tuple(labels))


def _groups(node: ast.Call, ctx: Context) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Group codes (-1 where any by-value is missing), number of groups, group labels."""
    bnode = _kw(node, "by")
    if bnode is None:
        return np.zeros(ctx.n, np.int64), np.ones(ctx.n, bool), ["all rows"]
    parts = bnode.elts if isinstance(bnode, ast.List) else [bnode]
    frames = {}
    for i, p in enumerate(parts):
        v = _eval(p, ctx)
        frames[f"g{i}"] = pd.Series(v.data, dtype=object).where(~pd.Series(v.missing()), None)
    keys = pd.DataFrame(frames)
    ok = keys.notna().all(axis=1).to_numpy()
    codes, uniques = pd.MultiIndex.from_frame(keys.astype(str)).factorize()
    codes = np.where(ok, codes, -1)
    labels = [" / ".join(map(str, u)) for u in uniques]
    return codes, ok, labels


def _zscore(node: ast.Call, ctx: Context) -> Value:
    x = _num(_eval(node.args[0], ctx), node.args[0], ctx, "zscore()")
    codes, ok, labels = _groups(node, ctx)
    ref = ctx.reference() & ok & ~np.isnan(x)
    s = pd.Series(x[ref])
    g = codes[ref]
    mean = s.groupby(g).mean()
    sd = s.groupby(g).std(ddof=1)
    count = s.groupby(g).size()
    out = np.full(ctx.n, np.nan)
    for code in range(len(labels)):
        if code not in sd.index or not np.isfinite(sd[code]) or sd[code] == 0:
            cnt = int(count.get(code, 0))
            raise DataError(
                f"{ctx.expression.where}: zscore() cannot standardise {ctx.expression.text!r} in group "
                f"{labels[code]!r}: its SD is {sd.get(code, float('nan'))} over {cnt} reference rows. "
                "Check the column or the by= grouping.")
    m = codes >= 0
    out[m] = (x[m] - mean.reindex(codes[m]).to_numpy()) / sd.reindex(codes[m]).to_numpy()
    return Value("num", out)


def _quantile_group(node: ast.Call, ctx: Context) -> Value:
    x = _num(_eval(node.args[0], ctx), node.args[0], ctx, "quantile_group()")
    k = _int_const(node.args[1], ctx, "quantile_group", "k", 2)
    codes, ok, labels = _groups(node, ctx)
    out = np.full(ctx.n, np.nan)
    use = ok & ~np.isnan(x)
    probs = np.linspace(0.0, 1.0, k + 1)
    for code in np.unique(codes[use]):  # one pass per group (a handful), never per row
        m = use & (codes == code)
        br = np.quantile(x[m], probs)  # R's quantile(type = 7)
        if np.any(np.diff(br) <= 0):
            raise DataError(
                f"{ctx.expression.where}: quantile_group({ctx.expression.text!r}) in group {labels[code]!r}: "
                f"the {k}-quantile breaks {show_values([round(float(b), 6) for b in br], k + 1)} are not unique "
                f"(ties or only {int(m.sum())} values). Use fewer groups or cut() with your own breaks.")
        # R: cut(x, quantile(x, 0:k/k), include.lowest = TRUE, labels = FALSE)
        out[m] = np.searchsorted(br[1:-1], x[m], side="left") + 1
    return Value("num", out, integer=True)


def _order(ids: np.ndarray, wave: np.ndarray) -> np.ndarray:
    return np.lexsort((wave, pd.factorize(ids)[0]))


def _baseline_values(x: np.ndarray, node: ast.Call, ctx: Context, func: str) -> np.ndarray:
    ids, wave = ctx.keys(node, func)
    wnode = _kw(node, "wave")
    if wnode is not None:
        target = _const(wnode)
        if isinstance(target, bool | str) or not isinstance(target, int | float):
            raise ctx.expression.error(f"{func}(): wave must be a number, e.g. wave=1", wnode)
        at = wave == float(target)
        if not at.any():
            raise ctx.expression.error(
                f"{func}(): no row has wave == {target}; waves in the table: "
                f"{show_values(sorted(pd.unique(wave).tolist()), 10)}", wnode)
    person = pd.factorize(ids)[0]
    if wnode is None:
        at = wave == pd.Series(wave).groupby(person).transform("min").to_numpy()
    base = pd.Series(np.where(at, x, np.nan)).groupby(person).transform("max").to_numpy()
    return base  # one baseline row per id (id x wave is unique)


def _baseline(node: ast.Call, ctx: Context) -> Value:
    v = _eval(node.args[0], ctx)
    x = _num(v, node.args[0], ctx, "baseline()")
    return Value("num", _baseline_values(x, node, ctx, "baseline"), integer=v.integer)


def _change(node: ast.Call, ctx: Context) -> Value:
    v = _eval(node.args[0], ctx)
    x = _num(v, node.args[0], ctx, "change()")
    return Value("num", x - _baseline_values(x, node, ctx, "change"), integer=v.integer)


def _lag(node: ast.Call, ctx: Context) -> Value:
    v = _eval(node.args[0], ctx)
    x = _num(v, node.args[0], ctx, "lag()")
    ids, wave = ctx.keys(node, "lag")
    nnode = _kw(node, "n")
    k = 1 if nnode is None else _int_const(nnode, ctx, "lag", "n", 1)
    order = _order(ids, wave)
    codes = pd.factorize(ids)[0][order]
    shifted = pd.Series(x[order]).groupby(codes).shift(k).to_numpy(float)
    out = np.empty(ctx.n)
    out[order] = shifted
    return Value("num", out, integer=v.integer)


def _time_since(node: ast.Call, ctx: Context) -> Value:
    v = _eval(node.args[0], ctx)
    t = _num(v, node.args[0], ctx, "time_since()")
    if len(node.args) > 1:
        if _kw(node, "wave") is not None:
            raise ctx.expression.error("time_since(): give an origin or wave=, not both", node)
        o = _eval(node.args[1], ctx)
        return Value("num", t - _num(o, node.args[1], ctx, "time_since()"), integer=v.integer and o.integer)
    return Value("num", t - _baseline_values(t, node, ctx, "time_since"), integer=v.integer)


_CALLS: dict[str, Callable[[ast.Call, Context], Value]] = {
    "abs": _unary(np.abs),
    "exp": _unary(np.exp),
    "log": _unary(_log),
    "sqrt": _unary(_sqrt),
    "round": _round,
    "clip": _clip,
    "min": _extreme,
    "max": _extreme,
    "where": _where,
    "cut": _cut,
    "zscore": _zscore,
    "quantile_group": _quantile_group,
    "baseline": _baseline,
    "change": _change,
    "lag": _lag,
    "time_since": _time_since,
}
assert set(_CALLS) == set(FUNCTIONS)


def input_missing(expr: Expression, data: pd.DataFrame) -> np.ndarray:
    """Rows where any column the expression reads is missing."""
    if not expr.columns:
        return np.zeros(len(data), bool)
    return data[list(expr.columns)].isna().any(axis=1).to_numpy(bool)


def describe_missing(expr: Expression, data: pd.DataFrame, value: Value) -> tuple[int, int]:
    """(rows missing in the result, of which every input column was present: 'newly missing')."""
    miss = value.missing()
    return int(miss.sum()), int((miss & ~input_missing(expr, data)).sum())


"""LD proxies: an instrument missing from the outcome GWAS replaced by its best proxy from a local PLINK panel.

As TwoSampleMR's ``extract_outcome_data(proxies = TRUE, rsq = 0.8, align_alleles = 1, palindromes = 1,
maf_threshold = 0.3)`` (whose proxies come from the OpenGWAS server's 1000 Genomes EUR panel), but from the
user's own reference panel (PLINK 1 binary fileset, e.g. the 1000 Genomes EUR panel of ieugwasr's
``ld_clump_local``):

* candidates: the panel's variants on the target's chromosome within ``proxy_kb`` of it that the outcome GWAS
  has and that are not themselves instruments; LD r between the target and each candidate is the Pearson
  correlation of their allele counts over the panel's samples (missing genotypes excluded pair by pair), as
  PLINK 1.9's ``--r`` / ``--r2`` report it; candidates with r^2 >= ``proxy_r2`` are tried in decreasing r^2
  (ties: the nearer one, then panel order), and the first whose alleles can be aligned is used;
* phase: the target's allele A1 (``.bim`` column 5) is in phase with the proxy's A1 when r > 0 and with its A2
  when r < 0 (PLINK's ``--r2 in-phase``), giving ``target_a1/target_a2`` and the in-phase ``proxy_a1/proxy_a2``;
* alignment (the OpenGWAS server's ``proxy_alleles``): a non-palindromic proxy whose outcome alleles are
  ``(proxy_a1, proxy_a2)`` on either strand is ``straight`` (the outcome's effect allele becomes
  ``target_a1``), ``(proxy_a2, proxy_a1)`` is ``switch`` (it becomes ``target_a2``); an outcome with one
  allele only is matched on it; anything else is skipped. A palindromic proxy (A/T, C/G; only with
  ``proxy_palindromes``) is aligned by allele frequency: usable when the outcome's eaf and the panel's
  frequency are both outside [maf_threshold, 1 - maf_threshold], and the outcome's effect allele is the
  panel's allele on the same side of 0.5. (Where the outcome's allele label and its frequency disagree, the
  frequency decides; the OpenGWAS server keeps the label when eaf < maf_threshold.)

The outcome row of a proxy keeps its beta, se, eaf, p and sample size (as TwoSampleMR) under the target's id and
alleles, with ``proxy = True``, ``proxy_snp``, ``proxy_r2``, ``target_a1/a2``, ``proxy_a1/a2`` (``.outcome`` in
the harmonised table, TwoSampleMR's names). Instruments without a proxy are counted, by reason, in the flow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from musclecog.errors import ConfigError, DataError, show_values
from musclecog.filters import flow_row

COMPLEMENT = {"A": "T", "T": "A", "C": "G", "G": "C"}
PROXY_COLUMNS = ("proxy", "proxy_snp", "proxy_r2", "target_a1", "target_a2", "proxy_a1", "proxy_a2")
"""Columns a proxy adds to the outcome rows (``.outcome`` in the harmonised table, as TwoSampleMR)."""

FlowRows = list[dict[str, Any]]


@dataclass(frozen=True)
class ProxySettings:
    """LD proxies for one MR pair (config keys of ``mr.<pair>``; see docs/mr_data.md).

    Attributes
    ----------
    enabled : bool
        ``proxies`` (TwoSampleMR's default TRUE); they are searched only when ``reference_panel`` is given.
    r2 : float
        Minimum r^2 between target and proxy (``proxy_r2``, TwoSampleMR's ``rsq`` 0.8).
    kb : int
        Window around the target (``proxy_kb``, 5000 kb as gwasvcf's ``tag_kb``).
    palindromes : bool
        Allow palindromic proxies (``proxy_palindromes``, TwoSampleMR's ``palindromes = 1``).
    maf_threshold : float
        Palindromic proxies need the outcome's and the panel's minor allele frequency below this
        (``proxy_maf_threshold``, TwoSampleMR's 0.3).
    reference_panel : str or None
        PLINK bfile prefix (the pair's ``reference_panel``, shared with clumping).
    """

    enabled: bool = True
    r2: float = 0.8
    kb: int = 5000
    palindromes: bool = True
    maf_threshold: float = 0.3
    reference_panel: str | None = None

    @classmethod
    def from_config(cls, entry: Mapping[str, Any], where: str = "mr") -> ProxySettings:
        """Settings from an MR pair's config entry."""
        r2 = float(entry.get("proxy_r2", 0.8))
        kb = int(entry.get("proxy_kb", 5000))
        maf = float(entry.get("proxy_maf_threshold", 0.3))
        if not 0 < r2 <= 1:
            raise ConfigError(f"config: '{where}.proxy_r2' is {r2}; it must be in (0, 1]")
        if kb < 1:
            raise ConfigError(f"config: '{where}.proxy_kb' is {kb}; it must be at least 1")
        if not 0 < maf <= 0.5:
            raise ConfigError(f"config: '{where}.proxy_maf_threshold' is {maf}; it must be in (0, 0.5]")
        return cls(bool(entry.get("proxies", True)), r2, kb, bool(entry.get("proxy_palindromes", True)), maf,
                   entry.get("reference_panel"))

    @property
    def active(self) -> bool:
        """Whether proxies are searched (enabled and a panel given)."""
        return self.enabled and bool(self.reference_panel)

    def label(self) -> str:
        return f"r2 >= {self.r2} within {self.kb} kb in panel {self.reference_panel}"


class ReferencePanel:
    """A PLINK 1 binary fileset (SNP-major ``.bed``, ``.bim``, ``.fam``), genotypes read on demand by memory map.

    Raises
    ------
    DataError
        A file of the set is missing, or the ``.bed`` is not a SNP-major PLINK 1 file of the expected size.
    """

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = str(prefix)
        paths = {ext: Path(f"{self.prefix}.{ext}") for ext in ("bed", "bim", "fam")}
        missing = [str(p) for p in paths.values() if not p.exists()]
        if missing:
            raise DataError(
                f"reference panel {self.prefix}: {', '.join(missing)} missing. A PLINK 1 binary fileset needs "
                ".bed, .bim and .fam with the same prefix (make one with `plink1.9 --vcf ... --make-bed --out "
                "<prefix>`); correct 'mr.<pair>.reference_panel'."
            )
        self.bim = _read_bim(paths["bim"])
        with open(paths["fam"]) as fh:
            self.n_samples = sum(1 for line in fh if line.strip())
        self.bytes_per_variant = (self.n_samples + 3) // 4
        size = paths["bed"].stat().st_size
        with open(paths["bed"], "rb") as fh:
            magic = fh.read(3)
        if magic != b"\x6c\x1b\x01" or size != 3 + self.bytes_per_variant * len(self.bim):
            raise DataError(
                f"reference panel {paths['bed']}: not a SNP-major PLINK 1 .bed for {len(self.bim)} variants and "
                f"{self.n_samples} samples ({size} bytes); remake it with `plink1.9 --bfile {self.prefix} "
                "--make-bed`"
            )
        self._bed = np.memmap(paths["bed"], dtype=np.uint8, mode="r", offset=3,
                              shape=(len(self.bim), self.bytes_per_variant))
        first = ~pd.Index(self.bim["SNP"]).duplicated()
        self.index = pd.Series(np.flatnonzero(first), index=self.bim["SNP"].to_numpy()[first])

    def genotypes(self, rows: np.ndarray) -> np.ndarray:
        """Allele-1 counts (0, 1, 2; NaN missing) of the variants at ``rows`` (bim order), shape (len, n)."""
        packed = np.asarray(self._bed[np.asarray(rows, np.int64)])
        codes = np.stack([(packed >> s) & 0b11 for s in (0, 2, 4, 6)], axis=-1).reshape(len(rows), -1)
        lookup = np.array([2.0, np.nan, 1.0, 0.0])  # 00 hom A1, 01 missing, 10 het, 11 hom A2
        return lookup[codes[:, : self.n_samples]]


def _read_bim(path: Path) -> pd.DataFrame:
    """The ``.bim`` columns chromosome, SNP, position, A1, A2 (tab or space separated)."""
    names = ["chr", "SNP", "cm", "pos", "a1", "a2"]
    try:
        table = pacsv.read_csv(
            str(path), read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={"chr": pa.string(), "SNP": pa.string(),
                                                               "pos": pa.int64(), "a1": pa.string(),
                                                               "a2": pa.string()},
                                                 include_columns=["chr", "SNP", "pos", "a1", "a2"]),
        )
        bim = table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        try:
            bim = pd.read_csv(path, sep=r"\s+", header=None, names=names, dtype={0: str, 1: str, 4: str, 5: str})
            bim = bim[["chr", "SNP", "pos", "a1", "a2"]]
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"reference panel {path}: not a PLINK .bim file (6 columns expected: {exc})") from None
    bim["chr"] = bim["chr"].str.replace(r"^(chr|CHR|Chr)", "", regex=True)
    bim["a1"] = bim["a1"].str.upper()
    bim["a2"] = bim["a2"].str.upper()
    return bim


def ld_r(target: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Pearson correlation of allele counts between one variant and each row of ``others``, over the samples
    where both are called (PLINK 1.9 ``--r``); NaN where either is monomorphic there."""
    t = np.broadcast_to(target, others.shape)
    ok = ~np.isnan(t) & ~np.isnan(others)
    x, y = np.where(ok, t, 0.0), np.where(ok, others, 0.0)
    n = ok.sum(axis=1).astype(float)
    sx, sy = x.sum(axis=1), y.sum(axis=1)
    sxy, sxx, syy = (x * y).sum(axis=1), (x * x).sum(axis=1), (y * y).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * sxy - sx * sy) / np.sqrt((n * sxx - sx**2) * (n * syy - sy**2))


def _is_palindromic(a1: str, a2: str) -> bool:
    return COMPLEMENT.get(a1) == a2


def align_proxy(ea: str | None, oa: str | None, eaf: float, ld: Mapping[str, Any],
                settings: ProxySettings) -> str:
    """``straight``, ``switch`` or why not (``palindromic_excluded``, ``palindromic_ambiguous``,
    ``alleles_incompatible``) for an outcome's proxy alleles against the panel's in-phase proxy alleles."""
    p1, p2 = str(ld["proxy_a1"]), str(ld["proxy_a2"])
    m1 = (ea or "").upper()
    m2 = None if oa is None or (isinstance(oa, float) and np.isnan(oa)) or oa == "" else str(oa).upper()
    if m1 not in COMPLEMENT or (m2 is not None and m2 not in COMPLEMENT):
        return "alleles_incompatible"
    if _is_palindromic(p1, p2):
        if not settings.palindromes:
            return "palindromic_excluded"
        f1 = float(ld["proxy_a1_freq"])
        thr = settings.maf_threshold
        if not np.isfinite(eaf) or min(eaf, 1 - eaf) >= thr or min(f1, 1 - f1) >= thr:
            return "palindromic_ambiguous"
        if m2 is not None and {m1, m2} != {p1, p2}:
            return "alleles_incompatible"
        return "straight" if (eaf < 0.5) == (f1 < 0.5) else "switch"
    fp1, fp2 = COMPLEMENT.get(p1), COMPLEMENT.get(p2)
    if (m1, m2) in ((p1, p2), (fp1, fp2)) or (m2 is None and m1 in (p1, fp1)):
        return "straight"
    if (m1, m2) in ((p2, p1), (fp2, fp1)) or (m2 is None and m1 in (p2, fp2)):
        return "switch"
    return "alleles_incompatible"


@dataclass(frozen=True)
class ProxyResult:
    """The outcome rows with proxies added, the flow rows, and one report row per instrument absent from the
    outcome (``target_snp, status, proxy_snp, proxy_r2, proxy_r, ...``)."""

    outcome: pd.DataFrame
    flow: FlowRows
    report: pd.DataFrame


def _windows(panel: ReferencePanel, targets: list[str], kb: int) -> dict[str, np.ndarray]:
    """Each target's panel rows on its chromosome within ``kb`` (the target itself excluded)."""
    bim = panel.bim
    out: dict[str, np.ndarray] = {}
    by_chr = {c: np.flatnonzero(bim["chr"].to_numpy() == c) for c in bim["chr"].unique()}
    pos_all = bim["pos"].to_numpy()
    for t in targets:
        i = int(panel.index[t])
        rows = by_chr[bim["chr"].iat[i]]
        pos = pos_all[rows]
        near = np.abs(pos - pos_all[i]) <= kb * 1000
        out[t] = rows[near & (rows != i)]
    return out


def ld_proxies(panel: ReferencePanel, target: str, rows: np.ndarray) -> pd.DataFrame:
    """LD between a target and the panel variants at ``rows``: r, r^2, the in-phase alleles, the panel
    frequency of ``proxy_a1`` and the distance; sorted by r^2 (decreasing), distance, panel order."""
    i = int(panel.index[target])
    g = panel.genotypes(np.concatenate([[i], rows]))
    r = ld_r(g[0], g[1:]) if len(rows) else np.zeros(0)
    bim = panel.bim
    a1, a2 = bim["a1"].to_numpy()[rows], bim["a2"].to_numpy()[rows]
    with np.errstate(invalid="ignore"):
        freq_a1 = np.nanmean(g[1:], axis=1) / 2 if len(rows) else np.zeros(0)
    pos = bim["pos"].to_numpy()
    positive = r > 0
    df = pd.DataFrame({
        "target_snp": target, "proxy_snp": bim["SNP"].to_numpy()[rows], "proxy_r": r, "proxy_r2": r**2,
        "target_a1": bim["a1"].iat[i], "target_a2": bim["a2"].iat[i],
        "proxy_a1": np.where(positive, a1, a2), "proxy_a2": np.where(positive, a2, a1),
        "proxy_a1_freq": np.where(positive, freq_a1, 1 - freq_a1),
        "distance": np.abs(pos[rows] - pos[i]), "order": rows,
    })
    df = df[np.isfinite(df["proxy_r"])]
    return df.sort_values(["proxy_r2", "distance", "order"], ascending=[False, True, True], kind="stable")


def _proxy_row(out_row: pd.Series, ld: Mapping[str, Any], how: str) -> dict[str, Any]:
    row = out_row.to_dict()
    t1, t2 = ld["target_a1"], ld["target_a2"]
    row.update({
        "SNP": ld["target_snp"], "effect_allele": t1 if how == "straight" else t2,
        "other_allele": t2 if how == "straight" else t1, "proxy": True, "proxy_snp": ld["proxy_snp"],
        "proxy_r2": float(ld["proxy_r2"]), "target_a1": t1, "target_a2": t2, "proxy_a1": ld["proxy_a1"],
        "proxy_a2": ld["proxy_a2"],
    })
    return row


def add_proxies(
    instruments: pd.DataFrame,
    outcome_rows: pd.DataFrame,
    lookup: Callable[[list[str]], pd.DataFrame],
    settings: ProxySettings,
    panel: ReferencePanel | None = None,
) -> ProxyResult:
    """Replace instruments absent from the outcome by their best LD proxy present in it.

    Parameters
    ----------
    instruments : DataFrame
        The exposure's instruments (``SNP`` first).
    outcome_rows : DataFrame
        Their rows in the outcome GWAS (standard columns).
    lookup : callable
        ``lookup(ids)`` -> the outcome GWAS rows of ``ids`` (e.g. :func:`musclecog.mr.gwas.read_variants`).
    settings : ProxySettings
    panel : ReferencePanel, optional
        The panel of ``settings.reference_panel`` already opened (several traits proxied against one panel,
        as multivariable MR does); opened here when needed otherwise.

    Returns
    -------
    ProxyResult
        ``outcome`` has the columns of :data:`PROXY_COLUMNS` (``proxy`` False on the outcome's own rows).
    """
    out = outcome_rows.copy()
    out["proxy"] = False
    for col in PROXY_COLUMNS[1:]:
        out[col] = np.nan if col == "proxy_r2" else None
    snps = instruments["SNP"].astype(str).tolist()
    present = set(out["SNP"].astype(str))
    absent = [s for s in snps if s not in present]
    flow: FlowRows = [flow_row("proxies.absent", len(absent), len(absent),
                               f"note: {len(absent)} instruments absent from the outcome; LD proxies searched "
                               f"({settings.label()})")]
    report: list[dict[str, Any]] = []
    if not absent:
        return ProxyResult(out, flow + _proxy_flow(report, 0), pd.DataFrame(report))
    if panel is None:
        panel = ReferencePanel(str(settings.reference_panel))
    in_panel = [s for s in absent if s in panel.index.index]
    report += [{"target_snp": s, "status": "not_in_panel"} for s in absent if s not in panel.index.index]
    windows = _windows(panel, in_panel, settings.kb)
    instrument_set = set(snps)
    cand_ids = sorted({str(s) for t in in_panel for s in panel.bim["SNP"].to_numpy()[windows[t]]} - instrument_set)
    cand_rows = lookup(cand_ids) if cand_ids else out.iloc[:0]
    cand_rows = cand_rows.drop_duplicates("SNP").set_index(cand_rows["SNP"].astype(str).to_numpy())
    new_rows = []
    for t in in_panel:
        rows = windows[t]
        keep = np.isin(panel.bim["SNP"].to_numpy()[rows], cand_rows.index) & \
            ~np.isin(panel.bim["SNP"].to_numpy()[rows], list(instrument_set))
        ld = ld_proxies(panel, t, rows[keep])
        ld = ld[ld["proxy_r2"] >= settings.r2 - 1e-12]
        status, reasons = "no_proxy", list[str]()
        for rec in ld.to_dict("records"):
            orow = cand_rows.loc[str(rec["proxy_snp"])]
            how = align_proxy(orow.get("effect_allele"), orow.get("other_allele"),
                              float(orow["eaf"]) if pd.notna(orow.get("eaf")) else np.nan, rec, settings)
            if how in ("straight", "switch"):
                new_rows.append(_proxy_row(orow, rec, how))
                report.append({"target_snp": t, "status": "proxy", "proxy_snp": rec["proxy_snp"],
                               "proxy_r2": rec["proxy_r2"], "proxy_r": rec["proxy_r"], "alignment": how,
                               "candidates_tried": len(reasons) + 1})
                status = "proxy"
                break
            reasons.append(how)
        if status != "proxy":
            report.append({"target_snp": t, "status": "unaligned" if reasons else "no_proxy",
                           "candidates_tried": len(reasons), "alignment": ",".join(sorted(set(reasons))) or None})
    if new_rows:
        out = pd.concat([out, pd.DataFrame(new_rows, columns=out.columns)], ignore_index=True)
    return ProxyResult(out, flow + _proxy_flow(report, len(absent)), pd.DataFrame(report))


def _proxy_flow(report: list[dict[str, Any]], n_absent: int) -> FlowRows:
    status = pd.Series([r["status"] for r in report], dtype=object)
    n = n_absent
    rows = []
    for code, label in (("not_in_panel", "absent from the outcome and from the reference panel"),
                        ("no_proxy", "no variant of the outcome in LD with it in the panel (no proxy)"),
                        ("unaligned", "proxies found but none whose alleles could be aligned")):
        k = int((status == code).sum())
        rows.append(flow_row(f"proxies.{code}", n, n - k, f"excluded: {label}"))
        n -= k
    rows.append(flow_row("proxies.found", n, n, f"note: {n} instruments replaced by an LD proxy"))
    return rows


def proxy_summary(report: pd.DataFrame) -> str:
    """A one-line account of the proxy search (for logs)."""
    if report.empty:
        return "no instrument absent from the outcome"
    counts = report["status"].value_counts().to_dict()
    found = report.loc[report["status"] == "proxy", "proxy_snp"].astype(str).tolist()
    return f"proxies: {counts}; e.g. {show_values(found)}"

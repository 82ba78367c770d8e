"""Read GWAS summary statistics in any common layout and standardise them once per trait.

Four layouts are read, each gzip-compressed or not, column-wise with pyarrow (only the needed columns are
parsed, with fixed types, multi-threaded), so that a 10-million-variant file is standardised in seconds:

* ``twosamplemr``: TwoSampleMR's column names (``SNP, beta, se, effect_allele, other_allele, eaf, pval,
  samplesize, ncase, ncontrol, chr, pos``), with or without the ``.exposure`` / ``.outcome`` suffix that
  ``read_exposure_data`` / ``extract_outcome_data`` add;
* ``ssf``: the GWAS Catalog summary-statistics format (GWAS-SSF and its harmonised TSV): ``variant_id`` or
  ``rsid, chromosome, base_pair_location, effect_allele, other_allele, beta`` (or ``odds_ratio``),
  ``standard_error, effect_allele_frequency, p_value`` (or ``neg_log_10_p_value``), ``n``;
* any delimited table with a column map ``{source column: standard name}``;
* ``vcf``: the IEU GWAS-VCF (OpenGWAS downloads; ``ES:SE:LP:AF:SS:ID`` per sample column, bgzip or gzip),
  genome-wide or for a region (:mod:`~musclecog.mr.gwas.vcf`).

A region (or a list of regions) of a bgzip file with a tabix index beside it is read through the index, only the
compressed blocks of the regions decompressed (:mod:`~musclecog.mr.gwas.tabix`), in any layout.

The standardised table (``results/gwas/{trait}.parquet``) has the columns of :data:`STANDARD_COLUMNS`,
alleles in upper case, and the trait's metadata (type, units, build, prevalence) in the parquet schema
metadata. Every row that is left out is counted with its reason in a flow table.

Modules, by job: :mod:`~musclecog.mr.gwas.formats` (standard names, :class:`GwasSpec`, layout detection and
column maps), :mod:`~musclecog.mr.gwas.readers` (header, typed column reading, build check, any layout by region),
:mod:`~musclecog.mr.gwas.vcf` (GWAS-VCF), :mod:`~musclecog.mr.gwas.tabix` (tabix-indexed BGZF reads),
:mod:`~musclecog.mr.gwas.checks` (:func:`standardise`: row checks and the standard table),
:mod:`~musclecog.mr.gwas.parquet` (writing and reading the standardised file) and
:mod:`~musclecog.mr.gwas.columns` (arrow column helpers). A new GWAS layout: its name map in ``formats``.
"""

from musclecog.mr.gwas.checks import StandardisedGwas, standardise
from musclecog.mr.gwas.columns import allele_codes, has_duplicates, rs_numbers
from musclecog.mr.gwas.formats import (
    FORMATS,
    SSF_MAP,
    STANDARD_COLUMNS,
    TWOSAMPLEMR_NAMES,
    GwasSpec,
    column_map,
    detect_format,
)
from musclecog.mr.gwas.parquet import (
    HEAD_P,
    ROW_GROUP_ROWS,
    read_meta,
    read_regions,
    read_standardised,
    read_variants,
    standardise_file,
    write_standardised,
)
from musclecog.mr.gwas.readers import SourceRead, check_build, read_gwas, read_header, read_source
from musclecog.mr.gwas.vcf import Region, is_vcf_path, read_vcf, read_vcf_header, read_vcf_regions

__all__ = [
    "FORMATS",
    "HEAD_P",
    "ROW_GROUP_ROWS",
    "SSF_MAP",
    "STANDARD_COLUMNS",
    "TWOSAMPLEMR_NAMES",
    "GwasSpec",
    "Region",
    "SourceRead",
    "StandardisedGwas",
    "allele_codes",
    "check_build",
    "column_map",
    "detect_format",
    "has_duplicates",
    "is_vcf_path",
    "read_gwas",
    "read_header",
    "read_meta",
    "read_regions",
    "read_source",
    "read_standardised",
    "read_variants",
    "read_vcf",
    "read_vcf_header",
    "read_vcf_regions",
    "rs_numbers",
    "standardise",
    "standardise_file",
    "write_standardised",
]

# Triangulation of grip strength and cognition: cross-sectional, longitudinal and MR estimates (both directions)
# on one scale, with each design's main source of bias (musclecog.triangulation, docs/triangulation.md).
from musclecog.triangulation import check_sources as _check_triangulation

try:
    _check_triangulation(TRIANGULATION, list(ANALYSES), list(MR_JOBS))
except MusclecogError as exc:
    sys.exit(f"musclecog {type(exc).__name__}: {exc}")


rule triangulation:
    input:
        get_triangulation_inputs,
    output:
        table=report(
            f"{OUT}/triangulation.tsv",
            caption="../report/triangulation.rst",
            category="Triangulation",
        ),
        figure=report(
            f"{OUT}/figures/triangulation.png",
            caption="../report/triangulation_figure.rst",
            category="Triangulation",
        ),
    log:
        f"{OUT}/logs/triangulation.log",
    benchmark:
        f"{OUT}/benchmarks/triangulation.tsv"
    params:
        section=CONFIG.get("triangulation"),
        estimate_paths=get_reproduction_estimate_paths,
        cohort_paths=get_triangulation_cohort_paths,
        harmonised_paths=get_triangulation_harmonised_paths,
        cohorts=COHORTS,
        gwas=CONFIG.get("gwas") or {},
    script:
        "../scripts/triangulation.py"

"""Rules fit_analysis and fit_cohort_<job>: fit configured analyses one after the other in this process and
write, for each, its tidy table, flow table, figure (PNG and SVG) and manuscript Table 2 (TSV, HTML, .docx),
each analysis logging to its own log file. The job fits one cohort's analyses, or those of several cohorts
sharing a `fit_job`, cohort after cohort; a synthetic cohort is first simulated and its files written (what
rule simulate_cohort would write, logged to the cohort's log), then fitted from the table written.

An analysis that fails with a musclecog error (a clear message in its log and on the console) does not stop
the others; the job then exits with status 1 (Snakemake removes the job's outputs, the logs are kept)."""

from musclecog.analyses import analysis_cohort, load_analysis_data, run_analysis
from musclecog.core.spec import RunContext
from musclecog.disclosure import flow_table
from musclecog.ingest import build_cohort, write_cohort
from musclecog.log import end_job, log_to
from musclecog.manuscript import table2
from musclecog.plots import draw, save_figure
from musclecog.results import write_table

failed = []
for job in snakemake.params.cohorts:
    build = job["build"]
    if build is not None:
        try:
            with log_to(build["log"]) as log:
                cohort = build_cohort(
                    build["cohort"], build["spec"], seed=build["seed"], min_cell=snakemake.params.min_cell
                )
                write_cohort(cohort, build["outputs"])
                log.info("cohort %s: %d rows written, table 1 rendered", build["cohort"], len(cohort.data))
            del cohort
        except SystemExit:  # log_to wrote the error to the log and the console; its analyses cannot run
            failed += [fit["analysis"] for fit in job["fits"]]
            continue
    for fit in job["fits"]:
        try:
            with log_to(fit["log"]) as log:
                entry, out = fit["spec"], fit["outputs"]
                context = RunContext(
                    analysis=fit["analysis"],
                    cohort=analysis_cohort(entry),
                    seed=fit["seed"],
                    survey=fit["survey"],
                    threads=snakemake.threads,
                    min_cell=snakemake.params.min_cell,
                )
                data = load_analysis_data(entry, job["table"])
                result = run_analysis(data, entry, context)
                write_table(result.to_tidy(), out["table"])
                write_table(flow_table(result, context.min_cell), out["flow"])
                save_figure(draw(result), out["figure"], out["svg"])
                table2(result).write(out["table2"].removesuffix(".tsv"))
                log.info("analysis %s (%s) done", context.analysis, entry["type"])
        except SystemExit:  # log_to wrote the error to the log and the console
            failed.append(fit["analysis"])
if failed:
    raise SystemExit(1)
end_job()

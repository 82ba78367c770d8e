# Reference numbers for tests/reference/test_mr_robust.py: mr.raps 0.4.2 (github.com/qingyuanzhao/mr.raps, commit
# 27b96f3) and MRcML 0.0.0.9000 (github.com/xue-hr/MRcML, commit c264209), run from their R sources (neither is
# installable here; mr.raps's multiroot comes from rootSolve built from github.com/cran/rootSolve).
# Usage: Rscript tests/data/mr_raps_cml_reference.R <mr.raps source dir> <MRcML source dir> <shared data dir> [rootSolve lib]
args <- commandArgs(trailingOnly = TRUE)
if (length(args) > 3) .libPaths(c(args[4], .libPaths()))
library(rootSolve)
for (f in c("core.R", "loss.R", "shrinkage.R")) source(file.path(args[1], "R", f))
for (f in c("mr_cML.R", "cML_estimate.R", "cML_estimate_random.R", "cML_SdTheta.R")) source(file.path(args[2], "R", f))
f17 <- function(x) sprintf("%.17g", x)
bmi <- read.csv(file.path(args[3], "mr", "mrraps_bmi_sbp.csv"))  # mr.raps's bmi.sbp, 160 variants
lip <- read.csv(file.path(args[3], "mr", "lipids_chd_waterworth2010.csv"))
lipids <- data.frame(beta.exposure = lip$ldlc, beta.outcome = lip$chdlodds, se.exposure = lip$ldlcse,
                     se.outcome = lip$chdloddsse)
raps <- function(name, data, ...) {
  set.seed(1)  # fit.mixture.model and the perturbed starts draw; the reported root does not depend on them here
  fit <- suppressWarnings(mr.raps(data, diagnostics = FALSE, ...))
  cat(name, f17(fit$beta.hat), f17(fit$beta.se), f17(fit$tau2.hat), f17(fit$tau2.se),
      f17(2 * pnorm(-abs(fit$beta.hat / fit$beta.se))), "\n")
}
raps("bmi_default", bmi)
for (od in c(TRUE, FALSE)) for (loss in c("huber", "l2", "tukey")) {
  raps(paste("bmi", od, loss, sep = "_"), bmi, over.dispersion = od, loss.function = loss)
}
raps("bmi_huber_k1.5", bmi, k = 1.5)
raps("lipids_default", lipids)
cml <- function(name, d, n) {
  r <- mr_cML(d$beta.exposure, d$beta.outcome, d$se.exposure, d$se.outcome, n = n, random_start = 0)
  cat(name, f17(r$MA_BIC_theta), f17(r$MA_BIC_se), f17(r$MA_BIC_p), f17(r$BIC_theta), f17(r$BIC_se),
      paste(r$BIC_invalid, collapse = ","), "\n")
}
n_bmi <- min(c(bmi$samplesize.exposure, bmi$samplesize.outcome))
cat("n_bmi", f17(n_bmi), "\n")
cml("cml_bmi", bmi, n_bmi)
cml("cml_lipids", lipids, 17723)
cml("cml_lipids_first5", lipids[1:5, ], 17723)

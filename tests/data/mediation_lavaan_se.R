# Reference numbers of tests/reference/test_mediation_ml_delta.py: lavaan ML standard errors of the paths and
# delta-method SEs of the defined parameters (:=) on tests/data/mediation_reference.csv.
# Run once from the repository root: Rscript tests/data/mediation_lavaan_se.R  (R 4, Debian r-cran-lavaan)
# Parallel mediators have correlated residuals (m1 ~~ m2; Preacher & Hayes 2008): the equation-wise fits are
# that saturated model. Without it lavaan fits an over-identified model (df = 1) whose expected-information SEs
# of b1, b2 differ.
library(lavaan)
d <- read.csv("tests/data/mediation_reference.csv")
models <- list(
  simple = 'm1 ~ a*x + cov1 + cov2
            y ~ b*m1 + cp*x + cov1 + cov2
            ind := a*b
            total := cp + a*b
            prop := a*b / (cp + a*b)',
  parallel = 'm1 ~ a1*x + cov1 + cov2
              m2 ~ a2*x + cov1 + cov2
              m1 ~~ m2
              y ~ b1*m1 + b2*m2 + cp*x + cov1 + cov2
              ind1 := a1*b1
              ind2 := a2*b2
              total_ind := a1*b1 + a2*b2
              total := cp + a1*b1 + a2*b2
              prop := (a1*b1 + a2*b2) / (cp + a1*b1 + a2*b2)',
  serial = 'm1 ~ a1*x + cov1 + cov2
            m2 ~ a2*x + d21*m1 + cov1 + cov2
            y ~ b1*m1 + b2*m2 + cp*x + cov1 + cov2
            ind1 := a1*b1
            ind2 := a2*b2
            ind3 := a1*d21*b2
            total_ind := a1*b1 + a2*b2 + a1*d21*b2
            total := cp + a1*b1 + a2*b2 + a1*d21*b2
            prop := (a1*b1 + a2*b2 + a1*d21*b2) / (cp + a1*b1 + a2*b2 + a1*d21*b2)'
)
for (name in names(models)) {
  fit <- sem(models[[name]], data = d, estimator = "ML")  # information = "expected", se = "standard"
  pe <- parameterEstimates(fit)
  pe <- pe[pe$label != "", ]
  cat(name, "\n")
  cat(sprintf('"%s": (%.15g, %.15g, %.15g, %.15g, %.15g, %.15g),\n', pe$label, pe$est, pe$se, pe$z, pe$pvalue,
              pe$ci.lower, pe$ci.upper), sep = "")
  fo <- sem(models[[name]], data = d, estimator = "ML", information = "observed")
  cat("max |se expected - se observed|:", max(abs(parameterEstimates(fo)$se - parameterEstimates(fit)$se)), "\n")
}

# Reference values for tests/reference/test_mixed_lmertest.py (R 4.x, Debian r-cran-lme4 1.1-31 and
# r-cran-lmertest 3.1-3): Satterthwaite df and p (summary of lmerTest::lmer), AIC / BIC / logLik, BLUPs with
# their conditional SDs (ranef), the variance parameters' covariance (lmerTest's vcov_varpar = 2 H^-1) and
# Wald CIs of the SDs from it (delta method). Run: Rscript tests/data/sleepstudy_lmertest.R (repository root).
suppressMessages({library(lme4); library(lmerTest)})
options(digits = 12, width = 200)
data(sleepstudy, package = "lme4")
show <- function(m) {
  print(summary(m)$coefficients)
  print(summary(m, ddf = "lme4")$coefficients)
  ll <- logLik(m); print(ll); print(attr(ll, "df")); print(c(AIC = AIC(m), BIC = BIC(m)))
  print(c(logLik_ML = as.numeric(logLik(m, REML = FALSE))))
  print(as.data.frame(VarCorr(m)))
  print(m@vcov_varpar)
  print(m@theta); print(sigma(m))
}
m <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE)
show(m)
print(head(as.data.frame(ranef(m, condVar = TRUE)), 40))
m2 <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)
show(m2)
m3 <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE)
show(m3)
print(head(as.data.frame(ranef(m3, condVar = TRUE)), 18))
print(confint(m, method = "profile", oldNames = FALSE))
print(confint(m3, method = "profile", oldNames = FALSE))

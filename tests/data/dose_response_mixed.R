# Data and reference numbers for tests/reference/test_dose_response_mixed.py (run once from the repository
# root: Rscript tests/data/dose_response_mixed.R; Debian r-cran-lme4, r-cran-lmertest, r-cran-rms).
# Writes tests/data/dose_response_mixed.csv (200 people, 2-5 visits each, a time-varying exposure x with a
# non-linear effect 8 tanh((x - 30) / 8), a random intercept and slope) and prints the numbers the test holds.
suppressMessages({library(rms); library(lme4); library(lmerTest)})
options(digits = 15, width = 200)
set.seed(20261204)
G <- 200
visits <- sample(2:5, G, replace = TRUE)
id <- rep(seq_len(G), visits)
wave <- sequence(visits)
time <- round(wave - 1 + runif(length(id), 0, 0.3), 3)
x <- round(rep(rnorm(G, 35, 9), visits) - 0.4 * time + rnorm(length(id), 0, 1.5), 2)
z <- rep(round(rnorm(G), 3), visits)
b0 <- rep(rnorm(G, 0, 4), visits); b1 <- rep(rnorm(G, 0, 0.8), visits)
y <- round(50 + 8 * tanh((x - 30) / 8) + 2 * z - 0.5 * time + b0 + b1 * time + rnorm(length(id), 0, 3), 3)
d <- data.frame(id, wave, time, x, z, y)
write.csv(d, "tests/data/dose_response_mixed.csv", row.names = FALSE)
d <- read.csv("tests/data/dose_response_mixed.csv")
k <- attr(rcs(d$x, 4), "parms"); ref <- median(d$x)
cat("knots", format(k, digits = 17), "median", format(ref, digits = 17), "\n")
grid <- c(20, 25, 30, 35, 40, 45, 50)
# lme4's default optimiser stops about 1e-6 short in theta; converge fully so estimates agree to 1e-8
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14,
  ftol_rel = 1e-16, maxeval = 1e5))
fits <- list(
  intercept = lmer(y ~ rcs(x, k) + z + (1 | id), data = d, REML = TRUE, control = ctrl),
  slope = lmer(y ~ rcs(x, k) + time + z + (time | id), data = d, REML = TRUE, control = ctrl),
  intercept_ml = lmer(y ~ rcs(x, k) + z + (1 | id), data = d, REML = FALSE, control = ctrl))
C <- rcs(grid, k) - matrix(rcs(ref, k), length(grid), length(k) - 1, byrow = TRUE)
for (nm in names(fits)) {
  m <- fits[[nm]]; b <- fixef(m); V <- as.matrix(vcov(m)); j <- grep("rcs", names(b))
  cat("\n====", nm, "theta", format(getME(m, "theta"), digits = 15), "\n")
  print(b); print(sqrt(diag(V)))
  est <- as.vector(C %*% b[j]); se <- sqrt(diag(C %*% V[j, j] %*% t(C)))
  print(data.frame(grid, est, se, lo = est - qnorm(0.975) * se, hi = est + qnorm(0.975) * se))
  for (jj in list(j, j[-1])) {  # Wald chi-squared on vcov(m), as car::Anova / rms::anova
    w <- as.numeric(t(b[jj]) %*% solve(V[jj, jj], b[jj]))
    cat("wald", length(jj), format(w, digits = 15), format(pchisq(w, length(jj), lower.tail = FALSE), digits = 15), "\n")
  }
  L <- diag(length(b))[j, , drop = FALSE]
  ct <- rbind(contest(m, L, joint = TRUE),  # lmerTest's Satterthwaite F, overall
              contest(m, L[-1, , drop = FALSE], joint = TRUE))  # non-linear
  print(ct)
  wald <- sapply(list(j, j[-1]), function(jj) as.numeric(t(b[jj]) %*% solve(V[jj, jj], b[jj])))
  py <- function(name, v) cat(sprintf('    "%s": [%s],\n', name, paste(sprintf("%.15g", v), collapse = ", ")))
  cat("  \"", nm, "\": {\n", sep = "")  # the numbers as the test holds them
  py("fixef", b); py("se", sqrt(diag(V))); py("curve", est); py("curve_se", se)
  py("wald", wald); py("wald_p", pchisq(wald, c(3, 2), lower.tail = FALSE))
  py("F", ct[["F value"]]); py("ddf", ct$DenDF); py("F_p", ct[["Pr(>F)"]])
  cat("  },\n")
}
print(car::Anova(fits$intercept))

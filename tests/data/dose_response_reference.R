# Reference numbers for tests/reference/test_dose_response_r.py (run once: Rscript tests/data/dose_response_reference.R)
library(rms); library(survival)
set.seed(20261203)
n <- 300
x <- round(rnorm(n, 35, 9), 2); z <- round(rnorm(n), 3)
y <- round(50 + 8 * tanh((x - 30) / 8) + 2 * z + rnorm(n, 0, 6), 3)
b <- rbinom(n, 1, plogis(-0.5 + 0.8 * tanh((x - 30) / 8) + 0.3 * z))
time <- round(rexp(n, 0.1 * exp(-0.6 * tanh((x - 30) / 8) + 0.2 * z)), 3) + 0.001
cens <- round(runif(n, 2, 15), 3)
status <- as.integer(time <= cens); time <- pmin(time, cens)
d <- data.frame(x, z, y, b, time, status)
write.csv(d, "tests/data/dose_response_reference.csv", row.names = FALSE)
k <- attr(rcs(d$x, 4), "parms")
grid <- c(20, 25, 30, 35, 40, 45, 50); ref <- median(d$x)
fits <- list(
  linear = lm(y ~ rcs(x, k) + z, data = d),
  logistic = glm(b ~ rcs(x, k) + z, family = binomial, data = d,
    control = glm.control(epsilon = 1e-14, maxit = 100)),  # glm stops at 1e-8; converge fully
  cox = coxph(Surv(time, status) ~ rcs(x, k) + z, data = d, ties = "efron"))
rmsfits <- list(linear = ols(y ~ rcs(x, k) + z, data = d), logistic = lrm(b ~ rcs(x, k) + z, data = d),
  cox = cph(Surv(time, status) ~ rcs(x, k) + z, data = d, ties = "efron"))
out <- NULL
for (fam in names(fits)) {
  f <- fits[[fam]]; cf <- coef(f); V <- vcov(f)
  j <- grep("rcs", names(cf))
  C <- rcs(grid, k) - matrix(rcs(ref, k), length(grid), length(k) - 1, byrow = TRUE)
  est <- as.vector(C %*% cf[j]); se <- sqrt(diag(C %*% V[j, j] %*% t(C)))
  q <- if (fam == "linear") qt(0.975, df.residual(f)) else qnorm(0.975)
  a <- anova(rmsfits[[fam]]); stat <- if (fam == "linear") "F" else "Chi-Square"
  out <- rbind(out, data.frame(family = fam, what = "curve", x = grid, estimate = est, std_error = se,
    conf_low = est - q * se, conf_high = est + q * se))
  tests <- data.frame(family = fam, what = c("overall", "nonlinear"), x = NA,
    estimate = a[c("x", " Nonlinear"), stat], std_error = NA, conf_low = NA,
    conf_high = a[c("x", " Nonlinear"), "P"])
  if (fam != "linear") {
    # lrm's and cph's iterations stop at slightly different points than the fully converged glm / coxph
    # (tests differ by 1e-5 to 1e-3), so these tests are rms::anova's Wald statistics computed on the glm /
    # coxph fit: b' V^-1 b over the spline terms (overall) and the non-linear terms
    for (i in 1:2) {
      jj <- if (i == 1) j else j[-1]
      w <- as.numeric(t(cf[jj]) %*% solve(V[jj, jj], cf[jj]))
      tests$estimate[i] <- w; tests$conf_high[i] <- pchisq(w, length(jj), lower.tail = FALSE)
    }
  }
  out <- rbind(out, tests)
}
out <- rbind(out, data.frame(family = "all", what = paste0("knot", 1:4), x = NA, estimate = k,
  std_error = NA, conf_low = NA, conf_high = NA))
out <- rbind(out, data.frame(family = "all", what = "median", x = NA, estimate = ref, std_error = NA,
  conf_low = NA, conf_high = NA))
write.csv(format(out, digits = 15), "tests/data/dose_response_reference_r.csv", row.names = FALSE, quote = FALSE)
print(out); print(anova(rmsfits$linear))

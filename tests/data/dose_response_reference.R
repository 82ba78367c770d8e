# Reference numbers for tests/reference/test_dose_response_r.py (run once: Rscript tests/data/dose_response_reference.R)
library(rms); library(survival); library(survey)
set.seed(20261203)
n <- 300
x <- round(rnorm(n, 35, 9), 2); z <- round(rnorm(n), 3)
y <- round(50 + 8 * tanh((x - 30) / 8) + 2 * z + rnorm(n, 0, 6), 3)
b <- rbinom(n, 1, plogis(-0.5 + 0.8 * tanh((x - 30) / 8) + 0.3 * z))
time <- round(rexp(n, 0.1 * exp(-0.6 * tanh((x - 30) / 8) + 0.2 * z)), 3) + 0.001
cens <- round(runif(n, 2, 15), 3)
status <- as.integer(time <= cens); time <- pmin(time, cens)
w <- round(runif(n, 0.5, 3), 3); strat <- rep(1:5, each = 60); psu <- rep(rep(1:6, each = 10), 5)
d <- data.frame(x, z, y, b, time, status, w, strat, psu)
write.csv(d, "tests/data/dose_response_reference.csv", row.names = FALSE)
k <- attr(rcs(d$x, 4), "parms")
grid <- c(20, 25, 30, 35, 40, 45, 50); ref <- median(d$x)
fits <- list(
  linear = lm(y ~ rcs(x, k) + z, data = d),
  logistic = glm(b ~ rcs(x, k) + z, family = binomial, data = d,
    control = glm.control(epsilon = 1e-14, maxit = 100)),  # glm stops at 1e-8; converge fully
  cox = coxph(Surv(time, status) ~ rcs(x, k) + z, data = d, ties = "efron"))
des <- svydesign(ids = ~psu, strata = ~strat, weights = ~w, nest = TRUE, data = d)
rk <- paste0("rcs(x, c(", paste(format(k, digits = 17), collapse = ", "), "))")  # svyglm: no free variables
fits$svy_linear <- svyglm(as.formula(paste("y ~", rk, "+ z")), design = des)
fits$svy_logistic <- svyglm(as.formula(paste("b ~", rk, "+ z")), design = des, family = quasibinomial,
  control = glm.control(epsilon = 1e-14, maxit = 100))
rmsfits <- list(linear = ols(y ~ rcs(x, k) + z, data = d), logistic = lrm(b ~ rcs(x, k) + z, data = d),
  cox = cph(Surv(time, status) ~ rcs(x, k) + z, data = d, ties = "efron"))
out <- NULL
for (fam in names(fits)) {
  f <- fits[[fam]]; cf <- coef(f); V <- vcov(f)
  j <- grep("rcs", names(cf))
  C <- rcs(grid, k) - matrix(rcs(ref, k), length(grid), length(k) - 1, byrow = TRUE)
  est <- as.vector(C %*% cf[j]); se <- sqrt(diag(C %*% V[j, j] %*% t(C)))
  svy <- startsWith(fam, "svy")
  q <- if (fam == "linear" || svy) qt(0.975, df.residual(f)) else qnorm(0.975)
  if (svy) {  # Wald F on (k, degf - p + 1) df: regTermTest(f, ~rcs(x, k), method = "Wald")
    tests <- data.frame(family = fam, what = c("overall", "nonlinear"), x = NA, estimate = NA, std_error = NA,
      conf_low = NA, conf_high = NA)
    for (i in 1:2) {
      jj <- if (i == 1) j else j[-1]
      Fs <- as.numeric(t(cf[jj]) %*% solve(V[jj, jj], cf[jj])) / length(jj)
      tests$estimate[i] <- Fs; tests$conf_high[i] <- pf(Fs, length(jj), df.residual(f), lower.tail = FALSE)
    }
    print(regTermTest(f, as.formula(paste("~", rk)), method = "Wald"))
    out <- rbind(out, data.frame(family = fam, what = "curve", x = grid, estimate = est, std_error = se,
      conf_low = est - q * se, conf_high = est + q * se), tests)
    next
  }
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

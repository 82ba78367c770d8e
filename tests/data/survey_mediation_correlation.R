# Reference numbers of tests/reference/test_survey_mediation_correlation_r.py: design-based correlations and
# mediation on the NHANES 2011-2014 example cohort (config/examples/nhanes_2011_2014.yaml, age 60+ with DSST and
# grip, n = 2,688), exported from musclecog with d.to_csv("nhanes.csv", index=False, float_format="%.17g").
# R 4.x, survey 4.1.1: Rscript survey_mediation_correlation.R (prints the dicts pasted into the test).
# Correlations: svycontrast of the correlation written as a function of svymean of the first and second moments
# (partial correlations by the recursive formula), t on degf - 1 - k df, Fisher-z CI from the SE of atanh(r).
# Mediation: svyglm per equation; the joint covariance of all paths is svyrecvar of the column-bound influence
# functions (survey:::svy.varcoef's estfun %*% Ainv), checked against one svyglm of the stacked equations;
# indirect effects by svycontrast on that covariance.
suppressMessages(library(survey))
options(digits = 15)
d <- read.csv("nhanes.csv", stringsAsFactors = TRUE, na.strings = c("", "NA")); d$w <- d$survey_weight / 2
d$sexmale <- as.numeric(d$sex == "male")
d$dsst_low <- as.numeric(d$dsst < 40)
des <- svydesign(ids = ~survey_psu, strata = ~survey_strata, weights = ~w, nest = TRUE, data = d)
p <- function(name, x) cat(sprintf('    "%s": %.15g,\n', name, x))

# ---- correlations: moments, then svycontrast (Taylor linearisation / delta method)
E <- function(a, b = NULL) if (is.null(b)) paste0("E_", a) else paste0("E_", paste(sort(c(a, b)), collapse = "_"))
rexpr <- function(a, b) sprintf("((%s - %s*%s)/sqrt((%s - %s^2)*(%s - %s^2)))",
  E(a, b), E(a), E(b), E(a, a), E(a), E(b, b), E(b))
pexpr <- function(a, b, z) {   # partial correlation of a, b given the variables z (recursive formula)
  if (length(z) == 0) return(rexpr(a, b))
  k <- z[length(z)]; rest <- z[-length(z)]
  rab <- pexpr(a, b, rest); rak <- pexpr(a, k, rest); rbk <- pexpr(b, k, rest)
  sprintf("((%s - %s*%s)/sqrt((1 - (%s)^2)*(1 - (%s)^2)))", rab, rak, rbk, rak, rbk)
}
moments <- function(vars, design) {
  terms <- c(); names <- c()
  for (i in seq_along(vars)) {
    terms <- c(terms, vars[i]); names <- c(names, E(vars[i]))
    for (j in i:length(vars)) { terms <- c(terms, sprintf("I(%s*%s)", vars[i], vars[j])); names <- c(names, E(vars[i], vars[j])) }
  }
  m <- svymean(as.formula(paste("~", paste(terms, collapse = "+"))), design)
  cf <- coef(m); names(cf) <- names; V <- vcov(m); dimnames(V) <- list(names, names)
  # E_b_a alias for symmetric access
  structure(cf, var = V, class = "svystat", statistic = "mean")
}
corr <- function(label, x, y, z = character(0), design) {
  m <- moments(c(x, y, z), design)
  ex <- parse(text = pexpr(x, y, z))[[1]]
  r <- svycontrast(m, ex); zz <- svycontrast(m, substitute(0.5 * log((1 + e) / (1 - e)), list(e = ex)))
  df <- degf(design) - 1 - length(z)
  q <- qt(0.975, df)
  p(paste0(label, "_r"), coef(r)); p(paste0(label, "_se"), SE(r))
  p(paste0(label, "_lo"), tanh(coef(zz) - q * SE(zz))); p(paste0(label, "_hi"), tanh(coef(zz) + q * SE(zz)))
  p(paste0(label, "_p"), 2 * pt(-abs(coef(r) / SE(r)), df)); p(paste0(label, "_df"), df)
}
cat("CORR = {\n")
corr("grip_dsst", "grip_kg", "dsst", design = des)
corr("bmi_fluency", "bmi", "animal_fluency", design = subset(des, !is.na(bmi) & !is.na(animal_fluency)))
corr("grip_dsst_partial", "grip_kg", "dsst", c("age", "sexmale"), design = des)
corr("grip_dsst_7079", "grip_kg", "dsst", design = subset(des, age_group == "70-79"))
cat("}\n")
# check against the svyglm of standardised variables at the point estimate
s <- svymean(~grip_kg + dsst, des); v <- svyvar(~grip_kg + dsst, des)
d2 <- d; d2$zx <- (d$grip_kg - coef(s)[1]) / sqrt(v[1, 1]); d2$zy <- (d$dsst - coef(s)[2]) / sqrt(v[2, 2])
des2 <- svydesign(ids = ~survey_psu, strata = ~survey_strata, weights = ~w, nest = TRUE, data = d2)
cat("# svyglm(zy ~ zx) slope:", sprintf("%.15g", coef(svyglm(zy ~ zx, des2))[2]), "\n")

# ---- mediation: each path by svyglm; joint covariance from the stacked influence functions
infl <- function(g, design) {   # survey:::svy.varcoef's estfun %*% Ainv, one row per row of the design
  Ainv <- stats::summary.glm(g)$cov.unscaled   # (X'WX)^-1: summary(g) would give the sandwich svyglm stored
  ef <- model.matrix(g) * resid(g, "working") * g$weights
  naa <- g$na.action
  if (length(naa)) { ee <- matrix(0, nrow(design), ncol(ef)); ee[(1:nrow(design))[-naa], ] <- ef; ef <- ee }
  out <- ef %*% Ainv; colnames(out) <- names(coef(g)); out
}
med <- function(label, x, ms, y, covs, serial = FALSE, binary = FALSE) {
  vars <- c(x, ms, y, covs)
  dd <- subset(des, complete.cases(d[, vars]))
  rhs <- paste(c(x, covs), collapse = " + ")
  fits <- list()
  for (i in seq_along(ms)) {
    pr <- c(x, if (serial && i > 1) ms[1:(i - 1)], covs)
    fits[[ms[i]]] <- svyglm(as.formula(paste(ms[i], "~", paste(pr, collapse = "+"))), dd)
  }
  fam <- if (binary) quasibinomial() else gaussian()
  fits[[y]] <- svyglm(as.formula(paste(y, "~", paste(c(x, ms, covs), collapse = "+"))), dd, family = fam)
  tot <- svyglm(as.formula(paste(y, "~", rhs)), dd, family = fam)
  cf <- c(); I <- NULL
  for (eq in names(fits)) {
    g <- fits[[eq]]; nm <- paste0(eq, ":", names(coef(g)))
    cf <- c(cf, setNames(coef(g), nm)); ii <- infl(g, dd); colnames(ii) <- nm; I <- cbind(I, ii)
  }
  V <- svyrecvar(I, dd$cluster, dd$strata, dd$fpc, postStrata = dd$postStrata)
  for (eq in names(fits)) {   # the diagonal blocks are each svyglm's own vcov
    nm0 <- paste0(eq, ":", names(coef(fits[[eq]])))
    stopifnot(max(abs(V[nm0, nm0] - vcov(fits[[eq]]))) < 1e-12)
  }
  names(cf) <- make.names(names(cf)); dimnames(V) <- list(names(cf), names(cf))
  st <- structure(cf, var = V, class = "svystat", statistic = "coef")
  k <- function(eq, pr) make.names(paste0(eq, ":", pr))
  for (eq in names(fits)) for (pr in intersect(names(coef(fits[[eq]])), c(x, ms))) {
    g <- fits[[eq]]; ci <- confint(g)
    tag <- paste0(label, "_", eq, "_", pr)
    p(paste0(tag, "_est"), coef(g)[pr]); p(paste0(tag, "_se"), SE(g)[pr]); p(paste0(tag, "_lo"), ci[pr, 1]); p(paste0(tag, "_hi"), ci[pr, 2])
    p(paste0(tag, "_df"), g$df.residual)
  }
  p(paste0(label, "_c_est"), coef(tot)[x]); p(paste0(label, "_c_se"), SE(tot)[x])
  paths <- list()
  if (!serial) for (m in ms) paths[[m]] <- c(k(m, x), k(y, m))
  else { paths[[ms[1]]] <- c(k(ms[1], x), k(y, ms[1])); paths[[ms[2]]] <- c(k(ms[2], x), k(y, ms[2]))
         paths[[paste(ms, collapse = "->")]] <- c(k(ms[1], x), k(ms[2], ms[1]), k(y, ms[2])) }
  prods <- sapply(paths, function(pp) paste(pp, collapse = "*"))
  for (nm in names(prods)) {
    ind <- svycontrast(st, parse(text = prods[[nm]])[[1]])
    p(paste0(label, "_ind_", nm, "_est"), coef(ind)); p(paste0(label, "_ind_", nm, "_se"), SE(ind))
  }
  tot_ind <- paste(prods, collapse = " + ")
  if (length(prods) > 1) { ti <- svycontrast(st, parse(text = tot_ind)[[1]])
    p(paste0(label, "_ind_total_est"), coef(ti)); p(paste0(label, "_ind_total_se"), SE(ti)) }
  if (!binary) {
    cc <- svycontrast(st, parse(text = paste(k(y, x), "+", tot_ind))[[1]])
    pm <- svycontrast(st, parse(text = sprintf("(%s)/(%s + %s)", tot_ind, k(y, x), tot_ind))[[1]])
    p(paste0(label, "_ctot_est"), coef(cc)); p(paste0(label, "_ctot_se"), SE(cc))
    p(paste0(label, "_pm_est"), coef(pm)); p(paste0(label, "_pm_se"), SE(pm))
  }
  p(paste0(label, "_n"), sum(complete.cases(d[, vars])))
  invisible(list(fits = fits, V = V, dd = dd))
}
cat("MED = {\n")
s1 <- med("simple", "age", "grip_kg", "dsst", c("sex", "education"))
s2 <- med("parallel", "age", c("grip_kg", "bmi"), "dsst", c("sex"))
s3 <- med("serial", "age", c("grip_kg", "animal_fluency"), "dsst", c("sex"), serial = TRUE)
s4 <- med("binary", "age", "grip_kg", "dsst_low", c("sex"), binary = TRUE)
cat("}\n")
# independent check of the joint covariance (gaussian): one svyglm of the stacked equations
dd <- d[complete.cases(d[, c("age", "grip_kg", "bmi", "dsst", "sex")]), ]
one <- function(resp, eq) { o <- dd; o$resp <- o[[resp]]; o$eq <- eq; o }
st <- rbind(one("grip_kg", "m1"), one("bmi", "m2"), one("dsst", "y"))
st$eq <- factor(st$eq)
for (v in c("age", "grip_kg", "bmi", "sexmale")) for (e in levels(st$eq)) st[[paste0(v, "_", e)]] <- st[[v]] * (st$eq == e)
sdes <- svydesign(ids = ~survey_psu, strata = ~survey_strata, weights = ~w, nest = TRUE, data = st)
sm <- svyglm(resp ~ 0 + eq + age_m1 + sexmale_m1 + age_m2 + sexmale_m2 + age_y + grip_kg_y + bmi_y + sexmale_y, sdes)
ind <- svycontrast(sm, quote(age_m1 * grip_kg_y + age_m2 * bmi_y))
cat(sprintf("# stacked svyglm: total indirect %.15g se %.15g (full-design PSU counts differ if a PSU drops out)\n", coef(ind), SE(ind)))

# Reference numbers for tests/reference/test_survival_cox_km_r.py (survival >= 3; Debian r-cran-survival).
# Rscript tests/data/survival_references.R  (reads tests/data/lung.csv)
suppressMessages(library(survival))
lung <- read.csv("tests/data/lung.csv")
p <- function(...) cat(sprintf("%s\n", paste(...)))
num <- function(x) paste(formatC(x, digits = 12, format = "g"), collapse = " ")
cat("survival", as.character(packageVersion("survival")), "\n")
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = ties)
  s <- summary(fit)
  p(ties, "coef", num(coef(fit)))
  p(ties, "se", num(sqrt(diag(vcov(fit)))))
  p(ties, "loglik", num(fit$loglik))
  p(ties, "logtest", num(s$logtest))
  p(ties, "waldtest", num(drop(coef(fit) %*% solve(vcov(fit), coef(fit)))))  # summary rounds it
  p(ties, "sctest", num(s$sctest))
  p(ties, "concordance", num(s$concordance))
  for (tr in c("km", "rank", "identity", "log")) {
    z <- cox.zph(fit, transform = tr)
    p(ties, "zph", tr, "chisq", num(z$table[, "chisq"]))
    p(ties, "zph", tr, "p", num(z$table[, "p"]))
  }
}
# age scale, delayed entry
lung2 <- lung[!is.na(lung$ph.ecog), ]
fit <- coxph(Surv(age, age + time / 365.25, status) ~ sex + ph.ecog, data = lung2)
s <- summary(fit)
p("entry logtest", num(s$logtest)); p("entry waldtest", num(drop(coef(fit) %*% solve(vcov(fit), coef(fit))))); p("entry sctest", num(s$sctest))
p("entry concordance", num(s$concordance))
for (tr in c("km", "rank", "identity")) {  # km: singular in R 3.5.3 (solve fails) on these data
  z <- tryCatch(cox.zph(fit, transform = tr), error = function(e) NULL)
  if (!is.null(z)) p("entry zph", tr, "chisq", num(z$table[, "chisq"])) else p("entry zph", tr, "error")
}
fit <- coxph(Surv(age, age + time / 365.25, status) ~ sex + ph.ecog, data = lung2, ties = "breslow")
p("entry breslow coef", num(coef(fit))); p("entry breslow se", num(sqrt(diag(vcov(fit)))))
p("entry breslow sctest", num(summary(fit)$sctest)); p("entry breslow zph rank", num(cox.zph(fit, transform = "rank")$table[, "chisq"]))
# factor term: ph.ecog as a factor (one test on 3 df in cox.zph, terms = TRUE)
lung3 <- lung2[lung2$ph.ecog < 3, ]
fit <- coxph(Surv(time, status) ~ factor(ph.ecog) + age, data = lung3)
z <- cox.zph(fit)
p("factor coef", num(coef(fit)))
p("factor zph km chisq", num(z$table[, "chisq"])); p("factor zph km df", num(z$table[, "df"]))
# exposure per SD
sdage <- sd(lung2$age)
fit <- coxph(Surv(time, status) ~ I(age / sdage) + sex + ph.ecog, data = lung2)
p("persd sd", num(sdage)); p("persd coef", num(coef(fit))); p("persd se", num(sqrt(diag(vcov(fit)))))
fit <- coxph(Surv(time, status) ~ I(age / 5) + sex + ph.ecog, data = lung2)
p("per5 coef", num(coef(fit))); p("per5 se", num(sqrt(diag(vcov(fit)))))
# Kaplan-Meier
for (ct in c("log", "log-log", "plain")) {
  km <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = ct)
  tb <- summary(km, rmean = 365)$table
  p("km", ct, "median", num(tb[, "median"]))
  p("km", ct, "lcl", num(tb[, "0.95LCL"]))
  p("km", ct, "ucl", num(tb[, "0.95UCL"]))
  ss <- summary(km, times = c(180, 365))
  p("km", ct, "surv", num(ss$surv)); p("km", ct, "se", num(ss$std.err))
  p("km", ct, "lower", num(ss$lower)); p("km", ct, "upper", num(ss$upper))
}
km <- survfit(Surv(time, status) ~ sex, data = lung)
for (rm in c("365", "'common'")) {
  tb <- summary(km, rmean = eval(parse(text = rm)))$table
  p("rmean", rm, num(tb[, "rmean"])); p("se(rmean)", rm, num(tb[, "se(rmean)"]))
}
tb <- summary(km)$table  # default rmean = "individual"? print default
p("rmean default", num(tb[, "rmean"])); p("se(rmean) default", num(tb[, "se(rmean)"]))
km <- survfit(Surv(time, status) ~ sex, data = lung)
tb <- summary(km, rmean = "individual")$table
p("rmean individual", num(tb[, "rmean"])); p("se(rmean) individual", num(tb[, "se(rmean)"]))
# Kaplan-Meier with delayed entry: entry at floor(time / 3) (the age scale degenerates: S drops to 0 at 40)
lung$entry <- floor(lung$time / 3)
for (ct in c("log", "log-log")) {
  km <- survfit(Surv(entry, time, status) ~ sex, data = lung, conf.type = ct)
  tb <- summary(km)$table
  p("km entry", ct, "median", num(tb[, "median"])); p("km entry", ct, "lcl", num(tb[, "0.95LCL"]))
  p("km entry", ct, "ucl", num(tb[, "0.95UCL"]))
  ss <- summary(km, times = c(180, 365))
  p("km entry", ct, "surv", num(ss$surv)); p("km entry", ct, "se", num(ss$std.err))
  p("km entry", ct, "lower", num(ss$lower)); p("km entry", ct, "upper", num(ss$upper))
}
tb <- summary(km, rmean = 365)$table
p("km entry rmean", num(tb[, "rmean"])); p("km entry se(rmean)", num(tb[, "se(rmean)"]))

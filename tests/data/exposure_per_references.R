# Reference numbers for tests/reference/test_exposure_per_r.py: Rscript tests/data/exposure_per_references.R
# (survival 3.5.3, lavaan; reads tests/data/lung.csv)
suppressMessages(library(survival))
lung <- read.csv("tests/data/lung.csv")
num <- function(x) paste(formatC(x, digits = 15, format = "g"), collapse = ", ")
lung2 <- lung[!is.na(lung$ph.ecog), ]
fit <- coxph(Surv(time, status) ~ scale(age) + sex + ph.ecog, data = lung2)
cat("sd", num(sd(lung2$age)), "\n")
cat("coef", num(coef(fit)), "\n"); cat("se", num(sqrt(diag(vcov(fit)))), "\n")
fit <- coxph(Surv(time, status) ~ I(age / 5) + sex + ph.ecog, data = lung2)
cat("per5 coef", num(coef(fit)), "\n"); cat("per5 se", num(sqrt(diag(vcov(fit)))), "\n")

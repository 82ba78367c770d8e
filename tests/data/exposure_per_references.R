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
# mediation per SD of x on tests/data/mediation_reference.csv: lavaan ML (expected information) with x / sd(x),
# and the OLS paths (PROCESS, lm) with scale(x)
suppressMessages(library(lavaan))
d <- read.csv("tests/data/mediation_reference.csv")
cat("x sd", num(sd(d$x)), "\n")
d$xs <- d$x / sd(d$x)
serial <- 'm1 ~ a1*xs + cov1 + cov2
           m2 ~ a2*xs + d21*m1 + cov1 + cov2
           y ~ b1*m1 + b2*m2 + cp*xs + cov1 + cov2
           ind1 := a1*b1
           ind2 := a2*b2
           ind3 := a1*d21*b2
           total_ind := a1*b1 + a2*b2 + a1*d21*b2
           total := cp + a1*b1 + a2*b2 + a1*d21*b2'
pe <- parameterEstimates(sem(serial, data = d, estimator = "ML"))
pe <- pe[pe$label != "", ]
for (i in seq_len(nrow(pe))) cat("lavaan", pe$label[i], num(c(pe$est[i], pe$se[i])), "\n")
ma <- lm(m1 ~ scale(x) + cov1 + cov2, data = d)
my <- lm(y ~ m1 + scale(x) + cov1 + cov2, data = d)
mc <- lm(y ~ scale(x) + cov1 + cov2, data = d)
cat("lm a", num(coef(summary(ma))[2, 1:2]), "\n")
cat("lm cp", num(coef(summary(my))[3, 1:2]), "\n")
cat("lm c", num(coef(summary(mc))[2, 1:2]), "\n")
cat("lm ab", num(coef(ma)[2] * coef(my)[2]), "\n")

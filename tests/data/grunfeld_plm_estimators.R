# plm references for first differences with an intercept, the between estimator, Amemiya random effects,
# phtest, pFtest and fixef on Grunfeld (balanced) and on Grunfeld without rows 1-3, 25, 60, 61 (unbalanced,
# a gap in firm 2), R with Debian r-cran-plm 2.6. Quoted in tests/reference/test_panel_plm.py.
# Run: Rscript tests/data/grunfeld_plm_estimators.R (repository root).
suppressMessages(library(plm))
options(digits=12)
data("Grunfeld", package="plm")
f <- inv ~ value + capital
fd <- plm(f, data=Grunfeld, model="fd")
print(summary(fd)$coefficients)
for (tp in c("HC0", "HC1", "sss")) print(sqrt(diag(vcovHC(fd, method="arellano", type=tp, cluster="group"))))
be <- plm(f, data=Grunfeld, model="between")
print(summary(be)$coefficients)
am <- plm(f, data=Grunfeld, model="random", random.method="amemiya")
print(summary(am)$coefficients)
print(ercomp(am)$sigma2)
for (tp in c("HC0", "HC1", "sss")) print(sqrt(diag(vcovHC(am, method="arellano", type=tp, cluster="group"))))
fe <- plm(f, data=Grunfeld, model="within")
re <- plm(f, data=Grunfeld, model="random")
po <- plm(f, data=Grunfeld, model="pooling")
print(sqrt(diag(vcovHC(re, method="arellano", type="HC1", cluster="group"))))
print(unclass(phtest(fe, re))[c("statistic", "parameter", "p.value")])
print(unclass(phtest(fe, am))[c("statistic", "parameter", "p.value")])
print(unclass(pFtest(fe, po))[c("statistic", "parameter", "p.value")])
s <- summary(fixef(fe))
print(s[, 1]); print(s[, 2]); print(s[, 4])
g2 <- Grunfeld[-c(1, 2, 3, 25, 60, 61), ]
print(summary(plm(f, data=g2, model="fd"))$coefficients)
print(summary(plm(f, data=g2, model="between"))$coefficients)
amu <- plm(f, data=g2, model="random", random.method="amemiya")
print(summary(amu)$coefficients)
print(ercomp(amu)$sigma2)
print(unclass(pFtest(plm(f, data=g2, model="within"), plm(f, data=g2, model="pooling")))[c("statistic", "parameter")])

# Clustered (Arellano) covariances of plm on Grunfeld, HC0 / HC1 / sss, for one-way and two-way within and
# first differences (R, Debian r-cran-plm 2.6). Run: Rscript tests/data/grunfeld_plm_vcov.R (repository root).
suppressMessages(library(plm))
options(digits=12)
data("Grunfeld", package="plm")
fe1 <- plm(inv ~ value + capital, data=Grunfeld, model="within")
fe2 <- plm(inv ~ value + capital, data=Grunfeld, model="within", effect="twoways")
fd0 <- plm(inv ~ value + capital - 1, data=Grunfeld, model="fd")
for (m in list(fe1, fe2, fd0)) for (tp in c("HC0", "HC1", "sss"))
  print(sqrt(diag(vcovHC(m, method="arellano", type=tp, cluster="group"))))
print(coef(fe2))

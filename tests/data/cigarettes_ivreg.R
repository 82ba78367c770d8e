# AER::ivreg references on CigarettesSW (AER's documentation example: the 1995 cigarette demand model) and the
# export of tests/data/cigarettes_sw.csv (CigarettesSW with the derived variables of the example, every year).
# Quoted in tests/reference/test_one_sample_mr_ivreg.py.
# Run: Rscript tests/data/cigarettes_ivreg.R (repository root; R 4.2, Debian r-cran-aer 1.2-10, sandwich).
suppressMessages(library(AER))
options(digits=12)
data("CigarettesSW", package="AER")
d <- transform(CigarettesSW, rprice=price/cpi, rincome=income/population/cpi, tdiff=(taxs - tax)/cpi,
               rtax=tax/cpi)
d <- transform(d, log_packs=log(packs), log_rprice=log(rprice), log_rincome=log(rincome))
write.csv(d, "tests/data/cigarettes_sw.csv", row.names=FALSE)
d <- read.csv("tests/data/cigarettes_sw.csv")  # the numbers below are those of the CSV's (15-digit) values
fm <- ivreg(log_packs ~ log_rprice + log_rincome | log_rincome + tdiff + rtax, data=d, subset=year == 1995)
s <- summary(fm, diagnostics=TRUE)
cat("## iid\n"); print(s$coefficients); print(s$sigma); print(s$df); print(s$diagnostics)
for (tp in c("HC0", "HC1")) {
  cat("##", tp, "\n")
  sr <- summary(fm, vcov.=function(o) vcovHC(o, type=tp), diagnostics=TRUE)
  print(sr$coefficients); print(sr$diagnostics)
}
ols <- lm(log_packs ~ log_rprice + log_rincome, data=d, subset=year == 1995)
cat("## OLS\n"); print(summary(ols)$coefficients); print(summary(ols)$sigma)
for (tp in c("HC0", "HC1")) print(unclass(coeftest(ols, vcov=vcovHC(ols, type=tp)))[, c(2, 4)])
# just identified: tdiff only (no Sargan)
fj <- ivreg(log_packs ~ log_rprice + log_rincome | log_rincome + tdiff, data=d, subset=year == 1995)
cat("## just identified\n"); print(summary(fj, diagnostics=TRUE)$coefficients); print(summary(fj)$sigma)
print(summary(fj, diagnostics=TRUE)$diagnostics)

# Reference values for tests/reference/test_meta_metafor.py (R 4.x, metafor 3.8-1). Run from the repository root:
#   Rscript tests/data/meta_bcg_reference.R
# control: tight tolerances (metafor defaults stop REML/ML at a tau^2 change of 1e-5 and PM/Q-profile uniroot at
# about 1e-4; with the defaults PM tau^2 is 0.318093711863015 and the Q-profile lower limit 0.119695312816638).
library(metafor)
options(digits=15)
data(dat.bcg)
write.csv(dat.bcg, "tests/data/dat_bcg.csv", row.names=FALSE)
dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
cat("yi", sprintf("%.15g", dat$yi), "\n")
cat("vi", sprintf("%.15g", dat$vi), "\n")
do <- function(res, name) {
  cat(name, "b", sprintf("%.15g", coef(res)), "se", sprintf("%.15g", res$se), "tau2", sprintf("%.15g", res$tau2),
      "setau2", sprintf("%.15g", res$se.tau2), "ci.lb", sprintf("%.15g", res$ci.lb), "ci.ub", sprintf("%.15g", res$ci.ub),
      "pval", sprintf("%.15g", res$pval), "QE", sprintf("%.15g", res$QE), "QEp", sprintf("%.15g", res$QEp),
      "I2", sprintf("%.15g", res$I2), "H2", sprintf("%.15g", res$H2), "ll", sprintf("%.15g", res$fit.stats["ll","REML"]), "\n")
}
for (m in c("FE","REML","DL","PM","ML")) {
  res <- rma(yi, vi, data=dat, method=m, control=list(tol=1e-12, threshold=1e-12, maxiter=10000)); do(res, m)
  if (m != "FE") {
    ci <- confint(res, control=list(tol=1e-12)); cat(m, "tau2ci", sprintf("%.15g", ci$random["tau^2",]), "I2ci", sprintf("%.15g", ci$random["I^2(%)",]), "H2ci", sprintf("%.15g", ci$random["H^2",]), "\n")
    p <- predict(res); cat(m, "pred", sprintf("%.15g", c(p$pred, p$se, p$ci.lb, p$ci.ub, p$pi.lb, p$pi.ub)), "\n")
    rk <- rma(yi, vi, data=dat, method=m, test="knha", control=list(tol=1e-12, threshold=1e-12, maxiter=10000)); do(rk, paste0(m,"_knha"))
    pk <- predict(rk); cat(m, "knha_pred", sprintf("%.15g", c(pk$pred, pk$se, pk$ci.lb, pk$ci.ub, pk$pi.lb, pk$pi.ub)), "\n")
  }
}
mr <- rma(yi, vi, mods=~ablat, data=dat, method="REML", control=list(threshold=1e-12, maxiter=10000)); do(mr, "mreg")
cat("mreg QM", sprintf("%.15g", c(mr$QM, mr$QMp, mr$R2, mr$zval)), "\n")
mrk <- rma(yi, vi, mods=~ablat, data=dat, method="REML", test="knha", control=list(threshold=1e-12, maxiter=10000)); do(mrk, "mreg_knha")
cat("mregk QM", sprintf("%.15g", c(mrk$QM, mrk$QMp, mrk$QMdf, mrk$zval)), "\n")
mrf <- rma(yi, vi, mods=~ablat, data=dat, method="FE"); do(mrf, "mreg_fe")
# subgroup by alloc
sg <- rma(yi, vi, mods=~factor(alloc), data=dat, method="REML", control=list(threshold=1e-12, maxiter=10000)); do(sg, "sub_mods")
cat("sub QM", sprintf("%.15g", c(sg$QM, sg$QMp)), "\n")
for (a in c("alternate","random","systematic")) { r <- rma(yi, vi, data=dat, subset=alloc==a, method="REML", control=list(threshold=1e-12, maxiter=10000)); do(r, paste0("sub_",a)) }
eg <- regtest(rma(yi, vi, data=dat, method="FE")); cat("egger_fe", sprintf("%.15g", c(eg$zval, eg$pval, eg$est, eg$ci.lb, eg$ci.ub)), "\n")
eg2 <- regtest(rma(yi, vi, data=dat, method="REML", control=list(threshold=1e-12, maxiter=10000))); cat("egger_re", sprintf("%.15g", c(eg2$zval, eg2$pval, eg2$est)), "\n")
eg3 <- regtest(yi, vi, data=dat, model="lm"); cat("egger_lm", sprintf("%.15g", c(eg3$zval, eg3$pval, eg3$dfs, eg3$est, eg3$fit$coef)), "\n")
# OR
do2 <- escalc(measure="OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
cat("ORyi", sprintf("%.15g", do2$yi), "\n"); cat("ORvi", sprintf("%.15g", do2$vi), "\n")
sgs <- lapply(c("alternate","random","systematic"), function(a) rma(yi, vi, data=dat, subset=alloc==a, method="REML", control=list(threshold=1e-12, maxiter=10000)))
qb <- rma(sapply(sgs, coef), sei=sapply(sgs, function(r) r$se), method="FE"); cat("qbetween", sprintf("%.15g", c(qb$QE, qb$QEp)), "\n")

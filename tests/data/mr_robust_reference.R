# Reference numbers for tests/reference/test_mr_robust_estimators.py: MendelianRandomization 0.10.0's estimators
# run from its sources (the package is not installable here) on its lipids example (Waterworth et al. 2010).
# Usage: Rscript tests/data/mr_robust_reference.R <MendelianRandomization source dir> <lipids csv> [quick]
# ("quick": without the 20000-draw pIVW runs, about a minute)
# (source dir: a checkout of github.com/cran/MendelianRandomization at version 0.10.0; needs robustbase)
args <- commandArgs(trailingOnly = TRUE)
suppressMessages({library(methods); library(robustbase)})
for (f in c("1Data.R", "AllClasses.R", "AllGenerics.R", "ExtraFunctions.R", "getter-methods.R", "new-methods.R", "mr_ivw-methods.R",
            "mr_egger-methods.R", "mr_divw-methods.R", "mr_pivw-methods.R", "mr_maxlik-methods.R",
            "mr_conmix-methods.R", "mr_mvegger-methods.R")) source(file.path(args[1], "R", f))
d <- read.csv(args[2])
inp <- mr_input(bx = d$ldlc, bxse = d$ldlcse, by = d$chdlodds, byse = d$chdloddsse)
show <- function(name, fit, slots = c("Estimate", "StdError", "Pvalue", "CILower", "CIUpper")) {
  for (s in intersect(slots, slotNames(fit))) cat(name, s, sprintf("%.15g", slot(fit, s)), "\n")
}
show("ivw_penalised", mr_ivw(inp, penalized = TRUE))
show("ivw_robust", mr_ivw(inp, robust = TRUE))
# robust IVW where outliers matter: the outcome associations of variants 3, 8 and 14 replaced by 0.5
by_out <- d$chdlodds; by_out[c(3, 8, 14)] <- 0.5
show("ivw_robust_outliers", mr_ivw(mr_input(bx = d$ldlc, bxse = d$ldlcse, by = by_out, byse = d$chdloddsse),
                                   robust = TRUE))
show("ivw_robust_first3", mr_ivw(mr_input(bx = d$ldlc[1:3], bxse = d$ldlcse[1:3], by = d$chdlodds[1:3],
                                          byse = d$chdloddsse[1:3]), robust = TRUE))
show("ivw_robust_penalised", mr_ivw(inp, robust = TRUE, penalized = TRUE))
show("egger_normal", mr_egger(inp), c("Estimate", "StdError.Est", "Pvalue.Est", "Intercept", "StdError.Int",
                                     "Pvalue.Int", "CILower.Est", "CIUpper.Est"))
show("divw", mr_divw(inp), c("Estimate", "StdError", "Pvalue", "Condition"))
show("divw_no_overdispersion", mr_divw(inp, over.dispersion = FALSE))
show("pivw_no_boot", mr_pivw(inp, Boot.Fieller = FALSE), c("Estimate", "StdError", "Pvalue", "CILower", "CIUpper",
                                                          "Tau2", "Condition"))
show("pivw_boot", mr_pivw(inp))
show("maxlik", mr_maxlik(inp), c("Estimate", "StdError", "Pvalue", "RSE", "Heter.Stat"))
show("maxlik_fixed", mr_maxlik(inp, model = "fixed"))
# optim's default Nelder-Mead stops short of the maximum on these 29 parameters (objective 43.41 against 42.99);
# conjugate gradients (passed to optim through mr_maxlik's ...) reach it
show("maxlik_cg", mr_maxlik(inp, method = "CG"), c("Estimate", "StdError", "Pvalue", "RSE", "Heter.Stat"))
show("maxlik_cg_fixed", mr_maxlik(inp, method = "CG", model = "fixed"))
show("conmix", mr_conmix(inp), c("Estimate", "Pvalue", "CILower", "CIUpper", "Psi", "CIMin", "CIMax", "Valid"))
show("conmix_step0001", mr_conmix(inp, CIStep = 0.001), c("Estimate", "Pvalue", "CILower", "CIUpper"))
mv <- mr_mvinput(bx = cbind(d$ldlc, d$hdlc, d$trig), bxse = cbind(d$ldlcse, d$hdlcse, d$trigse),
                 by = d$chdlodds, byse = d$chdloddsse)
show("egger_mv", mr_mvegger(mv), c("Estimate", "StdError.Est", "Pvalue.Est", "Intercept", "StdError.Int",
                                   "Pvalue.Int", "RSE", "Heter.Stat"))
show("egger_mv_t", mr_mvegger(mv, distribution = "t-dist"), c("Pvalue.Est", "Pvalue.Int"))
# pIVW's bootstrapped Fieller interval with 20000 draws (the package draws 1000 with set.seed(1)): BF_dist's
# n_boot and seed_boot defaults changed, the rest of mr_pivw as it is
if (length(args) > 2 && args[3] == "quick") quit(save = "no")
formals(BF_dist)$n_boot <- 20000
for (s in 1:3) {
  formals(BF_dist)$seed_boot <- s
  show(paste0("pivw_boot20000_seed", s), mr_pivw(inp), c("Pvalue", "CILower", "CIUpper"))
}

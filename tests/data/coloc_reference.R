# Reference numbers for tests/unit/test_mr_coloc.py from R's coloc (coloc.abf), computed once:
#   Rscript tests/data/coloc_reference.R <folder holding coloc's R/ sources (github.com/chr1swallace/coloc)>
# (the Debian archive has no r-cran-coloc; the sources are sourced, not copied). Needs data.table.
# Writes tests/data/coloc_reference.csv and tests/data/coloc_reference_snp.csv.
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(data.table))
for (f in list.files(file.path(args[1], "R"), pattern = "[.]R$", full.names = TRUE)) source(f)
here <- "tests/data"
header <- readLines(file.path(here, "coloc_regions.csv"), n = 1)
num <- function(key) as.numeric(sub(paste0(".*[# ]", key, "=([0-9.eE+-]+).*"), "\\1", header))
n <- num("n"); sd1 <- num("sd_y1"); sd3 <- num("sd_y3"); s <- num("case_fraction")
d <- read.csv(file.path(here, "coloc_regions.csv"), comment.char = "#")
q1 <- list(beta = d$beta_q1, varbeta = d$se_q1^2, snp = d$snp, position = d$position, type = "quant", sdY = sd1,
           N = n, MAF = d$maf)
q1_est <- q1; q1_est$sdY <- NULL                      # sdY estimated from varbeta, MAF and N (sdY.est)
cc2 <- list(beta = d$beta_cc2, varbeta = d$se_cc2^2, snp = d$snp, position = d$position, type = "cc", s = s,
            N = n, MAF = d$maf)
q3 <- list(beta = d$beta_q3, varbeta = d$se_q3^2, snp = d$snp, position = d$position, type = "quant", sdY = sd3,
           N = n, MAF = d$maf)
first50 <- function(x) {  # the first 50 variants: no causal variant of either trait
  for (k in c("beta", "varbeta", "snp", "position", "MAF")) x[[k]] <- x[[k]][1:50]
  x
}
cases <- list(
  shared = suppressWarnings(coloc.abf(q1, cc2)),
  distinct_sdy_estimated = suppressWarnings(coloc.abf(q1_est, q3)),
  shared_sdy_estimated = suppressWarnings(coloc.abf(q1_est, cc2)),
  shared_priors = suppressWarnings(coloc.abf(q1, cc2, p1 = 1e-3, p2 = 1e-3, p12 = 1e-6)),
  null_region = suppressWarnings(coloc.abf(first50(q3), first50(cc2)))
)
summ <- do.call(rbind, lapply(names(cases), function(k) {
  data.frame(case = k, statistic = names(cases[[k]]$summary), value = unname(cases[[k]]$summary))
}))
summ <- rbind(summ, data.frame(case = "distinct_sdy_estimated", statistic = "sdY.est",
                               value = suppressWarnings(sdY.est(q1$varbeta, q1$MAF, n))))
options(digits = 17)
write.csv(summ, file.path(here, "coloc_reference.csv"), row.names = FALSE)
snp <- do.call(rbind, lapply(c("shared", "distinct_sdy_estimated", "null_region"), function(k) {
  r <- cases[[k]]$results
  data.frame(case = k, snp = r$snp, lABF.df1 = r$lABF.df1, lABF.df2 = r$lABF.df2, SNP.PP.H4 = r$SNP.PP.H4)
}))
write.csv(snp, file.path(here, "coloc_reference_snp.csv"), row.names = FALSE)
options(digits = 15)
print(summ)

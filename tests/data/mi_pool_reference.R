# Reference for tests/unit/test_imputation.py: mice::pool on the five imputations of mi_imputations.csv.
# Rscript tests/data/mi_pool_reference.R   (mice from Debian's r-cran-mice)
suppressMessages(library(mice))
d <- read.csv("tests/data/mi_imputations.csv")
fits <- lapply(1:5, function(k) lm(dsst ~ grip_kg + age, data = d[d$imputation == k, ]))
p <- pool(as.mira(fits))
s <- summary(p, conf.int = TRUE)
options(digits = 12)
cat("mice", as.character(packageVersion("mice")), "\n")
print(s[, c("term", "estimate", "std.error", "statistic", "df", "p.value", "2.5 %", "97.5 %")])
print(p$pooled[, c("term", "ubar", "b", "t", "riv", "lambda", "fmi", "dfcom")])
g <- lapply(1:5, function(k) glm(impaired ~ grip_kg + age, family = binomial, data = d[d$imputation == k, ],
                                         control = glm.control(epsilon = 1e-14, maxit = 100)))  # converged fully
pg <- pool(as.mira(g), dfcom = Inf)
sg <- summary(pg, conf.int = TRUE)
print(sg[, c("term", "estimate", "std.error", "statistic", "df", "p.value", "2.5 %", "97.5 %")])
print(pg$pooled[, c("term", "riv", "lambda", "fmi")])

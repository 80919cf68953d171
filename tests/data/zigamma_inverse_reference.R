# Reference fit of glmmTMB's ziGamma with its default (inverse) link on the
# simulated zigamma data (tests/data/glmmtmb_zigamma.csv, made by
# glmmtmb_reference.R), for tests/test_zero_inflation.py.
#
# Run from the repository root:
#     Rscript tests/data/zigamma_inverse_reference.R
# Writes tests/data/zigamma_inverse_reference.json.
#
# glmmTMB 1.1.5 stops at its own start ("negative log-likelihood is NaN at
# starting parameter values": beta = 0 is an infinite mean on the inverse
# link), and R's glm(y ~ x, Gamma) on the positive responses stops too ("no
# valid set of coefficients"), so the fit here starts glmmTMB at the constant
# mean, beta = (1 / mean of the positive y, 0), where every mean is valid.
source(file.path("tests", "data", "glmmtmb_common.R"))

d <- read.csv(file.path("tests", "data", "glmmtmb_zigamma.csv"))
start <- list(beta = c(1 / mean(d$y[d$y > 0]), 0))
default_fails <- tryCatch({
  glmmTMB(y ~ x + (1 | g), ziformula = ~1, family = ziGamma, data = d); NULL
}, error = function(e) conditionMessage(e))
fit <- glmmTMB(y ~ x + (1 | g), ziformula = ~1, family = ziGamma, data = d, start = start)
stopifnot(fit$fit$convergence == 0, fit$sdr$pdHess)
out <- list(
  glmmTMB = as.character(packageVersion("glmmTMB")),
  formula = "y ~ x + (1 | g)", ziformula = "~1", family_call = "ziGamma()", link = family(fit)$link,
  default_start_error = default_fails,
  start = start,
  m2loglik = -2 * as.numeric(logLik(fit)),
  fixef = list(cond = as.list(fixef(fit)$cond), zi = as.list(fixef(fit)$zi)),
  se = list(cond = as.list(sqrt(diag(vcov(fit)$cond))), zi = as.list(sqrt(diag(vcov(fit)$zi)))),
  sigma = sigma(fit),
  sd = attr(VarCorr(fit)$cond$g, "stddev")[[1]]
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path("tests", "data", "zigamma_inverse_reference.json"))

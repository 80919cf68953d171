# glmmTMB's Wald intervals, confint(fit, method = "Wald", full = TRUE), for
# reference cases of glmmtmb_reference.R (same data, formulas and families):
# the conditional and zero-inflation coefficients and sigma, for
# tests/test_confint_tmb.py; for zigamma_ri also confint(method = "profile").
#
# Run from the repository root:
#     Rscript tests/data/glmmtmb_confint_reference.R
# Writes tests/data/glmmtmb_confint_reference.json: per case id, the
# formula, ziformula, family call and rows (glmmTMB's row names: cond.<name>,
# zi.<name>, sigma, cond.Std.Dev.<term>) with lower, upper and estimate.
source(file.path("tests", "data", "glmmtmb_common.R"))

csv <- function(name) read.csv(file.path("tests", "data", paste0("glmmtmb_", name, ".csv")))
data(Salamanders, package = "glmmTMB")
cases <- list(
  tweedie_ri = list(formula = y ~ x + (1 | g), zi = ~0, family = tweedie(link = "log"), data = csv("tweedie")),
  zigamma_ri = list(formula = y ~ x + (1 | g), zi = ~1, family = ziGamma(link = "log"), data = csv("zigamma"),
                    profile = TRUE),
  sal_zinb2_add = list(formula = count ~ spp + mined + (1 | site), zi = ~spp + mined, family = nbinom2,
                       data = Salamanders),
  sal_nb1 = list(formula = count ~ spp + mined + (1 | site), zi = ~0, family = nbinom1, data = Salamanders)
)
out <- lapply(cases, function(cs) {
  fit <- glmmTMB(cs$formula, ziformula = cs$zi, family = cs$family, data = cs$data)
  ci <- confint(fit, method = "Wald", full = TRUE, level = 0.95)
  res <- list(formula = deparse(cs$formula), ziformula = if (identical(cs$zi, ~0)) NULL else deparse(cs$zi),
              rows = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]), estimate = unname(ci[, 3]))
  if (isTRUE(cs$profile)) {
    # profile intervals on glmmTMB's internal scales: zi~ coefficients, d~(Intercept) = log shape
    # (-2 log sigma) for the Gamma, theta_1|g.1 = log sd
    pr <- confint(fit, method = "profile", full = TRUE, level = 0.95)
    res$profile <- list(rows = rownames(pr), lower = unname(pr[, 1]), upper = unname(pr[, 2]))
  }
  res
})
writeLines(toJSON(list(glmmTMB = as.character(packageVersion("glmmTMB")), level = 0.95, cases = out),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path("tests", "data", "glmmtmb_confint_reference.json"))

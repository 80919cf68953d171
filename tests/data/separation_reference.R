# lme4's fits of cbpp with period 4's incidences all set to zero (issue 12):
# period 4 is quasi-separated, so its coefficient diverges; lme4 stops where
# its objective goes flat (period4 ~ -24 at nAGQ = 1) and the other
# estimates and -2 log L are what a correct fit must reach.
# Run: Rscript separation_reference.R > separation_reference.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
cb <- cbpp
cb$incidence[cb$period == "4"] <- 0
fits <- lapply(c(0, 1, 5), function(q) {
  m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial, nAGQ = q)
  list(nAGQ = q, m2loglik = -2 * as.numeric(logLik(m)), fixef = as.list(fixef(m)),
       theta = unname(getME(m, "theta")), messages = as.list(m@optinfo$conv$lme4$messages))
})
# The saturated model's -2 log L (each row's own probability): no fit can go below it.
sat <- with(cb, -2 * sum(dbinom(incidence, size, incidence / size, log = TRUE)))
cat(toJSON(list(lme4_version = as.character(packageVersion("lme4")),
                formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                data = "cbpp with incidence set to 0 where period == 4",
                saturated_m2loglik = sat, fits = fits), auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")

# Makes tests/data/lme4_checks.json (lme4 1.1-31, R 4.2): the messages of
# lme4's checks on a model before fitting, and the fits whose naming or data
# handling glmmfast copies.  Run: Rscript tests/data/lme4_checks.R
# (from the repository root, with the grouseticks CSV path below).
suppressMessages({library(lme4); library(jsonlite)})
g <- read.csv(Sys.getenv("GROUSETICKS_CSV", "/work/shared/data/grouseticks.csv"))
for (v in c("INDEX", "BROOD", "YEAR", "LOCATION")) g[[v]] <- factor(g[[v]])
err <- function(expr) tryCatch({expr; NA_character_}, error = function(e) conditionMessage(e))
warns <- function(expr) {
  w <- character()
  value <- withCallingHandlers(expr, warning = function(c) {w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning")})
  list(value = value, warnings = w)
}
out <- list()
# check.nobs.vs.nRE ("stop"): glmer allows n == q (allow.n), lmer does not.
out$nre_glmer <- err(glmer(TICKS ~ YEAR + (0 + INDEX | LOCATION), g, family = poisson))
out$nre_lmer <- err(lmer(TICKS ~ YEAR + (0 + INDEX | LOCATION), g))
out$nre_glmer_slope <- err(glmer(TICKS ~ YEAR + (cHEIGHT | INDEX), g, family = poisson))
# check.nobs.vs.nlev ("stop"): lmer needs fewer levels than observations.
out$nlev_lmer <- err(lmer(TICKS ~ YEAR + (1 | INDEX), g))
# check.nlev.gtreq.5 (default "ignore"; its message when asked for).
out$nlev5 <- warns(glmer(TICKS ~ 1 + (1 | YEAR), g, family = poisson,
                         control = glmerControl(check.nlev.gtreq.5 = "warning")))$warnings
# check.scaleX ("warning").
g$H1e4 <- g$HEIGHT * 1e4
sc <- warns(lmer(TICKS ~ H1e4 + YEAR + (1 | LOCATION), g))
out$scale_lmer <- list(warnings = sc$warnings, fixef = as.list(fixef(sc$value)))
out$no_scale_lmer <- warns(lmer(TICKS ~ HEIGHT + YEAR + (1 | LOCATION), g))$warnings
# The response on the right-hand side is dropped (terms.formula).
rr <- warns(glmer(TICKS ~ TICKS + YEAR + (1 | LOCATION), g, family = poisson))
out$response_rhs <- list(warnings = rr$warnings, fixef_names = names(fixef(rr$value)))
# A syntactic non-ASCII name is not back-quoted.
g[["h\u00f6he"]] <- g$HEIGHT
f_u <- as.formula(paste("TICKS ~", "h\u00f6he", "+ YEAR + (1 | LOCATION)"))
out$unicode_names <- names(fixef(glmer(f_u, g, family = poisson)))
# A binomial factor response with three levels: the first is failure.
g$f3 <- factor(c("a", "b", "c")[g$TICKS %% 3 + 1])
b3 <- glmer(f3 ~ YEAR + (1 | LOCATION), g, family = binomial)
out$binomial_three_levels <- list(fixef = as.list(fixef(b3)), m2loglik = -2 * as.numeric(logLik(b3)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/data/lme4_checks.json")

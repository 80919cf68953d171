# Reference numbers for tests/test_predict.py, test_anova.py, test_confint.py
# (lme4 1.1-31).  Run:  Rscript tests/data/r/postfit_reference.R tests/data/postfit_reference.json
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
out <- list(note = "lme4 1.1-31; made by tests/data/r/postfit_reference.R")
m1 <- glmer(TICKS ~ YEAR + (1 | LOCATION), grouseticks, family = poisson)
m2 <- glmer(TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX), grouseticks, family = poisson)
gc <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)

nd <- data.frame(YEAR = factor(c("95", "96", "97", "96", "97"), levels = c("95", "96", "97")),
                 LOCATION = c("1", "32", "63", "9", "999"), INDEX = c("1", "2", "400", "5", "999"),
                 stringsAsFactors = FALSE)
nd_old <- nd[1:4, ]
out$newdata <- nd
pr <- list()
pr$m1_link <- unname(predict(m1, newdata = nd_old))
pr$m1_response <- unname(predict(m1, newdata = nd_old, type = "response"))
pr$m1_link_newlevels <- unname(predict(m1, newdata = nd, allow.new.levels = TRUE))
pr$m1_link_NA <- unname(predict(m1, newdata = nd, re.form = NA))
pr$m1_response_0 <- unname(predict(m1, newdata = nd, re.form = ~0, type = "response"))
pr$m2_link_newlevels <- unname(predict(m2, newdata = nd, allow.new.levels = TRUE))
pr$m2_link_loc <- unname(predict(m2, newdata = nd_old, re.form = ~(1 | LOCATION)))
pr$m2_link_index <- unname(predict(m2, newdata = nd_old, re.form = ~(1 | INDEX)))
ndc <- data.frame(period = factor(c("1", "2", "3", "4"), levels = levels(cbpp$period)), herd = c("1", "5", "10", "15"),
                  size = c(10, 10, 10, 10), incidence = 0)
pr$cbpp_response <- unname(predict(gc, newdata = ndc, type = "response"))
pr$cbpp_link_NA <- unname(predict(gc, newdata = ndc, re.form = NA))
out$cbpp_newdata <- ndc
out$predict <- pr

a <- anova(m1, m2)
out$anova <- list(models = c("m1", "m2"), npar = a$npar, AIC = a$AIC, BIC = a$BIC, logLik = a$logLik,
                  deviance = a$deviance, Chisq = a$Chisq, Df = a$Df, p = a[["Pr(>Chisq)"]])

ci <- function(x) list(parm = rownames(x), lower = unname(x[, 1]), upper = unname(x[, 2]))
out$confint <- list()
out$confint$m1_profile <- ci(confint(m1, method = "profile"))
out$confint$cbpp_profile <- ci(confint(gc, method = "profile"))
out$confint$m1_wald <- ci(confint(m1, method = "Wald"))
# A vector-valued term: standard deviations and a correlation profiled.
cbpp2 <- cbpp; cbpp2$pnum <- as.numeric(cbpp2$period) - 2.5
gv <- glmer(cbind(incidence, size - incidence) ~ period + (pnum | herd), cbpp2, family = binomial)
out$confint$cbpp_slope_profile <- ci(suppressWarnings(confint(gv, method = "profile")))
t0 <- proc.time()[["elapsed"]]
out$confint$m1_boot <- ci(confint(m1, method = "boot", nsim = 2000, seed = 101))
out$confint$m1_boot_nsim <- 2000
out$confint$m1_boot_seconds <- proc.time()[["elapsed"]] - t0
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), args[1])

# Makes tests/data/inference_extras_reference.json: car::Anova(type = 2) Wald
# chi-square tests of the GLMMs of inference_glmm_reference.R, and emmeans'
# `weights =` ("equal", "proportional", "outer", "cells", "flat") and
# `cov.reduce =` (a function, FALSE; the default cov.keep = "2" for a 0/1
# covariate) on an LMM and a GLMM.  Run from the repository root:
#   Rscript tests/data/inference_extras_reference.R
# The LMM data are tests/data/inference_sleep_unbalanced.csv with three columns
# computed from Days and Subject: parity ("even"/"odd" day), dose (the subject
# number mod 5: a covariate with 5 values) and bin01 (the subject number mod 2:
# a 0/1 covariate), none of them nested in another fixed-effects factor
# (emmeans' nesting detection would change the averaging).
source("tests/data/inference_common.R")

glmer_fit <- function(formula, data, family)
  lme4::glmer(as.formula(formula), data = data, family = family,
              control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10)))
estimates <- function(m) list(fixef = as.list(fixef(m)), vcov = unname(as.matrix(vcov(m))))

cbpp <- read.csv("python/glmmfast/datasets/data/cbpp.csv"); cbpp$period <- factor(cbpp$period); cbpp$herd <- factor(cbpp$herd)
gt <- read.csv("python/glmmfast/datasets/data/grouseticks.csv")
for (c in c("BROOD", "YEAR", "LOCATION")) gt[[c]] <- factor(gt[[c]])
ct <- read.csv("tests/data/inference_contraception.csv")
for (c in c("use", "urban", "livch", "district")) ct[[c]] <- factor(ct[[c]])
glmms <- list(
  cbpp = list("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, binomial),
  grouseticks = list("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", gt, poisson),
  grouseticks_interaction = list("TICKS ~ YEAR * cHEIGHT + (1 | LOCATION)", gt, poisson),
  contraception = list("use ~ age + I(age^2) + urban + livch + (1 | district)", ct, binomial),
  contraception_slopes = list("use ~ age + urban * livch + (urban | district)", ct, binomial))
anova2 <- list()
fits <- list()
for (name in names(glmms)) {
  g <- glmms[[name]]
  m <- glmer_fit(g[[1]], g[[2]], g[[3]])
  fits[[name]] <- m
  anova2[[name]] <- c(estimates(m), list(formula = g[[1]], anova2_wald = tab(car::Anova(m, type = 2))))
}

sl <- read.csv("tests/data/inference_sleep_unbalanced.csv")
sl$Subject <- factor(sl$Subject); sl$grp <- factor(sl$grp); sl$phase <- factor(sl$phase)
sl$parity <- factor(ifelse(sl$Days %% 2 == 1, "odd", "even"))
sl$dose <- as.integer(as.character(sl$Subject)) %% 5
sl$bin01 <- as.integer(as.character(sl$Subject)) %% 2
lmm <- lmerTest::lmer(Reaction ~ grp + phase * parity + dose + bin01 + (1 | Subject), data = sl, control = tight)
reducers <- list(default = mean, none = FALSE, median = median, range = range)
emm_case <- function(m, specs, weights, reducer, type = "link") {
  em <- if (reducer == "default") emmeans(m, specs, weights = weights, type = type)
        else emmeans(m, specs, weights = weights, cov.reduce = reducers[[reducer]], type = type)
  s <- as.data.frame(summary(em)); p <- as.data.frame(summary(pairs(em), adjust = "none"))
  list(specs = specs, weights = weights, cov_reduce = reducer, type = type, table = tab(s), pairs = tab(p))
}
emm <- list()
for (w in c("equal", "proportional", "outer", "cells", "flat"))
  for (r in c("default", "none", "median"))
    emm[[length(emm) + 1]] <- c(list(model = "sleep_weights"), emm_case(lmm, "grp", w, r))
emm[[length(emm) + 1]] <- c(list(model = "sleep_weights"), emm_case(lmm, "phase", "proportional", "range"))
for (w in c("equal", "proportional", "cells"))
  for (r in c("default", "median"))
    emm[[length(emm) + 1]] <- c(list(model = "contraception"), emm_case(fits$contraception, "livch", w, r, "response"))

out <- list(anova2 = anova2,
            sleep_weights = list(formula = "Reaction ~ grp + phase * parity + dose + bin01 + (1 | Subject)"),
            contraception = estimates(fits$contraception),
            emmeans = emm)
out$source <- paste("car", packageVersion("car"), "emmeans", packageVersion("emmeans"), "lmerTest", packageVersion("lmerTest"),
                    "pbkrtest", packageVersion("pbkrtest"), "lme4", packageVersion("lme4"),
                    "made by tests/data/inference_extras_reference.R")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "tests/data/inference_extras_reference.json")

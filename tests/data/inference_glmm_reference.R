# Makes tests/data/inference_glmm_reference.json (and inference_contraception.csv):
# car::Anova(type = 3) Wald chi-square tests and emmeans (link and response
# scale, pairs) for GLMM fits.  glmer is run at tight optimiser tolerances
# (bobyqa, rhoend 1e-10).  Run from the repository root:
#   Rscript tests/data/inference_glmm_reference.R
# Factors used as fixed effects are re-levelled alphabetically (R's default
# for character data, and glmmfast's), so coefficients are comparable.
source("tests/data/inference_common.R")

glmm_case <- function(name, formula, data, dataset, family, emm = list()) {
  m <- lme4::glmer(as.formula(formula), data = data, family = family,
                   control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10)))
  r <- list(kind = "glmer", formula = formula, dataset = dataset, nobs = nobs(m),
            fixef = as.list(fixef(m)), vcov = unname(as.matrix(vcov(m))), m2loglik = -2 * as.numeric(logLik(m)),
            anova3_wald = tab(car::Anova(m, type = 3)))
  r$emmeans <- list()
  for (e in emm) {
    rec <- list(specs = e$specs, by = e$by)
    rec$link <- emm_record(emmeans(m, e$specs, by = e$by))
    rec$response <- emm_record(emmeans(m, e$specs, by = e$by, type = "response"))
    r$emmeans[[length(r$emmeans) + 1]] <- rec
  }
  r
}

cases <- list()
cbpp <- read.csv("python/glmmfast/datasets/data/cbpp.csv"); cbpp$period <- factor(cbpp$period); cbpp$herd <- factor(cbpp$herd)
cases$cbpp <- glmm_case("cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, "cbpp", binomial,
                        emm = list(list(specs = "period")))
gt <- read.csv("python/glmmfast/datasets/data/grouseticks.csv")
for (c in c("BROOD", "YEAR", "LOCATION")) gt[[c]] <- factor(gt[[c]])
cases$grouseticks <- glmm_case("grouseticks", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", gt, "grouseticks",
                               poisson, emm = list(list(specs = "YEAR")))
cases$grouseticks_interaction <- glmm_case("grouseticks_interaction", "TICKS ~ YEAR * cHEIGHT + (1 | LOCATION)", gt,
                                           "grouseticks", poisson, emm = list(list(specs = "YEAR")))
ct <- relevel_alpha(Contraception, c("livch", "urban", "use"))
ct <- write_data(ct, "contraception", c("use", "age", "urban", "livch", "district"))
cases$contraception <- glmm_case("contraception", "use ~ age + I(age^2) + urban + livch + (1 | district)", ct,
                                 "contraception", binomial, emm = list(list(specs = "livch"), list(specs = "livch", by = "urban")))
cases$contraception_slopes <- glmm_case("contraception_slopes", "use ~ age + urban * livch + (urban | district)", ct,
                                        "contraception", binomial, emm = list(list(specs = c("urban", "livch"))))
cases$source <- paste("car", packageVersion("car"), "emmeans", packageVersion("emmeans"), "lme4", packageVersion("lme4"),
                      "made by tests/data/inference_glmm_reference.R")
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "tests/data/inference_glmm_reference.json")

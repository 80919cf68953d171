# Reference R^2 (performance::r2_nakagawa) for tests/test_r2.py.
# Run from tests/data:  Rscript r2_reference.R  -> r2_reference.json, and the
# CSVs of the datasets glmmfast does not bundle (lme4's Penicillin, Pastes,
# cake; mlmRev's Exam and Contraception, only the columns the models use).
# Versions: see "versions" in the JSON (performance 0.10.2, insight 0.19.0, lme4 1.1-31, glmmTMB 1.1.5).
# LMMs are fitted with lme4.  GLMMs are fitted with glmmTMB, whose Laplace
# likelihood glmmfast maximises (lme4's glmer stops short of it or, for
# non-canonical links, uses expected information), so the R^2 differences
# measure r2() and not the optimisers; r2_nakagawa of the lme4 fit is stored
# beside it ("lme4_marginal", "lme4_conditional") for information.
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(performance); library(insight); library(jsonlite)})
dd <- "../../python/glmmfast/datasets/data"
sleep <- read.csv(file.path(dd, "sleepstudy.csv")); sleep$Subject <- factor(sleep$Subject)
gt <- read.csv(file.path(dd, "grouseticks.csv"))
for (v in c("BROOD", "YEAR", "LOCATION", "INDEX")) gt[[v]] <- factor(gt[[v]])
cbpp <- read.csv(file.path(dd, "cbpp.csv")); cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)

# Datasets written here as CSV (factors as their labels; cake's temp is numeric, its temperature factor is left out).
data("Exam", package = "mlmRev"); data("Contraception", package = "mlmRev")
written <- list(
  penicillin = as.data.frame(lme4::Penicillin),
  pastes = as.data.frame(lme4::Pastes)[, c("strength", "batch", "cask")],
  cake = as.data.frame(lme4::cake)[, c("replicate", "recipe", "angle", "temp")],
  exam = Exam[, c("school", "normexam", "standLRT", "sex")],
  contraception = transform(Contraception[, c("district", "use", "age", "urban", "livch")],
                            use = as.integer(use == "Y"))
)
for (nm in names(written)) write.csv(written[[nm]], paste0(nm, ".csv"), row.names = FALSE)
# Read back as the tests read them: grouping columns as factors of their labels.
reread <- function(nm, factors) {
  d <- read.csv(paste0(nm, ".csv"), colClasses = setNames(rep("character", length(factors)), factors))
  for (v in factors) d[[v]] <- factor(d[[v]])
  d
}
datas <- list(
  sleepstudy = sleep, grouseticks = gt, cbpp = cbpp,
  penicillin = reread("penicillin", c("plate", "sample")),
  pastes = reread("pastes", c("batch", "cask")),
  cake = reread("cake", c("replicate", "recipe")),
  exam = reread("exam", c("school", "sex")),
  contraception = reread("contraception", c("district", "urban", "livch"))
)

cases <- list(
  sleep_slope_reml = list(data = "sleepstudy", engine = "lmer", formula = "Reaction ~ Days + (Days | Subject)", REML = TRUE),
  sleep_int_ml = list(data = "sleepstudy", engine = "lmer", formula = "Reaction ~ Days + (1 | Subject)", REML = FALSE),
  penicillin_crossed = list(data = "penicillin", engine = "lmer", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", REML = TRUE),
  pastes_nested = list(data = "pastes", engine = "lmer", formula = "strength ~ 1 + (1 | batch/cask)", REML = TRUE),
  cake_split_plot = list(data = "cake", engine = "lmer", formula = "angle ~ recipe + temp + (1 | recipe:replicate)", REML = TRUE),
  exam_slope = list(data = "exam", engine = "lmer", formula = "normexam ~ standLRT + sex + (standLRT | school)", REML = TRUE),
  exam_int_ml = list(data = "exam", engine = "lmer", formula = "normexam ~ standLRT + (1 | school)", REML = FALSE),
  gt_poisson = list(data = "grouseticks", engine = "glmer", formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", family = "poisson", link = "log"),
  gt_poisson_olre = list(data = "grouseticks", engine = "glmer", formula = "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)", family = "poisson", link = "log"),
  gt_negbin = list(data = "grouseticks", engine = "glmer.nb", formula = "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", family = "negative.binomial", link = "log"),
  cbpp_poisson_offset = list(data = "cbpp", engine = "glmer", formula = "incidence ~ period + offset(log(size)) + (1 | herd)", family = "poisson", link = "log"),
  cbpp_logit = list(data = "cbpp", engine = "glmer", formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = "binomial", link = "logit"),
  cbpp_probit = list(data = "cbpp", engine = "glmer", formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)", family = "binomial", link = "probit"),
  contraception_logit = list(data = "contraception", engine = "glmer", formula = "use ~ age + urban + livch + (1 | district)", family = "binomial", link = "logit"),
  contraception_slope = list(data = "contraception", engine = "glmer", formula = "use ~ age + urban + (urban | district)", family = "binomial", link = "logit")
)

out <- list()
for (id in names(cases)) {
  cs <- cases[[id]]; df <- datas[[cs$data]]; fo <- as.formula(cs$formula)
  l4 <- switch(cs$engine,
    lmer = lmer(fo, df, REML = cs$REML),
    glmer = glmer(fo, df, family = get(cs$family)(link = cs$link)),
    glmer.nb = glmer.nb(fo, df))
  m <- switch(cs$engine,
    lmer = l4,
    glmer = glmmTMB(fo, df, family = get(cs$family)(link = cs$link)),
    glmer.nb = glmmTMB(fo, df, family = nbinom2(link = cs$link)))
  r2 <- suppressWarnings(r2_nakagawa(m))
  r2_l4 <- suppressWarnings(r2_nakagawa(l4))
  v <- suppressWarnings(get_variance(m))
  out[[id]] <- list(case = cs, fitted_by = if (cs$engine == "lmer") "lme4" else "glmmTMB",
    marginal = unname(r2$R2_marginal), conditional = unname(r2$R2_conditional),
    var_fixed = v$var.fixed, var_random = v$var.random, var_distribution = v$var.distribution,
    var_dispersion = v$var.dispersion, beta = unname(if (cs$engine == "lmer") fixef(m) else fixef(m)$cond),
    lme4_marginal = unname(r2_l4$R2_marginal), lme4_conditional = unname(r2_l4$R2_conditional))
}
res <- list(versions = list(performance = as.character(packageVersion("performance")),
                            insight = as.character(packageVersion("insight")),
                            lme4 = as.character(packageVersion("lme4")),
                            glmmTMB = as.character(packageVersion("glmmTMB"))),
            cases = out)
writeLines(toJSON(res, auto_unbox = TRUE, digits = 15, pretty = TRUE), "r2_reference.json")

# Shared by inference_reference.R and inference_glmm_reference.R: packages,
# lme4's tight optimiser settings, alphabetical re-levelling, the CSV writer,
# and the recorders of R tables (rows, cols, values) and of an emmGrid
# (summary and pairs with each p-value adjustment), and lmm_case(), one LMM's lmerTest /
# pbkrtest / emmeans record.
suppressMessages({library(lmerTest); library(pbkrtest); library(emmeans); library(mlmRev)
                  library(car); library(jsonlite)})
# minqa's BOBYQA to rhoend = 1e-12: nloptwrap's BOBYQA at ftol_abs = 1e-15 still
# stopped 1.6e-8 short in a fixed effect of the exam model (a flat ridge in theta).
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
relevel_alpha <- function(df, cols) { for (c in cols) df[[c]] <- factor(as.character(df[[c]])); df }
# Writes the model's columns to tests/data/inference_<name>.csv, numbers to 7
# significant digits (small files), and returns the data with those rounded
# values: R fits exactly what the tests read.
write_data <- function(df, name, cols) {
  for (c in cols) if (is.double(df[[c]])) df[[c]] <- signif(df[[c]], 7)
  write.csv(df[, cols], sprintf("tests/data/inference_%s.csv", name), row.names = FALSE)
  df
}
tab <- function(x) { x <- as.data.frame(x); list(rows = rownames(x), cols = colnames(x),
                                                values = lapply(x, function(v) if (is.numeric(v)) v else as.character(v))) }
emm_record <- function(em) {
  s <- as.data.frame(summary(em)); p <- as.data.frame(summary(pairs(em)))
  out <- list(table = tab(s), pairs = tab(p))
  for (adj in c("bonferroni", "holm", "none")) out[[paste0("pairs_", adj)]] <- tab(summary(pairs(em), adjust = adj))
  out
}
lmm_case <- function(name, formula, data, dataset, reml = TRUE, emm = list(), contrast = NULL) {
  m <- lmerTest::lmer(as.formula(formula), data = data, REML = reml, control = tight)
  n <- nobs(m)
  r <- list(kind = "lmer", formula = formula, dataset = dataset, REML = reml, nobs = n,
            sigma = sigma(m), fixef = as.list(fixef(m)),
            coef_satterthwaite = tab(summary(m, ddf = "Satterthwaite")$coefficients))
  for (type in c(3, 2, 1)) r[[paste0("anova", type, "_satterthwaite")]] <- tab(anova(m, type = type, ddf = "Satterthwaite"))
  if (reml && n <= 3000) {
    r$coef_kenward_roger <- tab(summary(m, ddf = "Kenward-Roger")$coefficients)
    r$anova3_kenward_roger <- tab(anova(m, type = 3, ddf = "Kenward-Roger"))
  }
  if (!is.null(contrast)) {
    L <- matrix(contrast, ncol = length(fixef(m)), byrow = TRUE)
    r$contest_L <- contrast
    r$contest_satterthwaite <- tab(contest(m, L, joint = TRUE, ddf = "Satterthwaite"))
    if (reml && n <= 3000) r$contest_kenward_roger <- tab(contest(m, L, joint = TRUE, ddf = "Kenward-Roger"))
  }
  r$emmeans <- list()
  for (e in emm) {
    rec <- list(specs = e$specs, by = e$by)
    em <- emmeans(m, e$specs, by = e$by)
    rec$default <- emm_record(em)
    rec$satterthwaite <- emm_record(emmeans(m, e$specs, by = e$by, lmer.df = "satterthwaite"))
    rec$asymptotic <- emm_record(emmeans(m, e$specs, by = e$by, lmer.df = "asymptotic"))
    r$emmeans[[length(r$emmeans) + 1]] <- rec
  }
  r
}

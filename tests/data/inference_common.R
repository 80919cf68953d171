# Shared by inference_reference.R and inference_glmm_reference.R: packages,
# lme4's tight optimiser settings, alphabetical re-levelling, the CSV writer,
# and the recorders of R tables (rows, cols, values) and of an emmGrid
# (summary and pairs with each p-value adjustment).
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

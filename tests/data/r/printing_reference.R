# R's printed text for glmmfast's printing tests (tests/test_printing.py):
# anova(m0, m1), print(ranef(m)), print(coef(m)), print(VarCorr(m)), print(m).
# Run from the repository root:  Rscript tests/data/r/printing_reference.R
# (lme4 1.1-31 era; writes tests/data/printing_reference.json).
suppressMessages({library(lme4); library(jsonlite)})
out <- function(x) paste(capture.output(print(x)), collapse = "\n")
grouseticks <- read.csv("python/glmmfast/datasets/data/grouseticks.csv")
for (f in c("INDEX", "BROOD", "YEAR", "LOCATION")) grouseticks[[f]] <- factor(grouseticks[[f]])
cbpp <- lme4::cbpp
sleepstudy <- lme4::sleepstudy
g1 <- glmer(TICKS ~ YEAR + (1 | LOCATION), data = grouseticks, family = poisson)
g2 <- glmer(TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX), data = grouseticks, family = poisson)
gc <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
ss <- lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy)
res <- list(
  lme4_version = as.character(packageVersion("lme4")),
  anova_grouseticks = out(anova(g1, g2)),
  ranef_cbpp = out(ranef(gc)),
  coef_cbpp = out(coef(gc)),
  ranef_sleepstudy = out(ranef(ss)),
  coef_sleepstudy = out(coef(ss)),
  varcorr_sleepstudy = out(VarCorr(ss)),
  varcorr_grouseticks = out(VarCorr(g2)),
  print_cbpp = out(gc),
  print_sleepstudy = out(ss)
)
write_json(res, "tests/data/printing_reference.json", auto_unbox = TRUE, pretty = TRUE)

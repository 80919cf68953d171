# Makes tests/data/lmer_reference.json (lme4 1.1-31, R 4.2): lmer fits that
# complement lme4_reference.json.  Run: Rscript tests/data/lmer_reference.R
#  - "tight": the reference models refitted with lme4 at tight optimiser
#    tolerances, so lme4 itself reaches the optimum to printed precision
#    (lme4's defaults stop ~1e-5 short in theta on sleepstudy): the summary
#    text glmmfast must print, and estimates at the exact optimum.
#  - "weighted": prior weights and an offset (argument), REML and ML.
suppressMessages({library(lme4); library(jsonlite)})
tight <- lmerControl(optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-12, ftol_rel = 0, xtol_rel = 0, maxeval = 1e5))
summ <- function(m) paste(capture.output(print(summary(m))), collapse = "\n")
record <- function(m) {
  re <- as.data.frame(ranef(m, condVar = TRUE))
  list(REMLcrit = REMLcrit(m), deviance_ML = deviance(m, REML = FALSE),
       logLik = as.numeric(logLik(m)), AIC = AIC(m), BIC = BIC(m), df_resid = df.residual(m),
       sigma = sigma(m), theta = as.list(getME(m, "theta")), fixef = as.list(fixef(m)),
       se = as.list(sqrt(diag(as.matrix(vcov(m))))),
       varcorr = as.data.frame(VarCorr(m)),
       ranef = list(grpvar = as.character(re$grpvar), term = as.character(re$term),
                    grp = as.character(re$grp), condval = re$condval, condsd = re$condsd),
       fitted = unname(fitted(m)), resid_response = unname(residuals(m)),
       resid_pearson = unname(residuals(m, type = "pearson")),
       summary_text = summ(m))
}
df <- sleepstudy
out <- list()
out$sleep_reml_tight <- record(lmer(Reaction ~ Days + (Days | Subject), df, control = tight))
out$sleep_ml_tight <- record(lmer(Reaction ~ Days + (Days | Subject), df, REML = FALSE, control = tight))
out$sleep_dbl_tight <- record(lmer(Reaction ~ Days + (Days || Subject), df, control = tight))
w <- 1 + (df$Days %% 3) / 2
off <- 2 * df$Days
out$sleep_weighted_reml <- record(lmer(Reaction ~ Days + (Days | Subject), df, weights = w, offset = off,
                                       control = tight))
out$sleep_weighted_ml <- record(lmer(Reaction ~ Days + (Days | Subject), df, weights = w, offset = off,
                                     REML = FALSE, control = tight))
df <- InstEval
m <- lmer(y ~ service + (1 | s) + (1 | d) + (1 | dept), df, control = tight)
r <- record(m)
r$ranef <- NULL; r$fitted <- NULL; r$resid_response <- NULL; r$resid_pearson <- NULL
out$inst_lmm_tight <- r
out$source <- paste("lme4", packageVersion("lme4"), "fits made by tests/data/lmer_reference.R;",
                    "weights w = 1 + (Days %% 3) / 2, offset = 2 * Days on sleepstudy;",
                    "tight = lmerControl(optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-12, ftol_rel = 0, xtol_rel = 0, maxeval = 1e5))")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "tests/data/lmer_reference.json")

# Makes tests/data/formula_reference.json and the CSVs in tests/data/formula_data/
# (lme4 1.1-31, glmmTMB 1.1.5, R 4.2).  Run from the repository root:
#   Rscript tests/data/formula_reference.R
#  - "features": one lme4 fit per formula feature (poly, scale, ns, bs, dummy,
#    ordered factors, contrasts, ||, ., unparenthesised bars, ...) at tight
#    tolerances, with predict() on new rows outside the fitting data (safe
#    prediction: the fit's poly/scale/spline parameters reused).
#  - "examples": models from lme4's, mlmRev's, nlme's and glmmTMB's help pages
#    and tests; the criterion of lme4 (and of glmmTMB where it fits the same
#    model) for the regression test (glmmfast must not stop above the better).
#  - "datasets": how to read each CSV (factor levels, ordered or not).
suppressMessages({library(lme4); library(jsonlite); library(splines); library(mlmRev); library(glmmTMB)})
data(Orthodont, Oxboys, Machines, Oxide, package = "nlme")
outdir <- "tests/data/formula_data"
tight <- lmerControl(optCtrl = list(ftol_abs = 1e-15, xtol_abs = 1e-12, ftol_rel = 0, xtol_rel = 0, maxeval = 1e5))
gtight <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
datasets <- list()
save_data <- function(name, df) {
  df <- as.data.frame(df)
  cols <- list()
  for (v in names(df)) {
    x <- df[[v]]
    if (is.factor(x)) {
      cols[[v]] <- list(type = "factor", levels = levels(x), ordered = is.ordered(x))
      df[[v]] <- as.character(x)
    } else cols[[v]] <- list(type = "numeric")
  }
  write.csv(df, file.path(outdir, paste0(name, ".csv")), row.names = FALSE, na = "")
  datasets[[name]] <<- list(columns = cols, order = names(df))
}
sleep <- sleepstudy
sleep$fDays <- factor(sleep$Days %/% 4, ordered = TRUE)   # ordered, 3 levels
sleep$w <- round(cos(seq_len(nrow(sleep)) / 7), 4)           # a second covariate for poly(Days, w, ...)
save_data("sleepstudy", sleep)
save_data("cake", cake)
save_data("cbpp", transform(cbpp, obs = factor(seq_len(nrow(cbpp)))))
save_data("grouseticks", grouseticks[, c("INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION")])
save_data("Dyestuff", Dyestuff); save_data("Dyestuff2", Dyestuff2)
save_data("Penicillin", Penicillin); save_data("Pastes", Pastes)
orth <- as.data.frame(Orthodont); orth$Subject <- factor(as.character(orth$Subject))
save_data("Orthodont", orth)
ox <- as.data.frame(Oxboys); ox$Subject <- factor(as.character(ox$Subject)); ox$Occasion <- NULL
save_data("Oxboys", ox)
mach <- as.data.frame(Machines); mach$Worker <- factor(as.character(mach$Worker))
save_data("Machines", mach)
save_data("Arabidopsis", Arabidopsis)
save_data("Exam", Exam[, c("school", "normexam", "standLRT", "sex", "schgend", "student")])
save_data("Hsb82", Hsb82[, c("school", "mAch", "cses", "meanses", "sector", "ses")])
save_data("Contraception", Contraception)
save_data("ScotsSec", ScotsSec[, c("verbal", "attain", "sex", "primary", "second")])
save_data("Oxide", Oxide[, c("Source", "Lot", "Wafer", "Thickness")])
save_data("Gcsemv", Gcsemv)
save_data("Salamanders", Salamanders[, c("site", "mined", "spp", "count", "cover", "DOP", "Wtemp")])
save_data("Owls", Owls[, c("Nest", "FoodTreatment", "SexParent", "BroodSize", "SiblingNegotiation", "ArrivalTime")])
save_data("VerbAgg", VerbAgg[, c("Anger", "Gender", "item", "btype", "situ", "id", "r2")])

getdata <- function(name) {
  spec <- datasets[[name]]
  df <- read.csv(file.path(outdir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  for (v in names(spec$columns)) {
    s <- spec$columns[[v]]
    if (s$type == "factor") df[[v]] <- factor(df[[v]], levels = s$levels, ordered = s$ordered)
  }
  df
}

record <- function(m) {
  is_lmm <- isLMM(m)
  list(criterion = if (is_lmm && isREML(m)) REMLcrit(m) else -2 * as.numeric(logLik(m)),
       theta = unname(getME(m, "theta")), fixef = as.list(fixef(m)),
       sigma = if (is_lmm) sigma(m) else NULL,
       ranef_names = lapply(ranef(m), colnames))
}

# --------------------------------------------------------------- features
feature <- function(name, data, formula, fun = "lmer", REML = TRUE, family = NULL, contrasts = NULL,
                    newdata = NULL, contrasts_json = NULL) {
  df <- getdata(data)
  f <- as.formula(formula)
  m <- if (fun == "lmer") lmer(f, df, REML = REML, control = tight, contrasts = contrasts)
       else glmer(f, df, family = family, control = gtight, contrasts = contrasts)
  r <- record(m)
  r$name <- name; r$data <- data; r$formula <- formula; r$fun <- fun; r$REML <- REML
  r$family <- if (is.null(family)) NULL else family
  r$contrasts <- contrasts_json
  if (!is.null(newdata)) {
    r$newdata <- newdata
    nd <- as.data.frame(newdata, stringsAsFactors = FALSE)
    for (v in names(nd)) if (is.factor(df[[v]])) nd[[v]] <- factor(nd[[v]], levels = levels(df[[v]]),
                                                                    ordered = is.ordered(df[[v]]))
    r$predict <- unname(predict(m, newdata = nd))
    r$predict_fixed <- unname(predict(m, newdata = nd, re.form = NA))
  }
  if (fun == "glmer") {
    # lme4's glmer stops ~5e-4 short of the Laplace optimum on some of these;
    # glmmTMB (same Laplace criterion) is the reference where it is lower.
    g <- glmmTMB(f, df, family = get(family)(), contrasts = contrasts)
    r$glmmTMB <- list(criterion = -2 * as.numeric(logLik(g)), fixef = as.list(fixef(g)$cond))
    if (!is.null(newdata)) r$glmmTMB$predict <- unname(predict(g, newdata = nd))
  }
  message(name, ": ", r$criterion)
  r
}
sleep_new <- list(Days = c(0.5, 10, 12.5, 3, -1), Subject = c("308", "309", "330", "372", "308"),
                  fDays = c("0", "2", "2", "0", "0"), w = c(0.3, -1.2, 0.9, 0, 1))
ox_new <- list(age = c(-1.2, 0.33, 1.25, -0.9, 0), Subject = c("1", "5", "26", "10", "3"))
feats <- list(
  feature("poly2", "sleepstudy", "Reaction ~ poly(Days, 2) + (Days | Subject)", newdata = sleep_new),
  feature("polym", "sleepstudy", "Reaction ~ poly(Days, w, degree = 2) + (1 | Subject)", newdata = sleep_new),
  feature("namespaced", "Oxboys", "height ~ splines::ns(age, df = 3) + stats::poly(age, 2) + (1 | Subject)",
          REML = FALSE, newdata = ox_new),
  feature("poly_raw", "sleepstudy", "Reaction ~ poly(Days, 3, raw = TRUE) + (1 | Subject)", REML = FALSE,
          newdata = sleep_new),
  feature("scale", "sleepstudy", "Reaction ~ scale(Days) + (1 | Subject)", newdata = sleep_new),
  feature("scale_re", "sleepstudy", "Reaction ~ scale(Days) + (scale(Days) | Subject)", newdata = sleep_new),
  feature("scale_center", "sleepstudy", "Reaction ~ scale(Days, center = TRUE, scale = FALSE) + (1 | Subject)",
          newdata = sleep_new),
  feature("scale_value", "sleepstudy", "Reaction ~ scale(Days, center = 4, scale = 2) + (1 | Subject)",
          newdata = sleep_new),
  feature("ns3", "Oxboys", "height ~ ns(age, df = 3) + (age | Subject)", newdata = ox_new),
  feature("ns_knots", "Oxboys", "height ~ ns(age, knots = c(-0.5, 0.5), Boundary.knots = c(-1, 1)) + (age | Subject)",
          REML = FALSE, newdata = ox_new),
  feature("bs5", "Oxboys", "height ~ bs(age, df = 5) + (age | Subject)", newdata = ox_new),
  feature("bs_deg2", "Oxboys", "height ~ bs(age, df = 4, degree = 2) + (1 | Subject)", newdata = ox_new),
  feature("dummy", "Orthodont", "distance ~ age + (age | Subject) + (0 + dummy(Sex, \"Female\") | Subject)",
          newdata = list(age = c(9, 15, 11), Subject = c("F01", "M05", "M11"), Sex = c("Female", "Male", "Male"))),
  feature("ordered_cake", "cake", "angle ~ recipe * temperature + (1 | recipe:replicate)",
          newdata = list(recipe = c("A", "C"), temperature = c("205", "225"), replicate = c("3", "14"))),
  feature("ordered_re", "sleepstudy", "Reaction ~ fDays + (fDays | Subject)", newdata = sleep_new),
  feature("contr_sum", "cake", "angle ~ recipe + temperature + (1 | replicate)", REML = FALSE,
          contrasts = list(recipe = "contr.sum", temperature = "contr.helmert"),
          contrasts_json = list(recipe = "contr.sum", temperature = "contr.helmert"),
          newdata = list(recipe = c("A", "B", "C"), temperature = c("175", "215", "225"), replicate = c("1", "2", "15"))),
  feature("contr_treat_sas", "cake", "angle ~ recipe + temperature + (1 | replicate)",
          contrasts = list(recipe = "contr.SAS", temperature = "contr.treatment"),
          contrasts_json = list(recipe = "contr.SAS", temperature = "contr.treatment"),
          newdata = list(recipe = c("A", "B", "C"), temperature = c("175", "215", "225"), replicate = c("1", "2", "15"))),
  feature("contr_matrix", "cake", "angle ~ recipe + temp + (1 | replicate)",
          contrasts = list(recipe = matrix(c(1, -1, 0, 0, 1, -1), 3)),
          contrasts_json = list(recipe = list(c(1, 0), c(-1, 1), c(0, -1))),
          newdata = list(recipe = c("A", "B", "C"), temp = c(180, 230, 170), replicate = c("1", "2", "15"))),
  feature("contr_poly_unordered", "cake", "angle ~ recipe + temp + (1 | replicate)",
          contrasts = list(recipe = "contr.poly"), contrasts_json = list(recipe = "contr.poly")),
  feature("contr_helmert_glmer", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", fun = "glmer",
          family = "binomial", contrasts = list(period = "contr.helmert"),
          contrasts_json = list(period = "contr.helmert"),
          newdata = list(period = c("1", "4"), herd = c("3", "15"), incidence = c(0, 0), size = c(10, 10))),
  feature("double_vert_factor", "Machines", "score ~ Machine + (Machine || Worker)",
          newdata = list(Machine = c("A", "C"), Worker = c("1", "6"))),
  feature("overparam", "Machines", "score ~ Machine + (1 | Worker) + (0 + Machine | Worker)", REML = FALSE),
  feature("double_vert_numeric", "sleepstudy", "Reaction ~ Days + (Days || Subject)"),
  feature("dot", "Orthodont", "distance ~ . - Subject + (1 | Subject)"),
  feature("no_parens", "Dyestuff", "Yield ~ 1 | Batch"),
  feature("functions", "sleepstudy", "Reaction ~ log1p(Days) + I(Days^2/10) + offset(sqrt(Days)) + (1 | Subject)",
          newdata = sleep_new),
  feature("functions2", "sleepstudy", "Reaction ~ exp(Days/10) + abs(Days - 4) + (1 | Subject)", REML = FALSE),
  feature("factor_call", "sleepstudy", "Reaction ~ factor(Days %/% 3) + (1 | Subject)"),
  feature("in_nesting", "cake", "angle ~ recipe + temp %in% recipe + (1 | replicate)"),
  feature("minus_one", "sleepstudy", "Reaction ~ 0 + fDays + (1 | Subject)"),
  feature("scale_glmer", "grouseticks", "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)",
          fun = "glmer", family = "poisson",
          newdata = list(YEAR = c("95", "97"), HEIGHT = c(400, 560), BROOD = c("501", "634"), LOCATION = c("1", "63"))),
  feature("ns_glmer", "cbpp", "cbind(incidence, size - incidence) ~ poly(as.numeric(period), 2) + (1 | herd)",
          fun = "glmer", family = "binomial",
          newdata = list(period = c("2", "4"), herd = c("1", "2"), incidence = c(0, 0), size = c(5, 5)))
)
names(feats) <- vapply(feats, `[[`, "", "name")

# --------------------------------------------------------------- examples
example <- function(name, data, formula, fun = "lmer", REML = TRUE, family = NULL, tmb = TRUE) {
  df <- getdata(data)
  f <- as.formula(formula)
  t0 <- proc.time()[[3]]
  m <- if (fun == "lmer") lmer(f, df, REML = REML) else glmer(f, df, family = family)
  crit_default <- if (isLMM(m) && REML) REMLcrit(m) else -2 * as.numeric(logLik(m))
  m2 <- if (fun == "lmer") lmer(f, df, REML = REML, control = tight) else glmer(f, df, family = family, control = gtight)
  crit <- if (isLMM(m2) && REML) REMLcrit(m2) else -2 * as.numeric(logLik(m2))
  crit_tmb <- NULL
  if (tmb) {
    fam <- if (is.null(family)) gaussian() else get(family)()
    g <- tryCatch(glmmTMB(f, df, family = fam, REML = (fun == "lmer" && REML)), error = function(e) NULL)
    if (!is.null(g) && is.finite(logLik(g))) crit_tmb <- -2 * as.numeric(logLik(g))
  }
  message(name, ": lme4 ", crit_default, " tight ", crit, " glmmTMB ", if (is.null(crit_tmb)) NA else crit_tmb,
          " (", round(proc.time()[[3]] - t0, 1), " s)")
  list(name = name, data = data, formula = formula, fun = fun, REML = REML, family = family,
       lme4 = crit_default, lme4_tight = crit, glmmTMB = crit_tmb, nobs = nobs(m))
}
exs <- list(
  example("Dyestuff", "Dyestuff", "Yield ~ 1 + (1 | Batch)"),
  example("Dyestuff_ML", "Dyestuff", "Yield ~ 1 + (1 | Batch)", REML = FALSE),
  example("Dyestuff2", "Dyestuff2", "Yield ~ 1 + (1 | Batch)"),
  example("Penicillin", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  example("Pastes", "Pastes", "strength ~ 1 + (1 | sample) + (1 | batch)"),
  example("Pastes_nested", "Pastes", "strength ~ 1 + (1 | batch/cask)", REML = FALSE),
  example("sleep", "sleepstudy", "Reaction ~ Days + (Days | Subject)"),
  example("sleep_dbl_ML", "sleepstudy", "Reaction ~ Days + (Days || Subject)", REML = FALSE),
  example("sleep_poly", "sleepstudy", "Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)"),
  example("cake_ordered", "cake", "angle ~ recipe * temperature + (1 | recipe:replicate)"),
  example("cake_ML", "cake", "angle ~ recipe + temperature + (1 | recipe:replicate)", REML = FALSE),
  example("cake_temp", "cake", "angle ~ recipe * temp + (1 | recipe:replicate)"),
  example("cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "glmer", family = "binomial"),
  example("cbpp_obs", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)", "glmer",
          family = "binomial"),
  example("grouseticks", "grouseticks", "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
          "glmer", family = "poisson"),
  example("Arabidopsis", "Arabidopsis", "total.fruits ~ nutrient * amd + rack + status + (1 | popu) + (1 | gen)",
          "glmer", family = "poisson"),
  example("Machines_dbl", "Machines", "score ~ Machine + (Machine || Worker)"),
  example("Machines_nested", "Machines", "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)"),
  example("Orthodont", "Orthodont", "distance ~ age + Sex + (age | Subject)"),
  example("Orthodont_dummy", "Orthodont", "distance ~ age + (age | Subject) + (0 + dummy(Sex, \"Female\") | Subject)",
          tmb = FALSE),
  example("Oxboys_ns", "Oxboys", "height ~ ns(age, df = 3) + (age | Subject)"),
  example("Oxboys_quad", "Oxboys", "height ~ age + I(age^2) + (age + I(age^2) | Subject)", REML = FALSE),
  example("Exam_ri", "Exam", "normexam ~ standLRT + sex + schgend + (1 | school)", REML = FALSE),
  example("Exam_slope", "Exam", "normexam ~ standLRT + (standLRT | school)"),
  example("Hsb82_slope", "Hsb82", "mAch ~ meanses * cses + sector * cses + (cses | school)"),
  example("Hsb82_ses", "Hsb82", "mAch ~ ses + sector + (ses | school)"),
  example("Hsb82_ses_ML", "Hsb82", "mAch ~ ses + sector + (ses | school)", REML = FALSE),
  example("Contraception", "Contraception", "use ~ age + I(age^2) + urban + livch + (1 | district)", "glmer",
          family = "binomial"),
  example("Contraception_slope", "Contraception", "use ~ age + I(age^2) + urban + livch + (urban | district)",
          "glmer", family = "binomial"),
  example("ScotsSec", "ScotsSec", "attain ~ verbal * sex + (1 | primary) + (1 | second)"),
  example("Oxide", "Oxide", "Thickness ~ Source + (1 | Lot/Wafer)"),
  example("Gcsemv", "Gcsemv", "written ~ gender + (1 | school)"),
  example("Salamanders", "Salamanders", "count ~ spp + mined + (1 | site)", "glmer", family = "poisson"),
  example("Salamanders_cover", "Salamanders", "count ~ mined + scale(cover) + (1 | site)", "glmer", family = "poisson"),
  example("Owls", "Owls", "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)",
          "glmer", family = "poisson"),
  example("VerbAgg", "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", "glmer",
          family = "binomial")
)
names(exs) <- vapply(exs, `[[`, "", "name")

out <- list(source = paste("lme4", packageVersion("lme4"), "glmmTMB", packageVersion("glmmTMB"),
                           "fits made by tests/data/formula_reference.R"),
            datasets = datasets, features = feats, examples = exs)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/data/formula_reference.json")

# Reference fits for tests/test_glmer_families.py (glmmfast families helper).
# Run: Rscript fam_ref.R  (lme4 1.1-31, glmmTMB) -> families_reference.json
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
dd <- "/work/wt/families/python/glmmfast/datasets/data"
sleep <- read.csv(file.path(dd, "sleepstudy.csv")); sleep$Subject <- factor(sleep$Subject)
gt <- read.csv(file.path(dd, "grouseticks.csv"))
for (v in c("BROOD","YEAR","LOCATION","INDEX")) gt[[v]] <- factor(gt[[v]])
set.seed(20261124)
# simulated Gamma data with prior weights and an offset
ng <- 30; m <- 8; g <- factor(rep(seq_len(ng), each = m)); x <- runif(ng*m)
off <- log(runif(ng*m, 0.5, 2)); w <- sample(1:3, ng*m, TRUE)
eta <- 1 + 0.8*x + off + rnorm(ng, sd = 0.4)[g]; shape <- 4*w
sim <- data.frame(y = rgamma(ng*m, shape = shape, rate = shape/exp(eta)), x = x, g = g, w = w, off = off)
write.csv(sim, "gamma_sim_check.csv", row.names = FALSE)
cases <- list(
 gamma_log = list(data="sleepstudy", formula="Reaction ~ Days + (1 | Subject)", family="Gamma", link="log"),
 gamma_identity_slope = list(data="sleepstudy", formula="Reaction ~ Days + (Days | Subject)", family="Gamma", link="identity"),
 gamma_weights_offset = list(data="gamma_sim", formula="y ~ x + (1 | g)", family="Gamma", link="log", weights="w", offset="off"),
 gaussian_log = list(data="sleepstudy", formula="Reaction ~ Days + (1 | Subject)", family="gaussian", link="log"),
 cbpp_probit = list(data="cbpp", formula="cbind(incidence, size - incidence) ~ period + (1 | herd)", family="binomial", link="probit"),
 cbpp_cloglog = list(data="cbpp", formula="cbind(incidence, size - incidence) ~ period + (1 | herd)", family="binomial", link="cloglog"),
 nb_gt = list(data="grouseticks", formula="TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)", family="nbinom", link="log"),
 nb_gt2 = list(data="grouseticks", formula="TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", family="nbinom", link="log"),
 nb_gt3 = list(data="grouseticks", formula="TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", family="nbinom", link="log")
)
cbpp <- read.csv(file.path(dd, "cbpp.csv")); cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
datas <- list(sleepstudy = sleep, grouseticks = gt, gamma_sim = sim, cbpp = cbpp)
out <- list()
for (id in names(cases)) {
  cs <- cases[[id]]; df <- datas[[cs$data]]; fo <- as.formula(cs$formula)
  df$.w <- if (is.null(cs$weights)) 1 else df[[cs$weights]]
  df$.o <- if (is.null(cs$offset)) 0 else df[[cs$offset]]
  res <- list(case = cs)
  if (cs$family == "nbinom") {
    t0 <- proc.time()[3]
    tm <- glmmTMB(fo, df, family = nbinom2(link = "log"))
    warns <- character(0)
    l4 <- withCallingHandlers(glmer.nb(fo, df), warning = function(w) {warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning")})
    res$lme4_time_s <- unname(proc.time()[3] - t0)
    res$lme4_theta <- getME(l4, "glmer.nb.theta")
    res$tmb_theta <- sigma(tm)
    res$lme4_warnings <- warns
  } else {
    fam <- get(cs$family)(link = cs$link)
    tm <- glmmTMB(fo, df, family = fam, weights = .w, offset = .o)
    warns <- character(0)
    l4 <- withCallingHandlers(glmer(fo, df, family = fam, weights = .w, offset = .o),
        warning = function(w) {warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning")})
    res$lme4_warnings <- warns
    res$tmb_sigma <- sigma(tm); res$lme4_sigma <- sigma(l4)
  }
  res$tmb_m2ll <- -2*as.numeric(logLik(tm)); res$tmb_df <- attr(logLik(tm), "df")
  res$tmb_aic <- AIC(tm); res$tmb_bic <- BIC(tm)
  res$tmb_fixef <- as.list(fixef(tm)$cond); res$tmb_se <- as.list(sqrt(diag(vcov(tm)$cond)))
  vc <- VarCorr(tm)$cond; res$tmb_re_sd <- lapply(vc, function(v) as.numeric(attr(v, "stddev")))
  res$tmb_re_cor <- lapply(vc, function(v) { r <- attr(v, "correlation"); r[lower.tri(r)] })
  res$lme4_m2ll <- -2*as.numeric(logLik(l4)); res$lme4_df <- attr(logLik(l4), "df")
  res$lme4_fixef <- as.list(fixef(l4)); res$lme4_se <- as.list(sqrt(diag(as.matrix(vcov(l4)))))
  res$lme4_theta_par <- as.list(getME(l4, "theta"))
  out[[id]] <- res
  cat(id, res$tmb_m2ll, res$lme4_m2ll, "\n")
}
writeLines(toJSON(list(source = "lme4 1.1-31 and glmmTMB fits made by the R script in this file's 'r_code' entry",
  r_code = "tests/data/families_reference.R", cases = out), auto_unbox = TRUE, digits = NA, pretty = TRUE),
  "/work/wt/families/tests/data/families_reference.json")

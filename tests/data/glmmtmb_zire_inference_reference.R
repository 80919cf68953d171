# glmmTMB 1.1.5's intervals and conditional variances for the fits of issue 14's
# remaining gaps, for tests/test_zi_random_effects_inference.py and
# tests/test_confint_tmb.py (same data, formulas and families as the cases of
# glmmtmb_reference.R with the same ids):
#   sal_zip_zire: confint(method = "Wald", full = TRUE);
#     ranef(fit, condVar = TRUE) of
#     both components (the attribute "condVar": sdreport's variance of each
#     random effect, parameter uncertainty included);
#   disp_gauss_x, disp_nb2_x (dispformula = ~ x): confint(method = "Wald",
#     full = TRUE);
#   every case above: each outer parameter's profile (glmmTMB's default points) and
#   its profile interval (NA where glmmTMB's back-spline fails);
#   sal_zinb2_disp_zire (NB2, ziformula = ~ mined + (1 | site), dispformula =
#   ~ mined: a dispformula together with random effects in the ziformula):
#   the fit only (no profiles): fixef and SEs of every component (the dispersion
#   coefficients' from vcov(full = TRUE), "d~" rows), sqrt(diag(vcov(full =
#   TRUE))) by name, both components' standard deviations, the conditional
#   modes of both components, Wald intervals, the median elapsed of 3 fits.
# Rows are glmmTMB's names: Wald cond.<name>, zi.<name>, disp.<name>,
# cond.Std.Dev.<term>, zi.Std.Dev.<term>; profile on glmmTMB's internal
# scales: <name>, zi~<name>, d~<name> (log dispersion coefficients),
# theta_1|site.1 and zi~theta_1|site.1 (log sd).
#
# Run from the repository root:
#     Rscript tests/data/glmmtmb_zire_inference_reference.R
# Writes tests/data/glmmtmb_zire_inference_reference.json.  With
# GLMMTMB_ZIRE_CASES="id1,id2" (environment) only those fit-only cases are run
# and appended to the existing JSON's cases, every other byte left as it is.
source(file.path("tests", "data", "glmmtmb_common.R"))

csv <- function(name) read.csv(file.path("tests", "data", paste0("glmmtmb_", name, ".csv")))
data(Salamanders, package = "glmmTMB")
intervals <- function(ci) list(rows = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
cases <- list(
  sal_zip_zire = list(formula = count ~ spp + mined + (1 | site), zi = ~ mined + (1 | site), disp = ~1,
                      family = poisson, data = Salamanders),
  disp_gauss_x = list(formula = y ~ x + (1 | g), zi = ~0, disp = ~x, family = gaussian, data = csv("dispgauss")),
  disp_nb2_x = list(formula = y ~ x + (1 | g), zi = ~0, disp = ~x, family = nbinom2, data = csv("dispnb"))
)
only <- strsplit(Sys.getenv("GLMMTMB_ZIRE_CASES"), ",", fixed = TRUE)[[1]]
out <- lapply(if (length(only)) character(0) else names(cases), function(id) {
  cs <- cases[[id]]
  fit <- glmmTMB(cs$formula, ziformula = cs$zi, dispformula = cs$disp, family = cs$family, data = cs$data)
  res <- list(formula = deparse(cs$formula), ziformula = deparse(cs$zi), dispformula = deparse(cs$disp),
              m2loglik = -2 * as.numeric(logLik(fit)),
              wald = intervals(confint(fit, method = "Wald", full = TRUE, level = 0.95)))
  # glmmTMB's profile (its defaults: 8 points a side up to level 0.99) of each outer parameter on its own,
  # by its index in vcov(fit, full = TRUE) (glmmTMB 1.1.5 names both components' variance parameters
  # "theta_1|site.1", and a profile by name would pool them: the zero-inflation one is renamed
  # "zi~theta_1|site.1" here); each interval from glmmTMB's spline (confint.profile.glmmTMB), NA where
  # its back-spline fails; the profile's points (value = the rise in -log L) are kept too
  vnames <- colnames(vcov(fit, full = TRUE))
  blocks <- names(vnames)
  vnames <- ifelse(grepl("^thetazi", blocks), paste0("zi~", vnames), vnames)
  t0 <- proc.time()[["elapsed"]]
  profiles <- lapply(seq_along(vnames), function(i) profile(fit, parm = i))
  res$profile_seconds <- proc.time()[["elapsed"]] - t0
  ci <- t(vapply(profiles, function(p) tryCatch(as.numeric(glmmTMB:::confint.profile.glmmTMB(p, level = 0.95)),
                                                error = function(e) c(NA_real_, NA_real_)), numeric(2)))
  res$profile <- list(rows = vnames, lower = unname(ci[, 1]), upper = unname(ci[, 2]))
  res$profile_points <- list(par = rep(vnames, vapply(profiles, nrow, 0L)),
                             focal = unlist(lapply(profiles, function(p) p$.focal)),
                             value = unlist(lapply(profiles, function(p) p$value)))
  if (id == "sal_zip_zire") {
    re <- ranef(fit, condVar = TRUE)
    res$ranef <- lapply(c(cond = "cond", zi = "zi"), function(part) {
      d <- re[[part]]$site
      list(levels = rownames(d), mode = unname(d[, 1]), condVar = as.vector(attr(d, "condVar")))
    })
  }
  res
})
names(out) <- if (length(only)) character(0) else names(cases)

# Fit-only cases (no profiles): a dispformula together with random effects in the ziformula.  On
# Salamanders glmmTMB 1.1.5 stops with false convergence and a non-positive-definite Hessian for every
# such NB model tried (zi = ~ 1 or ~ mined with (1 | site), dispformula = ~ mined or ~ spp, nbinom1 or
# nbinom2), so the case is simulated: a ZINB2 with random intercepts in both parts and log theta linear
# in x (the truth: log mu = 1 + 0.5 x + b_g, sd(b) 0.6; logit p = -0.8 + 0.8 z + c_g, sd(c) 0.7;
# log theta = 0.5 + 0.6 x), written to glmmtmb_zirenbdisp.csv and fitted as read back.
zire_nb_disp_data <- function() {
  path <- file.path("tests", "data", "glmmtmb_zirenbdisp.csv")
  set.seed(1414)
  n_groups <- 60; per_group <- 20
  g <- rep(seq_len(n_groups), each = per_group)
  x <- rnorm(length(g)); z <- rnorm(length(g))
  b <- rnorm(n_groups, sd = 0.6); cc <- rnorm(n_groups, sd = 0.7)
  mu <- exp(1 + 0.5 * x + b[g])
  p <- plogis(-0.8 + 0.8 * z + cc[g])
  y <- ifelse(runif(length(g)) < p, 0, rnbinom(length(g), size = exp(0.5 + 0.6 * x), mu = mu))
  write.csv(data.frame(y = y, x = x, z = z, g = sprintf("g%02d", g)), path, row.names = FALSE)
  d <- read.csv(path)
  d$g <- factor(d$g)
  d
}
fit_cases <- list(
  zinb2_disp_zire = list(formula = y ~ x + (1 | g), zi = ~ z + (1 | g), disp = ~ x, family = nbinom2,
                         data = zire_nb_disp_data())
)
fit_only <- function(cs) {
  fit <- glmmTMB(cs$formula, ziformula = cs$zi, dispformula = cs$disp, family = cs$family, data = cs$data)
  times <- vapply(1:3, function(i) system.time(glmmTMB(cs$formula, ziformula = cs$zi, dispformula = cs$disp,
                                                       family = cs$family, data = cs$data))[["elapsed"]], 0)
  v <- vcov(fit, full = TRUE)
  blocks <- names(rownames(v))
  vnames <- ifelse(grepl("^thetazi", blocks), paste0("zi~", rownames(v)), rownames(v))
  sd_full <- setNames(as.list(sqrt(diag(v))), vnames)
  fe <- fixef(fit)
  component <- function(k, prefix) {
    est <- fe[[k]]
    list(names = names(est), estimate = unname(est),
         se = unname(sqrt(diag(v))[paste0(prefix, names(est))]))
  }
  vc <- VarCorr(fit)
  re <- ranef(fit)
  group <- names(vc$cond)[1]
  list(formula = deparse(cs$formula), ziformula = deparse(cs$zi), dispformula = deparse(cs$disp),
       family = family(fit)$family, dataset = "zirenbdisp", m2loglik = -2 * as.numeric(logLik(fit)), logLik_df = attr(logLik(fit), "df"),
       fixef = list(cond = component("cond", ""), zi = component("zi", "zi~"), disp = component("disp", "d~")),
       sd_full = sd_full,
       sd = list(cond = unname(attr(vc$cond[[group]], "stddev")), zi = unname(attr(vc$zi[[group]], "stddev"))),
       ranef = lapply(c(cond = "cond", zi = "zi"), function(part) {
         d <- re[[part]][[group]]
         list(levels = rownames(d), mode = unname(d[, 1]))
       }),
       wald = intervals(confint(fit, method = "Wald", full = TRUE, level = 0.95)),
       convergence = fit$fit$convergence, pdHess = fit$sdr$pdHess, time_s = median(times))
}
json_path <- file.path("tests", "data", "glmmtmb_zire_inference_reference.json")
if (length(only)) {
  # append the named fit-only cases to the stored JSON's "cases" object, its other bytes unchanged
  new <- lapply(fit_cases[only], fit_only)
  text <- readLines(json_path)
  body <- strsplit(toJSON(new, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")[[1]]
  body <- paste0("  ", body[-c(1, length(body))])  # the entries, indented as the cases object's
  end <- length(text) - 2L  # "    }" closing the last case, then "  }" and "}"
  stopifnot(text[end] == "    }", text[end + 1L] == "  }", text[end + 2L] == "}")
  text[end] <- "    },"
  writeLines(c(text[seq_len(end)], body, text[(end + 1L):length(text)]), json_path)
} else {
  out <- c(out, lapply(fit_cases, fit_only))
  writeLines(toJSON(list(glmmTMB = as.character(packageVersion("glmmTMB")), level = 0.95, cases = out),
                    auto_unbox = TRUE, digits = NA, pretty = TRUE), json_path)
}

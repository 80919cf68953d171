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
#   every case: each outer parameter's profile (glmmTMB's default points) and
#   its profile interval (NA where glmmTMB's back-spline fails).
# Rows are glmmTMB's names: Wald cond.<name>, zi.<name>, disp.<name>,
# cond.Std.Dev.<term>, zi.Std.Dev.<term>; profile on glmmTMB's internal
# scales: <name>, zi~<name>, d~<name> (log dispersion coefficients),
# theta_1|site.1 and zi~theta_1|site.1 (log sd).
#
# Run from the repository root:
#     Rscript tests/data/glmmtmb_zire_inference_reference.R
# Writes tests/data/glmmtmb_zire_inference_reference.json.
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
out <- lapply(names(cases), function(id) {
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
names(out) <- names(cases)
writeLines(toJSON(list(glmmTMB = as.character(packageVersion("glmmTMB")), level = 0.95, cases = out),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path("tests", "data", "glmmtmb_zire_inference_reference.json"))

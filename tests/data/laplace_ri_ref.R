# Independent Laplace reference for random-intercept GLMMs with a dispersion:
#   -2 log L = sum_g [ -2 sum_i log f(y_i | b_g) + b_g^2/s^2 + log(s^2 * (-h''(b_g))) ],
# b_g the conditional mode, h'' the exact second derivative (the observed
# information, as glmmTMB).  glmmTMB has no inverse.gaussian family, so this
# script is the reference for it; it is checked against glmmTMB on the Gamma.
# Run: Rscript laplace_ri_ref.R > laplace_ri_reference.json
suppressPackageStartupMessages({library(jsonlite); library(glmmTMB)})
dd <- "/work/wt/families/python/glmmfast/datasets/data"
sleep <- read.csv(file.path(dd, "sleepstudy.csv")); sleep$Subject <- factor(sleep$Subject)
ldens <- list(
  Gamma = function(y, mu, phi) dgamma(y, shape = 1/phi, scale = mu*phi, log = TRUE),
  inverse.gaussian = function(y, mu, phi) -0.5*log(2*pi*phi*y^3) - (y - mu)^2/(2*phi*mu^2*y))
linkinv <- list(log = exp, "1/mu^2" = function(e) 1/sqrt(e), inverse = function(e) 1/e)
m2ll <- function(par, X, y, grp, fam, link) {
  p <- ncol(X); beta <- par[1:p]; s <- exp(par[p+1]); phi <- exp(par[p+2])
  eta0 <- drop(X %*% beta); tot <- 0
  for (lev in levels(grp)) {
    i <- grp == lev
    h <- function(b) sum(ldens[[fam]](y[i], linkinv[[link]](eta0[i] + b), phi)) - b^2/(2*s^2)
    lo <- if (link == "log") -5*s else max(-5*s, -0.999*min(eta0[i]))  # keep eta > 0
    bh <- optimize(function(b) -h(b), c(lo, 5*s), tol = 1e-15 * s)$minimum
    d <- 1e-3 * s; hpp <- (h(bh + d) - 2*h(bh) + h(bh - d))/d^2
    tot <- tot - 2*(h(bh) + bh^2/(2*s^2)) + bh^2/s^2 + log(s^2 * (-hpp))
  }
  tot
}
fitref <- function(fam, link, start) {
  X <- model.matrix(~ Days, sleep)
  o <- optim(start, m2ll, X = X, y = sleep$Reaction, grp = sleep$Subject, fam = fam, link = link,
             method = "BFGS", control = list(reltol = 1e-14, maxit = 1000, parscale = c(abs(start[1:2]) + 1e-3, 1, 1)))
  o <- optim(o$par, m2ll, X = X, y = sleep$Reaction, grp = sleep$Subject, fam = fam, link = link,
             method = "Nelder-Mead", control = list(reltol = 1e-15, maxit = 5000))
  list(family = fam, link = link, formula = "Reaction ~ Days + (1 | Subject)", data = "sleepstudy",
       m2ll = o$value, beta = o$par[1:2], re_sd = exp(o$par[3]), dispersion = exp(o$par[4]))
}
tm <- glmmTMB(Reaction ~ Days + (1 | Subject), sleep, family = Gamma(link = "log"))
out <- list(
  gamma_log_check = c(fitref("Gamma", "log", c(5.5, 0.03, log(0.15), log(0.01))), list(tmb_m2ll = -2*as.numeric(logLik(tm)))),
  invgauss_log = fitref("inverse.gaussian", "log", c(5.5, 0.03, log(0.15), log(3e-5))),
  invgauss_mu2 = fitref("inverse.gaussian", "1/mu^2", c(1.5e-5, -7e-7, log(3e-6), log(3e-5))))
cat(toJSON(list(source = "tests/data/laplace_ri_ref.R (R, optim on an independent per-group Laplace)", cases = out),
           auto_unbox = TRUE, digits = NA, pretty = TRUE))

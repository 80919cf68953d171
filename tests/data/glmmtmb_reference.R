# Reference fits of glmmTMB's models for issue 14: zero-inflation (ziformula),
# hurdles (truncated family + ziformula), dispersion formulas (dispformula) and
# the families nbinom1, nbinom2, beta, betabinomial, tweedie, genpois, compois,
# truncated_poisson, truncated_nbinom1, truncated_nbinom2, t and ziGamma.
#
# Run from the repository root:
#     Rscript tests/data/glmmtmb_reference.R
# Needs R >= 4.2 with glmmTMB 1.1.5 and jsonlite (loaded by glmmtmb_common.R).
#
# Writes
#   python/glmmfast/datasets/data/{Salamanders,Owls}.{csv,schema.json}
#       glmmTMB's Salamanders and Owls, factor levels in R's order (the
#       package datasets glmmfast.datasets.load("Salamanders") / ("Owls"));
#   tests/data/glmmtmb_<name>.csv
#       simulated data (set.seed below), one file per dataset;
#   tests/data/glmmtmb_reference.json
#       {"meta": ..., "datasets": {name: how to load it}, "cases": [...]}.
#
# Every fit uses the data exactly as glmmfast reads it: each CSV is written,
# read back, and the fits use the read-back frame (the CSV keeps 15
# significant digits; the packaged datasets are checked to round-trip within
# 1e-13 of glmmTMB's own copies).
#
# A case's fields (see tests/test_glmmtmb_reference.py for the checks):
#   id, dataset (a key of "datasets"), family (family(fit)$family, as glmmTMB
#   prints it), family_call (the family argument given, e.g. ziGamma(link = "log")), link,
#   formula, ziformula (null = none), dispformula (null = the family's
#   default ~1), REML, offset (null: offsets are in the formula), weights
#   (null or a column name), start/map (the fixed Student-t df case);
#   m2loglik = -2 logLik, logLik, logLik_df, AIC;
#   fixef / se: glmmTMB's fixef() and the Wald SEs of vcov(), by component
#   (cond, zi, disp; a component glmmTMB does not report is {}; the disp SEs
#   from vcov(full = TRUE), none for a dispersion fixed by dispformula = ~0);
#   sigma = sigma(fit) (null when glmmTMB gives no single value, i.e. with a
#   non-trivial dispformula); family_params: theta (nbinom1/nbinom2/
#   truncated_nbinom*: glmmTMB's sigma(), see meta$conventions), power
#   (tweedie), df (t), as glmmTMB reports them;
#   sd_full: sqrt(diag(vcov(fit, full = TRUE))), glmmTMB's names made unique
#   (the SEs of the log dispersion and of the family parameter on glmmTMB's
#   internal scale: psi = qlogis(power - 1) for tweedie, log(df) for t);
#   vcov_full: that matrix with its names (cond, zi~, d~ coefficients, then
#   the variance parameters theta_..., zi~theta_... and the family parameter,
#   "Tweedie power" or "Student-t df", on the psi scale) and blocks (the part
#   each row belongs to: cond, zi, disp, theta, thetazi, psi);
#   varcorr: per component, per grouping term, sd and correlation matrix;
#   ranef_cond / ranef_zi: conditional modes by term and column;
#   predict: glmmTMB's predict() types for the first 10 rows of the data
#   (with the fitted random effects);
#   summary_text, convergence, pdHess, warnings (glmmTMB's warnings while
#   fitting, kept rather than dropping the case), time_s (median elapsed of
#   3 further fits).
source(file.path("tests", "data", "glmmtmb_common.R"))  # glmmTMB, jsonlite, the version check

outdir <- file.path("tests", "data")
pkgdata <- file.path("python", "glmmfast", "datasets", "data")
stopifnot(dir.exists(outdir), dir.exists(pkgdata))

datasets <- list()   # name -> data.frame used in the fits
dsinfo <- list()     # name -> how to load it, for the JSON

# ---------------------------------------------------------------------------
# CSV round trip: factors as labels (levels recorded), numbers as write.csv
# writes them; the frame read back is the one the fits use.
# ---------------------------------------------------------------------------
write_csv_reload <- function(df, path) {
  isf <- vapply(df, is.factor, TRUE)
  levs <- lapply(df[isf], levels)
  out <- df
  for (v in names(levs)) out[[v]] <- as.character(out[[v]])
  write.csv(out, path, row.names = FALSE)
  cls <- ifelse(isf, "character", ifelse(vapply(df, is.integer, TRUE), "integer", "numeric"))
  back <- read.csv(path, colClasses = cls)
  for (v in names(levs)) back[[v]] <- factor(back[[v]], levels = levs[[v]], ordered = is.ordered(df[[v]]))
  for (v in names(df)) {
    if (is.factor(df[[v]])) stopifnot(identical(back[[v]], df[[v]]))
    else stopifnot(max(abs(back[[v]] - df[[v]]) / pmax(1, abs(df[[v]]))) < 1e-13)
  }
  list(data = back, levels = levs)
}

# A glmmTMB dataset shipped with glmmfast: CSV + schema (the format of
# python/glmmfast/datasets/__init__.py).
export_package_dataset <- function(name, desc) {
  df <- get(name, envir = asNamespace("glmmTMB"))
  df <- as.data.frame(df)
  rt <- write_csv_reload(df, file.path(pkgdata, paste0(name, ".csv")))
  cols <- lapply(names(df), function(v) {
    x <- df[[v]]
    if (is.factor(x)) {
      spec <- list(type = "factor", levels = I(levels(x)))
      if (is.ordered(x)) spec$ordered <- TRUE
      spec
    } else if (is.integer(x)) list(type = "integer") else list(type = "numeric")
  })
  names(cols) <- names(df)
  schema <- list(name = name, nrow = nrow(df), source = sprintf("data(%s, package = \"glmmTMB\"), glmmTMB %s",
                                                               name, packageVersion("glmmTMB")),
                 columns = cols)
  writeLines(toJSON(schema, auto_unbox = TRUE, pretty = TRUE),
             file.path(pkgdata, paste0(name, ".schema.json")))
  datasets[[name]] <<- rt$data
  dsinfo[[name]] <<- list(source = "glmmfast.datasets", name = name, nrow = nrow(df), description = desc)
}

# A simulated dataset stored as tests/data/glmmtmb_<name>.csv.
add_simulated <- function(name, df, desc) {
  file <- sprintf("glmmtmb_%s.csv", name)
  rt <- write_csv_reload(df, file.path(outdir, file))
  datasets[[name]] <<- rt$data
  dsinfo[[name]] <<- list(source = "csv", file = file, nrow = nrow(df), description = desc,
                          columns = I(names(df)), factor_levels = lapply(rt$levels, I))
}

# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------
export_package_dataset("Salamanders",
  "Salamander counts in 23 Appalachian streams (sites), some affected by mountaintop-removal coal mining; 7 species/life stages; 644 rows (glmmTMB).")
export_package_dataset("Owls",
  "Begging calls (sibling negotiation) of barn owl nestlings in 27 nests, by food treatment and sex of the provisioning parent; 599 rows (glmmTMB; Roulin and Bersier 2007).")

ngroup <- 30
grp <- function(n) {
  # every level appears; labels zero-padded so R's and pandas' sorted orders agree
  g <- sample.int(ngroup, n, replace = TRUE)
  g[seq_len(ngroup)] <- seq_len(ngroup)
  factor(sprintf("g%02d", g), levels = sprintf("g%02d", seq_len(ngroup)))
}

set.seed(20261203)

## Gaussian with log-sd depending on x, prior weights w, an observation id.
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.7)
w <- round(runif(n, 0.5, 2), 2)
y <- 1 + 0.5 * x + u[g] + rnorm(n) * exp(-0.3 + 0.4 * x) / sqrt(w)
add_simulated("dispgauss", data.frame(y = y, x = x, w = w, g = g,
                                      obs = factor(sprintf("o%03d", seq_len(n)))),
  "Gaussian, 30 groups x 600 rows: y = 1 + 0.5 x + u_g + e, u ~ N(0, 0.7^2), sd(e) = exp(-0.3 + 0.4 x) / sqrt(w); w prior weights in [0.5, 2]; obs: one level per row.")

## Negative binomial (NB2) with log theta depending on x.
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(0.5 + 0.4 * x + u[g])
y <- rnbinom(n, mu = mu, size = exp(0.5 + 0.6 * x))
add_simulated("dispnb", data.frame(y = y, x = x, g = g),
  "NB2 counts, 30 groups x 600 rows: log mu = 0.5 + 0.4 x + u_g, u ~ N(0, 0.5^2), log theta = 0.5 + 0.6 x.")

## Proportions in (0, 1): beta with mean mu and precision phi (Var = mu (1 - mu) / (1 + phi)).
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- plogis(-0.5 + 0.8 * x + u[g])
y <- rbeta(n, mu * 10, (1 - mu) * 10)
add_simulated("beta", data.frame(y = y, x = x, g = g),
  "Beta proportions, 30 groups x 600 rows: logit mu = -0.5 + 0.8 x + u_g, u ~ N(0, 0.5^2), phi = 10.")

## Successes out of trials: beta-binomial (p ~ Beta(mu phi, (1 - mu) phi), s ~ Binomial(n, p)).
n <- 500
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
trials <- sample(5:20, n, replace = TRUE)
mu <- plogis(-0.3 + 0.6 * x + u[g])
p <- rbeta(n, mu * 5, (1 - mu) * 5)
add_simulated("betabinom", data.frame(s = rbinom(n, trials, p), n = trials, x = x, g = g),
  "Beta-binomial successes s of n trials (5 to 20), 30 groups x 500 rows: logit mu = -0.3 + 0.6 x + u_g, u ~ N(0, 0.5^2), phi = 5.")

## Tweedie (compound Poisson-gamma), power 1.5, phi 1.5: N ~ Poisson(mu^(2-p) / (phi (2-p))),
## y = sum of N Gamma((2-p)/(p-1), scale phi (p-1) mu^(p-1)) draws (exact zeros when N = 0).
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(1 + 0.5 * x + u[g]); pw <- 1.5; phi <- 1.5
N <- rpois(n, mu^(2 - pw) / (phi * (2 - pw)))
y <- vapply(seq_len(n), function(i)
  if (N[i] == 0) 0 else sum(rgamma(N[i], shape = (2 - pw) / (pw - 1), scale = phi * (pw - 1) * mu[i]^(pw - 1))), 0)
add_simulated("tweedie", data.frame(y = y, x = x, g = g),
  "Tweedie (compound Poisson-gamma), 30 groups x 600 rows: log mu = 1 + 0.5 x + u_g, u ~ N(0, 0.5^2), power 1.5, phi 1.5 (Var = phi mu^1.5).")

## Generalised Poisson (Consul), glmmTMB's parameterisation: Var = mu phi^2 ... drawn with
## theta = mu / sqrt(d), lambda = 1 - 1 / sqrt(d) for the index of dispersion d = 2 (overdispersed),
## P(y) = theta (theta + lambda y)^(y-1) exp(-theta - lambda y) / y!, by inversion.
rgenpois1 <- function(mu, d) {
  th <- mu / sqrt(d); la <- 1 - 1 / sqrt(d)
  v <- runif(1); y <- 0; cdf <- exp(-th)
  while (v > cdf) {
    y <- y + 1
    cdf <- cdf + exp(log(th) + (y - 1) * log(th + la * y) - th - la * y - lgamma(y + 1))
  }
  y
}
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.4)
mu <- exp(0.8 + 0.4 * x + u[g])
add_simulated("genpois", data.frame(y = vapply(mu, rgenpois1, 0, d = 2), x = x, g = g),
  "Generalised Poisson counts, 30 groups x 600 rows: log mu = 0.8 + 0.4 x + u_g, u ~ N(0, 0.4^2), Var = 2 mu (overdispersed).")

## Conway-Maxwell-Poisson, underdispersed: P(y) proportional to lambda^y / (y!)^nu, nu = 2,
## lambda = exp(nu eta) (mean about exp(eta)); small, as compois is slow in glmmTMB.
rcompois1 <- function(lam, nu) {
  k <- 0:100
  lp <- k * log(lam) - nu * lgamma(k + 1)
  sample(k, 1, prob = exp(lp - max(lp)))
}
n <- 300
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.3)
eta <- 1 + 0.4 * x + u[g]
add_simulated("compois", data.frame(y = vapply(exp(2 * eta), rcompois1, 0, nu = 2), x = x, g = g),
  "Conway-Maxwell-Poisson counts (underdispersed, nu = 2), 30 groups x 300 rows: lambda = exp(2 eta), eta = 1 + 0.4 x + u_g, u ~ N(0, 0.3^2).")

## Positive counts: zero-truncated Poisson and NB1 (Var = mu (1 + phi) before truncation, phi 1.5),
## zeros redrawn until positive.
redraw_zeros <- function(y, draw) {
  while (any(y == 0)) { i <- which(y == 0); y[i] <- draw(i) }
  y
}
n <- 500
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(0.3 + 0.5 * x + u[g])
y <- redraw_zeros(rpois(n, mu), function(i) rpois(length(i), mu[i]))
add_simulated("trpois", data.frame(y = y, x = x, g = g),
  "Zero-truncated Poisson counts, 30 groups x 500 rows: log mu = 0.3 + 0.5 x + u_g (mu before truncation), u ~ N(0, 0.5^2).")
n <- 500
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(0.8 + 0.5 * x + u[g])
y <- redraw_zeros(rnbinom(n, mu = mu, size = mu / 1.5), function(i) rnbinom(length(i), mu = mu[i], size = mu[i] / 1.5))
add_simulated("trnb1", data.frame(y = y, x = x, g = g),
  "Zero-truncated NB1 counts, 30 groups x 500 rows: log mu = 0.8 + 0.5 x + u_g, u ~ N(0, 0.5^2), Var = mu (1 + 1.5) before truncation.")

## Student t: y = 2 + 0.5 x + u_g + 0.8 e, e ~ t(5).
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.7)
add_simulated("t", data.frame(y = 2 + 0.5 * x + u[g] + 0.8 * rt(n, df = 5), x = x, g = g),
  "Student t, 30 groups x 600 rows: y = 2 + 0.5 x + u_g + 0.8 e, u ~ N(0, 0.7^2), e ~ t with 5 df.")

## Zero-inflated (hurdle) Gamma: y = 0 with probability plogis(-0.8), else Gamma(shape 2, mean mu).
n <- 600
g <- grp(n); x <- rnorm(n); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(1 + 0.5 * x + u[g])
y <- ifelse(runif(n) < plogis(-0.8), 0, rgamma(n, shape = 2, scale = mu / 2))
add_simulated("zigamma", data.frame(y = y, x = x, g = g),
  "Gamma with exact zeros, 30 groups x 600 rows: P(y = 0) = plogis(-0.8) = 0.31, else Gamma(shape 2) with log mu = 1 + 0.5 x + u_g, u ~ N(0, 0.5^2).")

## Dispersion models of the other families (issue 14): the family's own parameter log-linear in x,
## x ~ U(-1, 1), one dataset per family, drawn after the datasets above with their own seed.
set.seed(20261204)
n <- 600
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.5)
mu <- plogis(-0.5 + 0.8 * x + u[g]); phi <- exp(2 + 0.8 * x)
add_simulated("dispbeta", data.frame(y = rbeta(n, mu * phi, (1 - mu) * phi), x = x, g = g),
  "Beta proportions, 30 groups x 600 rows: logit mu = -0.5 + 0.8 x + u_g, u ~ N(0, 0.5^2), log phi = 2 + 0.8 x, x ~ U(-1, 1).")
n <- 500
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.5)
trials <- sample(5:20, n, replace = TRUE)
mu <- plogis(-0.3 + 0.6 * x + u[g]); phi <- exp(1.5 + 0.8 * x)
add_simulated("dispbetabinom", data.frame(s = rbinom(n, trials, rbeta(n, mu * phi, (1 - mu) * phi)), n = trials,
                                          x = x, g = g),
  "Beta-binomial successes s of n trials (5 to 20), 30 groups x 500 rows: logit mu = -0.3 + 0.6 x + u_g, u ~ N(0, 0.5^2), log phi = 1.5 + 0.8 x, x ~ U(-1, 1).")
n <- 600
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.4)
mu <- exp(0.8 + 0.4 * x + u[g]); d <- exp(0.8 + 0.5 * x)
add_simulated("dispgenpois", data.frame(y = mapply(rgenpois1, mu, d), x = x, g = g),
  "Generalised Poisson counts, 30 groups x 600 rows: log mu = 0.8 + 0.4 x + u_g, u ~ N(0, 0.4^2), Var = phi mu with log phi = 0.8 + 0.5 x (phi > 1), x ~ U(-1, 1).")
n <- 200
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.3)
eta <- 1 + 0.4 * x + u[g]; nu <- exp(0.7 - 0.6 * x)
add_simulated("dispcompois", data.frame(y = mapply(rcompois1, exp(nu * eta), nu), x = x, g = g),
  "Conway-Maxwell-Poisson counts, 30 groups x 200 rows: lambda = exp(nu eta), eta = 1 + 0.4 x + u_g, u ~ N(0, 0.3^2), log nu = 0.7 - 0.6 x (glmmTMB's log phi = -log nu), x ~ U(-1, 1).")
n <- 600
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.7)
add_simulated("dispt", data.frame(y = 2 + 0.5 * x + u[g] + exp(-0.2 + 0.7 * x) * rt(n, df = 5), x = x, g = g),
  "Student t, 30 groups x 600 rows: y = 2 + 0.5 x + u_g + sigma e, u ~ N(0, 0.7^2), e ~ t with 5 df, log sigma = -0.2 + 0.7 x, x ~ U(-1, 1).")
n <- 600
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.5)
mu <- exp(1 + 0.5 * x + u[g]); pw <- 1.5; phi <- exp(0.3 + 0.7 * x)
N <- rpois(n, mu^(2 - pw) / (phi * (2 - pw)))
y <- vapply(seq_len(n), function(i)
  if (N[i] == 0) 0 else sum(rgamma(N[i], shape = (2 - pw) / (pw - 1), scale = phi[i] * (pw - 1) * mu[i]^(pw - 1))), 0)
add_simulated("disptweedie", data.frame(y = y, x = x, g = g),
  "Tweedie (compound Poisson-gamma), 30 groups x 600 rows: log mu = 1 + 0.5 x + u_g, u ~ N(0, 0.5^2), power 1.5, log phi = 0.3 + 0.7 x, x ~ U(-1, 1).")

## Zero-inflated successes of trials: s = 0 with probability plogis(-1 + 0.8 x), else binomial
## (beta-binomial with phi = 5) with logit mu = -0.2 + 0.6 x + u_g.
n <- 600
g <- grp(n); x <- runif(n, -1, 1); u <- rnorm(ngroup, 0, 0.5)
trials <- sample(3:12, n, replace = TRUE)
mu <- plogis(-0.2 + 0.6 * x + u[g]); zero <- runif(n) < plogis(-1 + 0.8 * x)
add_simulated("zibinom", data.frame(s = ifelse(zero, 0, rbinom(n, trials, mu)),
                                    sb = ifelse(zero, 0, rbinom(n, trials, rbeta(n, mu * 5, (1 - mu) * 5))),
                                    n = trials, x = x, g = g),
  "Zero-inflated successes of n trials (3 to 12), 30 groups x 600 rows: a structural zero with probability plogis(-1 + 0.8 x), else s ~ Binomial(n, mu) and sb ~ Beta-binomial(n, mu, phi = 5), logit mu = -0.2 + 0.6 x + u_g, u ~ N(0, 0.5^2), x ~ U(-1, 1).")

# ---------------------------------------------------------------------------
# Fitting one case
# ---------------------------------------------------------------------------
named <- function(v) {
  if (is.null(v) || length(v) == 0) return(setNames(list(), character(0)))
  as.list(v)
}

by_component <- function(lst) {
  out <- list(cond = named(NULL), zi = named(NULL), disp = named(NULL))
  for (k in intersect(names(lst), names(out))) out[[k]] <- named(lst[[k]])
  out
}

se_component <- function(fit) {
  v <- vcov(fit)
  out <- list(cond = named(NULL), zi = named(NULL), disp = named(NULL))
  for (k in intersect(names(v), names(out))) {
    m <- v[[k]]
    # vcov() prefixes the zi and disp names ("zi~sppPR", "d~x"); fixef() does not
    if (!is.null(m) && length(m) > 0)
      out[[k]] <- named(setNames(sqrt(diag(m)), sub("^(zi|d)~", "", rownames(m))))
  }
  # glmmTMB 1.1.5's vcov() has no "disp" component: the SEs of the dispersion
  # coefficients (log scale) are in vcov(full = TRUE) as "d~(Intercept)", "d~x"
  # (none when dispformula = ~0 fixes them)
  if (length(out$disp) == 0) {
    sd <- sqrt(diag(full_vcov(fit)))
    d <- grep("^d~", names(sd))
    if (length(d)) out$disp <- named(setNames(sd[d], sub("^d~", "", names(sd)[d])))
  }
  out
}

# vcov(fit, full = TRUE), its names made unique: glmmTMB 1.1.5 names the
# zero-inflation part's variance parameters as the conditional part's
# ("theta_1|site.1" twice); those rows (block "thetazi") get a "zi~" prefix.
full_vcov <- function(fit) {
  v <- suppressWarnings(vcov(fit, full = TRUE))
  blocks <- full_vcov_blocks(v)
  stopifnot(length(blocks) == nrow(v))
  nm <- ifelse(blocks == "thetazi", paste0("zi~", rownames(v)), unname(rownames(v)))
  stopifnot(!anyDuplicated(nm))
  dimnames(v) <- list(nm, nm)
  attr(v, "blocks") <- blocks
  v
}
# The part of the model each row of vcov(full = TRUE) belongs to (cond, zi,
# disp, theta, thetazi, psi), from the names glmmTMB gives its row names
# ("cond1", "zi2", "disp", "theta", "thetazi").
full_vcov_blocks <- function(v) sub("[0-9]+$", "", names(rownames(v)))

fixef_component <- function(fit) {
  fe <- fixef(fit)
  out <- by_component(unclass(fe))
  cf <- summary(fit)$coefficients
  if (length(out$disp) == 0 && !is.null(cf$disp)) out$disp <- named(cf$disp[, "Estimate"])
  out
}

varcorr_component <- function(fit) {
  vc <- VarCorr(fit)
  out <- list()
  for (k in c("cond", "zi")) {
    terms <- vc[[k]]
    if (is.null(terms) || length(terms) == 0) next
    out[[k]] <- lapply(terms, function(s) {
      sd <- attr(s, "stddev")
      cr <- attr(s, "correlation")
      if (is.null(cr)) cr <- diag(length(sd))
      list(sd = I(unname(sd)), names = I(names(sd)), cor = unname(as.matrix(cr)))
    })
  }
  out
}

ranef_component <- function(fit, k) {
  re <- ranef(fit)[[k]]
  if (is.null(re) || length(re) == 0) return(NULL)
  lapply(re, function(d) {
    cols <- lapply(d, function(v) I(unname(v)))
    cols[["_levels"]] <- I(rownames(d))
    cols
  })
}

predict_types <- c("response", "link", "zprob", "zlink", "conditional", "disp")
predictions <- function(fit) {
  out <- lapply(predict_types, function(t) tryCatch(I(unname(as.numeric(predict(fit, type = t))[1:10])),
                                                    error = function(e) NULL))
  names(out) <- predict_types
  out[!vapply(out, is.null, TRUE)]
}

family_parameters <- function(fit, famname, dispformula) {
  out <- list()
  constant_disp <- is.null(dispformula) || gsub(" ", "", dispformula) == "~1"
  if (grepl("nbinom", famname) && constant_disp) out$theta <- sigma(fit)
  fp <- tryCatch(family_params(fit), error = function(e) numeric(0))
  if (length(fp)) {
    nm <- names(fp)
    for (i in seq_along(fp)) {
      if (grepl("power", nm[i], ignore.case = TRUE)) out$power <- unname(fp[i])
      else if (grepl("df", nm[i])) out$df <- unname(fp[i])
      else out[[nm[i]]] <- unname(fp[i])
    }
  }
  if (length(out) == 0) named(NULL) else out
}

cases <- list()

# GLMMTMB_CASES="id1,id2" (environment): fit only those cases and merge them
# (and their datasets) into the existing JSON, every other entry left as it is.
only_cases <- strsplit(Sys.getenv("GLMMTMB_CASES"), ",", fixed = TRUE)[[1]]

# A case: the formula strings exactly as given to glmmTMB; family a call such
# as quote(nbinom2) or quote(beta_family(link = "logit")); weights a column name.
run_case <- function(id, dataset, formula, family, ziformula = NULL, dispformula = NULL,
                     REML = FALSE, weights = NULL, start = NULL, map = NULL, note = NULL) {
  if (length(only_cases) && !(id %in% only_cases)) return(invisible(NULL))
  d <- datasets[[dataset]]
  env <- new.env(parent = globalenv())
  assign(dataset, d, envir = env)
  cl <- list(as.name("glmmTMB"), as.formula(formula, env = env), data = as.name(dataset), family = family)
  if (!is.null(ziformula)) cl$ziformula <- as.formula(ziformula, env = env)
  if (!is.null(dispformula)) cl$dispformula <- as.formula(dispformula, env = env)
  if (!is.null(weights)) cl$weights <- as.name(weights)
  if (!is.null(start)) cl$start <- start
  if (!is.null(map)) cl$map <- map
  cl$REML <- REML
  cl <- as.call(cl)
  warns <- character(0)
  fit <- withCallingHandlers(eval(cl, env), warning = function(w) {
    warns <<- unique(c(warns, conditionMessage(w)))
    invokeRestart("muffleWarning")
  })
  times <- vapply(1:3, function(i) suppressWarnings(system.time(eval(cl, env))[["elapsed"]]), 0)
  ll <- logLik(fit)
  fam <- family(fit)
  sig <- tryCatch(suppressWarnings(sigma(fit)), error = function(e) NA_real_)
  if (length(sig) != 1 || is.na(sig)) sig <- NULL
  case <- list(
    id = id, dataset = dataset, family = fam$family, link = fam$link,
    family_call = paste(deparse(family), collapse = " "),
    formula = formula, ziformula = ziformula, dispformula = dispformula, REML = REML,
    offset = NULL, weights = weights,
    start = start, map = if (is.null(map)) NULL else lapply(map, as.character),
    m2loglik = -2 * as.numeric(ll), logLik = as.numeric(ll), logLik_df = attr(ll, "df"),
    AIC = AIC(fit), nobs = nobs(fit),
    fixef = fixef_component(fit), se = se_component(fit),
    sigma = sig, family_params = family_parameters(fit, fam$family, dispformula),
    sd_full = named(sqrt(diag(full_vcov(fit)))),
    vcov_full = with(list(v = full_vcov(fit)),
                     list(names = I(rownames(v)), blocks = I(attr(v, "blocks")), matrix = unname(v[, ]))),
    varcorr = varcorr_component(fit),
    ranef_cond = ranef_component(fit, "cond"), ranef_zi = ranef_component(fit, "zi"),
    predict = predictions(fit),
    summary_text = I(capture.output(print(summary(fit)))),
    convergence = fit$fit$convergence, optimizer_message = fit$fit$message,
    pdHess = fit$sdr$pdHess, warnings = I(warns),
    time_s = median(times), note = note)
  cases[[length(cases) + 1L]] <<- case
  cat(sprintf("%-22s -2logL %12.4f  df %2d  %5.2fs  %s\n", id, case$m2loglik, case$logLik_df,
              case$time_s, paste(warns, collapse = " | ")))
  invisible(fit)
}

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------
## Salamanders: glmmTMB's ?glmmTMB examples and Brooks et al. (2017, R Journal)
sal <- "count ~ spp * mined + (1 | site)"
run_case("sal_zip", "Salamanders", sal, quote(poisson), ziformula = "~ spp * mined")
run_case("sal_zinb2", "Salamanders", sal, quote(nbinom2), ziformula = "~ spp * mined")
run_case("sal_zinb2_add", "Salamanders", "count ~ spp + mined + (1 | site)", quote(nbinom2),
         ziformula = "~ spp + mined", note = "?glmmTMB example m2")
run_case("sal_zip_mined", "Salamanders", "count ~ mined + (1 | site)", quote(poisson),
         ziformula = "~ mined", note = "?glmmTMB example m1")
run_case("sal_hnb2", "Salamanders", sal, quote(truncated_nbinom2), ziformula = "~ spp * mined",
         note = "hurdle NB2 (Brooks et al. 2017)")
run_case("sal_hpois", "Salamanders", "count ~ spp + mined + (1 | site)", quote(truncated_poisson),
         ziformula = "~ spp + mined", note = "hurdle Poisson, ?glmmTMB example m3")
run_case("sal_zip_zire", "Salamanders", "count ~ spp + mined + (1 | site)", quote(poisson),
         ziformula = "~ mined + (1 | site)", note = "random effect in the zero-inflation part")
run_case("sal_nb1", "Salamanders", "count ~ spp + mined + (1 | site)", quote(nbinom1))
run_case("sal_nb2", "Salamanders", "count ~ spp + mined + (1 | site)", quote(nbinom2))
run_case("sal_zigenpois", "Salamanders", "count ~ spp + mined + (1 | site)", quote(genpois),
         ziformula = "~ spp + mined", note = "troubleshooting vignette's zero-inflated generalised Poisson")

## Owls: glmmTMB's model_evaluation vignette (nbinom1, offset, zi = ~1) and its nbinom2 variant
owl <- "SiblingNegotiation ~ FoodTreatment * SexParent + (1 | Nest) + offset(log(BroodSize))"
run_case("owls_zinb1", "Owls", owl, quote(nbinom1), ziformula = "~1",
         note = "model_evaluation vignette's owls_nb1")
run_case("owls_zinb2", "Owls", owl, quote(nbinom2), ziformula = "~1")
run_case("owls_zip", "Owls",
         "SiblingNegotiation ~ (FoodTreatment + ArrivalTime) * SexParent + offset(log(BroodSize)) + (1 | Nest)",
         quote(poisson), ziformula = "~1", note = "glmmTMB vignette's fit_zipoisson (NCalls = SiblingNegotiation, FT = FoodTreatment)")
run_case("owls_hnb1", "Owls",
         "SiblingNegotiation ~ (FoodTreatment + ArrivalTime) * SexParent + BroodSize + (1 | Nest)",
         quote(truncated_nbinom1),
         ziformula = "~ (FoodTreatment + ArrivalTime) * SexParent + BroodSize + (1 | Nest)",
         note = "glmmTMB vignette's fit_hnbinom1 (ziformula = ~. written out: the conditional formula, random effect included)")

## Dispersion formulas
run_case("disp_gauss_x", "dispgauss", "y ~ x + (1 | g)", quote(gaussian), dispformula = "~ x")
run_case("disp_gauss_w", "dispgauss", "y ~ x + (1 | g)", quote(gaussian), weights = "w",
         note = "glmmTMB 1.1.5's gaussian weights multiply each row's log density: logLik = sum_i w_i log N(y_i | mu_i, sigma^2) (not Var = sigma^2 / w; see meta$conventions$weights)")
run_case("disp_gauss_zero_w", "dispgauss", "y ~ x + (1 | g) + (1 | obs)", quote(gaussian),
         dispformula = "~0", weights = "w",
         note = "dispformula ~0 fixes glmmTMB's residual variance at sqrt(.Machine$double.eps) (fixef$disp); the observation-level term (1 | obs) takes the residual variation; with weights, glmmTMB's logLik includes -0.5 sum (w_i - 1) log(2 pi sigma^2) (meta$conventions$weights), hence its large positive value")
run_case("disp_gauss_x_reml", "dispgauss", "y ~ x + (1 | g)", quote(gaussian), dispformula = "~ x", REML = TRUE,
         note = "REML = TRUE: glmmTMB integrates the fixed effects out (Laplace over b and beta)")
run_case("disp_nb2_x", "dispnb", "y ~ x + (1 | g)", quote(nbinom2), dispformula = "~ x")

## The families, on simulated data with a random intercept
ri <- "y ~ x + (1 | g)"
run_case("beta_ri", "beta", ri, quote(beta_family(link = "logit")))
run_case("betabinom_ri", "betabinom", "cbind(s, n - s) ~ x + (1 | g)", quote(betabinomial(link = "logit")))
run_case("tweedie_ri", "tweedie", ri, quote(tweedie(link = "log")))
run_case("genpois_ri", "genpois", ri, quote(genpois(link = "log")))
run_case("compois_ri", "compois", ri, quote(compois(link = "log")))
run_case("trpois_ri", "trpois", ri, quote(truncated_poisson(link = "log")))
run_case("trnb1_ri", "trnb1", ri, quote(truncated_nbinom1(link = "log")))
run_case("trnb2_ri", "trnb1", ri, quote(truncated_nbinom2(link = "log")),
         note = "truncated NB2 on the truncated-NB1 data")
run_case("t_ri", "t", ri, quote(t_family(link = "identity")))
run_case("t_df5_fixed", "t", ri, quote(t_family(link = "identity")),
         start = list(psi = log(5)), map = list(psi = factor(NA)),
         note = "df fixed at 5: glmmTMB 1.1.5's start = list(psi = log(5)), map = list(psi = factor(NA))")
run_case("zigamma_ri", "zigamma", ri, quote(ziGamma(link = "log")), ziformula = "~1")
run_case("zigamma_zix", "zigamma", ri, quote(ziGamma(link = "log")), ziformula = "~ x",
         note = "hurdle Gamma with a covariate in the zero part (simulated with a constant one)")

## Dispersion models of the other families, and zero-inflated binomial / beta-binomial
run_case("disp_beta_x", "dispbeta", ri, quote(beta_family(link = "logit")), dispformula = "~ x")
run_case("disp_betabinom_x", "dispbetabinom", "cbind(s, n - s) ~ x + (1 | g)", quote(betabinomial(link = "logit")),
         dispformula = "~ x")
run_case("disp_genpois_x", "dispgenpois", ri, quote(genpois(link = "log")), dispformula = "~ x")
run_case("disp_compois_x", "dispcompois", ri, quote(compois(link = "log")), dispformula = "~ x")
run_case("disp_t_x", "dispt", ri, quote(t_family(link = "identity")), dispformula = "~ x")
run_case("disp_tweedie_x", "disptweedie", ri, quote(tweedie(link = "log")), dispformula = "~ x")
run_case("disp_trnb1_x", "trnb1", ri, quote(truncated_nbinom1(link = "log")), dispformula = "~ x",
         note = "a dispersion model on data simulated with a constant one")
run_case("zibinom_zix", "zibinom", "cbind(s, n - s) ~ x + (1 | g)", quote(binomial), ziformula = "~ x")
run_case("zibetabinom_zix", "zibinom", "cbind(sb, n - sb) ~ x + (1 | g)", quote(betabinomial(link = "logit")),
         ziformula = "~ x")

# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------
meta <- list(
  R = R.version.string, glmmTMB = as.character(packageVersion("glmmTMB")),
  TMB = as.character(packageVersion("TMB")),
  generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S UTC", tz = "UTC"),
  generator = "tests/data/glmmtmb_reference.R",
  conventions = list(
    m2loglik = "-2 * logLik(fit); logLik_df = attr(logLik(fit), 'df') counts cond, zi, disp coefficients, variance parameters and family parameters (power, df)",
    family = "family: family(fit)$family as glmmTMB prints it (ziGamma(link = 'log') prints Gamma); family_call: the family argument as given",
    sigma = "sigma(fit), glmmTMB 1.1.5's ?sigma.glmmTMB: gaussian residual sd (ML); nbinom2 theta (Var = mu (1 + mu / theta)); nbinom1 alpha (Var = mu (1 + alpha)); Gamma/ziGamma 1/sqrt(shape); beta and betabinomial phi (Var = mu (1 - mu) / (1 + phi)); genpois Var / mu (2.01 on the data simulated with Var = 2 mu); compois 1/nu (0.54 on data simulated with nu = 2); tweedie phi (Var = phi mu^p, p = family_params$power); t the scale",
    disp = "fixef$disp: glmmTMB's dispersion model (betad), also for dispformula ~1 (its intercept), on the log scale: betad = 2 log sigma(fit) for gaussian (log variance), -2 log sigma(fit) for Gamma/ziGamma (log shape), log sigma(fit) for every other family with a dispersion (nbinom1, nbinom2, truncated_nbinom*, beta, betabinomial, tweedie, genpois, compois, t); poisson and truncated_poisson have none ({}). sd_full names them d~(Intercept) etc.",
    dispformula_zero = "gaussian dispformula = ~0: glmmTMB 1.1.5 fixes betad at log(sqrt(.Machine$double.eps)) = -18.0218..., a residual variance of 1.49e-8",
    weights = "gaussian prior weights in glmmTMB 1.1.5 multiply the log density: logLik = sum_i w_i log N(y_i | mu_i, sigma^2) (checked against the exact marginal likelihood when the script was written); this equals the N(mu_i, sigma^2 / w_i) likelihood minus 0.5 sum_i ((w_i - 1) log(2 pi sigma^2) + log w_i)",
    predict = "first 10 rows of the fitted data, random effects at their conditional modes",
    time_s = "median elapsed seconds of 3 fits after the reference fit, this machine"))

# The entries of a top-level object or array of jsonlite's pretty JSON (lines between its
# opening and closing lines), each a block of lines starting at a 4-space indent, without
# the separating comma; named by key (datasets) or by "id" (cases).
json_entries <- function(lines, open, close) {
  from <- which(lines == open) + 1L
  to <- from - 1L + which(lines[from:length(lines)] %in% close)[1] - 1L
  inner <- lines[from:to]
  starts <- grep("^    [^ ]", inner)
  starts <- starts[!grepl("^    []}]", inner[starts])]
  ends <- c(starts[-1] - 1L, length(inner))
  blocks <- lapply(seq_along(starts), function(i) {
    b <- inner[starts[i]:ends[i]]
    b[length(b)] <- sub(",$", "", b[length(b)])
    b
  })
  key <- vapply(blocks, function(b) {
    id <- grep('^      "id": ', b, value = TRUE)
    if (length(id)) sub('^      "id": "(.*)",?$', "\\1", id[1]) else sub('^    "([^"]*)".*', "\\1", b[1])
  }, "")
  list(from = from, to = to, blocks = setNames(blocks, key))
}

# lines with the entries of `new` replacing those of the same key in `old` (others appended)
merge_entries <- function(lines, new_lines, open, close) {
  old <- json_entries(lines, open, close)
  add <- json_entries(new_lines, open, close)$blocks
  blocks <- old$blocks
  for (k in names(add)) blocks[[k]] <- add[[k]]
  body <- unlist(lapply(seq_along(blocks), function(i) {
    b <- blocks[[i]]
    if (i < length(blocks)) b[length(b)] <- paste0(b[length(b)], ",")
    b
  }))
  c(lines[seq_len(old$from - 1L)], body, lines[(old$to + 1L):length(lines)])
}

res <- list(meta = meta, datasets = dsinfo, cases = cases)
json_path <- file.path(outdir, "glmmtmb_reference.json")
text <- strsplit(toJSON(res, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), "\n")[[1]]
if (length(only_cases)) {
  used <- unique(vapply(cases, function(c) c$dataset, ""))
  res$datasets <- dsinfo[used]
  text_new <- strsplit(toJSON(res, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
                       "\n")[[1]]
  text <- readLines(json_path)
  text <- merge_entries(text, text_new, '  "datasets": {', c("  },", "  }"))
  text <- merge_entries(text, text_new, '  "cases": [', c("  ],", "  ]"))
}
writeLines(text, json_path)
cat("wrote", length(cases), "cases\n")

# Reference fits for glmmTMB's structured random-effects covariances
# (us, diag, cs, ar1, toep, ou, exp, gau, mat).
#
# Run from the repository root:
#     Rscript tests/data/covstruct_reference.R
# Needs R >= 4.2 with glmmTMB 1.1.5, MASS and jsonlite.
# Writes tests/data/covstruct_<name>.csv (simulated data, seeded) and
# tests/data/covstruct_reference.json. The parameterisation is documented in
# tests/data/covstruct_reference.md; every case's theta is re-mapped to sds and
# correlations here by an independent R implementation (cov_from_theta) and the
# largest difference from VarCorr() is stored as theta_check_maxdiff.
source(file.path("tests", "data", "glmmtmb_common.R"))  # glmmTMB, jsonlite, the version check
suppressPackageStartupMessages(library(MASS))

outdir <- file.path("tests", "data")
pkgdata <- file.path("python", "glmmfast", "datasets", "data")
stopifnot(dir.exists(outdir))

# ---------------------------------------------------------------------------
# Datasets. Each simulated dataset is written to CSV (factors as labels, full
# precision numbers) and then read back, so the fits use exactly the CSV data.
# Factor level orders are recorded in the JSON ("datasets"); numFactor columns
# are rebuilt from the numeric columns with numFactor() and checked against
# the labels stored in the CSV.
# ---------------------------------------------------------------------------
datasets <- list()   # name -> data.frame used in the fits
dsinfo <- list()     # name -> description for the JSON

write_and_reload <- function(name, df, desc, numfactors = list()) {
  file <- sprintf("covstruct_%s.csv", name)
  path <- file.path(outdir, file)
  levs <- lapply(df[vapply(df, is.factor, TRUE)], levels)
  out <- df
  for (v in names(levs)) out[[v]] <- as.character(out[[v]])
  write.csv(out, path, row.names = FALSE)
  back <- read.csv(path, colClasses = ifelse(vapply(df, is.factor, TRUE), "character", "numeric"))
  for (v in names(levs)) back[[v]] <- factor(back[[v]], levels = levs[[v]])
  for (v in names(numfactors)) {
    rebuilt <- do.call(numFactor, unname(as.list(back[numfactors[[v]]])))
    stopifnot(identical(rebuilt, back[[v]]))
  }
  datasets[[name]] <<- back
  dsinfo[[name]] <<- list(
    file = file, nrow = nrow(back), description = desc,
    columns = names(back),
    factor_levels = levs,
    numFactor_columns = lapply(numfactors, function(cols)
      list(built_from = cols, call = sprintf("numFactor(%s)", paste(cols, collapse = ", ")))))
  invisible(back)
}

## 1. The covstruct vignette's AR(1) data (glmmTMB 1.1.5 vignette "covstruct",
##    chunks setup/sim1/simGroup/simGroup2: set.seed(1), a single series, the
##    printed simGroup(1), then 1000 groups of 6 unit-spaced times).
set.seed(1)
n <- 6
x <- mvrnorm(mu = rep(0, n), Sigma = .7 ^ as.matrix(dist(1:n)))
y <- x + rnorm(n)
simGroup <- function(g, n = 6, rho = 0.7) {
  x <- mvrnorm(mu = rep(0, n), Sigma = rho ^ as.matrix(dist(1:n)))
  y <- x + rnorm(n)
  times <- factor(1:n)
  group <- factor(rep(g, n))
  data.frame(y, times, group)
}
invisible(simGroup(1))
dat1 <- do.call("rbind", lapply(1:1000, simGroup))
dat1$t <- as.numeric(as.character(dat1$times))
dat1$timesnf <- numFactor(dat1$t)   # the vignette's dat1$times <- numFactor(dat1$times)
write_and_reload("ar1vig", dat1[c("y", "times", "group", "t", "timesnf")],
  "glmmTMB covstruct vignette: 1000 groups x 6 unit-spaced times; y = AR(1)(sd 1, rho 0.7) + N(0,1) noise. times: factor 1..6; timesnf = numFactor(t).",
  list(timesnf = "t"))

## 2. Poisson counts, 150 groups x 6 unit-spaced times, log link, AR(1) latent
##    process (sd 0.8, rho 0.6) plus a covariate.
set.seed(20240601)
ng <- 150; nt <- 6
grp <- factor(sprintf("g%03d", rep(seq_len(ng), each = nt)))
tt <- rep(seq_len(nt), ng)
xcov <- round(rnorm(ng * nt), 3)
S <- 0.8^2 * 0.6^as.matrix(dist(seq_len(nt)))
u <- as.vector(t(mvrnorm(ng, rep(0, nt), S)))
ycount <- rpois(ng * nt, exp(0.5 + 0.4 * xcov + u))
write_and_reload("pois_ts",
  data.frame(y = ycount, x = xcov, time = factor(tt, levels = seq_len(nt)), group = grp),
  "Poisson, 150 groups x 6 times; log mu = 0.5 + 0.4 x + u, u AR(1) across time within group (sd 0.8, rho 0.6).")

## 3. Binomial counts (cbind(succ, fail), 10 trials), 120 groups x 6 unequally
##    spaced times, logit link, OU latent process (sd 1, rate 0.35).
set.seed(20240602)
ng <- 120; tv <- c(0, 1, 1.5, 3, 4, 6.5); nt <- length(tv)
grp <- factor(sprintf("g%03d", rep(seq_len(ng), each = nt)))
tt <- rep(tv, ng)
S <- exp(-0.35 * as.matrix(dist(tv)))
u <- as.vector(t(mvrnorm(ng, rep(0, nt), S)))
xcov <- round(runif(ng * nt, -1, 1), 3)
succ <- rbinom(ng * nt, 10, plogis(-0.3 + 0.8 * xcov + u))
bt <- data.frame(succ = succ, fail = 10 - succ, x = xcov,
  time = factor(match(tt, tv), levels = seq_len(nt)), t = tt, group = grp)
bt$tnf <- numFactor(bt$t)
write_and_reload("binom_ts", bt,
  "Binomial (10 trials: succ + fail), 120 groups x 6 unequally spaced times t = 0,1,1.5,3,4,6.5; logit p = -0.3 + 0.8 x + u, u OU in t (sd 1, corr exp(-0.35 |dt|)). time = index of t (factor 1..6), tnf = numFactor(t).",
  list(tnf = "t"))

## 4. Gaussian, 100 groups x 7 unequally spaced times, OU (sd 1.2, rate 0.5),
##    residual sd 0.5; ~12% of the rows dropped (unbalanced).
set.seed(20240603)
ng <- 100; tv <- c(0, 0.5, 1.25, 2, 3.5, 5, 7.5); nt <- length(tv)
grp <- factor(sprintf("s%03d", rep(seq_len(ng), each = nt)))
tt <- rep(tv, ng)
S <- 1.2^2 * exp(-0.5 * as.matrix(dist(tv)))
u <- as.vector(t(mvrnorm(ng, rep(0, nt), S)))
xcov <- round(rnorm(ng * nt), 3)
yg <- 2 + 0.5 * xcov + u + rnorm(ng * nt, sd = 0.5)
og <- data.frame(y = yg, x = xcov, t = tt, group = grp)
og <- og[runif(nrow(og)) > 0.12, ]
og$tnf <- numFactor(og$t)
rownames(og) <- NULL
write_and_reload("ou_gauss", og,
  "Gaussian, 100 groups x 7 unequally spaced times t = 0,0.5,1.25,2,3.5,5,7.5 (about 12% of rows dropped); y = 2 + 0.5 x + u + N(0, 0.5^2), u OU in t (sd 1.2, corr exp(-0.5 |dt|)). tnf = numFactor(t).",
  list(tnf = "t"))

## 5. Binary (0/1) responses: 250 subjects x 4 conditions x 5 replicates,
##    compound-symmetric subject-by-condition effects (sds 0.9-1.4, rho 0.5).
set.seed(20240604)
ns <- 250; nc <- 4; nrep <- 5
sds <- c(0.9, 1.1, 1.2, 1.4)
R <- matrix(0.5, nc, nc); diag(R) <- 1
U <- mvrnorm(ns, rep(0, nc), diag(sds) %*% R %*% diag(sds))
bb <- expand.grid(rep = seq_len(nrep), cond = LETTERS[1:nc], subject = seq_len(ns))
bb$subject <- factor(sprintf("p%03d", bb$subject))
bb$cond <- factor(bb$cond, levels = LETTERS[1:nc])
eta <- 0.2 + c(0, 0.5, -0.5, 1)[as.integer(bb$cond)] + U[cbind(as.integer(bb$subject), as.integer(bb$cond))]
bb$y <- rbinom(nrow(bb), 1, plogis(eta))
write_and_reload("binary_cs", bb[c("y", "cond", "subject", "rep")],
  "Binary 0/1, 250 subjects x 4 conditions (A-D) x 5 replicates; logit p = 0.2 + cond effect (0, .5, -.5, 1) + u[subject, cond], u heterogeneous compound symmetry (sds .9, 1.1, 1.2, 1.4; rho 0.5).")

## 6./7. Spatial 6 x 6 grid, x = 0,0.5,...,2.5 and y = 0,1,...,5, 20 replicate
##    fields with two observations per location per field (so the residual /
##    nugget is identified); Matern(kappa 1) latent field. Gaussian and Poisson.
matern_corr <- function(d, range, kappa) {
  r <- (d / range)^kappa * besselK(d / range, kappa) / (2^(kappa - 1) * gamma(kappa))
  r[d == 0] <- 1
  r
}
grid <- expand.grid(x = seq(0, 2.5, by = 0.5), y = 0:5)
D <- as.matrix(dist(grid))
mkspatial <- function(nrep, nobs, sd, range, kappa) {
  C <- sd^2 * matern_corr(D, range, kappa)
  U <- mvrnorm(nrep, rep(0, nrow(grid)), C)            # nrep x 36
  d <- expand.grid(obs = seq_len(nobs), loc = seq_len(nrow(grid)), r = seq_len(nrep))
  d$x <- grid$x[d$loc]; d$y <- grid$y[d$loc]
  d$rep <- factor(sprintf("r%02d", d$r))
  d$pos <- numFactor(d$x, d$y)
  list(d = d, u = U[cbind(d$r, d$loc)])
}
set.seed(20240605)
sp <- mkspatial(20, 2, 1, 0.8, 1)
sg <- sp$d; sg$z <- round(rnorm(nrow(sg)), 3)
sg$resp <- 1 + 0.5 * sg$z + sp$u + rnorm(nrow(sg), sd = 0.4)
write_and_reload("spatial_gauss", sg[c("resp", "z", "x", "y", "pos", "rep")],
  "Gaussian, 6 x 6 grid (x = 0..2.5 by 0.5, y = 0..5 by 1), 20 replicate fields, 2 observations per location per field; resp = 1 + 0.5 z + u(pos) + N(0, 0.4^2), u Matern (sd 1, range 0.8, kappa 1, TMB form). pos = numFactor(x, y).",
  list(pos = c("x", "y")))
set.seed(20240606)
sp <- mkspatial(20, 2, 0.8, 0.8, 1)
spp <- sp$d; spp$z <- round(rnorm(nrow(spp)), 3)
spp$count <- rpois(nrow(spp), exp(1 + 0.3 * spp$z + sp$u))
write_and_reload("spatial_pois", spp[c("count", "z", "x", "y", "pos", "rep")],
  "Poisson, 6 x 6 grid (x = 0..2.5 by 0.5, y = 0..5 by 1), 20 replicate fields, 2 observations per location per field; log mu = 1 + 0.3 z + u(pos), u Matern (sd 0.8, range 0.8, kappa 1, TMB form). pos = numFactor(x, y).",
  list(pos = c("x", "y")))

## sleepstudy: shipped with glmmfast (python/glmmfast/datasets/data/sleepstudy.csv);
## only written here if it is missing.
ss_csv <- file.path(pkgdata, "sleepstudy.csv")
if (file.exists(ss_csv)) {
  sleepstudy <- read.csv(ss_csv, colClasses = c("numeric", "numeric", "character"))
  lev <- fromJSON(file.path(pkgdata, "sleepstudy.schema.json"))$columns$Subject$levels
  sleepstudy$Subject <- factor(sleepstudy$Subject, levels = lev)
  ss_ref <- "sleepstudy"
} else {
  sleepstudy <- lme4::sleepstudy
  write.csv(sleepstudy, file.path(outdir, "covstruct_sleepstudy.csv"), row.names = FALSE)
  ss_ref <- "covstruct_sleepstudy.csv"
}
sleepstudy$daysnf <- numFactor(sleepstudy$Days)
datasets$sleepstudy <- sleepstudy
dsinfo$sleepstudy <- list(
  file = ss_ref, nrow = nrow(sleepstudy),
  description = "lme4's sleepstudy (packaged glmmfast dataset). The 'ou' case adds daysnf = numFactor(Days) (labels (0)..(9)) before fitting.",
  columns = names(sleepstudy), factor_levels = list(Subject = levels(sleepstudy$Subject)),
  numFactor_columns = list(daysnf = list(built_from = "Days", call = "numFactor(Days)")))

# ---------------------------------------------------------------------------
# Independent mapping theta -> (sd, corr) for one term (the spec in the .md).
# ---------------------------------------------------------------------------
us_corr <- function(cpar, n) {
  L <- diag(n)
  L[upper.tri(L)] <- 0
  k <- 1
  for (i in 2:n) for (j in 1:(i - 1)) { L[i, j] <- cpar[k]; k <- k + 1 }  # row-wise
  S <- L %*% t(L)
  D <- diag(1 / sqrt(diag(S)), n)
  D %*% S %*% D
}
tmb_matern <- function(d, range, kappa) {
  out <- (d / range)^kappa * besselK(d / range, kappa) / (gamma(kappa) * 2^(kappa - 1))
  out[d == 0] <- 1
  out
}
cov_from_theta <- function(structure, theta, n, coords) {
  sdv <- NULL; corr <- diag(n)
  switch(structure,
    diag = { sdv <- exp(theta[1:n]) },
    us = { sdv <- exp(theta[1:n]); if (n > 1) corr <- us_corr(theta[-(1:n)], n) },
    cs = { sdv <- exp(theta[1:n]); a <- 1 / (n - 1)
           rho <- plogis(theta[n + 1]) * (1 + a) - a
           corr[row(corr) != col(corr)] <- rho },
    toep = { sdv <- exp(theta[1:n]); r <- theta[(n + 1):(2 * n - 1)]; r <- r / sqrt(1 + r^2)
             lag <- abs(row(corr) - col(corr)); corr[lag > 0] <- r[lag[lag > 0]] },
    ar1 = { sdv <- rep(exp(theta[1]), n); phi <- theta[2] / sqrt(1 + theta[2]^2)
            corr <- phi^abs(row(corr) - col(corr)) },
    ou = { sdv <- rep(exp(theta[1]), n); tm <- drop(coords)
           corr <- exp(-exp(theta[2]) * abs(outer(tm, tm, "-"))) },
    exp = { sdv <- rep(exp(theta[1]), n); d <- as.matrix(dist(coords))
            corr <- exp(-d / exp(theta[2])) },
    gau = { sdv <- rep(exp(theta[1]), n); d <- as.matrix(dist(coords))
            corr <- exp(-(d / exp(theta[2]))^2) },
    mat = { sdv <- rep(exp(theta[1]), n); d <- as.matrix(dist(coords))
            corr <- tmb_matern(d, exp(theta[2]), exp(theta[3])) },
    stop("unknown structure ", structure))
  list(sd = sdv, corr = corr)
}

theta_notes <- list(
  diag = "theta[1:n] = log sd_k; correlations are 0.",
  us = "theta[1:n] = log sd_k; theta[n+1 : n(n+1)/2] = strictly-lower-triangular entries of a unit-diagonal lower-triangular L, filled ROW-wise (L21, L31, L32, L41, L42, L43, ...); Corr = D^-1/2 L L' D^-1/2 with D = diag(L L'). For n = 2: rho = theta3 / sqrt(1 + theta3^2).",
  cs = "Heterogeneous compound symmetry: theta[1:n] = log sd_k; theta[n+1] = t with rho = plogis(t) * (1 + a) - a, a = 1/(n-1), so rho in (-1/(n-1), 1). All off-diagonal correlations equal rho.",
  toep = "Heterogeneous Toeplitz: theta[1:n] = log sd_k; theta[n+k] (k = 1..n-1) = t_k with lag-k correlation rho_k = t_k / sqrt(1 + t_k^2); Corr[i,j] = rho_|i-j|. (Positive definiteness is not enforced by the parameterisation.)",
  ar1 = "theta[1] = log sd (one sd for all n levels); theta[2] = t with phi = t / sqrt(1 + t^2); Corr[i,j] = phi^|i-j| where i, j are the POSITIONS of the factor levels (level spacing/labels ignored).",
  ou = "theta[1] = log sd; theta[2] = log rate; Corr[i,j] = exp(-exp(theta[2]) * |t_i - t_j|) with t parsed from the numFactor level labels (must be strictly increasing). scale = exp(-theta[2]) = 1/rate.",
  exp = "theta[1] = log sd; theta[2] = log range phi; Corr = exp(-d / phi), d = Euclidean distance between the numFactor coordinates.",
  gau = "theta[1] = log sd; theta[2] = log range phi; Corr = exp(-(d / phi)^2) (implemented as exp(-d^2 exp(-2 theta[2]))).",
  mat = "theta[1] = log sd; theta[2] = log range phi; theta[3] = log smoothness kappa; Corr = (d/phi)^kappa K_kappa(d/phi) / (Gamma(kappa) 2^(kappa-1)) (TMB::matern(d, phi, kappa); 1 at d = 0); no sqrt(2 kappa) scaling of d."
)

struct_params <- function(structure, theta, n, corr) {
  switch(structure,
    diag = NULL, us = NULL,
    cs = list(rho = corr[2, 1], rho_from_theta = plogis(theta[n + 1]) * (1 + 1 / (n - 1)) - 1 / (n - 1)),
    toep = list(rho_by_lag = corr[cbind(2:n, 1)],
                rho_from_theta = theta[(n + 1):(2 * n - 1)] / sqrt(1 + theta[(n + 1):(2 * n - 1)]^2)),
    ar1 = list(sd = exp(theta[1]), rho = corr[2, 1], rho_from_theta = theta[2] / sqrt(1 + theta[2]^2)),
    ou = list(sd = exp(theta[1]), log_rate = theta[2], rate = exp(theta[2]), scale = exp(-theta[2])),
    exp = list(sd = exp(theta[1]), log_range = theta[2], range = exp(theta[2])),
    gau = list(sd = exp(theta[1]), log_range = theta[2], range = exp(theta[2])),
    mat = list(sd = exp(theta[1]), log_range = theta[2], range = exp(theta[2]),
               log_kappa = theta[3], kappa = exp(theta[3])))
}

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------
case <- function(name, dataset, formula, family, structure, REML = FALSE,
                 dispformula = NULL, ranef = TRUE, note = NULL, start = NULL)
  list(name = name, dataset = dataset, formula = formula, family = family,
       structure = structure, REML = REML, dispformula = dispformula,
       ranef = ranef, note = note, start = start)

cases <- list(
  # covstruct vignette data (the vignette's model calls; dispformula = ~0 where it uses it)
  case("ar1vig_ar1", "ar1vig", "y ~ ar1(times + 0 | group)", "gaussian", "ar1"),
  case("ar1vig_us", "ar1vig", "y ~ us(times + 0 | group)", "gaussian", "us", dispformula = "~0", ranef = FALSE),
  case("ar1vig_toep", "ar1vig", "y ~ toep(times + 0 | group)", "gaussian", "toep", dispformula = "~0", ranef = FALSE),
  case("ar1vig_cs", "ar1vig", "y ~ cs(times + 0 | group)", "gaussian", "cs", dispformula = "~0", ranef = FALSE),
  case("ar1vig_diag", "ar1vig", "y ~ diag(times + 0 | group)", "gaussian", "diag", dispformula = "~0", ranef = FALSE,
       note = "Not in the vignette; diag + residual would be confounded, hence dispformula = ~0 as the vignette does for us/toep/cs."),
  case("ar1vig_ou", "ar1vig", "y ~ ou(timesnf + 0 | group)", "gaussian", "ou", ranef = FALSE,
       note = "Vignette fits ou(times + 0 | group) after dat1$times <- numFactor(dat1$times); here that column is timesnf. Same model as ar1vig_ar1 (unit spacing)."),
  case("ar1vig_exp", "ar1vig", "y ~ exp(timesnf + 0 | group)", "gaussian", "exp", ranef = FALSE,
       note = "Same model as ar1vig_ar1/ou in 1D with unit spacing."),
  case("ar1vig_gau", "ar1vig", "y ~ gau(timesnf + 0 | group)", "gaussian", "gau", dispformula = "~0", ranef = FALSE),
  case("ar1vig_mat", "ar1vig", "y ~ mat(timesnf + 0 | group)", "gaussian", "mat", dispformula = "~0", ranef = FALSE),
  # sleepstudy
  case("sleep_ar1_ml", "sleepstudy", "Reaction ~ Days + ar1(0 + factor(Days) | Subject)", "gaussian", "ar1",
       start = "list(theta = c(3.8, 1.8), betad = 5.4)",
       note = "With glmmTMB's default start this ML fit ends in false convergence with pdHess FALSE (residual sd -> 0, rho ~0.98, logLik NA): see default_start_fit. Started near the ou solution it reaches the ML optimum, identical to sleep_ou_ml (ou with unit-spaced times = ar1 with rho > 0)."),
  case("sleep_ar1_reml", "sleepstudy", "Reaction ~ Days + ar1(0 + factor(Days) | Subject)", "gaussian", "ar1", REML = TRUE,
       start = "list(theta = c(3.8, 1.8), betad = 5.4)",
       note = "With glmmTMB's default start this REML fit stops at a LOCAL optimum with residual sd ~0.009 (-2 REML logLik 1739.206, pdHess TRUE): see default_start_fit. Started near the ou solution it reaches the better optimum recorded here (same as ou(0 + daysnf | Subject) with REML)."),
  case("sleep_ou_ml", "sleepstudy", "Reaction ~ Days + ou(0 + daysnf | Subject)", "gaussian", "ou",
       note = "daysnf = numFactor(Days)."),
  case("sleep_cs_slope", "sleepstudy", "Reaction ~ Days + cs(Days | Subject)", "gaussian", "cs",
       note = "n = 2: same model as us(Days | Subject) (rho = 2 plogis(t) - 1)."),
  case("sleep_cs_days", "sleepstudy", "Reaction ~ Days + cs(0 + factor(Days) | Subject)", "gaussian", "cs"),
  case("sleep_us_ml", "sleepstudy", "Reaction ~ Days + us(Days | Subject)", "gaussian", "us"),
  case("sleep_us_reml", "sleepstudy", "Reaction ~ Days + us(Days | Subject)", "gaussian", "us", REML = TRUE),
  case("sleep_diag_ml", "sleepstudy", "Reaction ~ Days + diag(Days | Subject)", "gaussian", "diag"),
  case("sleep_diag_reml", "sleepstudy", "Reaction ~ Days + diag(Days | Subject)", "gaussian", "diag", REML = TRUE),
  # Poisson time series
  case("pois_ar1", "pois_ts", "y ~ x + ar1(0 + time | group)", "poisson", "ar1"),
  case("pois_toep", "pois_ts", "y ~ x + toep(0 + time | group)", "poisson", "toep"),
  case("pois_cs", "pois_ts", "y ~ x + cs(0 + time | group)", "poisson", "cs"),
  case("pois_diag", "pois_ts", "y ~ x + diag(0 + time | group)", "poisson", "diag"),
  # binomial (cbind) with unequal times
  case("binom_ar1", "binom_ts", "cbind(succ, fail) ~ x + ar1(0 + time | group)", "binomial", "ar1",
       note = "ar1 uses only the order of the 6 time levels (unequal spacing of t ignored)."),
  case("binom_cs", "binom_ts", "cbind(succ, fail) ~ x + cs(0 + time | group)", "binomial", "cs"),
  case("binom_ou", "binom_ts", "cbind(succ, fail) ~ x + ou(0 + tnf | group)", "binomial", "ou"),
  case("binom_toep", "binom_ts", "cbind(succ, fail) ~ x + toep(0 + time | group)", "binomial", "toep"),
  # gaussian OU, unequal times, unbalanced
  case("ougauss_ou_ml", "ou_gauss", "y ~ x + ou(0 + tnf | group)", "gaussian", "ou"),
  case("ougauss_ou_reml", "ou_gauss", "y ~ x + ou(0 + tnf | group)", "gaussian", "ou", REML = TRUE),
  case("ougauss_ar1", "ou_gauss", "y ~ x + ar1(0 + tnf | group)", "gaussian", "ar1",
       note = "ar1 on the numFactor: uses level positions 1..7 only; the unequal spacing in the labels is ignored."),
  # binary 0/1
  case("binary_cs", "binary_cs", "y ~ cond + cs(0 + cond | subject)", "binomial", "cs"),
  case("binary_us", "binary_cs", "y ~ cond + us(0 + cond | subject)", "binomial", "us"),
  # spatial
  case("spgauss_exp", "spatial_gauss", "resp ~ z + exp(0 + pos | rep)", "gaussian", "exp"),
  case("spgauss_gau", "spatial_gauss", "resp ~ z + gau(0 + pos | rep)", "gaussian", "gau"),
  case("spgauss_mat", "spatial_gauss", "resp ~ z + mat(0 + pos | rep)", "gaussian", "mat"),
  case("sppois_exp", "spatial_pois", "count ~ z + exp(0 + pos | rep)", "poisson", "exp"),
  case("sppois_gau", "spatial_pois", "count ~ z + gau(0 + pos | rep)", "poisson", "gau"),
  case("sppois_mat", "spatial_pois", "count ~ z + mat(0 + pos | rep)", "poisson", "mat")
)

# ---------------------------------------------------------------------------
fit_case <- function(cs) {
  env <- new.env()
  assign(cs$dataset, datasets[[cs$dataset]], envir = env)
  args <- list(formula = as.formula(cs$formula, env = globalenv()),
               data = as.name(cs$dataset), family = as.name(cs$family))
  if (!is.null(cs$dispformula)) args$dispformula <- as.formula(cs$dispformula, env = globalenv())
  if (cs$REML) args$REML <- TRUE
  if (!is.null(cs$start)) args$start <- str2lang(cs$start)
  cl <- as.call(c(as.name("glmmTMB"), args))
  warns <- character(0)
  times <- numeric(3)
  for (k in 1:3) {
    warns <- character(0)
    times[k] <- system.time(fit <- withCallingHandlers(eval(cl, env),
      warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }))[["elapsed"]]
  }
  out <- list(fit = fit, seconds = median(times), all_seconds = times, warnings = warns)
  if (!is.null(cs$start)) {   # what glmmTMB's default start gives
    cl$start <- NULL
    w0 <- character(0)
    f0 <- withCallingHandlers(eval(cl, env),
      warning = function(w) { w0 <<- c(w0, conditionMessage(w)); invokeRestart("muffleWarning") })
    out$default_start_fit <- list(
      minus2loglik = -2 * as.numeric(logLik(f0)), pdHess = f0$sdr$pdHess,
      sigma = sigma(f0), theta = unname(f0$obj$env$parList(f0$fit$par, f0$fit$parfull)$theta),
      fixef = as.list(fixef(f0)$cond), warnings = w0,
      optimizer_message = f0$fit$message)
  }
  out
}

named <- function(v) as.list(v)
matrix_rows <- function(m) lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))

results <- list()
for (cs in cases) {
  cat(sprintf("%-18s", cs$name))
  ff <- fit_case(cs)
  fit <- ff$fit
  pl <- fit$obj$env$parList(fit$fit$par, fit$fit$parfull)
  theta <- pl$theta
  vc <- VarCorr(fit)$cond
  stopifnot(length(vc) == 1)
  v1 <- vc[[1]]
  sdv <- attr(v1, "stddev"); corr <- attr(v1, "correlation")
  n <- length(sdv)
  rs <- fit$modelInfo$reStruc$condReStruc[[1]]
  coords <- if (cs$structure %in% c("ou", "exp", "gau", "mat")) parseNumLevels(names(sdv)) else NULL
  chk <- cov_from_theta(cs$structure, theta, n, coords)
  cmp_corr <- if (identical(dim(corr), c(0L, 0L))) diag(n) else corr
  maxdiff <- max(abs(c(chk$sd - unname(sdv), chk$corr - unname(cmp_corr))))
  if (maxdiff > 1e-8) stop("theta mapping mismatch for ", cs$name, ": ", maxdiff)
  fe <- fixef(fit)$cond
  se <- sqrt(diag(vcov(fit)$cond))
  ll <- logLik(fit)
  res <- list(
    name = cs$name, dataset = dsinfo[[cs$dataset]]$file, dataset_key = cs$dataset,
    formula = cs$formula, family = cs$family,
    link = family(fit)$link,
    binomial_response = if (cs$family == "binomial")
      (if (startsWith(cs$formula, "cbind")) "cbind(successes, failures)" else "0/1") else NULL,
    REML = cs$REML, dispformula = if (is.null(cs$dispformula)) "~1" else cs$dispformula,
    structure = cs$structure, note = cs$note,
    call = paste(deparse(fit$call, width.cutoff = 500L), collapse = " "),
    nobs = nobs(fit),
    minus2loglik = -2 * as.numeric(ll), df = attr(ll, "df"),
    AIC = AIC(fit), BIC = BIC(fit),
    fixef = named(fe), fixef_se = named(se),
    sigma = if (cs$family == "gaussian") sigma(fit) else NULL,
    betad = if (cs$family == "gaussian") unname(pl$betad) else NULL,
    varcorr = list(list(
      group = names(vc)[1], term_names = names(sdv),
      blockCode = rs$blockCode, blockSize = rs$blockSize, blockReps = rs$blockReps,
      blockNumTheta = rs$blockNumTheta,
      sd = named(sdv), corr = matrix_rows(cmp_corr),
      theta = unname(theta), theta_note = theta_notes[[cs$structure]],
      structure_params = struct_params(cs$structure, theta, n, cmp_corr),
      coords = if (!is.null(coords)) matrix_rows(coords) else NULL,
      theta_check_maxdiff = maxdiff)),
    theta = unname(theta),
    par = list(beta = unname(pl$beta), betad = unname(pl$betad), theta = unname(theta)),
    pdHess = fit$sdr$pdHess,
    convergence = fit$fit$convergence, optimizer_message = fit$fit$message,
    warnings = ff$warnings,
    start = cs$start, default_start_fit = ff$default_start_fit,
    printed_summary = paste(capture.output(print(summary(fit))), collapse = "\n"),
    printed_varcorr = paste(capture.output(print(VarCorr(fit))), collapse = "\n"),
    printed_fit = paste(capture.output(print(fit)), collapse = "\n"),
    fit_seconds = ff$seconds, fit_seconds_all = ff$all_seconds
  )
  if (cs$ranef) {
    re <- ranef(fit, condVar = FALSE)$cond[[1]]
    rows <- lapply(seq_len(nrow(re)), function(i) c(list(group = rownames(re)[i]), as.list(unlist(re[i, ]))))
    res$ranef <- list(group = names(vc)[1], columns = colnames(re), rows = rows)
  }
  results[[length(results) + 1]] <- res
  cat(sprintf(" -2ll %.4f  pdHess %s  %.2fs  %s\n", res$minus2loglik, res$pdHess, res$fit_seconds,
              paste(ff$warnings, collapse = "; ")))
}

out <- list(
  generator = "tests/data/covstruct_reference.R",
  R_version = R.version.string,
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  TMB_version = as.character(packageVersion("TMB")),
  date = format(Sys.Date()),
  print_width = getOption("width"),
  valid_covstruct = as.list(glmmTMB:::.valid_covstruct),
  homdiag_homcs_available = all(c("homdiag", "homcs") %in% names(glmmTMB:::.valid_covstruct)),
  gaussian_dispersion_note = "glmmTMB 1.1.5 gaussian: betad = log(sigma^2); sigma(fit) = exp(betad/2). dispformula = ~0 fixes betad = log(sqrt(.Machine$double.eps)), i.e. sigma^2 = 1.4901161193847656e-08 (still in the likelihood).",
  theta_notes = theta_notes,
  datasets = dsinfo,
  cases = results
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(outdir, "covstruct_reference.json"))
cat("wrote", length(results), "cases\n")

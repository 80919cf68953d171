# Time lme4 or glmmTMB on one benchmark problem's data directory (written by data_files.py).
#
# Usage: Rscript benchmarks/fit_r.R TOOL DIR      (TOOL: lme4 | glmmTMB)
# Prints one JSON line: {tool, version, n, q, m2ll, times, warmup, median, warmup_only, warnings}
# or {tool, skipped} / {tool, error}.  Same protocol as benchmarks/timing.py: one warm-up fit,
# then up to meta$reps timed fits within meta$budget seconds.  kind "refit" times refit(fit, y)
# per new response (responses.csv), the response-1 refit being the warm-up.
# Factors get meta$factors' level order so reference levels match the Python side.

suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
tool <- args[1]
dir <- args[2]
meta <- fromJSON(file.path(dir, "meta.json"), simplifyVector = TRUE)
out <- list(tool = tool)

emit <- function(x) cat(toJSON(x, auto_unbox = TRUE, digits = NA, null = "null"), "\n")

if (!requireNamespace(tool, quietly = TRUE)) {
  emit(c(out, list(skipped = paste("R package", tool, "not installed"))))
  quit(save = "no", status = 0)
}
suppressPackageStartupMessages(library(tool, character.only = TRUE))
out$version <- as.character(packageVersion(tool))

read_data <- function() {
  f <- file.path(dir, "data.csv")
  d <- if (requireNamespace("data.table", quietly = TRUE)) {
    as.data.frame(data.table::fread(f, colClasses = list(character = names(meta$factors))))
  } else {
    read.csv(f, colClasses = setNames(rep("character", length(meta$factors)), names(meta$factors)))
  }
  for (v in names(meta$factors)) d[[v]] <- factor(d[[v]], levels = meta$factors[[v]])
  d
}

warns <- character(0)
quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
  warns <<- unique(c(warns, conditionMessage(w)))
  invokeRestart("muffleWarning")
}, message = function(m) invokeRestart("muffleMessage"))

nb <- meta$family == "negative.binomial"
nagq <- if (is.null(meta$nAGQ)) 1L else as.integer(meta$nAGQ)
# the family as a literal call, e.g. binomial(link = "probit"), so refit()/update() can re-evaluate it
family_call <- function(name) {
  if (is.null(meta$link) || meta$link == "") as.call(list(as.name(name)))
  else as.call(list(as.name(name), link = meta$link))
}

# glmmTMB's extra arguments (issue 14's problems): zero-inflation, dispersion formula, weights column
tmb_args <- list()
if (!is.null(meta$ziformula)) tmb_args$ziformula <- as.formula(meta$ziformula)
if (!is.null(meta$dispformula)) tmb_args$dispformula <- as.formula(meta$dispformula)
if (!is.null(meta$weights)) tmb_args$weights <- as.name(meta$weights)
tmb_reml <- isTRUE(meta$REML)
# glmmTMB's family functions whose names differ from the family's name
tmb_family_function <- c(t = "t_family", beta = "beta_family")

fit_once <- function(d) {
  f <- as.formula(meta$formula)
  if (tool == "lme4") {
    if (length(tmb_args)) stop("lme4 has no ziformula, dispformula (or these glmmTMB models)")
    if (meta$kind == "lmer") lmer(f, data = d, REML = FALSE)
    else if (nb) eval(bquote(glmer.nb(.(f), data = d, nAGQ = .(nagq))))
    else eval(bquote(glmer(.(f), data = d, family = .(family_call(meta$family)), nAGQ = .(nagq))))
  } else {
    if (nagq > 1) stop("glmmTMB has no adaptive Gauss-Hermite quadrature")
    famname <- if (nb) "nbinom2" else meta$family
    if (famname %in% names(tmb_family_function)) famname <- tmb_family_function[[famname]]
    cl <- as.call(c(list(as.name("glmmTMB"), f, data = quote(d), family = family_call(famname), REML = tmb_reml),
                    tmb_args))
    eval(cl)
  }
}

n_random <- function(m) {
  if (tool == "lme4") return(as.integer(getME(m, "q")))
  tryCatch(length(m$obj$env$random), error = function(e) NA_integer_)
}

now <- function() as.numeric(Sys.time())  # sub-millisecond resolution (proc.time has 1 ms)

time_calls <- function(fn, reps, budget) {
  t0 <- now(); fn(); warm <- now() - t0
  if (warm >= budget) return(list(times = list(warm), warmup = warm, median = warm, warmup_only = TRUE))
  n <- max(1L, min(as.integer(reps), as.integer((budget - warm) / max(warm, 1e-9))))
  times <- numeric(n)
  for (i in seq_len(n)) { t0 <- now(); fn(); times[i] <- now() - t0 }
  list(times = as.list(times), warmup = warm, median = median(times), warmup_only = FALSE)
}

res <- tryCatch({
  d <- read_data()
  out$n <- nrow(d)
  if (meta$kind == "refit") {
    ys <- as.matrix(read.csv(file.path(dir, "responses.csv"), header = FALSE))
    base <- quiet(fit_once(d))
    k <- 0L
    fits <- list()
    one <- function() {
      k <<- k + 1L
      m <- quiet(refit(base, newresp = ys[, ((k - 1L) %% ncol(ys)) + 1L]))
      if (k == 1L) fits$first <<- m
      invisible(m)
    }
    tm <- time_calls(one, meta$nrefit, meta$budget)
    m <- fits$first
    tm$nrefit_timed <- length(tm$times)
  } else {
    m <- NULL
    one <- function() m <<- quiet(fit_once(d))
    tm <- time_calls(one, meta$reps, meta$budget)
  }
  c(out, tm, list(m2ll = -2 * as.numeric(logLik(m)), q = n_random(m), warnings = as.list(warns)))
}, error = function(e) c(out, list(error = conditionMessage(e))))
emit(res)

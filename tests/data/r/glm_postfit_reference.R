# R's predict.glm (type, se.fit), confint.default and profile confint (confint.glm) for
# glmmfast's GlmResult tests (tests/test_glm_postfit.py).  Run from the repository root:
#   Rscript tests/data/r/glm_postfit_reference.R   (writes tests/data/glm_postfit_reference.json)
suppressMessages(library(jsonlite))
grouseticks <- read.csv("python/glmmfast/datasets/data/grouseticks.csv")
grouseticks$YEAR <- factor(grouseticks$YEAR)
cbpp <- read.csv("python/glmmfast/datasets/data/cbpp.csv")
cbpp$period <- factor(cbpp$period)
new_gt <- data.frame(YEAR = factor(c("95", "96", "97"), levels = c("95", "96", "97")), cHEIGHT = c(-10, 0, 25))
g <- glm(TICKS ~ YEAR + cHEIGHT, family = poisson, data = grouseticks)
b <- glm(cbind(incidence, size - incidence) ~ period, family = binomial, data = cbpp)
sleepstudy <- read.csv("python/glmmfast/datasets/data/sleepstudy.csv")
gs <- glm(Reaction ~ Days, family = gaussian(link = "log"), data = sleepstudy)
pl <- predict(g, new_gt, type = "link", se.fit = TRUE)
pr <- predict(g, new_gt, type = "response", se.fit = TRUE)
pb <- predict(b, type = "response", se.fit = TRUE)
pg <- predict(gs, data.frame(Days = c(0, 5, 12)), type = "response", se.fit = TRUE)
res <- list(
  R_version = R.version.string,
  poisson = list(link_fit = unname(pl$fit), link_se = unname(pl$se.fit), resp_fit = unname(pr$fit),
                 resp_se = unname(pr$se.fit), residual_scale = pl$residual.scale,
                 wald = unname(confint.default(g)), profile = unname(suppressMessages(confint(g))),
                 wald90 = unname(confint.default(g, level = 0.9))),
  binomial = list(resp_fit = unname(pb$fit), resp_se = unname(pb$se.fit),
                  profile = unname(suppressMessages(confint(b)))),
  gaussian_log = list(resp_fit = unname(pg$fit), resp_se = unname(pg$se.fit),
                      residual_scale = pg$residual.scale, profile = unname(suppressMessages(confint(gs))))
)
write_json(res, "tests/data/glm_postfit_reference.json", digits = NA, pretty = TRUE)

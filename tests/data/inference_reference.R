# Makes tests/data/inference_reference.json and the small CSVs beside it
# (inference_<name>.csv): lmerTest / pbkrtest / emmeans numbers for
# glmmfast's inference after LMM fits (GLMMs: inference_glmm_reference.R).  Run from the repository root:
#   Rscript tests/data/inference_reference.R
# Factors used as fixed effects are re-levelled alphabetically (R's default
# for character data, and glmmfast's), so coefficients are comparable; cake's
# ordered `temperature` is made an unordered factor (treatment contrasts).
# LMMs are fitted at tight optimiser tolerances so lme4 reaches the optimum.
source("tests/data/inference_common.R")  # lmm_case() is there

cases <- list()
sleep <- read.csv("python/glmmfast/datasets/data/sleepstudy.csv")
sleep$Subject <- factor(sleep$Subject)
cases$sleep_slopes <- lmm_case("sleep_slopes", "Reaction ~ Days + (Days | Subject)", sleep, "sleepstudy",
                               contrast = c(1, 5))
cases$sleep_uncorrelated <- lmm_case("sleep_uncorrelated", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
                                     sleep, "sleepstudy")
cases$sleep_ml <- lmm_case("sleep_ml", "Reaction ~ Days + (Days | Subject)", sleep, "sleepstudy", reml = FALSE)
# Unbalanced with factors: every 7th row dropped, a subject-level group and a
# day-phase factor, interacting with Days.
sl <- sleep[seq_len(nrow(sleep)) %% 7 != 3, ]
sl$grp <- ifelse(as.integer(as.character(sl$Subject)) %% 3 == 0, "a", ifelse(as.integer(as.character(sl$Subject)) %% 3 == 1, "b", "c"))
sl$phase <- ifelse(sl$Days < 3, "early", ifelse(sl$Days < 7, "mid", "late"))
sl <- relevel_alpha(sl, c("grp", "phase"))
sl <- write_data(sl, "sleep_unbalanced", c("Reaction", "Days", "Subject", "grp", "phase"))
cases$sleep_unbalanced <- lmm_case("sleep_unbalanced", "Reaction ~ Days * grp + phase + (Days | Subject)", sl,
                                   "sleep_unbalanced",
                                   emm = list(list(specs = "grp"), list(specs = "phase", by = "grp")),
                                   contrast = c(0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0))
cases$sleep_unbalanced_ml <- lmm_case("sleep_unbalanced_ml", "Reaction ~ Days * grp + phase + (1 | Subject)", sl,
                                      "sleep_unbalanced", reml = FALSE, emm = list(list(specs = "grp")))
data(Penicillin, package = "lme4"); pen <- Penicillin
pen <- write_data(pen, "penicillin", c("diameter", "plate", "sample"))
cases$penicillin <- lmm_case("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", pen, "penicillin")
data(Pastes, package = "lme4"); pas <- Pastes
pas <- write_data(pas, "pastes", c("strength", "batch", "cask", "sample"))
cases$pastes <- lmm_case("pastes", "strength ~ 1 + (1 | batch) + (1 | sample)", pas, "pastes")
data(cake, package = "lme4"); ck <- cake
ck$temperature <- factor(as.character(ck$temperature))
ck <- relevel_alpha(ck, "recipe")
ck <- write_data(ck, "cake", c("angle", "recipe", "temperature", "temp", "replicate"))
cases$cake_factorial <- lmm_case("cake_factorial", "angle ~ recipe * temperature + (1 | recipe:replicate)", ck, "cake",
                                 emm = list(list(specs = "recipe"), list(specs = c("recipe", "temperature"))))
cases$cake_numeric <- lmm_case("cake_numeric", "angle ~ recipe * temp + (1 | replicate)", ck, "cake",
                               emm = list(list(specs = "recipe")))
ox <- Oxboys
ox <- write_data(ox, "oxboys", c("height", "age", "Subject", "Occasion"))
cases$oxboys <- lmm_case("oxboys", "height ~ age + I(age^2) + (age | Subject)", ox, "oxboys", contrast = c(0, 1, 0, 0, 0, 1))
ex <- relevel_alpha(Exam, c("schgend", "sex", "vr"))
ex <- write_data(ex, "exam", c("normexam", "standLRT", "sex", "schgend", "vr", "school"))
cases$exam <- lmm_case("exam", "normexam ~ standLRT * sex + schgend + (standLRT | school)", ex, "exam",
                       emm = list(list(specs = "schgend"), list(specs = "sex")))
ss <- relevel_alpha(ScotsSec, "sex")
ss$socialf <- factor(paste0("s", ss$social))
ss <- write_data(ss, "scotssec", c("attain", "verbal", "sex", "socialf", "primary", "second"))
cases$scotssec <- lmm_case("scotssec", "attain ~ verbal * sex + socialf + (1 | primary) + (1 | second)", ss, "scotssec",
                           emm = list(list(specs = "socialf", by = "sex")))
# A 2,000-row subset of ScotsSec (unbalanced crossed, under the KR limit).
ss2 <- ss[seq_len(nrow(ss)) %% 12 < 7, ]
ss2 <- droplevels(ss2)
ss2 <- write_data(ss2, "scotssec_subset", c("attain", "verbal", "sex", "socialf", "primary", "second"))
cases$scotssec_subset <- lmm_case("scotssec_subset", "attain ~ verbal + sex * socialf + (1 | primary) + (1 | second)", ss2,
                                  "scotssec_subset", emm = list(list(specs = c("sex", "socialf"))))
hs <- Hsb82
hs$sector <- factor(as.character(hs$sector))
hs <- write_data(hs, "hsb82", c("mAch", "cses", "meanses", "sector", "school"))
cases$hsb82 <- lmm_case("hsb82", "mAch ~ meanses * cses + sector + (cses | school)", hs, "hsb82",
                        emm = list(list(specs = "sector")))
cases$source <- paste("lmerTest", packageVersion("lmerTest"), "pbkrtest", packageVersion("pbkrtest"),
                      "emmeans", packageVersion("emmeans"), "car", packageVersion("car"), "lme4", packageVersion("lme4"),
                      "made by tests/data/inference_reference.R")
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "tests/data/inference_reference.json")

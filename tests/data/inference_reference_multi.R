# Makes tests/data/inference_reference_multi.json: lmerTest / pbkrtest numbers for LMMs with
# several random-effects terms, correlated random slopes beside a crossed term (the sparse
# Satterthwaite path: Hessian in theta from differences of the exact gradient), on the
# ScotsSec subset of inference_reference.R (tests/data/inference_scotssec_subset.csv).
# Run from the repository root:  Rscript tests/data/inference_reference_multi.R
source("tests/data/inference_common.R")
ss2 <- relevel_alpha(read.csv("tests/data/inference_scotssec_subset.csv"), c("sex", "socialf", "primary", "second"))
cases <- list()
cases$scotssec_slope <- lmm_case("scotssec_slope", "attain ~ verbal + sex + (verbal | primary) + (1 | second)", ss2,
                                 "scotssec_subset", contrast = c(0, 1, 1))
cases$scotssec_slope_ml <- lmm_case("scotssec_slope_ml", "attain ~ verbal * sex + (1 | primary) + (verbal | second)",
                                    ss2, "scotssec_subset", reml = FALSE)
cases$source <- paste("lmerTest", packageVersion("lmerTest"), "pbkrtest", packageVersion("pbkrtest"),
                      "lme4", packageVersion("lme4"), "made by tests/data/inference_reference_multi.R")
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           "tests/data/inference_reference_multi.json")

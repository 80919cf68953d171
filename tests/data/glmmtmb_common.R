# Shared by the glmmTMB reference scripts (covstruct_reference.R,
# glmmtmb_reference.R), run from the repository root: loads glmmTMB and
# jsonlite, and warns when glmmTMB is not 1.1.5, the version the stored
# reference numbers were made with.
suppressPackageStartupMessages({
  library(glmmTMB)
  library(jsonlite)
})
if (packageVersion("glmmTMB") != "1.1.5")
  warning("reference numbers were made with glmmTMB 1.1.5; this is ", packageVersion("glmmTMB"))

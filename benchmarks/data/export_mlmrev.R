# Export the mlmRev datasets the benchmark suite uses (benchmarks/problems.py) to
# NAME.csv + NAME.schema.json in this directory (the format problems._from_data_dir reads:
# factor levels in R's order, so reference levels match on both sides).
# Only the columns the benchmark formulas use are kept, to keep the files small.
#
# Usage (once; needs Debian's r-cran-mlmrev and r-cran-jsonlite):
#   cd benchmarks/data && Rscript --vanilla export_mlmrev.R

suppressPackageStartupMessages({ library(mlmRev); library(jsonlite) })

export <- function(name, d) {
  cols <- lapply(d, function(x) {
    if (is.factor(x)) list(type = "factor", levels = levels(x)) else list(type = "numeric")
  })
  for (v in names(d)) if (is.factor(d[[v]])) d[[v]] <- as.character(d[[v]])
  write.csv(d, paste0(name, ".csv"), row.names = FALSE)
  writeLines(toJSON(list(name = name, nrow = nrow(d), columns = cols), auto_unbox = TRUE, pretty = TRUE),
             paste0(name, ".schema.json"))
}

export("Exam", Exam[, c("school", "normexam", "standLRT", "sex")])
hsb <- Hsb82[, c("school", "mAch", "meanses", "cses")]
hsb$school <- factor(hsb$school, levels = levels(hsb$school), ordered = FALSE)  # ordered only by id
export("Hsb82", hsb)
export("ScotsSec", ScotsSec[, c("attain", "verbal", "sex", "primary", "second")])
export("Chem97", Chem97[, c("lea", "school", "score", "gcsecnt")])
# use as 0/1 (every tool reads a numeric Bernoulli response the same way)
export("Contraception", transform(Contraception[, c("district", "use", "livch", "age", "urban")],
                                  use = as.integer(use == "Y")))

# R survival's time for the fits of one benchmark run, on the exact rows the pipeline fitted.
#
# Usage: Rscript fits.R jobs.json out.json
# jobs.json: a list of {kind ("cox" | "km"), csv, entry, cluster, weights, ph_test, repeats (default 1)}.
# A cox job's CSV holds start (if entry), stop, event, cluster (if cluster), weight (if weights), then one
# numeric column per design term: coxph(..., ties = "efron"), robust variance when clustered or weighted
# (cluster = the CSV's column), then cox.zph(transform = "km") when ph_test.  A km job's CSV holds stop,
# event, group: survfit per group (log-log CI) and survdiff.  Each job is timed `repeats` times and the
# fastest kept; reading the CSV is not timed.  Writes per job: seconds, and for cox coef, se (model-based),
# robust_se (or null), zph (per term chi-square, or null).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)
cox_job <- function(job, d) {
  terms <- setdiff(names(d), c("start", "stop", "event", "cluster", "weight"))
  response <- if (isTRUE(job$entry)) "Surv(start, stop, event)" else "Surv(stop, event)"
  formula <- as.formula(paste(response, "~", paste(terms, collapse = " + ")))
  function() {
    fit <- coxph(formula, data = d, ties = "efron",
                 cluster = if (isTRUE(job$cluster)) d$cluster else NULL,
                 weights = if (isTRUE(job$weights)) d$weight else NULL)
    list(fit = fit, zph = if (isTRUE(job$ph_test)) cox.zph(fit, transform = "km") else NULL)
  }
}
km_job <- function(d) function() {
  list(curves = survfit(Surv(stop, event) ~ group, data = d, conf.type = "log-log"),
       logrank = survdiff(Surv(stop, event) ~ group, data = d))
}
out <- lapply(jobs, function(job) {
  d <- read.csv(job$csv)
  run <- if (job$kind == "km") km_job(d) else cox_job(job, d)
  repeats <- if (is.null(job$repeats)) 1 else job$repeats
  seconds <- sapply(seq_len(repeats), function(i) system.time(done <<- run())[["elapsed"]])
  if (job$kind == "km") return(list(seconds = min(seconds)))
  fit <- done$fit
  list(seconds = min(seconds), coef = unname(coef(fit)),
       se = unname(sqrt(diag(if (is.null(fit$naive.var)) vcov(fit) else fit$naive.var))),
       robust_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(vcov(fit)))),
       zph = if (is.null(done$zph)) NULL else unname(head(done$zph$table[, "chisq"], -1)))
})
write(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null"), args[2])

# The live R oracle of tests/stats/test_rmst.py: restricted mean survival time as R computes it.
#
# Usage: Rscript rmst.R jobs.json results.json
# jobs.json: a list of jobs {key, csv, groups, horizons}; the CSV has time_months, event, group.
# Per job, group and horizon tau (tau within the group's follow-up):
#   rmean, se_rmean : survival's summary(survfit(...), rmean = tau)$table (R's own RMST and its SE)
#   rmst, se        : survRM2's rmst1 definitions computed here from survfit's steps (survRM2 is not
#                     installed): the area under the KM curve up to tau, and
#                     Var = sum over times <= tau of (area from t to tau)^2 * d / (Y (Y - d)), 0 where Y = d.
# Per job, non-reference group (the first group is the reference) and tau: survRM2's rmst2 contrasts:
#   difference with normal 95% CI and p; ratio with CI and p on the log scale (delta method).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)

rmst1 <- function(d, tau) {
  ft <- survfit(Surv(time_months, event) ~ 1, data = d)
  idx <- ft$time <= tau
  wk.time <- sort(c(ft$time[idx], tau))
  areas <- diff(c(0, wk.time)) * c(1, ft$surv[idx])
  n.risk <- ft$n.risk[idx]; n.event <- ft$n.event[idx]
  wk.var <- c(ifelse(n.risk - n.event == 0, 0, n.event / (n.risk * (n.risk - n.event))), 0)
  variance <- sum(cumsum(rev(areas[-1]))^2 * rev(wk.var)[-1])
  table <- summary(ft, rmean = tau)$table
  list(rmst = sum(areas), se = sqrt(variance), rmean = unname(table["rmean"]), se_rmean = unname(table["se(rmean)"]))
}

run_job <- function(job) {
  frame <- read.csv(job$csv, colClasses = c(time_months = "numeric", event = "numeric", group = "character"))
  groups <- unlist(job$groups)
  out <- list()
  for (tau in unlist(job$horizons)) {
    fits <- list()
    for (g in groups) {
      d <- frame[frame$group == g, , drop = FALSE]
      if (nrow(d) && tau <= max(d$time_months)) fits[[g]] <- rmst1(d, tau)
    }
    for (g in names(fits)) out[[length(out) + 1]] <- c(list(group = g, tau = tau), fits[[g]])
    ref <- fits[[groups[1]]]
    for (g in setdiff(names(fits), groups[1])) {
      if (is.null(ref)) next
      f <- fits[[g]]
      diff <- f$rmst - ref$rmst; se <- sqrt(f$se^2 + ref$se^2)
      lr <- log(f$rmst / ref$rmst); lse <- sqrt(f$se^2 / f$rmst^2 + ref$se^2 / ref$rmst^2)
      out[[length(out) + 1]] <- list(group = g, reference = groups[1], tau = tau, difference = diff,
        difference_lower = diff - qnorm(0.975) * se, difference_upper = diff + qnorm(0.975) * se,
        difference_p = 2 * pnorm(-abs(diff) / se), ratio = exp(lr), ratio_lower = exp(lr - qnorm(0.975) * lse),
        ratio_upper = exp(lr + qnorm(0.975) * lse), ratio_p = 2 * pnorm(-abs(lr) / lse))
    }
  }
  list(key = job$key, rows = out)
}

writeLines(toJSON(lapply(jobs, run_job), auto_unbox = TRUE, digits = I(17), na = "null", null = "null"), args[2])

# The live R oracle of tests/stats/test_competing_against_r.py: cmprsk's cuminc and crr, survival's coxph.
#
# Usage: Rscript competing.R jobs.json results.json
# jobs.json: a list of jobs, each {key, csv, groups, numeric, landmarks, cluster,
#   models: [{model, cause, covariates, drop_groups, terms: [{name, variable, level}], init: the pipeline's
#   coefficients}]}.
# The CSV has time_months, cause (0 censored, 1.. causes), group and the covariates, read as text; `numeric`
# names the columns converted to numbers.  Per job: cuminc's estimate and variance per group and cause (curve and
# landmarks), its Tests (Gray), and per model crr's score, step and variance at the pipeline's coefficients
# (failcode = cause) and the cause-specific coxph (Efron; cluster when the job has one).
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)
chr <- function(x) unlist(lapply(x, as.character))

design_column <- function(data, term) {
  if (is.null(term$level)) as.numeric(data[[term$variable]]) else as.numeric(data[[term$variable]] == term$level)
}

incidence <- function(frame, landmarks) {
  fit <- cuminc(frame$time_months, frame$cause, frame$group, cencode = 0)
  tests <- fit$Tests
  curves <- fit[names(fit) != "Tests"]
  marks <- timepoints(curves, landmarks)
  out <- lapply(names(curves), function(name) {
    curve <- curves[[name]]
    keep <- !duplicated(curve$time, fromLast = TRUE)  # the value after each jump
    list(name = name, time = curve$time[keep], est = curve$est[keep], var = curve$var[keep],
         landmark_est = unname(marks$est[name, ]), landmark_var = unname(marks$var[name, ]))
  })
  gray <- if (is.null(tests)) NULL else
    list(cause = rownames(tests), stat = unname(tests[, "stat"]), p = unname(tests[, "pv"]), df = unname(tests[, "df"]))
  list(curves = out, gray = gray)
}

fit_model <- function(frame, spec, job) {
  d <- frame
  if (length(spec$covariates)) d <- d[complete.cases(d[, chr(spec$covariates), drop = FALSE]), , drop = FALSE]
  d <- d[!(d$group %in% chr(spec$drop_groups)), , drop = FALSE]
  x <- matrix(sapply(spec$terms, function(term) design_column(d, term)), nrow = nrow(d))
  colnames(x) <- paste0("x", seq_along(spec$terms))
  out <- list(model = spec$model, cause = spec$cause, n = nrow(d), events = sum(d$cause == spec$cause))
  if (grepl("^fine_gray", spec$model)) {
    # crr's own estimating equation at the pipeline's estimate (gtol = Inf: no Newton step is taken): its score,
    # the Newton step it implies and its sandwich variance there.  crr's own iteration is not the reference: on
    # several sample frames it stops with a score of ~1e-5 (converged = FALSE even with maxiter = 100).
    at <- crr(d$time_months, d$cause, x, failcode = spec$cause, cencode = 0, init = unlist(spec$init), gtol = Inf)
    se <- sqrt(diag(at$var))
    out$at_ours <- list(step = unname(solve(at$inf, at$score)), se = unname(se),
                        p = unname(2 * pnorm(-abs(at$coef / se))))
    fit <- crr(d$time_months, d$cause, x, failcode = spec$cause, cencode = 0, maxiter = 100, gtol = 1e-12)
    out$crr <- list(coef = unname(fit$coef), converged = fit$converged)
  } else {
    y <- Surv(d$time_months, as.numeric(d$cause == spec$cause))
    fd <- data.frame(x)
    cl <- job$cluster
    fit <- if (is.null(cl)) coxph(y ~ ., data = fd, ties = "efron", control = coxph.control(eps = 1e-14, iter.max = 100))
      else coxph(y ~ ., data = fd, ties = "efron", cluster = d[[cl]], control = coxph.control(eps = 1e-14, iter.max = 100))
    se <- sqrt(diag(fit$var))
    out$tight <- list(coef = unname(coef(fit)), se = unname(se), p = unname(2 * pnorm(-abs(coef(fit) / se))))
  }
  out
}

run_job <- function(job) {
  frame <- read.csv(job$csv, colClasses = "character", na.strings = "", check.names = FALSE)
  for (column in chr(job$numeric)) frame[[column]] <- as.numeric(frame[[column]])
  frame <- frame[frame$group %in% chr(job$groups), , drop = FALSE]
  models <- lapply(job$models, function(spec) tryCatch(fit_model(frame, spec, job), error = function(err)
    list(model = spec$model, cause = spec$cause, error = conditionMessage(err))))
  list(key = job$key, incidence = incidence(frame, unlist(job$landmarks)), models = models)
}

writeLines(toJSON(lapply(jobs, run_job), auto_unbox = TRUE, digits = I(17), na = "null", null = "null"), args[2])

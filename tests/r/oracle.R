# The live R oracle of tests/stats/test_against_r.py: R's survival package on the registry's analysis frames.
#
# Usage: Rscript oracle.R jobs.json results.json
# jobs.json: a list of jobs, each {key, csv, groups, numeric, landmarks, exposure, exposure_landmarks, cluster,
#   switches: {variable: {level: column}} (time-varying variables: each level is on from the months in its column),
#   models: [{model, kind ("group" | "naive" | "landmark" | "time_varying"), landmark, drop_groups,
#             covariates, switches (the time-varying variables of a time_varying model), terms: [{name, variable,
#             level}]}]}.
# Every column of the CSV is read as text; `numeric` names the columns converted to numbers (time_months,
# event, the exposure and the numeric covariates), so categorical levels compare as the text the pipeline
# wrote (e.g. "True").  Each model is built here from the frame and the terms' (variable, level) meaning:
# R codes the dummies, the complete cases, the landmark and counting-process data itself.
# Writes, per job: km (per group: summary table, landmarks, curve), logrank, and per model coxph + cox.zph.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
jobs <- fromJSON(args[1], simplifyVector = FALSE)

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
chr <- function(x) unlist(lapply(x, as.character))

design_column <- function(data, term) {
  if (is.null(term$level)) as.numeric(data[[term$variable]]) else as.numeric(data[[term$variable]] == term$level)
}

km_group <- function(d, landmarks) {
  fit <- survfit(Surv(time_months, event) ~ 1, data = d, conf.type = "log-log")
  tab <- summary(fit)$table
  curve <- summary(fit, censored = TRUE)
  marks <- lapply(landmarks, function(at) {
    s <- summary(fit, times = at, extend = TRUE)
    list(time = at, n_at_risk = s$n.risk, n_events = sum(d$event[d$time_months <= at]), survival = s$surv,
         lower = s$lower, upper = s$upper, beyond = at > max(d$time_months))
  })
  list(n = unname(tab["n.start"]), events = unname(tab["events"]), median = unname(tab["median"]),
       median_lower = unname(tab["0.95LCL"]), median_upper = unname(tab["0.95UCL"]), landmarks = marks,
       curve = list(time = curve$time, n_at_risk = curve$n.risk, n_events = curve$n.event, n_censored = curve$n.censor,
                    survival = curve$surv, lower = curve$lower, upper = curve$upper))
}

model_data <- function(frame, spec, job) {
  d <- frame
  if (length(spec$covariates)) d <- d[complete.cases(d[, chr(spec$covariates), drop = FALSE]), , drop = FALSE]
  e <- job$exposure
  if (spec$kind == "group") {
    d <- d[!(d$group %in% chr(spec$drop_groups)), , drop = FALSE]
    d$start <- 0
  } else if (spec$kind == "naive") {
    d$group <- ifelse(is.na(d[[e]]), "unexposed", "exposed")
    d$start <- 0
  } else if (spec$kind == "landmark") {
    at <- spec$landmark
    d <- d[d$time_months > at, , drop = FALSE]
    d$group <- ifelse(!is.na(d[[e]]) & d[[e]] <= at, "exposed", "unexposed")
    d$time_months <- d$time_months - at
    d$start <- 0
  } else {  # time_varying: follow-up (0, T] cut at every switch time inside it; a level is on from its start
    d$id <- seq_len(nrow(d))
    levels <- job$switches[chr(spec$switches)]  # variable -> {level: column of its start time}
    columns <- unlist(lapply(levels, function(l) chr(l)))
    pieces <- lapply(seq_len(nrow(d)), function(i) {
      end <- d$time_months[i]
      starts <- unlist(lapply(columns, function(col) d[[col]][i]))
      cuts <- sort(unique(c(0, starts[!is.na(starts) & starts > 0 & starts < end], end)))
      rows <- d[rep(i, length(cuts) - 1), , drop = FALSE]
      rows$start <- head(cuts, -1); rows$time_months <- tail(cuts, -1)
      rows$event <- ifelse(rows$time_months == end, d$event[i], 0)
      rows
    })
    d <- do.call(rbind, pieces)
    for (variable in names(levels)) {
      value <- rep(if (variable == "group") "unexposed" else "reference", nrow(d))
      for (level in names(levels[[variable]])) {
        at <- d[[levels[[variable]][[level]]]]
        value[!is.na(at) & at <= d$start] <- level
      }
      d[[variable]] <- value
    }
    d <- d[d$time_months > d$start, , drop = FALSE]
  }
  d
}

fit_model <- function(frame, spec, job) {
  d <- model_data(frame, spec, job)
  subjects <- function(data) if (spec$kind == "time_varying") length(unique(data$id)) else nrow(data)
  kept <- spec; kept$drop_groups <- character(0)  # left out for a missing covariate: counted before groups are left out
  everyone <- kept; everyone$covariates <- character(0)
  excluded <- subjects(model_data(frame, everyone, job)) - subjects(model_data(frame, kept, job))
  out <- list(model = spec$model, n = subjects(d), events = sum(d$event), n_excluded_missing = excluded)
  terms <- spec$terms
  if (!length(terms)) return(out)
  x <- sapply(terms, function(term) design_column(d, term))
  x <- matrix(x, nrow = nrow(d))
  colnames(x) <- paste0("x", seq_along(terms))
  counting <- spec$kind == "time_varying"
  y <- if (counting) Surv(d$start, d$time_months, d$event) else Surv(d$time_months, d$event)
  fd <- data.frame(x)
  cl <- job$cluster
  clustered <- !is.null(cl) && spec$kind == "group"
  out$n_clusters <- if (clustered) length(unique(d[[cl]])) else NULL
  out$terms <- chr(lapply(terms, function(t) t$name))
  # R's defaults, and the same model iterated to the maximum (eps 1e-14: the default 1e-9 stops up to ~1e-7 short)
  controls <- list(default = coxph.control(), tight = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
  for (name in names(controls)) {
    fit <- if (clustered) {
      coxph(y ~ ., data = fd, ties = "efron", cluster = d[[cl]], control = controls[[name]])
    } else {
      coxph(y ~ ., data = fd, ties = "efron", control = controls[[name]])
    }
    s <- summary(fit)
    se <- sqrt(diag(fit$var))  # the robust variance when clustered
    z <- coef(fit) / se
    zph <- cox.zph(fit, transform = "km")$table
    out[[name]] <- list(coef = unname(coef(fit)), se = unname(se), hr = unname(exp(coef(fit))),
                        hr_lower = unname(s$conf.int[, "lower .95"]), hr_upper = unname(s$conf.int[, "upper .95"]),
                        p = unname(2 * pnorm(-abs(z))), zph_statistic = unname(zph[, "chisq"]),
                        zph_df = unname(zph[, "df"]), zph_p = unname(zph[, "p"]))
  }
  out
}

run_job <- function(job) {
  frame <- read.csv(job$csv, colClasses = "character", na.strings = "", check.names = FALSE)
  for (column in chr(job$numeric)) frame[[column]] <- as.numeric(frame[[column]])
  groups <- chr(job$groups)
  frame <- frame[frame$group %in% groups, , drop = FALSE]
  present <- groups[groups %in% frame$group]
  km <- lapply(present, function(g) km_group(frame[frame$group == g, , drop = FALSE], unlist(job$landmarks)))
  names(km) <- present
  logrank <- NULL
  if (length(present) >= 2 && sum(frame$event) > 0) {
    test <- survdiff(Surv(time_months, event) ~ factor(group, levels = present), data = frame)
    logrank <- list(groups = present, observed = unname(test$obs), expected = unname(test$exp), statistic = test$chisq,
                    df = length(present) - 1, p = pchisq(test$chisq, length(present) - 1, lower.tail = FALSE))
  }
  models <- lapply(job$models, function(spec) tryCatch(fit_model(frame, spec, job), error = function(err)
    list(model = spec$model, error = conditionMessage(err))))
  list(key = job$key, km = km, logrank = logrank, models = models)
}

results <- lapply(jobs, run_job)
writeLines(toJSON(results, auto_unbox = TRUE, digits = I(17), na = "null", null = "null"), args[2])

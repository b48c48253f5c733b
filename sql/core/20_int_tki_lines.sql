-- grain: one patient and line of therapy.
-- intermediate.int_tki_lines: one row per patient and line of therapy (episodes of a line merged).
--   agent            : the line's agent (the agent of its first episode)
--   start_date       : first day of the line; end_date: last day (NULL while ongoing)
--   starting_dose_mg : dose of the first episode
--   max_dose_mg      : highest dose (escalation 400 -> 800)
--   episodes         : treatment episodes merged into the line
--   end_reason       : why the line's last episode ended
CREATE OR REPLACE VIEW intermediate.int_tki_lines AS
SELECT
    site_id,
    patient_id,
    line,
    arg_min(agent, start_date)                                   AS agent,
    min(start_date)                                              AS start_date,
    CASE WHEN bool_or(end_date IS NULL) THEN NULL ELSE max(end_date) END AS end_date,
    arg_min(daily_dose_mg, start_date)                           AS starting_dose_mg,
    max(daily_dose_mg)                                           AS max_dose_mg,
    arg_max(end_reason, start_date)                              AS end_reason,
    count(*)                                                     AS episodes
FROM core.tki_episodes
GROUP BY site_id, patient_id, line;

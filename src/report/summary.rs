//! The summary table printed at the end of a run (and appended to `GITHUB_STEP_SUMMARY`).

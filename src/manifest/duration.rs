//! Durations the user writes (`--timeout`, `[images.x.test] timeout`): parsed, and bounded so that
//! adding one to the clock cannot overflow (an unbounded one panicked the tool after a deploy had
//! already updated services).

use std::time::Duration;

/// The longest duration accepted anywhere: 7 days (README, "Limits").
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `30s`, `2m`, `1h 30m`; refuses zero-free garbage and anything over [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration > MAX_DURATION {
        return Err(format!(
            "it is longer than the limit of {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_past_the_limit_is_refused() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7days"), Ok(MAX_DURATION));
        assert_eq!(
            parse_duration("18446744073709551615s").unwrap_err(),
            "it is longer than the limit of 7days"
        );
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("soon").is_err());
    }
}

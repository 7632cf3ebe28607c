//! Durations the user writes (`--timeout`, `[images.x.test] timeout`): parsed, and bounded so that
//! adding one to the clock cannot overflow (an unbounded one panicked the tool after a deploy had
//! already updated services).

use std::time::Duration;

/// The longest duration accepted anywhere: 7 days (README, "Limits").
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a duration was refused; its text completes "`--timeout X`: …" and "`timeout` `X` is not a
/// duration: …".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration humantime reads (`soon`, `8x`).
    #[error("{0}")]
    Unreadable(#[from] humantime::DurationError),
    /// Longer than [`MAX_DURATION`].
    #[error(
        "it is longer than the limit of {}",
        humantime::format_duration(MAX_DURATION)
    )]
    TooLong,
}

/// Parses `30s`, `2m`, `1h 30m`; refuses zero-free garbage and anything over [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let duration = humantime::parse_duration(text)?;
    if duration > MAX_DURATION {
        return Err(DurationError::TooLong);
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
            parse_duration("18446744073709551615s")
                .unwrap_err()
                .to_string(),
            "it is longer than the limit of 7days"
        );
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("soon").is_err());
    }
}

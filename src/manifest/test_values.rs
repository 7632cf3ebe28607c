//! The values the test section reads in several places — ports, the `timeout`, regular
//! expressions, strings — each checked with an error that names file, line and key.

use std::time::Duration;

use regex::Regex;

use super::reader::Table;
use super::vars::Vars;
use super::ManifestError;
use crate::error::Location;

/// A value that is there but wrong, with what to write instead.
pub(super) fn invalid(location: Location, message: String, hint: Option<&str>) -> ManifestError {
    ManifestError::InvalidValue {
        location,
        message,
        hint: hint.map(str::to_string),
    }
}

/// A TCP port, 1 to 65535.
pub(super) fn read_port(
    table: &mut Table<'_, '_>,
    key: &str,
) -> Result<Option<u16>, ManifestError> {
    Ok(table.integer(key, 1..65536)?.map(|p| p as u16))
}

/// `timeout` as a duration (`30s`, `2m`), or `default` when it is not set.
pub(super) fn read_duration(
    table: &mut Table<'_, '_>,
    vars: &mut Vars,
    default: Duration,
) -> Result<Duration, ManifestError> {
    match table.string("timeout", vars)? {
        None => Ok(default),
        Some((text, location, _)) => super::parse_duration(&text).map_err(|e| {
            invalid(
                location,
                format!("`timeout` `{text}` is not a duration: {e}"),
                Some("write it like `30s`, `2m` or `1m 30s`"),
            )
        }),
    }
}

/// A regular expression that must compile, with the regex crate's own reason when it does not.
pub(super) fn read_regex(
    table: &mut Table<'_, '_>,
    key: &str,
    vars: &mut Vars,
) -> Result<Option<Regex>, ManifestError> {
    let Some((text, location, _)) = table.string(key, vars)? else {
        return Ok(None);
    };
    Regex::new(&text).map(Some).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or_default().trim().to_string();
        invalid(
            location,
            format!("`{key}` `{text}` is not a valid regular expression: {last}"),
            Some("it uses Rust `regex` syntax (https://docs.rs/regex); escape `.`, `(`, `[` and `\\` to match them literally, or use the `_contains` form"),
        )
    })
}

/// A string value when it is set.
pub(super) fn optional_string(
    table: &mut Table<'_, '_>,
    key: &str,
    vars: &mut Vars,
) -> Result<Option<String>, ManifestError> {
    Ok(table.string(key, vars)?.map(|(v, _, _)| v))
}

/// The error for a key that must be set.
pub(super) fn required(
    table: &Table<'_, '_>,
    key: &'static str,
    example: &'static str,
) -> ManifestError {
    ManifestError::MissingKey {
        location: table.location(),
        key,
        table: table.display_name(),
        example,
    }
}

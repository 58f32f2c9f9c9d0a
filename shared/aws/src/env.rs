//! Reading settings from the function's environment, with errors that name the variable.

use std::str::FromStr;

/// A variable that must be set and not empty.
pub fn required(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(format!("{name} must be set")),
    }
}

/// A variable with a default.
pub fn or_default(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| default.to_owned())
}

/// A variable that may be absent.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A parsed variable with a default.
pub fn parsed<T: FromStr>(name: &str, default: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    or_default(name, default)
        .parse()
        .map_err(|e| format!("{name}: {e}"))
}

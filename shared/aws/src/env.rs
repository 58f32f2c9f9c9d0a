//! Reading settings from the function's environment, with errors that name the variable.

use std::str::FromStr;

use crate::error::StartupError;

/// A variable that must be set and not empty.
pub fn required(name: &str) -> Result<String, StartupError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        _ => Err(StartupError::Missing(name.to_owned())),
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
pub fn parsed<T: FromStr>(name: &str, default: &str) -> Result<T, StartupError>
where
    T::Err: std::fmt::Display,
{
    or_default(name, default)
        .parse::<T>()
        .map_err(|e| StartupError::Invalid {
            name: name.to_owned(),
            reason: e.to_string(),
        })
}

/// An optional variable that must parse when set; `shape` completes "… must be" in the error.
pub fn optional_parsed<T: FromStr>(
    name: &'static str,
    shape: &'static str,
) -> Result<Option<T>, StartupError> {
    optional(name)
        .map(|v| v.parse().map_err(|_| StartupError::NotA { name, shape }))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_variable() {
        let missing = required("TELMAIL_TEST_ENV_NEVER_SET").unwrap_err();
        assert!(
            matches!(&missing, StartupError::Missing(name) if name == "TELMAIL_TEST_ENV_NEVER_SET")
        );
        assert_eq!(
            missing.to_string(),
            "TELMAIL_TEST_ENV_NEVER_SET must be set"
        );
        let unparsed = parsed::<u32>("TELMAIL_TEST_ENV_NEVER_SET", "huit").unwrap_err();
        assert!(unparsed
            .to_string()
            .starts_with("TELMAIL_TEST_ENV_NEVER_SET: "));
        assert_eq!(
            optional_parsed::<u32>("TELMAIL_TEST_ENV_NEVER_SET", "a whole number").unwrap(),
            None
        );
    }
}

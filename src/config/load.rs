//! Reading the sources (the TOML file, then the environment), setting unknown
//! keys aside so they do not hide other problems, and naming the true source
//! (file key or environment variable) of each problem.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format as _, Toml};

use super::owned::FileOwned;
use super::{Config, ConfigError, ConfigProblem, RawConfig};

impl Config {
    /// Loads and validates `path` plus the environment: what `serve` and
    /// `check-config` both run. A problem in a value set by an environment
    /// variable names that variable, not the file's key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let figment = RawConfig::sources(path);
        let source = path.display().to_string();
        let (raw, mut unknown) = extract_reporting_unknown_keys(&figment, &source)
            .map_err(|e| attribute(e, &figment))?;
        match raw.validate() {
            Ok(config) if unknown.is_empty() => Ok(config),
            Ok(_) => Err(attribute(ConfigError(unknown), &figment)),
            Err(ConfigError(problems)) => {
                unknown.extend(problems);
                Err(attribute(ConfigError(unknown), &figment))
            }
        }
    }
}

/// Extracts the configuration, setting unknown keys aside so that one of them does
/// not hide every other problem (serde stops at the first): each unknown key is
/// removed and the extraction tried again. The unknown keys come back as problems.
fn extract_reporting_unknown_keys(
    figment: &Figment,
    source: &str,
) -> Result<(RawConfig, Vec<ConfigProblem>), ConfigError> {
    use figment::value::Value;
    let mut value: Value = figment.extract().map_err(|_| {
        RawConfig::extract(figment, source)
            .err()
            .unwrap_or(ConfigError(Vec::new()))
    })?;
    let (owned, mut unknown) = FileOwned::take(&mut value);
    // Each round removes at least one key; a file has far fewer than this.
    for _ in 0..256 {
        let attempt = Figment::from(figment::providers::Serialized::defaults(&value));
        match attempt.extract::<RawConfig>() {
            Ok(mut raw) => {
                raw.owned = owned;
                return Ok((raw, unknown));
            }
            Err(errors) => {
                let mut removed = false;
                for error in errors {
                    if matches!(error.kind, figment::error::Kind::UnknownField(..))
                        && remove_key(&mut value, &error.path)
                    {
                        unknown.push(ConfigProblem {
                            key: key_of(&error.path),
                            message: describe_kind(&error.kind),
                        });
                        removed = true;
                    }
                }
                if !removed {
                    let ConfigError(mut rest) = RawConfig::extract(&attempt, source)
                        .err()
                        .unwrap_or(ConfigError(Vec::new()));
                    unknown.append(&mut rest);
                    return Err(ConfigError(unknown));
                }
            }
        }
    }
    Err(ConfigError(unknown))
}

/// A key path as the problem names it; an empty TOML key (`[""]`) as written.
fn key_of(path: &[String]) -> String {
    path.iter()
        .map(|part| {
            if part.is_empty() {
                "\"\""
            } else {
                part.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Removes the key at `path` (`realms.0.weird`); whether there was one.
fn remove_key(value: &mut figment::value::Value, path: &[String]) -> bool {
    use figment::value::Value;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for part in parents {
        current = match current {
            Value::Dict(_, dict) => match dict.get_mut(part) {
                Some(next) => next,
                None => return false,
            },
            Value::Array(_, items) => {
                match part.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match current {
        Value::Dict(_, dict) => dict.remove(last).is_some(),
        _ => false,
    }
}

/// Renames the keys of problems whose value came from the environment.
fn attribute(err: ConfigError, figment: &Figment) -> ConfigError {
    ConfigError(
        err.0
            .into_iter()
            .map(|mut problem| {
                if let Some(metadata) = figment.find_metadata(&problem.key)
                    && metadata.name.contains("environment")
                {
                    let variable = problem
                        .key
                        .split('.')
                        .map(str::to_ascii_uppercase)
                        .collect::<Vec<_>>()
                        .join("__");
                    problem.key = format!("AUTHPROXY__{variable} (environment variable)");
                }
                problem
            })
            .collect(),
    )
}

impl RawConfig {
    /// The TOML file, then the `AUTHPROXY__` environment variables.
    fn sources(path: &Path) -> Figment {
        Figment::from(Toml::file_exact(path)).merge(Env::prefixed("AUTHPROXY__").split("__"))
    }

    /// Reads the TOML file then the `AUTHPROXY__` environment variables.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::extract(&Self::sources(path), &path.display().to_string())
    }

    /// Reads a TOML text alone (no environment): for tools and tests.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(&Figment::from(Toml::string(text)), "the configuration")
    }

    /// Problems without a key (the file itself) are reported under `source`.
    /// `managed_by` is taken out of the entries before they are typed.
    fn extract(figment: &Figment, source: &str) -> Result<Self, ConfigError> {
        let mut value: figment::value::Value =
            figment.extract().map_err(|err| problems_of(err, source))?;
        let (owned, problems) = FileOwned::take(&mut value);
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let mut raw: Self = Figment::from(figment::providers::Serialized::defaults(&value))
            .extract()
            .map_err(|err| problems_of(err, source))?;
        raw.owned = owned;
        Ok(raw)
    }
}

fn problems_of(err: figment::Error, source: &str) -> ConfigError {
    ConfigError(
        err.into_iter()
            .map(|e| ConfigProblem {
                key: if e.path.is_empty() {
                    source.to_owned()
                } else {
                    key_of(&e.path)
                },
                message: describe_kind(&e.kind),
            })
            .collect(),
    )
}

/// What is wrong with a value, without quoting the value: it may be a secret
/// (a sealing key given where a list was expected), and these messages end up
/// in logs.
fn describe_kind(kind: &figment::error::Kind) -> String {
    use figment::error::{Actual, Kind};
    let actual = |a: &Actual| match a {
        Actual::Bool(_) => "a boolean".to_owned(),
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer".to_owned(),
        Actual::Float(_) => "a number".to_owned(),
        Actual::Char(_) | Actual::Str(_) => "a string".to_owned(),
        Actual::Bytes(_) => "bytes".to_owned(),
        Actual::Seq => "a list".to_owned(),
        Actual::Map => "a table".to_owned(),
        other => other.to_string(),
    };
    match kind {
        Kind::UnknownField(found, expected) => format!(
            "unknown key `{found}`; the keys here are {}",
            expected.join(", ")
        ),
        Kind::InvalidType(found, expected) => {
            format!("invalid type: found {}, expected {expected}", actual(found))
        }
        Kind::InvalidValue(found, expected) => {
            format!(
                "invalid value: found {}, expected {expected}",
                actual(found)
            )
        }
        other => other.to_string(),
    }
}

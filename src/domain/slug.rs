//! Identifiers chosen by administrators (callers, tenants, API keys): 1 to 64
//! characters of `a-z`, `0-9`, `.`, `-` and `_`, starting with a letter or digit.
//! One macro makes each a type of its own, so a tenant ID never passes for a
//! caller ID.

/// Whether `raw` is a valid slug.
#[must_use]
pub fn is_slug(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && raw.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

/// Defines a slug identifier type `$name` whose parse error is `$error`, saying
/// "`$what` is 1 to 64 characters …".
macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident, $error:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        #[derive(Debug, Clone, PartialEq, Eq)]
        /// An identifier that is not valid.
        pub struct $error;

        impl std::fmt::Display for $error {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{} is 1 to 64 characters of a-z, 0-9, '.', '-' and '_', starting with a letter or digit",
                    $what
                )
            }
        }

        impl std::error::Error for $error {}

        impl $name {
            /// Parses the identifier.
            pub fn parse(raw: &str) -> Result<Self, $error> {
                if $crate::domain::slug::is_slug(raw) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err($error)
                }
            }

            #[must_use]
            /// The identifier.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use slug_id;

//! An email address as a person or a host gives it (a registrant's, a host's
//! user's), normalised so one person is one address: NFC, then Unicode case
//! folding, the domain in its Unicode form (an `xn--` A-label and its U-label are
//! one domain) without a trailing dot; a quoted local part is refused; compatibility forms (fullwidth letters, ligatures),
//! invisible characters and words that mix scripts (a Cyrillic `а` among Latin
//! letters) are refused as look-alikes; and two addresses that still look the
//! same (UTS #39 skeletons) count as one.

use unicode_normalization::UnicodeNormalization as _;
use unicode_security::MixedScript as _;

use super::username::Username;

/// A normalised email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationEmail {
    normalised: String,
    skeleton: String,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailProblem {
    /// Not an email address at all.
    #[error("email: an email address (name@domain), at most 320 characters")]
    Malformed,
    /// Holds look-alike characters.
    #[error(
        "email: holds look-alike characters (fullwidth or compatibility forms, invisible characters, or letters of several scripts in one word); write the address in its plain form"
    )]
    LookAlike,
}

impl RegistrationEmail {
    /// Normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self, EmailProblem> {
        // `"zoe"@example.com` is zoe@example.com to a mail server: refused, not
        // a second address.
        if raw.contains('"') {
            return Err(EmailProblem::Malformed);
        }
        let composed: String = raw.nfc().collect();
        if composed.nfkc().collect::<String>() != composed
            || composed.chars().any(|c| c.is_control() || is_invisible(c))
        {
            return Err(EmailProblem::LookAlike);
        }
        // Checked for look-alikes first: IDNA's mapping would fold them away.
        let (local, domain) = composed.rsplit_once('@').ok_or(EmailProblem::Malformed)?;
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        // One trailing dot is the root; any other empty label is no domain.
        if domain.is_empty() || domain.split('.').any(str::is_empty) {
            return Err(EmailProblem::Malformed);
        }
        let (domain, idn) = idna::domain_to_unicode(domain);
        if idn.is_err() {
            return Err(EmailProblem::Malformed);
        }
        let composed: String = format!("{local}@{domain}").nfc().collect();
        let folded = caseless::default_case_fold_str(&composed)
            .nfc()
            .collect::<String>();
        Username::parse(&folded).map_err(|_| EmailProblem::Malformed)?;
        let mixed = folded
            .split(['@', '.', '+', '-', '_'])
            .any(|word| !word.is_ascii() && !word.is_single_script());
        if mixed {
            return Err(EmailProblem::LookAlike);
        }
        let skeleton = unicode_security::skeleton(&folded).collect();
        Ok(Self {
            normalised: folded,
            skeleton,
        })
    }

    /// The address as stored and shown.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// What two addresses share when they look the same.
    #[must_use]
    pub fn uniqueness_key(&self) -> &str {
        &self.skeleton
    }
}

/// Format characters and other code points that render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests;

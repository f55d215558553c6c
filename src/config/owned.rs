//! `managed_by = "file"`: which entries of `[[realms]]`, `[[clients]]` and
//! `[[tenants]]` the file keeps owning after it has seeded them
//! (docs/src/operate/administration.md, "Who owns what").
//!
//! The entries share their shape with the admin API's, which has no such key, so
//! the key is taken out of the read values before they are typed.

use std::collections::BTreeSet;

use figment::value::Value;

use super::ConfigProblem;

/// The sections whose entries may say `managed_by`.
const SECTIONS: [&str; 3] = ["realms", "clients", "tenants"];

/// The positions, in each section, of the entries marked `managed_by = "file"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOwned {
    /// In `[[realms]]`.
    pub realms: BTreeSet<usize>,
    /// In `[[clients]]`.
    pub clients: BTreeSet<usize>,
    /// In `[[tenants]]`.
    pub tenants: BTreeSet<usize>,
}

impl FileOwned {
    /// Takes every `managed_by` key out of `value`; a value other than `"file"`
    /// is a problem.
    pub(super) fn take(value: &mut Value) -> (Self, Vec<ConfigProblem>) {
        let mut owned = Self::default();
        let mut problems = Vec::new();
        let Value::Dict(_, top) = value else {
            return (owned, problems);
        };
        for section in SECTIONS {
            let Some(Value::Array(_, entries)) = top.get_mut(section) else {
                continue;
            };
            for (i, entry) in entries.iter_mut().enumerate() {
                let Value::Dict(_, entry) = entry else {
                    continue;
                };
                match entry.remove("managed_by") {
                    None => {}
                    Some(Value::String(_, s)) if s == "file" => {
                        owned.section_mut(section).insert(i);
                    }
                    Some(_) => problems.push(ConfigProblem {
                        key: format!("{section}[{i}].managed_by"),
                        message: "the only value is \"file\" (the file then owns the entry and the console and CLI refuse to change it); leave the key out to let the console and CLI own the entry after the file has written it once".to_owned(),
                    }),
                }
            }
        }
        (owned, problems)
    }

    fn section_mut(&mut self, section: &str) -> &mut BTreeSet<usize> {
        match section {
            "realms" => &mut self.realms,
            "clients" => &mut self.clients,
            _ => &mut self.tenants,
        }
    }
}

#[cfg(test)]
mod tests;

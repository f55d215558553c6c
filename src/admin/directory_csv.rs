//! The directory's CSV format, read by `authproxy directory import` and
//! `POST /admin/api/directory/import`, written by the exports:
//! ```text
//! kind,key,realm,idp_hint
//! user,alice@tenant-a.test,tenant-a,
//! domain,corp.test,tenant-a,corp-idp
//! not_migrated,legacy@tenant-a.test,,
//! default,,tenant-a,
//! ```
//! An import is checked whole first ([`check`]): every bad row is reported with its
//! line (up to [`MAX_REPORTED`]), and a key given twice with different targets is
//! refused; only a file without problems is written ([`rules`]), in one
//! transaction. The check keeps 24 bytes per row, not the rows themselves.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hasher as _;

use crate::domain::{RealmName, Rule, RuleField, RuleKind, RuleProblem, Target};

const HEADER: [&str; 4] = ["kind", "key", "realm", "idp_hint"];

/// The most problems one import reports (the count of the others is given).
pub const MAX_REPORTED: usize = 100;

/// A bad row: its line in the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The line of the file (1 is the header).
    pub line: u64,
    /// What is wrong with the row.
    pub message: String,
}

/// Why an import was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} bad row(s){}", .rows.len() + usize::try_from(*.omitted).unwrap_or(usize::MAX), if *.omitted > 0 { format!(" ({} not listed)", .omitted) } else { String::new() })]
pub struct CsvProblems {
    /// The bad rows, at most the first 100.
    pub rows: Vec<RowProblem>,
    /// How many more bad rows there are.
    pub omitted: u64,
}

impl CsvProblems {
    fn add(&mut self, line: u64, message: String) {
        if self.rows.len() < MAX_REPORTED {
            self.rows.push(RowProblem { line, message });
        } else {
            self.omitted += 1;
        }
    }
}

fn reader<R: std::io::Read>(csv: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv)
}

fn digest(value: &impl std::hash::Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn target_digest(target: &Target) -> u64 {
    match target {
        Target::NotMigrated => digest(&"not_migrated"),
        Target::Sso { realm, idp_hint } => digest(&(
            realm.as_str(),
            idp_hint.as_ref().map(crate::domain::IdpAlias::as_str),
        )),
    }
}

/// Checks a whole CSV file: the header, every row, and keys given twice with
/// different targets. The number of rules when there is no problem.
pub fn check(csv: &[u8], realms: &BTreeSet<RealmName>) -> Result<u64, CsvProblems> {
    let mut problems = CsvProblems {
        rows: Vec::new(),
        omitted: 0,
    };
    // Key digest -> (first line, target digest).
    let mut seen: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut count = 0;
    for (index, record) in reader(csv).into_records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                problems.add(
                    err.position().map_or(0, csv::Position::line),
                    err.to_string(),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let fields: Vec<&str> = record.iter().collect();
        if index == 0 {
            if fields != HEADER {
                problems.add(
                    line,
                    format!("the first line must be the header {}", HEADER.join(",")),
                );
            }
            continue;
        }
        match parse_row(&fields, realms) {
            Ok(rule) => {
                let key = digest(&rule.key);
                let target = target_digest(&rule.target);
                match seen.get(&key) {
                    Some((first, other)) if *other != target => problems.add(
                        line,
                        format!("the same key as line {first}, with another target: keep one"),
                    ),
                    Some(_) => {}
                    None => {
                        seen.insert(key, (line, target));
                        count += 1;
                    }
                }
            }
            Err(found) => problems.add(line, describe(&found)),
        }
    }
    if problems.rows.is_empty() && problems.omitted == 0 {
        Ok(count)
    } else {
        Err(problems)
    }
}

/// The rules of a file that [`check`] accepted, read as they are consumed.
pub fn rules<C>(csv: C, realms: BTreeSet<RealmName>) -> impl Iterator<Item = Rule> + Send + 'static
where
    C: AsRef<[u8]> + Send + 'static,
{
    reader(std::io::Cursor::new(csv))
        .into_records()
        .skip(1)
        .filter_map(move |record| {
            let record = record.ok()?;
            let fields: Vec<&str> = record.iter().collect();
            parse_row(&fields, &realms).ok()
        })
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// The CSV column a rule's field is in.
#[must_use]
pub fn column(field: RuleField) -> &'static str {
    match field {
        RuleField::Kind => "kind",
        RuleField::Key => "key",
        RuleField::Realm => "realm",
        RuleField::IdpHint => "idp_hint",
    }
}

/// One row (`kind,key,realm,idp_hint`) as a rule, or every problem with its field.
pub fn parse_row(fields: &[&str], realms: &BTreeSet<RealmName>) -> Result<Rule, Vec<RuleProblem>> {
    let &[kind, key, realm, idp_hint] = fields else {
        return Err(vec![RuleProblem {
            field: RuleField::Kind,
            message: format!(
                "expected 4 fields (kind,key,realm,idp_hint), found {}",
                fields.len()
            ),
        }]);
    };
    let kind = RuleKind::parse(kind).map_err(|p| vec![p])?;
    Rule::from_parts(kind, key, non_empty(realm), non_empty(idp_hint), realms)
}

/// A row's problems as one message, each with its column.
fn describe(problems: &[RuleProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", column(p.field), p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;

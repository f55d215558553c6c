//! The directory's CSV format, read by `authproxy directory import` and
//! `POST /admin/api/directory/import`, written by the exports:
//! ```text
//! kind,key,realm,idp_hint
//! user,alice@tenant-a.test,tenant-a,
//! domain,corp.test,tenant-a,corp-idp
//! not_migrated,legacy@tenant-a.test,,
//! default,,tenant-a,
//! ```
//! Rows are parsed one at a time and stop at the first bad one, which carries its
//! line number.

use std::collections::BTreeSet;

use crate::domain::{RealmName, Rule, RuleField, RuleKind, RuleProblem};
use crate::store::StoreError;

const HEADER: [&str; 4] = ["kind", "key", "realm", "idp_hint"];

/// Parses CSV records into rules, the header first. Stops at the first bad row.
pub fn parse_rows<'a, R: std::io::Read + 'a>(
    reader: csv::Reader<R>,
    realms: &'a BTreeSet<RealmName>,
) -> impl Iterator<Item = Result<Rule, StoreError>> + 'a {
    let mut header_seen = false;
    let mut failed = false;
    reader.into_records().filter_map(move |record| {
        if failed {
            return None;
        }
        let result = record
            .map_err(|e| StoreError::InvalidRow {
                line: e.position().map_or(0, csv::Position::line),
                message: e.to_string(),
            })
            .and_then(|record| {
                let line = record.position().map_or(0, csv::Position::line);
                let fields: Vec<&str> = record.iter().collect();
                if !header_seen {
                    header_seen = true;
                    return if fields == HEADER {
                        Ok(None)
                    } else {
                        Err(StoreError::InvalidRow {
                            line,
                            message: format!(
                                "the first line must be the header {}",
                                HEADER.join(",")
                            ),
                        })
                    };
                }
                parse_row(&fields, realms)
                    .map(Some)
                    .map_err(|problems| StoreError::InvalidRow {
                        line,
                        message: describe(&problems),
                    })
            });
        match result {
            Ok(None) => None,
            Ok(Some(rule)) => Some(Ok(rule)),
            Err(err) => {
                failed = true;
                Some(Err(err))
            }
        }
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
mod tests {
    use super::*;

    fn realms() -> BTreeSet<RealmName> {
        ["tenant-a"]
            .into_iter()
            .map(|r| RealmName::parse(r).unwrap())
            .collect()
    }

    fn parse(csv_text: &str) -> Vec<Result<Rule, StoreError>> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv_text.as_bytes());
        let realms = realms();
        parse_rows(reader, &realms).collect()
    }

    #[test]
    fn every_kind_of_row_is_understood() {
        let rows = parse(
            "kind,key,realm,idp_hint\nuser,Alice@Tenant-A.test,tenant-a,\ndomain,corp.test,tenant-a,corp-idp\nnot_migrated,legacy@tenant-a.test,,\ndefault,,tenant-a,\n",
        );
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(Result::is_ok));
    }

    #[test]
    fn a_bad_row_reports_its_line_and_stops_the_import() {
        let rows = parse(
            "kind,key,realm,idp_hint\nuser,a@b.test,tenant-a,\nuser,c@d.test,tenant-z,\nuser,e@f.test,tenant-a,\n",
        );
        assert_eq!(rows.len(), 2);
        match &rows[1] {
            Err(StoreError::InvalidRow { line, message }) => {
                assert_eq!(*line, 3);
                assert!(message.contains("tenant-z"), "{message}");
            }
            _ => panic!("expected an invalid row"),
        }
    }
}

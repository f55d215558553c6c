//! What a change changed, for its audit row's reason: the fields whose values differ
//! between the entry's view before and after (nested fields by their dotted
//! path), each as `path: before -> after`. Views carry no secrets (a client's
//! secret shows only as `confidential`), so neither does the row.

use std::fmt::Write as _;

use serde_json::Value;

/// The longest a value is shown before it is cut.
const VALUE_CHARS: usize = 120;
/// The longest the whole description grows.
const TOTAL_CHARS: usize = 2000;

/// The audit reason of a change from `before` (none: a creation) to `after`.
#[must_use]
pub fn describe(before: Option<&Value>, after: &Value) -> String {
    let Some(before) = before else {
        return "created".into();
    };
    let mut changed = Vec::new();
    differences("", before, after, &mut changed);
    if changed.is_empty() {
        return "nothing changed".into();
    }
    let mut out = String::new();
    for (i, (path, old, new)) in changed.iter().enumerate() {
        let item = format!("{path}: {} -> {}", shown(old), shown(new));
        if out.len() + item.len() > TOTAL_CHARS {
            let _ = write!(out, "; and {} more", changed.len() - i);
            break;
        }
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&item);
    }
    out
}

/// The fields under `path` that differ, objects compared field by field.
fn differences<'a>(
    path: &str,
    before: &'a Value,
    after: &'a Value,
    out: &mut Vec<(String, &'a Value, &'a Value)>,
) {
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differences(
                    &child,
                    old.get(key).unwrap_or(&Value::Null),
                    new.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (old, new) if old != new => out.push((path.to_owned(), old, new)),
        _ => {}
    }
}

/// A value as compact JSON (`(none)` for a value not set), cut at
/// [`VALUE_CHARS`].
fn shown(value: &Value) -> String {
    if value.is_null() {
        return "(none)".into();
    }
    let text = value.to_string();
    match text.char_indices().nth(VALUE_CHARS) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
        None => text,
    }
}

#[cfg(test)]
mod tests;

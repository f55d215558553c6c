//! The module graph points down only (`src/lib.rs` states the layers): each
//! top-level module may import the modules of the layers below its own, and
//! nothing else. A new upward or sideways import fails here with its file.

use std::collections::BTreeMap;
use std::path::Path;

/// The layers, top first. A module imports only modules of later entries, or the
/// same-layer modules named in `SIDEWAYS`. The route table and the CLI are the two
/// surfaces over the flows and the admin operations.
const LAYERS: &[&[&str]] = &[
    &["startup"],
    &["routes", "cli"],
    &["flows", "admin"],
    &["http"],
    &["app"],
    &["registry", "auth", "config", "rate_limit"],
    &["store", "idp"],
    &["observe"],
    &["domain"],
    &["crypto", "clock"],
];

/// Same-layer imports that are allowed: the configuration file and the admin API
/// validate realms and clients with the registry's input types.
const SIDEWAYS: &[(&str, &str)] = &[("config", "registry")];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// `crate::X` references of every file, by its top-level module.
fn imports() -> BTreeMap<(String, String), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let is_rust = path.extension().is_some_and(|ext| ext == "rs");
            if relative == "main.rs" || relative == "lib.rs" || !is_rust {
                continue;
            }
            let module = relative
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("crate::").skip(1) {
                let target: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !target.is_empty() && target != module {
                    found
                        .entry((module.clone(), target))
                        .or_insert_with(|| relative.clone());
                }
            }
        }
    }
    found
}

#[test]
fn every_import_points_down_the_layers() {
    let mut wrong = Vec::new();
    for ((from, to), file) in imports() {
        let (Some(a), Some(b)) = (layer_of(&from), layer_of(&to)) else {
            wrong.push(format!(
                "{file}: {from} -> {to} (a module missing from LAYERS)"
            ));
            continue;
        };
        if b < a || (a == b && !SIDEWAYS.contains(&(from.as_str(), to.as_str()))) {
            wrong.push(format!("{file}: {from} -> {to}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

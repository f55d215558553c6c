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

/// `src` and every folder under it.
fn folders(src: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            }
        }
        found.push(dir);
    }
    found
}

/// `crate::X` references of every file, by its top-level module.
fn imports() -> BTreeMap<(String, String), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    for dir in folders(&src) {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
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

/// A folder's files, by module name: `name.rs`, or `name/mod.rs` for a folder
/// of its own. `mod.rs` is the folder's face, not one of its files.
fn files_of(dir: &Path) -> BTreeMap<String, std::path::PathBuf> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let face = path.join("mod.rs");
            if face.exists() {
                files.insert(name, face);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && !["mod", "lib", "main"].contains(&name.as_str())
        {
            files.insert(name, path);
        }
    }
    files
}

/// The first path segment of each entry of a `use` tree's text after `prefix::`
/// (`a`, `b` from `{a::X, b}`; `a` from `a::X`).
fn first_segments(after: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = after.strip_prefix('{') else {
        return vec![ident(after)];
    };
    let mut depth = 0;
    let mut entries = vec![String::new()];
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => entries.push(String::new()),
            _ => {}
        }
        if depth > 0 || c != ',' {
            entries.last_mut().unwrap().push(c);
        }
    }
    entries
        .iter()
        .map(|e| ident(e.trim()))
        .filter(|e| !e.is_empty())
        .collect()
}

/// The files of `dir` each file of it imports, seen through `super::` and
/// `crate::<dir>::`, and through the re-exports of the folder's `mod.rs`.
fn sibling_imports(dir: &Path, crate_path: &str) -> BTreeMap<String, Vec<String>> {
    let files = files_of(dir);
    let mut reexports = BTreeMap::new();
    if let Ok(face) = std::fs::read_to_string(dir.join("mod.rs")) {
        for line in face.lines() {
            let Some(rest) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let rest = rest.trim_start_matches("self::");
            let Some((child, items)) = rest.split_once("::") else {
                continue;
            };
            for item in first_segments(items) {
                reexports.insert(item, child.to_owned());
            }
        }
    }
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, path) in &files {
        // Code only: a doc link to a sibling is no import.
        let text: String = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut targets = std::collections::BTreeSet::new();
        let prefixes = ["super::".to_owned(), format!("crate::{crate_path}::")];
        for prefix in &prefixes {
            for piece in text.split(prefix.as_str()).skip(1) {
                for segment in first_segments(piece) {
                    let target = if files.contains_key(&segment) {
                        Some(segment)
                    } else {
                        reexports.get(&segment).cloned()
                    };
                    if let Some(target) = target.filter(|t| t != name) {
                        targets.insert(target);
                    }
                }
            }
        }
        graph.insert(name.clone(), targets.into_iter().collect());
    }
    graph
}

/// Every circle of `graph`, each once, as `a -> b -> a`.
fn circles(graph: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    fn walk(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        found: &mut std::collections::BTreeSet<Vec<String>>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            let start = circle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| n.as_str())
                .map_or(0, |(i, _)| i);
            circle.rotate_left(start);
            found.insert(circle);
            return;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            walk(next, graph, path, found);
        }
        path.pop();
    }
    let mut found = std::collections::BTreeSet::new();
    for node in graph.keys() {
        walk(node, graph, &mut Vec::new(), &mut found);
    }
    found
        .into_iter()
        .map(|mut c| {
            c.push(c[0].clone());
            c.join(" -> ")
        })
        .collect()
}

#[test]
fn no_circle_among_the_files_of_a_folder() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for dir in folders(&src) {
        if dir == src {
            continue; // the top level: the layers above
        }
        let crate_path = dir
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('/', "::");
        for circle in circles(&sibling_imports(&dir, &crate_path)) {
            wrong.push(format!("src/{}: {circle}", crate_path.replace("::", "/")));
        }
    }
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "files of one folder that import each other (move what both need down, into a file they both import):\n{}",
        wrong.join("\n")
    );
}

/// The embedded-session core (`src/flows/embed/`): how a vouched user becomes a
/// session. Every other file there is a style, one way in.
const EMBED_CORE: &[&str] = &[
    "audit",
    "frame",
    "host_api",
    "landing",
    "profiles",
    "provision",
    "resources",
    "session",
    "session_token",
    "slots",
    "tickets",
    "tokens",
    "users",
    "vouched",
];

#[test]
fn an_embedded_sso_style_imports_the_core_never_another_style() {
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/flows");
    let mut wrong = Vec::new();
    let embed = flows.join("embed");
    let styles: Vec<String> = files_of(&embed)
        .into_keys()
        .filter(|f| !EMBED_CORE.contains(&f.as_str()))
        .collect();
    for (style, mut targets) in sibling_imports(&embed, "flows::embed") {
        if EMBED_CORE.contains(&style.as_str()) {
            continue;
        }
        // Also through the re-exports of `flows` (`crate::flows::sso::…`).
        let text = std::fs::read_to_string(embed.join(format!("{style}.rs"))).unwrap_or_default();
        targets.extend(
            styles
                .iter()
                .filter(|other| text.contains(&format!("crate::flows::{other}::")))
                .cloned(),
        );
        targets.sort();
        targets.dedup();
        for target in targets
            .iter()
            .filter(|t| !EMBED_CORE.contains(&t.as_str()) && **t != style)
        {
            wrong.push(format!(
                "src/flows/embed/{style}.rs imports the style {target}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "a style imports only the core (docs/src/developers/adding-a-style.md):\n{}",
        wrong.join("\n")
    );
}

/// The longest a file of `src/` may grow (docs/src/developers/architecture.md).
const MAX_FILE_LINES: usize = 500;

#[test]
fn no_source_file_is_longer_than_a_sitting() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    for dir in folders(&src) {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > MAX_FILE_LINES {
                    long.push(format!("{} has {lines} lines", path.display()));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these along their seams (docs/src/developers/architecture.md):\n{}",
        long.join("\n")
    );
}

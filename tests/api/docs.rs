//! The manual is a book (`docs/`): every page is in its table of contents, every
//! relative link of the book and the README resolves, and the code cites pages
//! that exist, never a file outside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends with one of `extensions`.
fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !["node_modules", "book", "target", ".git"].contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if extensions.iter().any(|e| name.ends_with(e)) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn every_page_of_the_book_is_in_its_table_of_contents_and_every_entry_exists() {
    let src = root().join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<PathBuf> = links(&summary).iter().map(|l| src.join(l)).collect();
    for entry in &listed {
        assert!(
            entry.exists(),
            "SUMMARY.md lists {} which does not exist",
            entry.display()
        );
    }
    for page in files_under(&src, &[".md"]) {
        if page.ends_with("SUMMARY.md") {
            continue;
        }
        assert!(
            listed.contains(&page),
            "{} is not in docs/src/SUMMARY.md",
            page.display()
        );
    }
}

#[test]
fn every_relative_link_of_the_book_and_the_readme_resolves() {
    let mut pages = files_under(&root().join("docs/src"), &[".md"]);
    pages.push(root().join("README.md"));
    let mut broken = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in links(&text) {
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap();
            if !page.parent().unwrap().join(path).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_code_cites_pages_of_the_book_that_exist_and_nothing_outside_the_repository() {
    let markdown: BTreeSet<String> = files_under(&root(), &[".md"])
        .iter()
        .filter(|p| !p.starts_with(root().join("target")))
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    let sources = [
        "src",
        "templates",
        "tests/api",
        "tests/browser",
        "browser-sdk",
        "deploy",
    ]
    .iter()
    .flat_map(|dir| {
        files_under(
            &root().join(dir),
            &[".rs", ".html", ".js", ".toml", ".yaml"],
        )
    })
    .collect::<Vec<_>>();
    let mut wrong = Vec::new();
    for file in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Every Markdown file a line names is one of the repository's: a
            // path from its root, or a file name it holds.
            let names = line.split(|c: char| !(c.is_ascii_alphanumeric() || "-_/.".contains(c)));
            for name in names.map(|w| w.trim_start_matches('/')).filter(|w| {
                std::path::Path::new(w)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("md"))
                    && w.len() > 3
            }) {
                let known = markdown.contains(name)
                    || markdown
                        .iter()
                        .any(|m| m.ends_with(&format!("/{name}")) || m == name);
                if !known {
                    wrong.push(format!("{}:{}: {name}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "citations of Markdown files the repository does not hold:\n{}",
        wrong.join("\n")
    );
}

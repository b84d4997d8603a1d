//! `ARCHITECTURE.md` stays true: every file or module it names in
//! backticks exists, and every module of `domain/src` is named in it (a
//! room nobody put on the map is a room nobody will find).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::source::{self, Module};

/// Where a relative file name in the map may live.
const ROOTS: &[&str] = &[
    "",
    "domain/src",
    "api/src",
    "migrations/src",
    "tests/tests/api",
    "tests/src",
];

/// Directory modules whose children need no mention of their own.
const CHILDREN_UNNAMED: &[&str] = &["entities"];

fn map() -> String {
    fs::read_to_string(source::root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

/// The backticked spans of the map, each with its line.
fn spans(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let parts: Vec<&str> = line.split('`').collect();
        for (i, part) in parts.iter().enumerate() {
            if i % 2 == 1 && i + 1 < parts.len() {
                out.push(((*part).to_owned(), n + 1));
            }
        }
    }
    out
}

/// A span that reads as a file or directory path (not a route, a pattern or
/// a reference format).
fn as_file(span: &str) -> Option<&str> {
    let looks_like = span.contains('/')
        || [".rs", ".sql", ".json", ".md", ".yml", ".yaml", ".toml"]
            .iter()
            .any(|ext| span.ends_with(ext));
    let pattern = span.starts_with('/')
        || span
            .chars()
            .any(|c| matches!(c, '<' | '{' | ' ' | '…' | '*' | '?' | '=' | ':' | '(' | '`'));
    (looks_like && !pattern).then_some(span)
}

fn file_names() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                    walk(&path, out);
                }
            } else {
                out.insert(name);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&source::root(), &mut out);
    out
}

fn file_exists(span: &str, names: &BTreeSet<String>) -> bool {
    let root = source::root();
    if !span.contains('/') {
        return names.contains(span);
    }
    ROOTS.iter().any(|r| root.join(r).join(span).exists())
}

/// Whether `module`'s file defines or re-exports `item`.
fn defines(module: &Module, item: &str) -> bool {
    let code = &module.code;
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| {
        w[1] == item
            && matches!(
                w[0],
                "fn" | "struct" | "enum" | "trait" | "type" | "const" | "static" | "mod" | "as"
            )
    }) || module
        .named
        .iter()
        .any(|n| n.reexport_as.as_deref() == Some(item))
        // A variant or field of a type the module defines.
        || words.contains(&item) && item.chars().next().is_some_and(char::is_uppercase)
}

/// Checks a Rust path span (`tiers::react`, `policy::authorize::<A>`):
/// Some(problem) when its module is known but the rest is not there.
fn path_problem(span: &str, crates: &[BTreeMap<Vec<String>, Module>]) -> Option<String> {
    let clean = span.split("::<").next()?.trim_end_matches("()");
    let segs: Vec<String> = clean.split("::").map(str::to_owned).collect();
    if segs.len() < 2
        || segs
            .iter()
            .any(|s| s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return None;
    }
    // The module is the longest run of leading segments that is the tail of
    // some module's path in either crate.
    for n in (1..=segs.len()).rev() {
        let head = &segs[..n];
        let found: Vec<&Module> = crates
            .iter()
            .flat_map(|m| m.values())
            .filter(|m| m.path.ends_with(head))
            .collect();
        if found.is_empty() {
            continue;
        }
        return match &segs[n..] {
            [] => None,
            [item] if found.iter().any(|m| defines(m, item)) => None,
            [item] => Some(format!("`{span}`: no `{item}` in {}", head.join("::"))),
            _ => Some(format!(
                "`{span}`: {} has no module or item path `{}`",
                head.join("::"),
                segs[n..].join("::")
            )),
        };
    }
    None
}

#[test]
fn every_file_and_module_the_map_names_exists() {
    let text = map();
    let root = source::root();
    let crates = [
        source::modules(&root.join("domain/src")),
        source::modules(&root.join("api/src")),
    ];
    let names = file_names();
    let mut problems = Vec::new();
    for (span, line) in spans(&text) {
        if let Some(file) = as_file(&span) {
            if !file_exists(file, &names) {
                problems.push(format!("ARCHITECTURE.md:{line}: `{span}` does not exist"));
            }
        } else if span.contains("::")
            && let Some(p) = path_problem(&span, &crates)
        {
            problems.push(format!("ARCHITECTURE.md:{line}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_module_of_the_domain_is_on_the_map() {
    let text = map();
    let spans: BTreeSet<String> = spans(&text).into_iter().map(|(s, _)| s).collect();
    let mentioned = |forms: &[String]| {
        spans.iter().any(|s| {
            forms
                .iter()
                .any(|f| s == f || s.starts_with(&format!("{f}::")))
                || forms
                    .iter()
                    .any(|f| f.contains('/') && s.ends_with(f.as_str()))
        })
    };
    let modules = source::modules(&source::root().join("domain/src"));
    let mut missing = Vec::new();
    for path in modules.keys() {
        let Some(last) = path.last() else {
            continue; // the crate root
        };
        if path.len() > 1 && CHILDREN_UNNAMED.contains(&path[0].as_str()) {
            continue;
        }
        let joined = path.join("/");
        let forms = vec![
            last.clone(),
            format!("{last}.rs"),
            format!("{joined}.rs"),
            format!("{joined}/"),
            path.join("::"),
        ];
        if !mentioned(&forms) {
            missing.push(format!("domain/src/{joined}"));
        }
    }
    assert!(
        missing.is_empty(),
        "modules of domain/src that ARCHITECTURE.md does not name (in backticks, as \
         `name`, `name.rs`, `dir/name.rs` or `dir::name`): {}",
        missing.join(", ")
    );
}

//! Reading the workspace's Rust sources the way the checks need them: the
//! module tree of a crate from its files, each file's code without
//! comments, strings or tests, and the paths it names (in `use`
//! declarations and inline, as `crate::…`, `super::…` or `self::…`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The workspace's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A module of a crate: its path from the crate root (`["challenges",
/// "reviews"]`; the root is `[]`), its file, and what it refers to.
pub struct Module {
    pub path: Vec<String>,
    pub file: PathBuf,
    pub code: String,
    /// The paths `code` names (read once).
    pub named: Vec<Named>,
}

/// Every file module under `src` (a crate's `src/` directory), by path.
pub fn modules(src: &Path) -> BTreeMap<Vec<String>, Module> {
    let mut out = BTreeMap::new();
    collect(src, src, &mut out);
    out
}

fn collect(src: &Path, dir: &Path, out: &mut BTreeMap<Vec<String>, Module>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for file in entries {
        if file.is_dir() {
            collect(src, &file, out);
            continue;
        }
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = file.strip_prefix(src).expect("under src");
        let mut path: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            path.pop();
        }
        // A binary's main.rs is its own crate root; only lib.rs is this one's.
        if rel == Path::new("main.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("a readable source file");
        let code = without_tests(&strip(&text));
        let named = named_paths(&code);
        out.insert(
            path.clone(),
            Module {
                path,
                file,
                code,
                named,
            },
        );
    }
}

/// The code without its `#[cfg(test)]` part: unit tests sit at the end of
/// a file and may import what the module itself does not.
fn without_tests(code: &str) -> String {
    match code.find("#[cfg(test)]") {
        Some(at) => code[..at].to_owned(),
        None => code.to_owned(),
    }
}

/// `src` with comments, string literals and character literals blanked
/// (line breaks kept, so offsets still give line numbers).
pub fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |s: &[u8], out: &mut String| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            block_comment(rest)
        } else if let Some(n) = raw_string(rest) {
            n
        } else if rest[0] == b'"' || rest.starts_with(b"b\"") {
            let start = usize::from(rest[0] == b'b') + 1;
            quoted(rest, start, b'"')
        } else if rest[0] == b'\'' {
            char_literal(&src[i..]).unwrap_or(0)
        } else {
            0
        };
        if end == 0 {
            // Keep the identifier whole, so `br"…"` inside a name is not a string.
            let n = match ident_len(rest) {
                0 => src[i..].chars().next().map_or(1, char::len_utf8),
                n => n,
            };
            out.push_str(&src[i..i + n]);
            i += n;
        } else {
            blank(&rest[..end], &mut out);
            i += end;
        }
    }
    out
}

fn ident_len(s: &[u8]) -> usize {
    s.iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
        .unwrap_or(s.len())
}

fn block_comment(s: &[u8]) -> usize {
    let (mut depth, mut i) = (0, 0);
    while i < s.len() {
        if s[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    s.len()
}

/// `r"…"`, `r#"…"#`, `br"…"` and the like: their length, when `s` starts one.
fn raw_string(s: &[u8]) -> Option<usize> {
    let start = match s {
        [b'r', ..] => 1,
        [b'b', b'r', ..] => 2,
        _ => return None,
    };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    let at = s[body..].windows(close.len()).position(|w| w == close)?;
    Some(body + at + close.len())
}

fn quoted(s: &[u8], mut i: usize, close: u8) -> usize {
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            c if c == close => return i + 1,
            _ => i += 1,
        }
    }
    s.len()
}

/// A character literal's length (`'a'`, `'\n'`, `'\u{1F600}'`, `'é'`), or
/// None for a lifetime or a label (`'a`, `'static`).
fn char_literal(s: &str) -> Option<usize> {
    if s.as_bytes().get(1) == Some(&b'\\') {
        return Some(quoted(s.as_bytes(), 1, b'\''));
    }
    let len = s[1..].chars().next()?.len_utf8();
    (s.as_bytes().get(1 + len) == Some(&b'\'')).then_some(len + 2)
}

/// A path the code names, and the line it is on.
pub struct Named {
    pub segments: Vec<String>,
    pub line: usize,
    /// Named by `pub use` (a re-export), under this name.
    pub reexport_as: Option<String>,
}

#[derive(PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Sep,
    Open,
    Close,
    Comma,
    Star,
    Other(char),
}

fn tokens(code: &str) -> Vec<(Tok<'_>, usize)> {
    let b = code.as_bytes();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let n = ident_len(&b[i..]);
        if n > 0 {
            out.push((Tok::Ident(&code[i..i + n]), line));
            i += n;
            continue;
        }
        let tok = match c {
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 1;
                Tok::Sep
            }
            b'{' => Tok::Open,
            b'}' => Tok::Close,
            b',' => Tok::Comma,
            b'*' => Tok::Star,
            _ => Tok::Other(code[i..].chars().next().unwrap_or(' ')),
        };
        i += code[i..].chars().next().map_or(1, char::len_utf8);
        out.push((tok, line));
    }
    out
}

/// Every path `code` names: each leaf of every `use` tree, and every inline
/// path that starts with `crate`, `super` or `self` (`Self::` is a type's).
pub fn named_paths(code: &str) -> Vec<Named> {
    let toks = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Ident("use") => {
                let public = i > 0 && is_visibility(&toks[..i]);
                let mut j = i + 1;
                let mut leaves = Vec::new();
                use_tree(&toks, &mut j, Vec::new(), &mut leaves);
                for (segments, alias, line) in leaves {
                    let reexport_as = public.then(|| alias.clone());
                    out.push(Named {
                        segments,
                        line,
                        reexport_as,
                    });
                }
                i = j;
            }
            Tok::Ident(first @ ("crate" | "super" | "self"))
                if toks.get(i + 1).is_some_and(|t| t.0 == Tok::Sep)
                    && (i == 0 || toks[i - 1].0 != Tok::Sep) =>
            {
                let line = toks[i].1;
                let mut segments = vec![first.to_owned()];
                let mut j = i + 1;
                while toks.get(j).is_some_and(|t| t.0 == Tok::Sep) {
                    match toks.get(j + 1) {
                        Some((Tok::Ident(s), _)) => segments.push((*s).to_owned()),
                        _ => break,
                    }
                    j += 2;
                }
                out.push(Named {
                    segments,
                    line,
                    reexport_as: None,
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the tokens before a `use` end in `pub`, `pub(crate)` or `pub(super)`.
fn is_visibility(before: &[(Tok<'_>, usize)]) -> bool {
    matches!(
        before,
        [.., (Tok::Ident("pub"), _)]
            | [
                ..,
                (Tok::Ident("pub"), _),
                (Tok::Other('('), _),
                _,
                (Tok::Other(')'), _),
            ]
    )
}

/// Reads one use tree from `toks[*i]`, pushing each leaf (segments, the name
/// it is known by, line); leaves `*i` after the tree.
fn use_tree(
    toks: &[(Tok<'_>, usize)],
    i: &mut usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, String, usize)>,
) {
    let mut path = prefix;
    let line = toks.get(*i).map_or(0, |t| t.1);
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(s)) => {
                path.push((*s).to_owned());
                *i += 1;
            }
            Some(Tok::Open) => {
                *i += 1;
                loop {
                    use_tree(toks, i, path.clone(), out);
                    match toks.get(*i).map(|t| &t.0) {
                        Some(Tok::Comma) => *i += 1,
                        _ => break,
                    }
                    if toks.get(*i).is_some_and(|t| t.0 == Tok::Close) {
                        break;
                    }
                }
                *i += 1; // the closing brace
                return;
            }
            Some(Tok::Star) => {
                *i += 1;
                out.push((path, "*".to_owned(), line));
                return;
            }
            _ => return,
        }
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Ident("as")) => {
                let alias = match toks.get(*i + 1) {
                    Some((Tok::Ident(a), _)) => (*a).to_owned(),
                    _ => String::new(),
                };
                *i += 2;
                out.push((path, alias, line));
                return;
            }
            _ => {
                let name = path.last().cloned().unwrap_or_default();
                out.push((path, name, line));
                return;
            }
        }
    }
}

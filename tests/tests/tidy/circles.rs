//! No import circle between modules. Within each crate (`domain`, `api`),
//! the modules of one directory are a graph: an edge runs from one to
//! another when any file of the first names a path into the second (a `use`
//! or an inline `crate::…`/`super::…` path; a re-export through a front
//! door followed to where the item lives). A circle in any of these graphs fails the test, with the
//! lines that make it. A directory module's own file (`mod.rs`, `lib.rs`)
//! is its front door: what it re-exports from its children, and what they
//! take from it, are not edges between them. sea-orm's generated entity
//! relations (`domain/src/entities/`) are exempt, as the issue allows.

use std::collections::{BTreeMap, BTreeSet};

use crate::source::{self, Module};

/// Edges a circle may run through, each with its reason. This list must only
/// shrink: an entry whose edge no longer exists fails the test too.
const ALLOWED: &[(&str, &str, &str, &str)] = &[
    (
        "domain",
        "events",
        "tiers",
        "the in-transaction reactions: events::record runs tiers::react, and the \
         tier code records its own steps as events (an event carries the \
         resource of the module that records it, TierChange)",
    ),
    (
        "domain",
        "events",
        "pods",
        "the in-transaction reactions: events::record runs pods::react; the \
         payloads carry pods' Nomination and Slot",
    ),
    (
        "domain",
        "events",
        "challenges",
        "the payloads carry the review (challenges::Review) and the challenge's \
         status; the challenge code records its decisions and moves",
    ),
];

/// Directory modules whose children are not checked among themselves.
const EXEMPT: &[(&str, &str)] = &[("domain", "entities")];

type Path = Vec<String>;

struct Crate {
    name: &'static str,
    modules: BTreeMap<Path, Module>,
}

/// An edge of one directory's graph and what makes it.
#[derive(Default)]
struct Graph {
    edges: BTreeMap<(String, String), Vec<String>>,
}

#[test]
fn no_module_imports_in_a_circle() {
    let root = source::root();
    let mut problems = Vec::new();
    let mut seen_allowed = BTreeSet::new();
    for name in ["domain", "api"] {
        let krate = Crate {
            name,
            modules: source::modules(&root.join(name).join("src")),
        };
        assert!(
            krate.modules.len() > 5,
            "{name}: too few modules read ({}): is the source tree where the test looks?",
            krate.modules.len()
        );
        for (dir, graph) in graphs(&krate) {
            let mut graph = graph;
            for &(c, from, to, _) in ALLOWED {
                let (from, to) = (split(from), split(to));
                if c == name && from[..from.len() - 1] == dir[..] && to[..to.len() - 1] == dir[..] {
                    let key = (from[dir.len()].clone(), to[dir.len()].clone());
                    if graph.edges.remove(&key).is_some() {
                        seen_allowed.insert((c, from.join("::"), to.join("::")));
                    }
                }
            }
            for circle in circles(&graph) {
                problems.push(describe(name, &dir, &circle, &graph));
            }
        }
    }
    for &(c, from, to, _) in ALLOWED {
        if !seen_allowed.contains(&(c, from.to_owned(), to.to_owned())) {
            problems.push(format!(
                "{c}: the allowed edge {from} → {to} no longer exists: remove it from ALLOWED \
                 in tests/tests/tidy/circles.rs (the list only shrinks)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

fn split(path: &str) -> Path {
    path.split("::").map(str::to_owned).collect()
}

/// One graph per directory module (the crate root included), keyed by the
/// directory's path.
fn graphs(krate: &Crate) -> BTreeMap<Path, Graph> {
    let mut out: BTreeMap<Path, Graph> = BTreeMap::new();
    for module in krate.modules.values() {
        for named in &module.named {
            let Some(target) = resolve(krate, &module.path, &named.segments, 0) else {
                continue;
            };
            let common = module
                .path
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            // A parent's file and its own children: its front door.
            if common == module.path.len() || common == target.len() {
                continue;
            }
            let dir = module.path[..common].to_vec();
            if EXEMPT
                .iter()
                .any(|&(c, d)| c == krate.name && split(d) == dir)
            {
                continue;
            }
            let file = module
                .file
                .strip_prefix(source::root())
                .unwrap_or(&module.file)
                .display()
                .to_string();
            out.entry(dir)
                .or_default()
                .edges
                .entry((module.path[common].clone(), target[common].clone()))
                .or_default()
                .push(format!(
                    "{file}:{} names {}",
                    named.line,
                    named.segments.join("::")
                ));
        }
    }
    out
}

/// The module a path names from the module at `from`, following re-exports
/// to where the item is defined; None for another crate's paths.
fn resolve(krate: &Crate, from: &[String], segments: &[String], depth: usize) -> Option<Path> {
    let mut segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segs.last() == Some(&"self") {
        segs.pop();
    }
    let (mut base, mut rest): (Path, &[&str]) = match segs.first()? {
        &"crate" => (Vec::new(), &segs[1..]),
        &"self" => (from.to_vec(), &segs[1..]),
        &"super" => (from.to_vec(), &segs[..]),
        first => {
            let mut child = from.to_vec();
            child.push((*first).to_owned());
            if !krate.modules.contains_key(&child) {
                return None;
            }
            (from.to_vec(), &segs[..])
        }
    };
    while rest.first() == Some(&"super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut abs = base;
    abs.extend(rest.iter().map(|s| (*s).to_owned()));
    let mut module = abs.clone();
    while !krate.modules.contains_key(&module) {
        module.pop();
    }
    let Some(item) = abs.get(module.len()) else {
        return Some(module);
    };
    if depth > 8 {
        return Some(module);
    }
    // Follow a re-export (`pub use x::Item;`) through a front door (the
    // crate root, or a module re-exporting its own children's items) to
    // where the item lives. A module that re-exports another's item is
    // still what the code names.
    let home = &krate.modules[&module];
    for named in &home.named {
        if named.reexport_as.as_deref() == Some(item.as_str())
            && let Some(target) = resolve(krate, &module, &named.segments, depth + 1)
            && (module.is_empty() || target.starts_with(&module))
        {
            return Some(target);
        }
    }
    Some(module)
}

/// The strongly connected components with more than one node (Tarjan).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in graph.edges.keys() {
        next.entry(a).or_default().push(b);
        next.entry(b).or_default();
    }
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a str, next: &BTreeMap<&'a str, Vec<&'a str>>, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in &next[v] {
            if !s.index.contains_key(w) {
                visit(w, next, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in next.keys() {
        if !state.index.contains_key(v) {
            visit(v, &next, &mut state);
        }
    }
    state.out
}

fn describe(krate: &str, dir: &[String], circle: &[String], graph: &Graph) -> String {
    let at = if dir.is_empty() {
        format!("{krate}/src")
    } else {
        format!("{krate}/src/{}", dir.join("/"))
    };
    let mut text = format!(
        "{at}: these modules import in a circle: {}",
        circle.join(", ")
    );
    for ((a, b), why) in &graph.edges {
        if circle.contains(a) && circle.contains(b) {
            text.push_str(&format!("\n  {a} → {b}: {}", why[0]));
            if why.len() > 1 {
                text.push_str(&format!(" (and {} more)", why.len() - 1));
            }
        }
    }
    text
}

//! The module dependency graph of `src/`: no import circle between top-level modules, and
//! the lower layers stay below the higher ones. It reads the sources as text: every
//! `crate::<module>` path in a top-level module's files is an edge.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Circles tolerated for now, each as its sorted member modules: none. (Issue 11 broke
/// the last two: `crypto`/`domain` and `callout`/`config`/`handlers`/`worker`.)
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// Modules that must not depend on another: (lower, higher).
const BELOW: &[(&str, &str)] = &[
    ("crypto", "domain"),
    ("crypto", "store"),
    ("domain", "store"),
    ("wire", "handlers"),
    ("bus", "handlers"),
    ("templates", "callout"),
    ("config", "callout"),
    ("config", "handlers"),
    ("handlers", "callout"),
    ("handlers", "worker"),
    ("handlers", "heal"),
    ("heal", "worker"),
    ("client", "handlers"),
    ("client", "worker"),
    ("client", "callout"),
    ("metrics", "keyring"),
    ("metrics", "bus"),
    ("metrics", "handlers"),
    ("metrics", "worker"),
];

/// Edge modules nothing else in the library may use.
const UNUSED_BY_OTHERS: &[&str] = &["harness"];

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            if !name.ends_with(".rs") || name.ends_with("_test.rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src/");
            let top = rel
                .components()
                .next()
                .expect("a first component")
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            // `bin/` holds binaries of their own (the bench): they use the library as
            // `roster::…`, and their `crate::` paths are their own modules.
            if top == "main" || top == "lib" || top == "bin" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let deps = graph.entry(top.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                let rest = &text[i + "crate::".len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !module.is_empty() && module != top {
                    deps.insert(module);
                }
            }
        }
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        next: usize,
        found: BTreeSet<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.found.insert(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        found: BTreeSet::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_new_import_circle_appears_between_modules() {
    let found = circles(&edges());
    let known: BTreeSet<Vec<String>> = KNOWN_CIRCLES
        .iter()
        .map(|c| c.iter().map(|m| (*m).to_owned()).collect())
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "import circles that are not known debt: {new:?} (known: {known:?})"
    );
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "these circles are gone: remove them from KNOWN_CIRCLES: {gone:?}"
    );
}

#[test]
fn the_layers_stay_in_order() {
    let graph = edges();
    for (lower, higher) in BELOW {
        assert!(
            !graph.get(*lower).is_some_and(|deps| deps.contains(*higher)),
            "{lower} depends on {higher}"
        );
    }
}

#[test]
fn edge_modules_stay_at_the_edge() {
    let graph = edges();
    for edge in UNUSED_BY_OTHERS {
        assert!(graph.contains_key(*edge), "{edge} is not a module any more");
        let users: Vec<&String> = graph
            .iter()
            .filter(|(_, deps)| deps.contains(*edge))
            .map(|(m, _)| m)
            .collect();
        assert!(users.is_empty(), "{edge} is used by {users:?}");
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    let found = circles(&g);
    assert_eq!(
        found,
        BTreeSet::from([vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]])
    );
}

//! Lists the kit's cases where they are written, so no list can drift from them.
//!
//! Every `pub async fn` of `src/<kit>/cases.rs` is a case. What a case needs from a factory
//! (a clock the kit can move, a store that keeps data, ...) is declared by the case itself:
//! it calls `needs_<capability>(...)`, directly or through a helper of the same file. This
//! script reads those files and writes, for each kit, a macro `__<kit>_case_list!` that hands
//! every case with its needs to `__kit_tests!` (in `lib.rs`), which turns a case whose need the
//! backend declared it lacks into an `#[ignore]`d test with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

/// The kits, each with the files of its cases.
const KITS: [&str; 6] = ["store", "pool", "simple", "doctrine", "session", "beyond"];

/// What a case may need. `lib.rs` gives each the reason its tests are ignored on a backend
/// that lacks it (`__kit_lacks!`); `needs.rs` documents them.
const CAPABILITIES: [&str; 5] = ["clock", "data", "foreign_data", "damaged_bytes", "pool"];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut generated = String::new();
    for kit in KITS {
        let path = format!("src/{kit}/cases.rs");
        println!("cargo::rerun-if-changed={path}");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let file = syn::parse_file(&source).unwrap_or_else(|e| panic!("{path}: {e}"));
        let cases = cases_with_needs(&file, &path);
        write_case_list(&mut generated, kit, &cases);
    }
    std::fs::write(Path::new(&out).join("case_lists.rs"), generated).expect("write the case lists");
}

/// The file's cases in order of appearance, each with the capabilities it needs.
fn cases_with_needs(file: &syn::File, path: &str) -> Vec<(String, BTreeSet<String>)> {
    let functions: Vec<&syn::ItemFn> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Fn(function) => Some(function),
            _ => None,
        })
        .collect();
    // Needs reach a case through the helpers it calls, never through another case.
    let helpers: BTreeSet<String> = functions
        .iter()
        .filter(|f| !is_case(f))
        .map(|f| f.sig.ident.to_string())
        .collect();
    // Per function: the needs it calls directly and the helpers of this file it calls.
    let mut direct: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for function in &functions {
        let mut called = BTreeSet::new();
        collect_calls(function.block.to_token_stream(), &mut called);
        let needs = called
            .iter()
            .filter_map(|ident| ident.strip_prefix("needs_"))
            .map(|capability| {
                assert!(
                    CAPABILITIES.contains(&capability),
                    "{path}: `{}` calls needs_{capability}, an unknown capability (known: \
                     {CAPABILITIES:?}; a new one is added in build.rs, lib.rs and needs.rs)",
                    function.sig.ident
                );
                capability.to_owned()
            })
            .collect();
        let calls = called.intersection(&helpers).cloned().collect();
        direct.insert(function.sig.ident.to_string(), (needs, calls));
    }
    functions
        .iter()
        .filter(|f| is_case(f))
        .map(|f| {
            let name = f.sig.ident.to_string();
            let needs = transitive_needs(&name, &direct, &mut BTreeSet::new());
            (name, needs)
        })
        .collect()
}

/// A case is a `pub async fn`.
fn is_case(function: &syn::ItemFn) -> bool {
    matches!(function.vis, syn::Visibility::Public(_)) && function.sig.asyncness.is_some()
}

fn transitive_needs(
    function: &str,
    direct: &BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    seen: &mut BTreeSet<String>,
) -> BTreeSet<String> {
    let mut needs = BTreeSet::new();
    if !seen.insert(function.to_owned()) {
        return needs;
    }
    if let Some((own, calls)) = direct.get(function) {
        needs.extend(own.iter().cloned());
        for callee in calls {
            needs.extend(transitive_needs(callee, direct, seen));
        }
    }
    needs
}

/// The names of the functions `tokens` calls (`name(...)`, macro arguments included; method
/// calls `.name(...)` are not calls of this file's functions).
fn collect_calls(tokens: TokenStream, into: &mut BTreeSet<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) => {
                let called = matches!(
                    tokens.get(i + 1),
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis
                );
                let method = matches!(
                    i.checked_sub(1).and_then(|j| tokens.get(j)),
                    Some(TokenTree::Punct(p)) if p.as_char() == '.'
                );
                if called && !method {
                    into.insert(ident.to_string());
                }
            }
            TokenTree::Group(group) => collect_calls(group.stream(), into),
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

fn write_case_list(out: &mut String, kit: &str, cases: &[(String, BTreeSet<String>)]) {
    let mut list = String::new();
    for (case, needs) in cases {
        let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
        writeln!(list, "            {case} [{}],", needs.join(" ")).expect("a String");
    }
    writeln!(
        out,
        "/// Every case of the {kit} kit with what it needs (generated by build.rs).
#[doc(hidden)]
#[macro_export]
macro_rules! __{kit}_case_list {{
    (($factory:expr) $without:tt) => {{
        $crate::__kit_tests! {{ {kit} ($factory) $without [
{list}        ] }}
    }};
}}
"
    )
    .expect("a String");
}

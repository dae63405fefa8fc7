//! Prints Markdown tables of the last criterion run: for each backend, one row per operation
//! (criterion group `<backend>/<operation>`) with the raw client's median and every other
//! implementation's ratio to it; then every benchmark's median in one long table. The raw
//! client of a group is the function named `raw …` or `async-memcached`.
//!
//!     cargo run -p benches --bin bench-summary [-- target/criterion]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One measured function of a group.
struct Measured {
    function: String,
    median_ns: f64,
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/criterion"), PathBuf::from);
    let mut groups: BTreeMap<String, Vec<Measured>> = BTreeMap::new();
    for dir in benchmark_dirs(&root) {
        let (Some(meta), Some(estimates)) = (
            read_json(&dir.join("benchmark.json")),
            read_json(&dir.join("estimates.json")),
        ) else {
            continue;
        };
        let (Some(group), Some(function), Some(median_ns)) = (
            meta["group_id"].as_str(),
            meta["function_id"].as_str(),
            estimates["median"]["point_estimate"].as_f64(),
        ) else {
            continue;
        };
        groups.entry(group.to_owned()).or_default().push(Measured {
            function: function.to_owned(),
            median_ns,
        });
    }
    if groups.is_empty() {
        eprintln!(
            "no criterion results under {} (run `cargo bench -p benches` first)",
            root.display()
        );
        std::process::exit(1);
    }
    print_matrices(&groups);
    println!("| group | implementation | median | ratio to the raw client |");
    println!("|---|---|---|---|");
    for (group, mut measured) in groups {
        measured.sort_by_key(|m| (!is_raw(m), m.function.clone()));
        // The first raw function (by name) is the baseline; other raw rows are compared to it.
        let raw = measured.first().filter(|m| is_raw(m)).map(|m| m.median_ns);
        for (index, m) in measured.iter().enumerate() {
            let ratio = match raw {
                Some(_) if index == 0 => "baseline".to_owned(),
                Some(raw) => format!("{:.2}x", m.median_ns / raw),
                None => "–".to_owned(),
            };
            println!(
                "| {group} | {} | {} | {ratio} |",
                m.function,
                human(m.median_ns)
            );
        }
    }
}

/// How the harness names the raw client's rows on keys of Doctrine's layout.
const DOCTRINE_KEYS: &str = ", Doctrine's keys";

fn is_raw(m: &Measured) -> bool {
    m.function.starts_with("raw") || m.function.starts_with("async-memcached")
}

/// One table per backend: operations down, implementations across, ratios to the raw client.
fn print_matrices(groups: &BTreeMap<String, Vec<Measured>>) {
    let mut backends: BTreeMap<&str, Vec<(&str, &Vec<Measured>)>> = BTreeMap::new();
    for (group, measured) in groups {
        if let Some((backend, operation)) = group.split_once('/') {
            backends
                .entry(backend)
                .or_default()
                .push((operation, measured));
        }
    }
    for (backend, operations) in backends {
        // Columns in the order the harness first shows them.
        let mut columns: Vec<&str> = Vec::new();
        for (_, measured) in &operations {
            for m in measured.iter().filter(|m| !is_raw(m)) {
                if !columns.contains(&column_of(&m.function)) {
                    columns.push(column_of(&m.function));
                }
            }
        }
        columns.sort_by_key(|c| column_rank(c));
        let mut operations = operations;
        operations.sort_by_key(|(operation, _)| operation_rank(operation));
        println!(
            "**{backend}** (ratio to the raw client's median; lower is better; in parentheses, \
             Doctrine's ratio to the raw client on keys of Doctrine's layout)\n"
        );
        println!("| operation | raw client | {} |", columns.join(" | "));
        println!("|---|---|{}", "---|".repeat(columns.len()));
        for (operation, measured) in operations {
            let raw = measured
                .iter()
                .filter(|m| is_raw(m))
                .min_by(|a, b| a.function.cmp(&b.function));
            let Some(raw) = raw else { continue };
            let raw_on_doctrine_keys = measured
                .iter()
                .find(|m| is_raw(m) && m.function.ends_with(DOCTRINE_KEYS));
            let cells: Vec<String> = columns
                .iter()
                .map(|column| {
                    let Some(m) = measured.iter().find(|m| column_of(&m.function) == *column)
                    else {
                        return "–".to_owned();
                    };
                    let ratio = format!("{:.2}x", m.median_ns / raw.median_ns);
                    match raw_on_doctrine_keys {
                        Some(on_its_keys) if column.starts_with("Doctrine") => {
                            format!("{ratio} ({:.2}x)", m.median_ns / on_its_keys.median_ns)
                        }
                        _ => ratio,
                    }
                })
                .collect();
            println!(
                "| {operation} | {} ({}) | {} |",
                human(raw.median_ns),
                raw.function,
                cells.join(" | ")
            );
        }
        println!();
    }
}

/// Where an operation's row goes: the order of `benches::harness`, unknown ones last.
fn operation_rank(operation: &str) -> (usize, String) {
    const ORDER: [&str; 8] = [
        "get_hit",
        "get_miss",
        "set",
        "get_many_100",
        "set_many_100",
        "save_deferred_100_commit",
        "session_cycle",
        "32_concurrent_gets",
    ];
    let rank = ORDER
        .iter()
        .position(|known| *known == operation)
        .unwrap_or(ORDER.len());
    (rank, operation.to_owned())
}

/// The column of a function: the session cycle's handlers go under the abstraction they use.
fn column_of(function: &str) -> &str {
    function
        .strip_prefix("session handler over ")
        .unwrap_or(function)
}

/// Where an implementation's column goes: the store first, then PSR-6, PSR-16, Doctrine.
fn column_rank(name: &str) -> (u8, String) {
    let rank = if name.starts_with("Store") {
        0
    } else if name.starts_with("Arc<dyn Store>") {
        1
    } else if name.starts_with("PSR-6") {
        2
    } else if name.starts_with("PSR-16") {
        3
    } else if name.starts_with("Doctrine") {
        4
    } else {
        5
    };
    (rank, name.to_owned())
}

/// The `new` result directories (one per benchmark) below `root`.
fn benchmark_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                found.push(path);
            } else if path
                .file_name()
                .is_none_or(|n| n != "base" && n != "report")
            {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn human(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

//! Prints a Markdown table of the last criterion run: each benchmark's median and its ratio to
//! the raw client of its group (the function named `raw …`, or `async-memcached…`).
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
    println!("| group | implementation | median | ratio to the raw client |");
    println!("|---|---|---|---|");
    for (group, mut measured) in groups {
        let is_raw = |m: &Measured| {
            m.function.starts_with("raw") || m.function.starts_with("async-memcached")
        };
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

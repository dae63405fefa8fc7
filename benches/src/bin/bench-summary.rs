//! Markdown tables of the last criterion run: for each backend, one row per operation
//! (criterion group `<backend>/<operation>`) with the raw client's median and every other
//! implementation's ratio to it; then every benchmark's median in one long table. The raw
//! client of a group is the function named `raw …` or `async-memcached`.
//!
//!     cargo run -p benches --bin bench-summary [-- [--write FILE] [--php FILE] [target/criterion]]
//!
//! With the PHP peer's results (`php benches/php/peer.php` writes `target/php-peer.json`, the
//! default for `--php`), a table puts each row beside Symfony's on the same workload.
//!
//! Without `--write` it prints both. With `--write benches/README.md` it replaces what lies
//! between the file's `<!-- bench-summary: begin -->` and `<!-- bench-summary: end -->` lines
//! with the per-backend tables, headed by the commit they were measured at.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One measured function of a group.
struct Measured {
    function: String,
    median_ns: f64,
}

const BEGIN: &str = "<!-- bench-summary: begin -->";
const END: &str = "<!-- bench-summary: end -->";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut write_to = None;
    let mut root = PathBuf::from("target/criterion");
    let mut php = PathBuf::from("target/php-peer.json");
    while let Some(arg) = args.next() {
        if arg == "--write" {
            write_to = args.next().map(PathBuf::from);
        } else if arg == "--php" {
            php = args.next().map(PathBuf::from).unwrap_or(php);
        } else {
            root = PathBuf::from(arg);
        }
    }
    let groups = read_groups(&root);
    if groups.is_empty() {
        eprintln!(
            "no criterion results under {} (run `cargo bench -p benches` first)",
            root.display()
        );
        std::process::exit(1);
    }
    let mut tables = matrices(&groups);
    if let Some(peer) = read_json(&php) {
        tables.push_str(&against_php(&groups, &peer));
    }
    match write_to {
        Some(path) => {
            if let Err(problem) = write_between_markers(&path, &tables) {
                eprintln!("{}: {problem}", path.display());
                std::process::exit(1);
            }
        }
        None => {
            print!("{tables}");
            print!("{}", medians(groups));
        }
    }
}

/// The project beside the PHP peer (`benches/php/peer.php`): every row both measured, with
/// the project's median, PHP's, their ratio, and the project's ratio to the raw client.
fn against_php(groups: &BTreeMap<String, Vec<Measured>>, peer: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**Against PHP** (Symfony Cache {} on PHP {}, the same workloads; the project's median \
         over PHP's median of {} runs, lower is better)\n",
        peer["symfony_cache"].as_str().unwrap_or("?"),
        peer["php"].as_str().unwrap_or("?"),
        peer["runs"].as_u64().unwrap_or(0),
    );
    out.push_str(
        "| group | implementation | project | PHP | project / PHP | project / raw client |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    let mut rows: Vec<(&String, &Measured, f64)> = Vec::new();
    for (group, measured) in groups {
        for m in measured {
            if let Some(php_ns) = peer["rows"][group][&m.function].as_f64() {
                rows.push((group, m, php_ns));
            }
        }
    }
    rows.sort_by_key(|(group, m, _)| {
        let (backend, operation) = group.split_once('/').unwrap_or((group, ""));
        (
            backend.to_owned(),
            operation_rank(operation),
            column_rank(column_of(&m.function)),
        )
    });
    for (group, m, php_ns) in rows {
        let raw = groups[group]
            .iter()
            .filter(|r| is_raw(r))
            .min_by(|a, b| a.function.cmp(&b.function))
            .map_or("–".to_owned(), |raw| {
                format!("{:.2}x", m.median_ns / raw.median_ns)
            });
        let _ = writeln!(
            out,
            "| {group} | {} | {} | {} | {:.2}x | {raw} |",
            m.function,
            human(m.median_ns),
            human(php_ns),
            m.median_ns / php_ns
        );
    }
    out.push('\n');
    out
}

/// Every measured function, by criterion group.
fn read_groups(root: &Path) -> BTreeMap<String, Vec<Measured>> {
    let mut groups: BTreeMap<String, Vec<Measured>> = BTreeMap::new();
    for dir in benchmark_dirs(root) {
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
    groups
}

/// Replaces the lines between the markers of the file at `path` with `tables`, headed by the
/// commit measured.
fn write_between_markers(path: &Path, tables: &str) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("no {BEGIN} ... {END} lines to write between"));
    };
    if end < begin {
        return Err(format!("{END} comes before {BEGIN}"));
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "an unknown commit".to_owned());
    let mut out = String::with_capacity(text.len() + tables.len());
    out.push_str(&text[..begin + BEGIN.len()]);
    let _ = write!(
        out,
        "\n\nOne run of the whole suite at {commit}.\n\n{tables}"
    );
    out.push_str(&text[end..]);
    fs::write(path, out).map_err(|e| e.to_string())
}

/// Every benchmark's median and its ratio to its group's raw client, one long table.
fn medians(groups: BTreeMap<String, Vec<Measured>>) -> String {
    let mut out = String::new();
    out.push_str("| group | implementation | median | ratio to the raw client |\n");
    out.push_str("|---|---|---|---|\n");
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
            let _ = writeln!(
                out,
                "| {group} | {} | {} | {ratio} |",
                m.function,
                human(m.median_ns)
            );
        }
    }
    out
}

/// How the harness names the raw client's rows on keys of Doctrine's layout.
const DOCTRINE_KEYS: &str = ", Doctrine's keys";

fn is_raw(m: &Measured) -> bool {
    m.function.starts_with("raw") || m.function.starts_with("async-memcached")
}

/// One table per backend: operations down, implementations across, ratios to the raw client.
fn matrices(groups: &BTreeMap<String, Vec<Measured>>) -> String {
    let mut out = String::new();
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
        let _ = writeln!(
            out,
            "**{backend}** (ratio to the raw client's median; lower is better; in parentheses, \
             Doctrine's ratio to the raw client on keys of Doctrine's layout)\n"
        );
        let _ = writeln!(out, "| operation | raw client | {} |", columns.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(columns.len()));
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
            let _ = writeln!(
                out,
                "| {operation} | {} ({}) | {} |",
                human(raw.median_ns),
                raw.function,
                cells.join(" | ")
            );
        }
        out.push('\n');
    }
    out
}

/// Where an operation's row goes: the order of `benches::harness`, unknown ones last.
fn operation_rank(operation: &str) -> (usize, String) {
    const ORDER: [&str; 10] = [
        "get_hit",
        "get_miss",
        "set",
        "get_many_100",
        "set_many_100",
        "save_deferred_100_commit",
        "session_cycle",
        "32_concurrent_gets",
        "32_tasks_1_threads",
        "32_tasks_2_threads",
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

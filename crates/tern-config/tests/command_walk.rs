//! Walks the vendor command reference (`shared/reference/huawei-commands`, one JSON per
//! command): every example of every command is typed into a fresh session, line by line, as
//! the reference shows it. Each line tern accepts must show: a configuration line changes
//! `display current-configuration` (a line that changes the model without changing what is
//! printed is a silent drop), and a line kept verbatim without being acted on is named by the
//! kept-feature report the daemon warns with. Each line tern refuses must leave the candidate
//! as it was and say why (an `Error: …` message). Nothing may be accepted and ignored.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tern_config::{Config, Outcome, Session};

/// `shared/` sits beside the repository checkout.
fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/huawei-commands")
}

/// Every example of every command: (file, lines typed after their prompts).
fn examples() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reference_dir())
        .expect("shared/reference/huawei-commands beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let name = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                f.file_name().unwrap().to_string_lossy()
            );
            for ex in v["Examples"].as_array().into_iter().flatten() {
                let lines: Vec<String> = ex
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l.as_str())
                    .filter_map(typed)
                    .collect();
                if !lines.is_empty() {
                    out.push((name.clone(), lines));
                }
            }
        }
    }
    out
}

/// The command typed on a prompt line (`[*HUAWEI-bgp] peer 1.1.1.1 enable`), None for output.
fn typed(line: &str) -> Option<String> {
    let l = line.trim_start();
    let close = match l.chars().next()? {
        '[' => ']',
        '<' => '>',
        _ => return None,
    };
    let end = l.find(close)?;
    let prompt = &l[1..end];
    // A prompt is a host name, optionally with a view, after `~` or `*` in VRP8.
    if prompt.is_empty() || prompt.contains(' ') {
        return None;
    }
    let cmd = l[end + 1..].trim();
    (!cmd.is_empty()).then(|| cmd.to_owned())
}

/// What happened to the accepted configuration lines.
#[derive(Default)]
struct Walk {
    accepted: usize,
    refused: usize,
    /// Lines that changed the model but not the printed configuration.
    hidden: Vec<String>,
    /// Kept lines whose feature the kept report does not name.
    unnamed: Vec<String>,
    /// Refusals that changed the candidate or said nothing.
    bad_refusals: Vec<String>,
}

fn walk_one(file: &str, lines: &[String], w: &mut Walk) {
    // A terminal session starts in the user view, as the examples do (`<HUAWEI>`).
    let mut s = Session::terminal(Config::default());
    for line in lines {
        let before: Config = s.config().clone();
        let text_before = before.to_vrp();
        match s.apply_line(line) {
            Ok(Outcome::Applied) => {
                w.accepted += 1;
                let after = s.config();
                if *after == before {
                    if std::env::var_os("WALK_DEBUG").is_some() {
                        eprintln!("unchanged {file}: {line}");
                    }
                    continue;
                }
                if after.to_vrp() == text_before {
                    w.hidden.push(format!("{file}: {line}"));
                }
                if after.kept.len() > before.kept.len() {
                    let named = after
                        .kept
                        .last()
                        .is_some_and(|k| after.kept_features().contains(&k.feature));
                    if !named {
                        w.unnamed.push(format!("{file}: {line}"));
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                w.refused += 1;
                if std::env::var_os("WALK_DEBUG").is_some() {
                    eprintln!("refused {file}: {line}: {}", e.message());
                }
                if *s.config() != before || !e.message().starts_with("Error:") {
                    w.bad_refusals
                        .push(format!("{file}: {line}: {}", e.message()));
                }
                // The rest of the example depends on this line.
                break;
            }
        }
    }
}

#[test]
fn no_reference_command_is_accepted_and_ignored() {
    let all = examples();
    assert!(all.len() > 1000, "examples: {}", all.len());
    let mut w = Walk::default();
    let mut per_dir: BTreeMap<String, usize> = BTreeMap::new();
    for (file, lines) in &all {
        walk_one(file, lines, &mut w);
        *per_dir
            .entry(file.split('/').next().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    eprintln!(
        "examples {} (per folder {per_dir:?}); lines accepted {}, refused {}",
        all.len(),
        w.accepted,
        w.refused
    );
    assert!(
        w.hidden.is_empty(),
        "accepted, changed the model, not shown in display current-configuration:\n{}",
        w.hidden.join("\n")
    );
    assert!(
        w.unnamed.is_empty(),
        "kept without a feature in the kept report:\n{}",
        w.unnamed.join("\n")
    );
    assert!(
        w.bad_refusals.is_empty(),
        "refused but changed the candidate, or without an error message:\n{}",
        w.bad_refusals.join("\n")
    );
}

//! The README's examples are run, so what it shows cannot drift from what
//! the tool prints.
//!
//! Every ```console block of README.md is a list of commands (`$ kubectl
//! netpol ...`, continued with a trailing `\`), each followed by what it
//! prints. A command that reads manifests (`-f`) is run offline on the
//! bundled examples and its output compared line by line (trailing spaces
//! ignored); a line `...` stands for any number of lines. Commands that need
//! a cluster (no `-f`) are not run here: the end-to-end tests cover them.
//! The counts the README gives for `examples/shop` are checked against the
//! example itself.

mod common;

use common::{netpol, parse_json, stdout_of};

/// One command of a console block and the lines shown after it.
#[derive(Debug)]
struct Example {
    /// 1-based line of README.md where the command starts.
    line: usize,
    /// The words after `kubectl netpol`.
    args: Vec<String>,
    /// Where stdout is redirected (`> FILE`), if it is.
    redirected: bool,
    /// The lines shown as its output.
    output: Vec<String>,
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md")
}

/// Splits a command line the way a POSIX shell would for the simple words
/// the README uses: whitespace, single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(
        quote.is_none(),
        "unbalanced quote in README command: {line}"
    );
    if in_word {
        out.push(word);
    }
    out
}

fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    let mut continued: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if !in_console {
            in_console = line.trim_start() == "```console";
            continue;
        }
        if line.trim_start().starts_with("```") {
            in_console = false;
            assert!(continued.is_none(), "README.md:{}: command ends in \\", i);
            continue;
        }
        if let Some((start, mut cmd)) = continued.take() {
            let (part, more) = match line.trim_end().strip_suffix('\\') {
                Some(p) => (p, true),
                None => (line, false),
            };
            cmd.push(' ');
            cmd.push_str(part.trim());
            if more {
                continued = Some((start, cmd));
            } else {
                out.push(command(start, &cmd));
            }
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            match cmd.trim_end().strip_suffix('\\') {
                Some(part) => continued = Some((i + 1, part.trim().to_string())),
                None => out.push(command(i + 1, cmd)),
            }
            continue;
        }
        let last = out
            .last_mut()
            .unwrap_or_else(|| panic!("README.md:{}: output before any command", i + 1));
        last.output.push(line.trim_end().to_string());
    }
    out
}

fn command(line: usize, cmd: &str) -> Example {
    let mut w = words(cmd);
    let redirected = match w.iter().position(|x| x == ">") {
        Some(p) => {
            w.truncate(p);
            true
        }
        None => false,
    };
    assert!(
        w.len() >= 2 && w[0] == "kubectl" && w[1] == "netpol",
        "README.md:{line}: a console example runs `kubectl netpol`: {cmd}"
    );
    Example {
        line,
        args: w.split_off(2),
        redirected,
        output: Vec::new(),
    }
}

/// Whether `actual` shows `expected`, where an expected line `...` stands
/// for any run of lines. Returns the first expected line that did not show.
fn mismatch(expected: &[String], actual: &[&str]) -> Option<String> {
    let mut a = 0;
    let mut e = 0;
    while e < expected.len() {
        if expected[e] == "..." {
            e += 1;
            let Some(next) = expected.get(e) else {
                return None; // trailing `...`: the rest is free
            };
            match actual[a..].iter().position(|l| l.trim_end() == next) {
                Some(p) => a += p,
                None => return Some(next.clone()),
            }
            continue;
        }
        match actual.get(a) {
            Some(l) if l.trim_end() == expected[e] => {
                a += 1;
                e += 1;
            }
            _ => return Some(expected[e].clone()),
        }
    }
    (a < actual.len()).then(|| format!("(end of output; it goes on with {:?})", actual[a]))
}

#[test]
fn console_examples_print_what_the_readme_shows() {
    let all = examples(&readme());
    let offline: Vec<&Example> = all
        .iter()
        .filter(|x| {
            let files = x.args.iter().any(|a| a == "-f" || a == "--filename");
            // `diff OLD NEW` compares two manifests: offline too.
            files || x.args.first().is_some_and(|a| a == "diff")
        })
        .collect();
    // The README has offline examples for list, explain, can, lint,
    // coverage and matrix at least; fewer means the parser lost them.
    assert!(offline.len() >= 6, "offline examples found: {offline:#?}");
    let mut failures = Vec::new();
    for x in offline {
        let a = netpol().args(&x.args).assert();
        let out = a.get_output();
        let code = out.status.code();
        // Answers, not errors: 0, 1 (`can`: denied), 3 and 4 (`check`), 5
        // (`lint`: findings); an error exits 1 or 2 with an `error:` line.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !matches!(code, Some(0 | 1 | 3 | 4 | 5))
            || stderr.lines().any(|l| l.starts_with("error: "))
        {
            failures.push(format!(
                "README.md:{}: kubectl netpol {}: exit {code:?}: {stderr}",
                x.line,
                x.args.join(" "),
            ));
            continue;
        }
        if x.redirected || x.output.is_empty() {
            continue;
        }
        let stdout = stdout_of(&a);
        let lines: Vec<&str> = stdout.lines().collect();
        if let Some(line) = mismatch(&x.output, &lines) {
            failures.push(format!(
                "README.md:{}: kubectl netpol {}: the README shows {line:?}; the tool printed:\n{stdout}",
                x.line,
                x.args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_matcher_can_fail() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(mismatch(&e(&["a", "...", "z"]), &["a", "b", "z"]), None);
    assert_eq!(mismatch(&e(&["a", "..."]), &["a", "b"]), None);
    assert!(mismatch(&e(&["a", "b"]), &["a", "c"]).is_some());
    assert!(mismatch(&e(&["a"]), &["a", "b"]).is_some());
    assert!(mismatch(&e(&["a", "...", "z"]), &["a", "b"]).is_some());
    assert_eq!(words("a 'b c' \"d\""), vec!["a", "b c", "d"]);
}

/// "`examples/shop`: six namespaces, 15 pods and workloads, 12 policies":
/// the numbers in README.md and examples/shop/README.md are the example's.
#[test]
fn shop_counts_in_the_readmes_are_the_examples() {
    let coverage = parse_json(&stdout_of(
        &netpol()
            .args(["coverage", "-f", "examples/shop", "-o", "json"])
            .assert()
            .success(),
    ));
    let namespaces = coverage["namespaces"].as_array().expect("namespaces");
    let pods: u64 = namespaces.iter().map(|n| n["pods"].as_u64().unwrap()).sum();
    let list = parse_json(&stdout_of(
        &netpol()
            .args(["list", "-A", "-f", "examples/shop", "-o", "json"])
            .assert()
            .success(),
    ));
    let policies = list["policies"].as_array().expect("policies").len();
    let words = [
        "zero", "one", "two", "three", "four", "five", "six", "seven",
    ];
    let shown = format!(
        "`examples/shop`: {} namespaces,\n{pods} pods and workloads, {policies} policies",
        words[namespaces.len()]
    );
    assert!(readme().contains(&shown), "README.md should say: {shown:?}");
    let shop = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/shop/README.md"
    ))
    .expect("read examples/shop/README.md");
    for shown in [
        format!("({pods} pods and workloads,"),
        format!("({policies} NetworkPolicies)"),
    ] {
        assert!(
            shop.contains(&shown),
            "examples/shop/README.md should say {shown:?}"
        );
    }
}

/// Every ServiceGraph the README shows (```yaml blocks) generates, over
/// the shop's manifests, without an error or a warning.
#[test]
fn readme_service_graphs_generate() {
    let text = readme();
    let mut graphs = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match &mut block {
            None if line.trim_start() == "```yaml" => block = Some(String::new()),
            Some(b) if line.trim_start().starts_with("```") => {
                if b.contains("kind: ServiceGraph") {
                    graphs.push(std::mem::take(b));
                }
                block = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    assert!(!graphs.is_empty(), "the README shows a ServiceGraph");
    for g in graphs {
        let a = netpol()
            .args(["generate", "-f", "examples/shop", "-f", "-"])
            .write_stdin(g.clone())
            .assert();
        let out = a.get_output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{g}\n{stderr}");
        assert!(
            !stderr.contains("warning:") && !stderr.contains("note:"),
            "{g}\n{stderr}"
        );
    }
}

/// The Rust version the README asks for is `rust-version` in Cargo.toml.
#[test]
fn readme_rust_version_is_cargo_toml_rust_version() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("read Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("Cargo.toml sets rust-version")
        .trim_matches('"');
    let text = readme();
    let mut said = 0;
    for (i, line) in text.lines().enumerate() {
        if let Some(p) = line.find("Rust 1.") {
            let v: String = line[p + 5..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            assert_eq!(
                v.trim_end_matches('.'),
                version,
                "README.md:{}: {line}",
                i + 1
            );
            said += 1;
        }
    }
    assert!(
        said >= 2,
        "README.md names the Rust version for Try it and Install"
    );
}

/// Every `NETPOL_*` variable a script or test reads is documented in the
/// README (those build.rs sets for the compiler are not inputs).
#[test]
fn every_variable_the_scripts_and_tests_read_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scripts", "tests", "tests/common"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    let text = readme();
    let mut missing = std::collections::BTreeSet::new();
    for file in files {
        let Ok(body) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut rest = body.as_str();
        while let Some(p) = rest.find("NETPOL_") {
            let before = rest[..p].chars().next_back();
            let name: String = rest[p..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[p + name.len()..];
            let part_of_longer = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if part_of_longer || ["NETPOL_GIT_COMMIT", "NETPOL_TARGET"].contains(&name.as_str()) {
                continue;
            }
            if !text.contains(&format!("`{name}")) {
                missing.insert(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not documented in README.md: {missing:?}"
    );
}

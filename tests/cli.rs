//! Hermetic end-to-end tests of the `kubectl-netpol` binary.
//!
//! Every run goes through [`netpol`]: an empty environment except `PATH`,
//! `HOME` pointing at a fresh temporary directory, no `NO_COLOR`, the
//! package root as working directory (so `examples/shop` resolves), stdin
//! empty and stdout a pipe (never a terminal).
//!
//! Expected verdicts below were derived by hand from
//! `examples/shop/policies.yaml`, not copied from the tool's output.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

mod common;
use common::*;

const SHOP: &str = "examples/shop";
const BAD_YAML: &str = "examples/broken/bad-yaml.yaml";
const NOT_K8S: &str = "examples/broken/not-k8s.yaml";
const INVALID: &str = "examples/broken/invalid-policy.yaml";

/// The five field paths of examples/broken/invalid-policy.yaml, one per
/// ingress rule.
const INVALID_PATHS: [&str; 5] = [
    "spec.ingress[0].ports[0].endPort",
    "spec.ingress[1].from[0].ipBlock.cidr",
    "spec.ingress[2].from[0].ipBlock.except[0]",
    "spec.ingress[3].ports[0].protocol",
    "spec.ingress[4].from[0]",
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The one warning the shop example always earns from `matrix`: its
/// workload manifests have no IPs and some policies use ipBlocks.
fn expected_warning(line: &str) -> bool {
    line.starts_with("warning: ") && line.contains("no known IP (workload manifests have none)")
}

/// Runs a command that must succeed silently on stderr (but for the
/// expected matrix warning); returns stdout.
fn ok(args: &[&str]) -> String {
    let a = netpol().args(args).assert().code(0);
    let err = stderr_of(&a);
    assert!(
        err.lines().all(expected_warning),
        "{args:?}: unexpected stderr: {err}"
    );
    stdout_of(&a)
}

/// Runs a command that must exit with `code` and say nothing on stderr;
/// returns stdout.
fn quiet(args: &[&str], code: i32) -> String {
    let a = netpol().args(args).assert().code(code);
    let err = stderr_of(&a);
    assert!(
        err.lines().all(expected_warning),
        "{args:?}: unexpected stderr: {err}"
    );
    stdout_of(&a)
}

fn set<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
    items.iter().copied().collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")))
        .collect()
}

/// Removes SGR escape sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The shop manifests as one multi-document stream, as `cat` plus
/// separators would give.
fn shop_stream() -> String {
    ["namespaces.yaml", "workloads.yaml", "policies.yaml"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SHOP).join(f))
                .expect("read example")
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Full matrix of the shop as JSON.
fn shop_matrix() -> Value {
    parse_json(&ok(&["matrix", "-A", "-f", SHOP, "-o", "json"]))
}

/// The `ports` value of the connection from -> to, or None when absent.
fn connection<'a>(matrix: &'a Value, from: &str, to: &str) -> Option<&'a Value> {
    matrix["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"] == from && c["to"] == to)
        .map(|c| &c["ports"])
}

// ---------------------------------------------------------------------------
// Help, version, usage errors
// ---------------------------------------------------------------------------

#[test]
fn help_shows_kubectl_usage_and_examples() {
    let out = ok(&["--help"]);
    assert!(out.contains("Usage: kubectl netpol"), "{out}");
    for sub in ["explain", "list", "can", "matrix"] {
        assert!(
            out.contains(&format!("\n  {sub} ")),
            "{sub} missing:\n{out}"
        );
    }
    assert!(
        out.contains("kubectl netpol list -f examples/shop"),
        "{out}"
    );
    assert_eq!(ok(&["-h"]).lines().next(), out.lines().next());
}

#[test]
fn every_subcommand_help_works() {
    for sub in ["explain", "list", "can", "matrix"] {
        let out = ok(&[sub, "--help"]);
        assert!(
            out.contains(&format!("Usage: kubectl netpol {sub}")),
            "{sub}:\n{out}"
        );
        assert!(
            out.contains("--namespace"),
            "{sub}: global flags listed:\n{out}"
        );
        assert!(out.contains("Examples:"), "{sub}:\n{out}");
    }
    let can = ok(&["can", "--help"]);
    assert!(
        can.contains("Exit status: 0 allowed (for a Service: every backing pod on every Service"),
        "{can}"
    );
    assert!(can.contains("--port"), "{can}");
    // The endpoint forms are taught.
    for form in ["svc/NAME", "node/NAME", "ClusterIP", "host-network"] {
        assert!(can.contains(form), "can --help lacks {form}:\n{can}");
    }
    let explain = ok(&["explain", "--help"]);
    assert!(explain.contains("svc/NAME"), "{explain}");
}

#[test]
fn version_prints_name_and_version() {
    let out = ok(&["--version"]);
    assert_eq!(
        out,
        format!("kubectl-netpol {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(ok(&["-V"]), out);
}

#[test]
fn subcommand_version_is_not_a_made_up_binary_name() {
    // kubectl's subcommands take no --version; the plugin-level one is the
    // only place a version is printed.
    for sub in ["explain", "list", "can", "matrix"] {
        let a = netpol()
            .args([sub, "--version"])
            .assert()
            .code(2)
            .stdout("");
        assert!(
            !stderr_of(&a).contains(&format!("kubectl-netpol-{sub}")),
            "{sub} --version"
        );
    }
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    for args in [
        &["bogus"][..],
        &["list", "-o", "bogus", "-f", SHOP],
        &["list", "--color", "sometimes", "-f", SHOP],
        &["explain", "-f", SHOP],
        &["can", "frontend/web", "-f", SHOP],
        &["list", "--no-such-flag"],
    ] {
        let a = netpol().args(args).assert().code(2).stdout("");
        let err = stderr_of(&a);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    // No subcommand at all: the help, on stdout, exit 0 (as kubectl).
    for args in [&[][..], &["help"], &["-n", "x"]] {
        let a = netpol().args(args).assert().code(0).stderr("");
        assert!(
            stdout_of(&a).contains("Usage: kubectl netpol [OPTIONS] <COMMAND>"),
            "{args:?}"
        );
    }
    // `help COMMAND` is `COMMAND --help`, as `kubectl help get`.
    assert_eq!(ok(&["help", "list"]), ok(&["list", "--help"]));
    assert_eq!(
        one_error(&["help", "bogus"], 2),
        "error: unrecognized subcommand 'bogus' (see kubectl netpol --help)"
    );
}

/// clap's usage errors are one `error:` line, clap's message and its
/// suggestion kept, then where to read more; exit 2; colour only on a
/// terminal (never with --color never or NO_COLOR).
#[test]
fn usage_errors_from_the_parser_are_one_line() {
    for (args, expected) in [
        (
            &["list", "--selectr", "x"][..],
            "error: unexpected argument '--selectr' found; did you mean '--selector'? (see kubectl netpol list --help)",
        ),
        (
            &["list", "--o", "json"],
            "error: unexpected argument '--o' found; did you mean '-o/--output'? (see kubectl netpol list --help)",
        ),
        (
            &["can", "a", "b", "--n=x"],
            "error: unexpected argument '--n' found; did you mean '-n/--namespace'? (see kubectl netpol can --help)",
        ),
        (
            &["list", "--color", "sometimes"],
            "error: invalid value 'sometimes' for '--color <WHEN>'; possible values: auto, always, never (see kubectl netpol list --help)",
        ),
        (
            &["can", "a", "b", "-o", "bogus"],
            "error: invalid value 'bogus' for '--output <FORMAT>'; possible values: text, json, yaml (see kubectl netpol can --help)",
        ),
        (
            &["lsit"],
            "error: unrecognized subcommand 'lsit'; did you mean one of 'lint', 'list'? (see kubectl netpol --help)",
        ),
        (
            &["can", "a"],
            "error: the following required arguments were not provided: <DST> (see kubectl netpol can --help)",
        ),
    ] {
        assert_eq!(one_error(args, 2), expected, "{args:?}");
    }
    // Never a suggestion by spelling for a one-letter long flag that is
    // no short flag.
    let e = one_error(&["list", "--q"], 2);
    assert!(!e.contains("did you mean"), "{e}");
    // On a terminal, `error:` is red unless --color never or NO_COLOR.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
    {
        let bin = env!("CARGO_BIN_EXE_kubectl-netpol");
        let on_tty = |env: &str, extra: &str| {
            let o = std::process::Command::new("script")
                .args([
                    "-qec",
                    &format!("{env} {bin} list --selectr x {extra} 2>&1"),
                    "/dev/null",
                ])
                .env_remove("NO_COLOR")
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).to_string()
        };
        assert!(
            on_tty("", "").contains("\x1b[1;31merror:\x1b[0m"),
            "{:?}",
            on_tty("", "")
        );
        for (env, extra) in [
            ("", "--color never"),
            ("NO_COLOR=1", ""),
            ("", "--color=never"),
        ] {
            let out = on_tty(env, extra);
            assert!(
                !out.contains('\x1b') && out.contains("error: "),
                "{env} {extra}: {out:?}"
            );
        }
    }
}

/// pflag's ways: the last of a repeated flag wins, booleans take
/// `=true/false/1/0/t/f/...`, empty values are "not given".
#[test]
fn flags_behave_as_pflag() {
    let backend = ok(&["list", "-n", "backend", "-f", SHOP]);
    assert_eq!(
        ok(&["list", "-n", "frontend", "-n", "backend", "-f", SHOP]),
        backend
    );
    assert_eq!(
        ok(&[
            "list", "--color", "always", "--color", "never", "-n", "backend", "-f", SHOP
        ]),
        backend
    );
    let all = ok(&["list", "-A", "-f", SHOP]);
    for yes in ["1", "t", "T", "true", "TRUE", "True"] {
        assert_eq!(
            ok(&["list", &format!("-A={yes}"), "-f", SHOP]),
            all,
            "{yes}"
        );
        assert_eq!(
            ok(&["list", &format!("--all-namespaces={yes}"), "-f", SHOP]),
            all
        );
    }
    for no in ["0", "f", "F", "false", "FALSE", "False"] {
        assert_eq!(
            ok(&["list", &format!("-A={no}"), "-n", "backend", "-f", SHOP]),
            backend,
            "{no}"
        );
    }
    // Every boolean, also the subcommands' and -R.
    assert_eq!(
        ok(&["list", "-R=true", "-n", "backend", "-f", SHOP]),
        backend
    );
    ok(&["lint", "--list-checks=1"]);
    let e = one_error(&["list", "-A=yes", "-f", SHOP], 2);
    assert!(
        e.contains("strconv.ParseBool: parsing \"yes\": invalid syntax"),
        "{e}"
    );
    // Empty values mean "not given".
    assert_eq!(
        ok(&["list", "--output=", "-n", "backend", "-f", SHOP]),
        backend
    );
    assert_eq!(
        ok(&["list", "-o", "", "-n", "backend", "-f", SHOP]),
        backend
    );
}

/// --request-timeout takes Go durations (time.ParseDuration) and a bare
/// number of seconds; `--request-timeout=` is not given. Checked before
/// anything is read: against a port nothing listens on.
#[test]
fn request_timeout_takes_go_durations() {
    for good in ["1us", "1ns", "1h2m", "1.5s", "500ms", "3", "0", "1\u{b5}s"] {
        let e = one_error(
            &[
                "list",
                "-s",
                "https://127.0.0.1:1",
                "--request-timeout",
                good,
            ],
            1,
        );
        assert!(!e.contains("--request-timeout \""), "{good}: {e}");
    }
    let e = one_error(
        &["list", "-s", "https://127.0.0.1:1", "--request-timeout="],
        1,
    );
    assert!(!e.contains("--request-timeout"), "{e}");
    for bad in ["1x", "-1s", "s", "1m-"] {
        let e = one_error(
            &[
                "list",
                "-s",
                "https://127.0.0.1:1",
                &format!("--request-timeout={bad}"),
            ],
            2,
        );
        assert!(e.contains("invalid --request-timeout"), "{bad}: {e}");
    }
}

/// Connection flags mean nothing where no cluster is read: an error naming
/// the flag and why; where -f is compared with a cluster, they are taken.
#[test]
fn connection_flags_without_a_cluster_are_refused() {
    let flags: [&[&str]; 14] = [
        &["--context", "prod"],
        &["--cluster", "c"],
        &["--user", "u"],
        &["--server", "https://x"],
        &["-s", "https://x"],
        &["--token", "t"],
        &["--as", "a"],
        &["--as-group", "g"],
        &["--as-uid", "1"],
        &["--kubeconfig", "/nonexistent"],
        &["--client-certificate", "c.pem"],
        &["--client-key", "k.pem"],
        &["--request-timeout", "5s"],
        &["--insecure-skip-tls-verify"],
    ];
    let commands: [&[&str]; 7] = [
        &["list"],
        &["explain", "backend/api"],
        &["can", "frontend/web", "backend/api"],
        &["matrix"],
        &["coverage"],
        &["check"],
        &["lint"],
    ];
    for cmd in commands {
        for flag in flags {
            let args = [cmd, &["-f", SHOP], flag].concat();
            let name = match flag[0] {
                "-s" => "--server",
                f => f,
            };
            assert_eq!(
                one_error(&args, 2),
                format!("error: {name} has no effect with -f: manifests are read offline"),
                "{args:?}"
            );
        }
    }
    assert_eq!(
        one_error(&["diff", SHOP, SHOP, "--context", "prod"], 2),
        "error: --context has no effect with diff OLD NEW: both are manifests, read offline"
    );
    assert_eq!(
        one_error(
            &[
                "wizard",
                "--offline",
                "--context",
                "prod",
                "-n",
                "x",
                "--all-pods",
                "--deny-all-ingress"
            ],
            2
        ),
        "error: --context has no effect with --offline: the wizard contacts no cluster"
    );
    assert_eq!(
        one_error(
            &["wizard", "-f", SHOP, "--as", "x", "-n", "x", "--all-pods"],
            2
        ),
        "error: --as has no effect with -f: manifests are read offline"
    );
    // Where -f goes with a cluster, the flags are taken (and the
    // kubeconfig named is read: it does not exist).
    for args in [
        &[
            "lint",
            "-f",
            SHOP,
            "--against-cluster",
            "--kubeconfig",
            "/nonexistent",
        ][..],
        &["diff", "-f", SHOP, "--kubeconfig", "/nonexistent"],
    ] {
        let a = netpol().args(args).assert().failure();
        let e = stderr_of(&a);
        assert!(e.contains("/nonexistent: no such file"), "{args:?}: {e}");
    }
    // Empty values are no flag at all.
    ok(&["list", "-f", SHOP, "--context=", "--request-timeout="]);
}

/// version takes -o only: every other flag does nothing for it.
#[test]
fn version_refuses_flags_that_do_nothing() {
    for args in [
        &["--kubeconfig", "/nonexistent"][..],
        &["--context", "nosuch"],
        &["-n", "foo"],
        &["-f", "/nonexistent"],
        &["--as", "x"],
        &["-A"],
        &["-l", "a=b"],
        &["--no-headers"],
        &["--color", "never"],
        &["-v", "6"],
    ] {
        let e = one_error(&[&["version"], args].concat(), 2);
        assert!(
            e.ends_with("does not apply to version: it prints this binary's version and reads nothing (it takes -o only)"),
            "{args:?}: {e}"
        );
    }
    ok(&["version", "-o", "json"]);
}

/// Every example in every --help is a whole command on its lines: one
/// line, or lines ending in ` \`, never cut by the help's wrapping (a
/// narrow terminal included), and it parses.
#[test]
fn help_examples_are_copy_pasteable() {
    let subs = [
        "", "explain", "list", "can", "check", "wizard", "version", "lint", "coverage", "diff",
        "matrix", "generate", "sync", "graph",
    ];
    for sub in subs {
        let args: Vec<&str> = [sub, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let a = netpol().env("COLUMNS", "40").args(&args).assert().code(0);
        let help = stdout_of(&a);
        let Some((_, examples)) = help.split_once("\nExamples:\n") else {
            continue;
        };
        let mut command = String::new();
        for line in examples.lines() {
            let t = line.trim();
            assert!(line.len() <= 100, "{sub}: too wide: {line}");
            if command.is_empty() {
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                assert!(
                    t.starts_with("kubectl "),
                    "{sub}: not a command, nor a continuation: {line:?}\n{examples}"
                );
            }
            match t.strip_suffix('\\') {
                Some(part) => {
                    command.push_str(part);
                    command.push(' ');
                }
                None => {
                    command.push_str(t);
                    check_example(&command);
                    command.clear();
                }
            }
        }
        assert!(
            command.is_empty(),
            "{sub}: ends in a continuation: {command}"
        );
    }
}

/// Parses an example's `kubectl netpol ...` (the last of a pipeline) with
/// `--help` appended: every flag and value it has is accepted.
fn check_example(command: &str) {
    let last = command.rsplit('|').next().unwrap_or(command).trim();
    // Process substitution, <(...), is one file name.
    let mut words: Vec<String> = Vec::new();
    let mut inside = false;
    for w in last.split_whitespace() {
        if inside {
            inside = !w.ends_with(')');
        } else if w.starts_with("<(") {
            inside = !w.ends_with(')');
            words.push("x".into());
        } else {
            words.push(w.to_string());
        }
    }
    assert!(
        words.len() >= 2 && words[0] == "kubectl" && words[1] == "netpol",
        "{command}"
    );
    let mut args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    args.push("--help");
    let a = netpol().args(&args).assert();
    let out = a.get_output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each subcommand's -o help lists the formats that command prints, and
/// clap lists no format it refuses.
#[test]
fn output_help_lists_the_commands_formats() {
    for (sub, formats) in [
        ("can", "text|json|yaml"),
        ("list", "text|wide|json|yaml|name"),
        ("explain", "text|wide|json|yaml"),
        ("matrix", "text|json|yaml"),
    ] {
        let help = ok(&[sub, "--help"]);
        let at = help.find("--output <FORMAT>").unwrap();
        let text: String = help[at..].lines().skip(1).take(3).collect();
        assert!(
            text.contains(&format!("Output format: {formats}")),
            "{sub}: {text}"
        );
        assert!(!text.contains("possible values"), "{sub}: {text}");
        assert!(!help.contains("see its --help"), "{sub}");
    }
}

// ---------------------------------------------------------------------------
// Global flags
// ---------------------------------------------------------------------------

#[test]
fn global_flags_accepted_before_and_after_the_subcommand() {
    let after = ok(&["list", "-f", SHOP, "-n", "backend"]);
    assert!(after.starts_with("NAME "), "{after}");
    assert_eq!(ok(&["-n", "backend", "list", "-f", SHOP]), after);
    assert_eq!(ok(&["-f", SHOP, "-n", "backend", "list"]), after);
    assert_eq!(
        ok(&["--namespace=backend", "list", "--filename", SHOP]),
        after
    );
    assert_eq!(ok(&["list", "-nbackend", "-f", SHOP]), after);

    let json = ok(&["list", "-f", SHOP, "-o", "json"]);
    assert_eq!(ok(&["-o", "json", "list", "-f", SHOP]), json);
    assert_eq!(ok(&["--output", "json", "-f", SHOP, "list"]), json);

    let can = ok(&[
        "can",
        "frontend/web",
        "backend/api",
        "--port",
        "8080",
        "-f",
        SHOP,
    ]);
    assert_eq!(
        ok(&[
            "-f",
            SHOP,
            "can",
            "--port",
            "8080",
            "frontend/web",
            "backend/api"
        ]),
        can
    );
}

#[test]
fn all_namespaces_wins_over_namespace() {
    let all = ok(&["list", "-f", SHOP]);
    let out = ok(&["list", "-A", "-n", "frontend", "-f", SHOP]);
    assert!(out.starts_with("NAMESPACE "), "{out}");
    assert_eq!(out.lines().count(), all.lines().count());
    let names = |t: &str| -> Vec<String> { t.lines().map(|l| cells(l)[..2].join("/")).collect() };
    assert_eq!(names(&out), names(&all));
}

#[test]
fn repeated_filename_flags_are_merged() {
    let split = ok(&[
        "list",
        "-f",
        "examples/shop/namespaces.yaml",
        "-f",
        "examples/shop/workloads.yaml",
        "-f",
        "examples/shop/policies.yaml",
    ]);
    assert_eq!(split, ok(&["list", "-f", SHOP]));
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

#[test]
fn list_headers_without_and_with_namespace() {
    let all = ok(&["list", "-f", SHOP]);
    assert_eq!(
        cells(all.lines().next().unwrap()),
        ["NAMESPACE", "NAME", "PODS", "SUMMARY"]
    );
    assert_eq!(all.lines().count(), 1 + 12, "12 policies:\n{all}");

    let backend = ok(&["list", "-n", "backend", "-f", SHOP]);
    assert_eq!(
        cells(backend.lines().next().unwrap()),
        ["NAME", "PODS", "SUMMARY"]
    );
    assert_eq!(
        backend.lines().count(),
        1 + 7,
        "7 backend policies:\n{backend}"
    );
    assert!(!backend.contains("frontend "), "{backend}");
}

#[test]
fn list_is_sorted_by_namespace_then_name() {
    let out = ok(&["list", "-f", SHOP]);
    let keys: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .map(|l| {
            let c = cells(l);
            (c[0].to_string(), c[1].to_string())
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

/// Each sentence was checked against policies.yaml by hand:
/// - default-deny: podSelector {} with policyTypes [Ingress, Egress] and no
///   rules denies both directions for every backend pod;
/// - allow-web-to-api: pods app=api, ingress from app=web pods in the
///   namespace named frontend (one peer, both selectors), on TCP port "http";
/// - allow-api-to-postgres: app=postgres from app=api in backend on TCP 5432;
/// - api-egress: two egress rules, to app in (postgres, cache) on 5432/6379
///   and to app=gateway in payments on 8443;
/// - allow-web-ingress: no `from`, so every source, on TCP 8080;
/// - gateway-egress: 0.0.0.0/0 minus the metadata IP on 443, plus DNS.
#[test]
fn list_summaries_are_exact_and_true() {
    let out = ok(&["list", "-f", SHOP]);
    let expect = [
        (
            "backend",
            "default-deny",
            "6",
            "namespace/backend denies all ingress and egress for all pods",
        ),
        (
            "backend",
            "allow-web-to-api",
            "1",
            "namespace/backend allows api from frontend/web on TCP/http",
        ),
        (
            "backend",
            "allow-api-to-postgres",
            "1",
            "namespace/backend allows postgres from backend/api on TCP/5432",
        ),
        (
            "backend",
            "api-egress",
            "1",
            "namespace/backend allows api to backend pods [app in (cache,postgres)] on TCP/5432, TCP/6379 and to payments/gateway on TCP/8443",
        ),
        (
            "backend",
            "allow-dns-egress",
            "6",
            "namespace/backend allows all pods to kube-system/kube-dns on UDP/53, TCP/53",
        ),
        (
            "frontend",
            "default-deny-ingress",
            "3",
            "namespace/frontend denies all ingress to all pods",
        ),
        (
            "frontend",
            "allow-web-ingress",
            "2",
            "namespace/frontend allows web from anywhere on TCP/8080",
        ),
        (
            "frontend",
            "allow-canary-debug",
            "1",
            "namespace/frontend allows pods [app=web,track=canary] from frontend pods [track] on TCP/8000-8100",
        ),
        (
            "payments",
            "gateway-egress",
            "1",
            "namespace/payments allows gateway to 0.0.0.0/0 except 169.254.169.254/32 on TCP/443 and to kube-system/kube-dns on UDP/53, TCP/53",
        ),
    ];
    for (ns, name, pods, summary) in expect {
        assert_eq!(row(&out, &[ns, name]), [ns, name, pods, summary]);
    }
}

#[test]
fn list_pod_counts() {
    let out = ok(&["list", "-f", SHOP]);
    let expect = [
        ("backend", "allow-api-to-cache", "1"),
        ("backend", "allow-api-to-postgres", "1"),
        ("backend", "allow-dns-egress", "6"),
        ("backend", "allow-prometheus-scrape", "6"),
        ("backend", "allow-web-to-api", "1"),
        ("backend", "api-egress", "1"),
        ("backend", "default-deny", "6"),
        ("frontend", "allow-canary-debug", "1"),
        ("frontend", "allow-web-ingress", "2"),
        ("frontend", "default-deny-ingress", "3"),
        ("payments", "gateway-egress", "1"),
        ("payments", "gateway-ingress", "1"),
    ];
    for (ns, name, pods) in expect {
        assert_eq!(row(&out, &[ns, name])[2], pods, "{ns}/{name}");
    }
}

#[test]
fn list_namespace_flag_does_not_change_pod_counts() {
    let out = ok(&["list", "-n", "backend", "-f", SHOP]);
    assert_eq!(row(&out, &["default-deny"])[1], "6", "{out}");
    assert_eq!(row(&out, &["allow-dns-egress"])[1], "6", "{out}");
    let json = parse_json(&ok(&["list", "-n", "backend", "-f", SHOP, "-o", "json"]));
    for p in json["policies"].as_array().unwrap() {
        for pod in strings(&p["selectedPods"]) {
            assert_ne!(pod, "backend/toolbox", "toolbox lives in default");
        }
    }
}

#[test]
fn list_json_schema() {
    let v = parse_json(&ok(&["list", "-f", SHOP, "-o", "json"]));
    assert_eq!(keys(&v), set(&["policies", "clusterPoliciesReadable"]));
    let policies = v["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 12);
    for p in policies {
        assert_eq!(
            keys(p),
            set(&[
                "namespace",
                "name",
                "pods",
                "selectedPods",
                "policyTypes",
                "summary",
                "valid",
                "errors",
                "findings",
            ])
        );
        assert_eq!(p["valid"], true);
        assert_eq!(p["errors"], serde_json::json!([]));
        assert_eq!(
            p["pods"].as_u64().unwrap() as usize,
            p["selectedPods"].as_array().unwrap().len()
        );
        assert!(p["summary"].as_str().unwrap().starts_with("namespace/"));
    }
    let find = |ns: &str, name: &str| -> &Value {
        policies
            .iter()
            .find(|p| p["namespace"] == ns && p["name"] == name)
            .unwrap_or_else(|| panic!("{ns}/{name} missing"))
    };
    let dd = find("backend", "default-deny");
    assert_eq!(dd["pods"], 6);
    assert_eq!(
        set(&strings(&dd["selectedPods"])),
        set(&[
            "backend/api",
            "backend/cache-0",
            "backend/db-migrate",
            "backend/postgres",
            "backend/report",
            "backend/worker"
        ])
    );
    assert_eq!(strings(&dd["policyTypes"]), ["Ingress", "Egress"]);
    assert_eq!(
        dd["summary"],
        "namespace/backend denies all ingress and egress for all pods"
    );

    let w = find("backend", "allow-web-to-api");
    assert_eq!(strings(&w["selectedPods"]), ["backend/api"]);
    assert_eq!(strings(&w["policyTypes"]), ["Ingress"]);
    assert_eq!(
        w["summary"],
        "namespace/backend allows api from frontend/web on TCP/http"
    );

    assert_eq!(
        strings(&find("backend", "allow-dns-egress")["policyTypes"]),
        ["Egress"]
    );
    assert_eq!(
        set(&strings(
            &find("frontend", "allow-web-ingress")["selectedPods"]
        )),
        set(&["frontend/web", "frontend/web-canary"])
    );
    assert_eq!(
        set(&strings(
            &find("frontend", "default-deny-ingress")["selectedPods"]
        )),
        set(&["frontend/web", "frontend/web-canary", "frontend/loadtest"])
    );

    let scoped = parse_json(&ok(&["list", "-n", "payments", "-f", SHOP, "-o", "json"]));
    let names: Vec<&str> = scoped["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gateway-egress", "gateway-ingress"]);
}

#[test]
fn list_yaml_is_the_json_document() {
    let json = parse_json(&ok(&["list", "-f", SHOP, "-o", "json"]));
    let yaml: Value =
        serde_yaml_ng::from_str(&ok(&["list", "-f", SHOP, "-o", "yaml"])).expect("valid YAML");
    assert_eq!(yaml, json);
}

#[test]
fn list_empty_namespace_warns_like_kubectl() {
    netpol()
        .args(["list", "-n", "nothing", "-f", SHOP])
        .assert()
        .code(0)
        .stdout("")
        .stderr("No resources found in nothing namespace.\n");
    let v = parse_json(&ok(&["list", "-n", "nothing", "-f", SHOP, "-o", "json"]));
    assert_eq!(
        v,
        serde_json::json!({"policies": [], "clusterPoliciesReadable": true})
    );
}

// ---------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------

#[test]
fn explain_text_for_the_api() {
    let out = ok(&["explain", "deployment/api", "-n", "backend", "-f", SHOP]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Pod:         backend/deployment/api");
    assert!(
        lines.contains(&"Ports:       http 8080/TCP, metrics 9090/TCP"),
        "{out}"
    );
    assert!(lines.contains(&"IP:          <none>"), "{out}");
    assert!(
        lines.contains(&"Ingress:     isolated by 3 policies"),
        "{out}"
    );
    assert!(
        lines.contains(&"Egress:      isolated by 3 policies"),
        "{out}"
    );
    assert!(lines.contains(&"  backend/allow-web-to-api"), "{out}");
    assert!(
        lines.contains(
            &"      From:   frontend/web -> 2 pods: frontend/deployment/web, frontend/web-canary"
        ),
        "{out}"
    );
    assert!(
        lines.contains(&"      Ports:  TCP/http (on this pod: TCP/8080)"),
        "{out}"
    );
    assert!(
        lines.contains(&"    No ingress rules: allows nothing."),
        "{out}"
    );
    assert!(
        lines.contains(&"    No egress rules: allows nothing."),
        "{out}"
    );
    // The closing sentences: ingress from prometheus on metrics (9090) and
    // from app=web on http (8080); egress to DNS, postgres/cache, gateway.
    assert!(
        lines.contains(
            &"  => backend/deployment/api accepts connections only from prometheus in namespaces [purpose=monitoring] (1 pod) on TCP/9090; from frontend/web (2 pods) on TCP/8080; everything else is denied."
        ),
        "{out}"
    );
    assert!(
        lines.contains(
            &"  => backend/deployment/api may connect only to kube-system/kube-dns (1 pod) on TCP/53, UDP/53; to backend pods [app in (cache,postgres)] (2 pods) on TCP/5432, TCP/6379; to payments/gateway (1 pod) on TCP/8443; everything else is denied."
        ),
        "{out}"
    );
    assert!(out.contains("\nNotes:\n"), "{out}");
    // Ingress comes before egress.
    assert!(out.find("Ingress:").unwrap() < out.find("Egress:").unwrap());
}

#[test]
fn explain_accepts_every_way_of_naming_the_pod() {
    let reference = ok(&["explain", "deployment/api", "-n", "backend", "-f", SHOP]);
    for args in [
        &["explain", "api", "-n", "backend", "-f", SHOP][..],
        &["explain", "deploy/api", "-n", "backend", "-f", SHOP],
        &["explain", "backend/api", "-f", SHOP],
        &["explain", "backend/deployment/api", "-f", SHOP],
    ] {
        assert_eq!(ok(args), reference, "{args:?}");
    }
    let cache = ok(&["explain", "pod/cache-0", "-n", "backend", "-f", SHOP]);
    assert!(
        cache.starts_with("Pod:         backend/cache-0\n"),
        "{cache}"
    );
    assert!(cache.contains("IP:          10.244.1.15\n"), "{cache}");
    assert!(
        cache.contains("Egress:      isolated by 2 policies\n"),
        "{cache}"
    );
}

#[test]
fn explain_text_for_an_unrestricted_pod() {
    let out = ok(&["explain", "toolbox", "-f", SHOP]);
    assert!(out.starts_with("Pod:         default/toolbox\n"), "{out}");
    assert!(out.contains("Ingress:     not isolated\n"), "{out}");
    assert!(out.contains("Egress:      not isolated\n"), "{out}");
    assert!(out.contains(
        "  => No policy isolates default/toolbox for ingress: it accepts connections from everywhere on every port.\n"
    ));
    assert!(out.contains(
        "  => No policy isolates default/toolbox for egress: it may connect anywhere on every port.\n"
    ));
}

#[test]
fn explain_json() {
    let v = parse_json(&ok(&[
        "explain",
        "deployment/api",
        "-n",
        "backend",
        "-f",
        SHOP,
        "-o",
        "json",
    ]));
    assert_eq!(
        keys(&v),
        set(&[
            "pod",
            "ingress",
            "egress",
            "findings",
            "notes",
            "clusterPoliciesReadable"
        ])
    );
    assert_eq!(v["pod"]["namespace"], "backend");
    assert_eq!(v["pod"]["name"], "deployment/api");
    assert_eq!(
        v["pod"]["workload"],
        serde_json::json!({"kind": "Deployment", "name": "api"})
    );
    assert_eq!(v["pod"]["labels"]["app"], "api");
    assert_eq!(v["pod"]["ips"], serde_json::json!([]));

    assert_eq!(v["ingress"]["isolated"], true);
    assert_eq!(v["egress"]["isolated"], true);
    let ingress = v["ingress"]["policies"].as_array().unwrap();
    assert_eq!(ingress.len(), 3);
    let web = ingress
        .iter()
        .find(|p| p["name"] == "allow-web-to-api")
        .expect("allow-web-to-api selects api");
    assert_eq!(web["namespace"], "backend");
    let rule = &web["rules"][0];
    assert_eq!(rule["rule"], 1, "rules are numbered from 1");
    assert_eq!(rule["ports"], serde_json::json!(["TCP/http"]));
    assert_eq!(rule["resolvedPorts"], serde_json::json!(["TCP/8080"]));
    let peer = &rule["peers"][0];
    assert_eq!(peer["type"], "pods");
    assert_eq!(peer["namespaces"], serde_json::json!(["frontend"]));
    assert_eq!(
        set(&strings(&peer["pods"])),
        set(&["frontend/deployment/web", "frontend/web-canary"])
    );
    let deny = ingress
        .iter()
        .find(|p| p["name"] == "default-deny")
        .unwrap();
    assert_eq!(deny["rules"], serde_json::json!([]));

    let conclusion = v["egress"]["conclusion"].as_str().unwrap();
    assert!(
        conclusion.starts_with("backend/deployment/api may connect only "),
        "{conclusion}"
    );
    assert!(
        conclusion.ends_with("everything else is denied."),
        "{conclusion}"
    );
    assert!(
        conclusion.contains("to payments/gateway (1 pod) on TCP/8443"),
        "{conclusion}"
    );

    let free = parse_json(&ok(&["explain", "toolbox", "-f", SHOP, "-o", "json"]));
    assert_eq!(free["ingress"]["isolated"], false);
    assert_eq!(free["ingress"]["policies"], serde_json::json!([]));
    assert_eq!(free["pod"]["ips"], serde_json::json!(["10.244.3.21"]));
    assert_eq!(free["pod"]["workload"], Value::Null);
}

#[test]
fn explain_not_found() {
    assert_eq!(
        one_error(&["explain", "nope", "-n", "backend", "-f", SHOP], 1),
        r#"error: pods "nope" not found in namespace "backend"; the nearest name there is deployment/api (backend/deployment/api, or -n backend deployment/api)"#
    );
    assert_eq!(
        one_error(
            &["explain", "deployment/nope", "-n", "backend", "-f", SHOP],
            1
        ),
        r#"error: no pods of deployment/nope found in namespace "backend"; the nearest name there is deployment/api (backend/deployment/api, or -n backend deployment/api)"#
    );
}

#[test]
fn explain_pod_in_another_namespace_gives_the_hint() {
    assert_eq!(
        one_error(&["explain", "cache-0", "-f", SHOP], 1),
        r#"error: pods "cache-0" not found in namespace "default" (found in namespace "backend": use -n backend, or backend/pod/cache-0)"#
    );
    assert_eq!(
        one_error(&["explain", "deployment/api", "-f", SHOP], 1),
        r#"error: no pods of deployment/api found in namespace "default" (found in namespace "backend": use -n backend, or backend/deployment/api)"#
    );
    // With -n given, the user chose the namespace; the nearest name (here
    // the same name elsewhere) is still offered, with its spellings.
    assert_eq!(
        one_error(&["explain", "cache-0", "-n", "frontend", "-f", SHOP], 1),
        r#"error: pods "cache-0" not found in namespace "frontend"; did you mean pod/cache-0 in namespace "backend"? (backend/pod/cache-0, or -n backend pod/cache-0)"#
    );
}

// ---------------------------------------------------------------------------
// can
// ---------------------------------------------------------------------------

#[test]
fn can_allowed_exits_0() {
    let out = quiet(
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "8080",
            "-f",
            SHOP,
        ],
        0,
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "ALLOWED: frontend/deployment/web -> backend/deployment/api on TCP/8080"
    );
    assert!(
        out.contains("  Egress of frontend/deployment/web: not isolated: allowed\n"),
        "{out}"
    );
    assert!(
        out.contains("    backend/allow-web-to-api rule #1: allows TCP/8080\n"),
        "{out}"
    );
}

#[test]
fn can_denied_exits_1() {
    // loadtest has no app=web label: allow-web-to-api does not admit it.
    let out = quiet(
        &[
            "can",
            "frontend/loadtest",
            "backend/api",
            "--port",
            "8080",
            "-f",
            SHOP,
        ],
        1,
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "DENIED: frontend/loadtest -> backend/deployment/api on TCP/8080"
    );
    assert!(out.contains("nothing admits it"), "{out}");
    assert!(
        out.contains("backend/default-deny: has no ingress rules: allows nothing"),
        "{out}"
    );
    assert!(
        out.contains(
            "backend/allow-web-to-api rule #1: frontend/loadtest does not match from frontend/web"
        ),
        "{out}"
    );
    // The documented gap: db-migrate gets DNS only.
    quiet(
        &[
            "can",
            "backend/db-migrate",
            "backend/postgres",
            "--port",
            "5432",
            "-f",
            SHOP,
        ],
        1,
    );
    // web may call the api on 8080 but not on another port.
    quiet(
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "9090",
            "-f",
            SHOP,
        ],
        1,
    );
    // UDP is not TCP.
    quiet(
        &[
            "can",
            "backend/api",
            "backend/postgres",
            "--port",
            "5432/UDP",
            "-f",
            SHOP,
        ],
        1,
    );
}

#[test]
fn can_bad_port_exits_2() {
    assert_eq!(
        one_error(
            &[
                "can",
                "frontend/web",
                "backend/api",
                "--port",
                "99999",
                "-f",
                SHOP
            ],
            2
        ),
        r#"error: invalid --port "99999": must be between 1 and 65535"#
    );
    assert_eq!(
        one_error(
            &[
                "can",
                "frontend/web",
                "backend/api",
                "--port",
                "abc/ICMP",
                "-f",
                SHOP
            ],
            2
        ),
        r#"error: invalid --port "abc/ICMP": protocol must be TCP, UDP or SCTP"#
    );
    for bad in ["0", "65536", "8080/", "http/ICMP", "Bad_Name"] {
        one_error(
            &[
                "can",
                "frontend/web",
                "backend/api",
                "--port",
                bad,
                "-f",
                SHOP,
            ],
            2,
        );
    }
}

#[test]
fn can_errors_exit_2() {
    assert_eq!(
        one_error(&["can", "frontend/web", "backend/nope", "-f", SHOP], 2),
        r#"error: pods "nope" not found in namespace "backend"; the nearest name there is deployment/api (backend/deployment/api, or -n backend deployment/api)"#
    );
    one_error(&["can", "nope", "backend/api", "-f", SHOP], 2);
    one_error(&["can", "a/b/c/d", "backend/api", "-f", SHOP], 2);
    one_error(&["can", "frontend/web", "backend/api"], 2);
    assert_eq!(
        one_error(&["can", "1.1.1.1", "2.2.2.2", "-f", SHOP], 2),
        "error: 1.1.1.1 is outside the pod network and 2.2.2.2 is outside the pod network: neither end is a pod on the pod network, so NetworkPolicy has nothing to say about this connection"
    );
}

#[test]
fn can_json_fields() {
    let out = quiet(
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "8080",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    );
    let v = parse_json(&out);
    assert_eq!(
        keys(&v),
        set(&[
            "allowed",
            "from",
            "to",
            "port",
            "ports",
            "egress",
            "ingress",
            "node",
            "notes",
            "clusterPoliciesReadable"
        ])
    );
    assert_eq!(v["allowed"], true);
    assert_eq!(v["from"], "frontend/deployment/web");
    assert_eq!(v["to"], "backend/deployment/api");
    assert_eq!(v["port"], "TCP/8080");
    assert_eq!(v["ports"], serde_json::json!(["TCP/8080"]));
    let side_keys = set(&[
        "subject",
        "endpoint",
        "applies",
        "isolated",
        "policies",
        "allowed",
        "ports",
        "allowedBy",
        "notMatched",
    ]);
    assert_eq!(keys(&v["egress"]), side_keys);
    assert_eq!(keys(&v["ingress"]), side_keys);

    assert_eq!(v["egress"]["subject"], "frontend/deployment/web");
    assert_eq!(v["egress"]["endpoint"], "pod");
    assert_eq!(v["node"], serde_json::Value::Null);
    assert_eq!(v["egress"]["isolated"], false);
    assert_eq!(v["egress"]["policies"], serde_json::json!([]));
    assert_eq!(v["egress"]["ports"], "all");

    assert_eq!(v["ingress"]["subject"], "backend/deployment/api");
    assert_eq!(v["ingress"]["isolated"], true);
    assert_eq!(
        set(&strings(&v["ingress"]["policies"])),
        set(&[
            "backend/allow-prometheus-scrape",
            "backend/allow-web-to-api",
            "backend/default-deny"
        ])
    );
    assert_eq!(
        v["ingress"]["allowedBy"],
        serde_json::json!([{"policy": "backend/allow-web-to-api", "rule": 1, "ports": ["TCP/8080"]}])
    );
    let misses = v["ingress"]["notMatched"].as_array().unwrap();
    assert!(
        misses
            .iter()
            .any(|m| m["policy"] == "backend/default-deny" && m["rule"].is_null()),
        "{misses:?}"
    );

    // Denied: still valid JSON on stdout, exit 1.
    let denied = parse_json(&quiet(
        &[
            "can",
            "frontend/loadtest",
            "backend/api",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        1,
    ));
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["port"], Value::Null);
    assert_eq!(denied["ports"], serde_json::json!([]));
    assert_eq!(denied["ingress"]["allowed"], false);
    assert_eq!(denied["ingress"]["allowedBy"], serde_json::json!([]));
}

#[test]
fn can_rule_numbers_are_one_based() {
    // api-egress: rule 1 is postgres/cache, rule 2 the gateway.
    // gateway-ingress: rule 1 the ipBlock, rule 2 backend/api, rule 3 prometheus.
    let v = parse_json(&quiet(
        &[
            "can",
            "backend/api",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(
        v["egress"]["allowedBy"],
        serde_json::json!([{"policy": "backend/api-egress", "rule": 2, "ports": ["TCP/8443"]}])
    );
    assert_eq!(
        v["ingress"]["allowedBy"],
        serde_json::json!([{"policy": "payments/gateway-ingress", "rule": 2, "ports": ["TCP/8443"]}])
    );
    let text = quiet(
        &[
            "can",
            "backend/api",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(
        text.contains("    backend/api-egress rule #2: allows TCP/8443\n"),
        "{text}"
    );
    assert!(
        text.contains("    payments/gateway-ingress rule #2: allows TCP/8443\n"),
        "{text}"
    );

    // prometheus: gateway-ingress rule 3 on the named port metrics = 9090.
    let p = parse_json(&quiet(
        &[
            "can",
            "monitoring/prometheus",
            "payments/gateway",
            "--port",
            "9090",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(p["ingress"]["allowedBy"][0]["rule"], 3);
    let missed: BTreeSet<u64> = p["ingress"]["notMatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rule"].as_u64().unwrap())
        .collect();
    assert_eq!(missed, BTreeSet::from([1, 2]));
}

#[test]
fn can_ip_destination_outside_the_cluster() {
    // gateway-egress rule 1: 0.0.0.0/0 except 169.254.169.254/32 on TCP/443.
    let v = parse_json(&quiet(
        &[
            "can",
            "payments/gateway",
            "8.8.8.8",
            "--port",
            "443",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(v["allowed"], true);
    assert_eq!(v["to"], "8.8.8.8");
    assert_eq!(v["ingress"]["subject"], "8.8.8.8");
    assert_eq!(v["ingress"]["applies"], false);
    assert_eq!(v["ingress"]["isolated"], false);
    assert_eq!(
        v["egress"]["allowedBy"][0]["policy"],
        "payments/gateway-egress"
    );
    assert_eq!(v["egress"]["allowedBy"][0]["rule"], 1);

    let text = quiet(
        &[
            "can",
            "payments/gateway",
            "8.8.8.8",
            "--port",
            "443",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(
        text.contains("  Ingress of 8.8.8.8: outside the cluster: no policy applies\n"),
        "{text}"
    );
    // The metadata address is carved out; 80 is not 443.
    quiet(
        &[
            "can",
            "payments/gateway",
            "169.254.169.254",
            "--port",
            "443",
            "-f",
            SHOP,
        ],
        1,
    );
    quiet(
        &[
            "can",
            "payments/gateway",
            "8.8.8.8",
            "--port",
            "80",
            "-f",
            SHOP,
        ],
        1,
    );
    // The api may only talk to pods (and DNS): no external address.
    quiet(
        &[
            "can",
            "backend/api",
            "10.20.0.5",
            "--port",
            "443",
            "-f",
            SHOP,
        ],
        1,
    );
    // IPv6 is outside 0.0.0.0/0.
    quiet(
        &[
            "can",
            "payments/gateway",
            "2001:db8::1",
            "--port",
            "443",
            "-f",
            SHOP,
        ],
        1,
    );
}

#[test]
fn can_ip_source_outside_the_cluster() {
    // gateway-ingress rule 1: 10.0.0.0/8 except the pod network 10.244.0.0/16.
    let out = quiet(
        &[
            "can",
            "10.1.2.3",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(
        out.contains("  Egress of 10.1.2.3: outside the cluster: no policy applies\n"),
        "{out}"
    );
    assert!(
        out.contains("payments/gateway-ingress rule #1: allows TCP/8443"),
        "{out}"
    );
    quiet(
        &[
            "can",
            "10.244.9.9",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
        ],
        1,
    );
    quiet(
        &[
            "can",
            "192.168.1.1",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
        ],
        1,
    );
    // anyone may reach the storefront on 8080
    quiet(
        &[
            "can",
            "203.0.113.9",
            "frontend/web",
            "--port",
            "8080",
            "-f",
            SHOP,
        ],
        0,
    );
}

#[test]
fn can_ip_of_a_pod_is_that_pod() {
    // 10.244.2.7 is web-canary: loadtest may reach it on 8080 only (it has
    // no track label, so not the 8000-8100 debug range).
    let v = parse_json(&quiet(
        &[
            "can",
            "frontend/loadtest",
            "10.244.2.7",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(v["to"], "frontend/web-canary");
    assert_eq!(v["ports"], serde_json::json!(["TCP/8080"]));
    assert_eq!(
        strings(&v["notes"]),
        ["10.244.2.7 is the IP of pod frontend/web-canary"]
    );
}

#[test]
fn can_named_port_is_resolved_on_the_destination() {
    let v = parse_json(&quiet(
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "http",
            "-f",
            SHOP,
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(v["port"], "TCP/8080");
    // metrics is 9090 on the api: prometheus may scrape it.
    let out = quiet(
        &[
            "can",
            "monitoring/prometheus",
            "backend/api",
            "--port",
            "metrics",
            "-f",
            SHOP,
        ],
        0,
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "ALLOWED: monitoring/deployment/prometheus -> backend/deployment/api on TCP/9090"
    );
    // redis is 6379 on cache-0; the api may use it.
    quiet(
        &[
            "can",
            "backend/api",
            "backend/cache-0",
            "--port",
            "redis",
            "-f",
            SHOP,
        ],
        0,
    );
    // dns is 53/UDP on coredns.
    let dns = quiet(
        &[
            "can",
            "backend/worker",
            "kube-system/coredns",
            "--port",
            "dns",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(
        dns.starts_with(
            "ALLOWED: backend/deployment/worker -> kube-system/deployment/coredns on UDP/53\n"
        ),
        "{dns}"
    );
}

#[test]
fn can_named_port_errors() {
    assert_eq!(
        one_error(
            &[
                "can",
                "frontend/web",
                "backend/api",
                "--port",
                "nosuch",
                "-f",
                SHOP
            ],
            2
        ),
        r#"error: pod "backend/deployment/api" has no container port named "nosuch""#
    );
    one_error(
        &[
            "can",
            "frontend/web",
            "10.1.1.1",
            "--port",
            "http",
            "-f",
            SHOP,
        ],
        2,
    );
}

#[test]
fn can_without_port_reports_the_allowed_ports() {
    // web (track=stable) -> web-canary: 8080 from anyone, 8000-8100 from
    // pods with a track label; 8080 lies inside the range.
    let out = quiet(
        &["can", "frontend/web", "frontend/web-canary", "-f", SHOP],
        0,
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "ALLOWED: frontend/deployment/web -> frontend/web-canary on TCP/8000-8100"
    );
    let out = quiet(&["can", "backend/api", "backend/postgres", "-f", SHOP], 0);
    assert_eq!(
        out.lines().next().unwrap(),
        "ALLOWED: backend/deployment/api -> backend/statefulset/postgres on TCP/5432"
    );
    // prometheus may not scrape the cache: it has no port named metrics.
    let out = quiet(
        &[
            "can",
            "monitoring/prometheus",
            "backend/cache-0",
            "-f",
            SHOP,
        ],
        1,
    );
    assert_eq!(
        out.lines().next().unwrap(),
        "DENIED: monitoring/deployment/prometheus -> backend/cache-0 (no port is allowed)"
    );
    assert!(
        out.contains("peer matches, but its ports TCP/metrics do not exist on backend/cache-0"),
        "{out}"
    );
}

#[test]
fn can_a_pod_to_itself_is_always_allowed() {
    let out = quiet(
        &["can", "backend/cache-0", "backend/cache-0", "-f", SHOP],
        0,
    );
    assert!(out.starts_with("ALLOWED: "), "{out}");
    assert!(
        out.contains("a pod connecting to itself is not subject to NetworkPolicy"),
        "{out}"
    );
}

#[test]
fn can_between_replicas_of_one_workload_follows_policy() {
    // deployment/api has 2 replicas; backend is default-deny both ways and
    // no rule lets app=api talk to app=api.
    let out = quiet(&["can", "backend/api", "backend/api", "-f", SHOP], 1);
    assert!(out.starts_with("DENIED: "), "{out}");
}

// ---------------------------------------------------------------------------
// matrix
// ---------------------------------------------------------------------------

#[test]
fn matrix_json_schema() {
    let v = shop_matrix();
    assert_eq!(
        keys(&v),
        set(&["pods", "connections", "clusterPoliciesReadable"])
    );
    let pods = v["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 15, "the shop has 15 pods and workloads");
    let mut names = BTreeSet::new();
    for p in pods {
        assert_eq!(
            keys(p),
            set(&["namespace", "name", "workload", "ip", "hostNetwork"])
        );
        assert_eq!(p["hostNetwork"], false, "{p}");
        assert!(p["namespace"].is_string() && p["name"].is_string());
        assert!(p["ip"].is_null() || p["ip"].is_string(), "{p}");
        match &p["workload"] {
            Value::Null => {}
            w => {
                assert_eq!(keys(w), set(&["kind", "name"]));
            }
        }
        // A workload's representative pod is NAMESPACE/KIND/NAME in
        // `connections`.
        let kind = match &p["workload"] {
            Value::Null => String::new(),
            w => format!("{}/", w["kind"].as_str().unwrap().to_lowercase()),
        };
        names.insert(format!(
            "{}/{kind}{}",
            p["namespace"].as_str().unwrap(),
            p["name"].as_str().unwrap()
        ));
    }
    assert_eq!(names.len(), 15, "pods are unique");
    for expected in [
        "default/toolbox",
        "backend/cache-0",
        "frontend/web-canary",
        "kube-system/deployment/coredns",
    ] {
        assert!(names.contains(expected), "{expected}");
    }
    let canary = pods.iter().find(|p| p["name"] == "web-canary").unwrap();
    assert_eq!(canary["ip"], "10.244.2.7");
    let pg = pods.iter().find(|p| p["name"] == "postgres").unwrap();
    assert_eq!(
        pg["workload"],
        serde_json::json!({"kind": "StatefulSet", "name": "postgres"})
    );

    let mut pairs = BTreeSet::new();
    for c in v["connections"].as_array().unwrap() {
        // `possible` only where more may be allowed than is certain.
        let k = keys(c);
        assert!(
            k == set(&["from", "to", "ports"]) || k == set(&["from", "to", "ports", "possible"]),
            "{c}"
        );
        let from = c["from"].as_str().unwrap();
        let to = c["to"].as_str().unwrap();
        assert_ne!(from, to, "only pairs of distinct pods");
        assert!(names.contains(from) && names.contains(to), "{c}");
        assert!(pairs.insert((from, to)), "pair listed twice: {c}");
        match &c["ports"] {
            Value::String(s) => assert_eq!(s, "all"),
            Value::Array(list) => {
                assert!(
                    !list.is_empty() || c.get("possible").is_some(),
                    "empty port lists are left out, but for undecided pairs: {c}"
                );
                for port in list {
                    let port = port.as_str().unwrap();
                    let (proto, num) = port.split_once('/').unwrap();
                    assert!(["TCP", "UDP", "SCTP"].contains(&proto), "{port}");
                    assert!(
                        num.split('-')
                            .all(|n| n.parse::<u16>().is_ok_and(|n| n > 0)),
                        "{port}"
                    );
                }
            }
            other => panic!("ports must be \"all\" or a list: {other}"),
        }
    }
    assert_eq!(
        pairs.len(),
        70,
        "connections derived by hand from the policies: 65 certain, and 5 pairs with nothing certain but some ports possible"
    );
    let undecided_only = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ports"] == serde_json::json!([]))
        .count();
    assert_eq!(undecided_only, 5);
}

#[test]
fn matrix_expected_connections() {
    let m = shop_matrix();
    let list = |ports: &[&str]| serde_json::json!(ports);
    let expect = [
        // api-egress rule 1 x allow-api-to-postgres / allow-api-to-cache.
        (
            "backend/deployment/api",
            "backend/statefulset/postgres",
            list(&["TCP/5432"]),
        ),
        (
            "backend/deployment/api",
            "backend/cache-0",
            list(&["TCP/6379"]),
        ),
        // api-egress rule 2 x gateway-ingress rule 2.
        (
            "backend/deployment/api",
            "payments/deployment/gateway",
            list(&["TCP/8443"]),
        ),
        // allow-web-to-api: http = 8080 on the api; web egress is open.
        (
            "frontend/deployment/web",
            "backend/deployment/api",
            list(&["TCP/8080"]),
        ),
        (
            "frontend/web-canary",
            "backend/deployment/api",
            list(&["TCP/8080"]),
        ),
        // allow-canary-debug (track label) covers allow-web-ingress's 8080.
        (
            "frontend/deployment/web",
            "frontend/web-canary",
            list(&["TCP/8000-8100"]),
        ),
        (
            "frontend/loadtest",
            "frontend/web-canary",
            list(&["TCP/8080"]),
        ),
        (
            "frontend/loadtest",
            "frontend/deployment/web",
            list(&["TCP/8080"]),
        ),
        // The debug range is only open on the canary: web itself gets 8080.
        (
            "frontend/web-canary",
            "frontend/deployment/web",
            list(&["TCP/8080"]),
        ),
        // allow-prometheus-scrape: metrics = 9090 on the api and gateway.
        (
            "monitoring/deployment/prometheus",
            "backend/deployment/api",
            list(&["TCP/9090"]),
        ),
        (
            "monitoring/deployment/prometheus",
            "payments/deployment/gateway",
            list(&["TCP/9090"]),
        ),
        // gateway-egress rule 1 to unrestricted pods with known IPs.
        (
            "payments/deployment/gateway",
            "default/toolbox",
            list(&["TCP/443"]),
        ),
        // Unrestricted on both ends.
        (
            "default/toolbox",
            "monitoring/deployment/prometheus",
            Value::from("all"),
        ),
        ("frontend/loadtest", "default/toolbox", Value::from("all")),
        (
            "monitoring/deployment/prometheus",
            "kube-system/deployment/coredns",
            Value::from("all"),
        ),
    ];
    for (from, to, ports) in expect {
        assert_eq!(connection(&m, from, to), Some(&ports), "{from} -> {to}");
    }
    // DNS from every backend pod and from the gateway: TCP and UDP 53.
    for from in [
        "backend/deployment/api",
        "backend/deployment/worker",
        "backend/job/db-migrate",
        "backend/cronjob/report",
        "backend/cache-0",
        "backend/statefulset/postgres",
        "payments/deployment/gateway",
    ] {
        let ports = connection(&m, from, "kube-system/deployment/coredns")
            .unwrap_or_else(|| panic!("{from} -> coredns"));
        assert_eq!(set(&strings(ports)), set(&["TCP/53", "UDP/53"]), "{from}");
    }
}

#[test]
fn matrix_expected_absences() {
    let m = shop_matrix();
    for (from, to) in [
        // loadtest is not app=web: nothing in backend admits it.
        ("frontend/loadtest", "backend/statefulset/postgres"),
        ("frontend/loadtest", "backend/deployment/api"),
        // postgres only takes the api.
        ("frontend/deployment/web", "backend/statefulset/postgres"),
        ("default/toolbox", "backend/statefulset/postgres"),
        (
            "monitoring/deployment/prometheus",
            "backend/statefulset/postgres",
        ),
        // The documented gap: db-migrate, worker and report get DNS only.
        ("backend/job/db-migrate", "backend/statefulset/postgres"),
        ("backend/deployment/worker", "backend/statefulset/postgres"),
        ("backend/cronjob/report", "backend/cache-0"),
        // Backend egress is closed: no way back to the frontend.
        ("backend/deployment/api", "frontend/deployment/web"),
        ("backend/deployment/api", "default/toolbox"),
        // cache-0 has no metrics port.
        ("monitoring/deployment/prometheus", "backend/cache-0"),
        // the gateway takes 10.0.0.0/8 minus the pod network, the api and prometheus.
        (
            "monitoring/blackbox-exporter",
            "payments/deployment/gateway",
        ),
        ("frontend/web-canary", "payments/deployment/gateway"),
        ("default/toolbox", "payments/deployment/gateway"),
        // frontend ingress is default-deny and nothing selects loadtest.
        ("frontend/deployment/web", "frontend/loadtest"),
        ("default/toolbox", "frontend/loadtest"),
    ] {
        assert_eq!(
            connection(&m, from, to),
            None,
            "{from} -> {to} must be absent"
        );
    }
    // Nobody reaches worker, report or db-migrate (no container ports, so
    // not even the scrape rule's named port "metrics" resolves on them), nor
    // loadtest (frontend is default-deny and no allow rule selects it).
    for c in m["connections"].as_array().unwrap() {
        let to = c["to"].as_str().unwrap();
        assert!(
            ![
                "backend/deployment/worker",
                "backend/cronjob/report",
                "backend/job/db-migrate",
                "frontend/loadtest"
            ]
            .contains(&to),
            "{c}"
        );
        // and the worker reaches only DNS
        if c["from"] == "backend/deployment/worker" {
            assert_eq!(to, "kube-system/deployment/coredns", "{c}");
        }
    }
}

#[test]
fn matrix_namespace_scope() {
    let v = parse_json(&ok(&["matrix", "-n", "backend", "-f", SHOP, "-o", "json"]));
    for p in v["pods"].as_array().unwrap() {
        assert_eq!(p["namespace"], "backend", "{p}");
    }
    // Inside backend only the api reaches anyone: postgres and the cache.
    assert_eq!(
        v["connections"],
        serde_json::json!([
            {"from": "backend/deployment/api", "to": "backend/cache-0", "ports": ["TCP/6379"]},
            {"from": "backend/deployment/api", "to": "backend/statefulset/postgres", "ports": ["TCP/5432"]},
        ])
    );
}

#[test]
fn matrix_namespace_scope_lists_only_that_namespaces_pods() {
    let v = parse_json(&ok(&["matrix", "-n", "backend", "-f", SHOP, "-o", "json"]));
    let names: BTreeSet<&str> = v["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        set(&[
            "api",
            "cache-0",
            "db-migrate",
            "postgres",
            "report",
            "worker"
        ])
    );
    // The same manifests must give the same answer whatever -n says.
    quiet(
        &[
            "can",
            "default/toolbox",
            "monitoring/deployment/prometheus",
            "-n",
            "backend",
            "-f",
            SHOP,
        ],
        0,
    );
}

#[test]
fn matrix_text_grid_and_list() {
    let grid = ok(&["matrix", "-n", "backend", "-f", SHOP]);
    assert!(
        grid.starts_with("Columns are destinations, rows are sources.\n"),
        "{grid}"
    );
    let header = grid.lines().nth(1).unwrap();
    assert_eq!(cells(header)[0], "FROM \\ TO");
    let api = grid
        .lines()
        .find(|l| l.starts_with("[1] backend/deployment/api "))
        .unwrap_or_else(|| panic!("{grid}"));
    assert_eq!(cells(api)[1], "self");
    assert!(grid.contains(
        "\nall = every port; - = nothing allowed; self = a pod to itself (never restricted)\n"
    ));
    assert!(
        grid.contains("\nP1 = TCP/6379\n") && grid.contains("\nP2 = TCP/5432\n"),
        "{grid}"
    );

    // More than ten pods: a FROM/TO/PORTS list and a count.
    let list = ok(&["matrix", "-A", "-f", SHOP]);
    assert_eq!(cells(list.lines().next().unwrap()), ["FROM", "TO", "PORTS"]);
    assert_eq!(
        row(
            &list,
            &["backend/deployment/api", "backend/statefulset/postgres"]
        ),
        [
            "backend/deployment/api",
            "backend/statefulset/postgres",
            "TCP/5432"
        ]
    );
    assert!(
        list.ends_with(
            "\n15 pods; 65 of 210 ordered pairs may connect; the other 145 may not connect on any port for certain (7 unknown: they hang on what could not be read).\n"
        ),
        "{list}"
    );
    // Without -n, manifests mean every namespace in them, as with -A.
    assert_eq!(ok(&["matrix", "-f", SHOP]), list);
}

#[test]
fn matrix_empty_namespace() {
    // A namespace without any pod at all: the shop's namespaceless toolbox
    // would land there, so use a manifest set without it.
    netpol()
        .args([
            "matrix",
            "-n",
            "nothing",
            "-f",
            "examples/shop/policies.yaml",
        ])
        .assert()
        .code(0)
        .stdout("")
        .stderr("No pods found in nothing namespace.\n");
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_yaml_names_the_file_and_line() {
    for (args, code) in [
        (&["list", "-f", BAD_YAML][..], 1),
        (&["explain", "api", "-n", "backend", "-f", BAD_YAML], 1),
        (&["matrix", "-f", BAD_YAML], 1),
        (&["can", "frontend/web", "backend/api", "-f", BAD_YAML], 2),
    ] {
        let err = one_error(args, code);
        assert!(
            err.starts_with(&format!("error: {BAD_YAML}: ")),
            "{args:?}: {err}"
        );
        assert!(err.contains("line 8"), "{args:?}: {err}");
    }
}

#[test]
fn not_a_kubernetes_object_names_the_document() {
    assert_eq!(
        one_error(&["list", "-f", NOT_K8S], 1),
        format!(
            "error: {NOT_K8S}: document 2: not a Kubernetes object (apiVersion and kind are required)"
        )
    );
}

#[test]
fn invalid_policy_is_refused_by_explain_can_and_matrix() {
    for (args, code) in [
        (
            &["explain", "api", "-n", "backend", "-f", SHOP, "-f", INVALID][..],
            1,
        ),
        (&["matrix", "-f", SHOP, "-f", INVALID], 1),
        (&["matrix", "-n", "backend", "-f", SHOP, "-f", INVALID], 1),
        // can reports errors with 2 (1 is "denied").
        (
            &[
                "can",
                "frontend/web",
                "backend/api",
                "--port",
                "8080",
                "-f",
                SHOP,
                "-f",
                INVALID,
            ],
            2,
        ),
    ] {
        let a = netpol().args(args).assert().code(code).stdout("");
        let err = stderr_of(&a);
        assert!(
            err.starts_with(
                "error: NetworkPolicy \"backend/everything-wrong\" is invalid (5 errors); the API server would reject it:\n"
            ),
            "{args:?}: {err}"
        );
        for path in INVALID_PATHS {
            assert!(err.contains(&format!("\n  * {path}: ")), "{path} in {err}");
        }
        assert!(err.contains("endPort: Invalid value: 9000"), "{err}");
        assert!(err.contains(r#"Unsupported value: "ICMP""#), "{err}");
        assert_eq!(err.lines().count(), 6, "{err}");
    }
}

/// A policy only selects pods of its own namespace, so an invalid one in
/// backend cannot change answers about pods elsewhere: those are given, with
/// a warning.
#[test]
fn invalid_policy_elsewhere_only_warns() {
    let warning = "warning: NetworkPolicy \"backend/everything-wrong\" is invalid (the API server would reject it) and is left out\n";
    let plain = ok(&["explain", "web-canary", "-n", "frontend", "-f", SHOP]);
    netpol()
        .args([
            "explain",
            "web-canary",
            "-n",
            "frontend",
            "-f",
            SHOP,
            "-f",
            INVALID,
        ])
        .assert()
        .code(0)
        .stdout(plain)
        .stderr(warning);

    let plain = ok(&["can", "frontend/loadtest", "frontend/web", "-f", SHOP]);
    netpol()
        .args([
            "can",
            "frontend/loadtest",
            "frontend/web",
            "-f",
            SHOP,
            "-f",
            INVALID,
        ])
        .assert()
        .code(0)
        .stdout(plain)
        .stderr(warning);
    // An address outside the cluster involves no namespace.
    netpol()
        .args([
            "can",
            "8.8.8.8",
            "frontend/web",
            "--port",
            "8080",
            "-f",
            SHOP,
            "-f",
            INVALID,
        ])
        .assert()
        .code(0)
        .stderr(warning);

    let a = netpol()
        .args([
            "matrix", "-n", "payments", "-f", SHOP, "-f", INVALID, "-o", "json",
        ])
        .assert()
        .code(0);
    let err = stderr_of(&a);
    let mut lines = err.lines();
    assert_eq!(lines.next(), warning.lines().next(), "{err}");
    assert!(lines.all(expected_warning), "{err}");
    parse_json(&stdout_of(&a));
}

#[test]
fn invalid_policy_is_listed_as_invalid() {
    let a = netpol()
        .args(["list", "-f", SHOP, "-f", INVALID])
        .assert()
        .code(1);
    let out = stdout_of(&a);
    let r = row(&out, &["backend", "everything-wrong"]);
    assert_eq!(r[2], "-");
    assert!(
        r[3].starts_with("INVALID: spec.ingress[0].ports[0].endPort: Invalid value: 9000"),
        "{r:?}"
    );
    // The valid policies are still listed.
    assert_eq!(row(&out, &["backend", "default-deny"])[2], "6");
    // A warning on stderr names the policy and every error.
    let err = stderr_of(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("warning: NetworkPolicy \"backend/everything-wrong\" is invalid"),
        "{err}"
    );
    for path in INVALID_PATHS {
        assert!(err.contains(path), "{path} in {err}");
    }

    let a = netpol()
        .args(["list", "-f", INVALID, "-o", "json"])
        .assert()
        .code(1);
    let v = parse_json(&stdout_of(&a));
    let p = &v["policies"][0];
    assert_eq!(p["valid"], false);
    assert_eq!(p["pods"], Value::Null);
    assert_eq!(p["summary"], Value::Null);
    let errors = strings(&p["errors"]);
    assert_eq!(errors.len(), 5);
    for (e, path) in errors.iter().zip(INVALID_PATHS) {
        assert!(e.starts_with(&format!("{path}: ")), "{e}");
    }
}

#[test]
fn missing_path() {
    assert_eq!(
        one_error(&["list", "-f", "does/not/exist.yaml"], 2),
        r#"error: the path "does/not/exist.yaml" does not exist"#
    );
    one_error(&["can", "a", "b", "-f", "does/not/exist.yaml"], 2);
}

#[test]
fn no_cluster_and_no_input_is_an_error() {
    // HOME is empty and KUBECONFIG unset: there is no cluster to read.
    for sub in [&["list"][..], &["matrix"], &["explain", "api"]] {
        let err = one_error(sub, 1);
        assert!(err.starts_with("error: no cluster to talk to: "), "{err}");
        assert!(err.contains("--kubeconfig") && err.contains("-f"), "{err}");
    }
    one_error(&["can", "a", "b"], 2);
}

/// $KUBECONFIG set to a file that does not exist is not "unset": the error
/// names the file as a missing --kubeconfig is named, for every command.
#[test]
fn a_kubeconfig_variable_naming_no_file_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("x.yaml");
    std::fs::write(
        &new,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: x}\nspec: {podSelector: {}}\n",
    )
    .unwrap();
    let new = new.to_str().unwrap();
    for args in [&["diff", "-f", new][..], &["list"], &["matrix"]] {
        let a = netpol()
            .env("KUBECONFIG", "/nonexist")
            .args(args)
            .assert()
            .failure();
        let err = stderr_of(&a);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: no cluster to talk to: no kubeconfig ($KUBECONFIG names no file that exists: stat /nonexist: no such file or directory, and ~/.kube/config does not exist)"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("unset"), "{err}");
    }
}

#[test]
fn stdin_input() {
    let stream = shop_stream();
    for args in [
        &["list"][..],
        &["matrix", "-o", "json"],
        &["explain", "api", "-n", "backend"],
    ] {
        let from_dir = ok(&[args, &["-f", SHOP]].concat());
        let a = netpol()
            .args([args, &["-f", "-"]].concat())
            .write_stdin(stream.clone())
            .assert()
            .code(0);
        assert!(stderr_of(&a).lines().all(expected_warning), "{args:?}");
        assert_eq!(stdout_of(&a), from_dir, "{args:?}");
    }
    // `-f -` mixes with files.
    let a = netpol()
        .args(["list", "-f", "-", "-f", "examples/shop/workloads.yaml"])
        .write_stdin(
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop/policies.yaml"),
            )
            .unwrap(),
        )
        .assert()
        .code(0)
        .stderr("");
    assert_eq!(row(&stdout_of(&a), &["backend", "default-deny"])[2], "6");
}

#[test]
fn stdin_errors_name_stdin() {
    let a = netpol()
        .args(["list", "-f", "-"])
        .write_stdin("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n")
        .assert()
        .code(1)
        .stdout("");
    let err = stderr_of(&a);
    assert!(err.starts_with("error: <stdin>: document 1: "), "{err}");
    assert!(err.contains("line "), "{err}");
}

const NESTED_POLICY: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: nested-deny
  namespace: team
spec:
  podSelector: {}
";

const TOP_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: top
  namespace: team
  labels:
    app: top
spec:
  containers:
    - name: c
      image: busybox
";

#[test]
fn directory_with_recursive_reads_nested_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "top.yaml", TOP_POD);
    write(dir.path(), "sub/deeper/policy.yml", NESTED_POLICY);
    write(dir.path(), "sub/notes.txt", "not: [a manifest");
    let path = dir.path().to_str().unwrap();

    // Without -R, only the directory's own files.
    netpol()
        .args(["list", "-f", path])
        .assert()
        .code(0)
        .stdout("")
        .stderr("No resources found\n");

    let out = ok(&["list", "-R", "-f", path]);
    assert_eq!(
        row(&out, &["team", "nested-deny"]),
        [
            "team",
            "nested-deny",
            "1",
            "namespace/team denies all ingress to all pods"
        ]
    );
    assert_eq!(ok(&["list", "-f", path, "--recursive"]), out);
}

#[test]
fn kind_list_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "list.yaml",
        "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: team
      labels: {tier: inner}
  - apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: team, labels: {app: client}}
    spec: {containers: [{name: c, image: i}]}
    status: {podIP: 10.9.0.1}
  - apiVersion: v1
    kind: Pod
    metadata: {name: server, namespace: team, labels: {app: server}}
    spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
    status: {podIP: 10.9.0.2}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: server-from-client, namespace: team}
    spec:
      podSelector: {matchLabels: {app: server}}
      ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{port: http}]
",
    );
    let out = ok(&["list", "-f", &file]);
    assert_eq!(
        row(&out, &["team", "server-from-client"]),
        [
            "team",
            "server-from-client",
            "1",
            "namespace/team allows server from team/client on TCP/http"
        ]
    );
    quiet(
        &[
            "can",
            "team/client",
            "team/server",
            "--port",
            "8080",
            "-f",
            &file,
        ],
        0,
    );
    quiet(&["can", "team/server", "team/client", "-f", &file], 0);
    quiet(
        &[
            "can",
            "team/client",
            "team/server",
            "--port",
            "9090",
            "-f",
            &file,
        ],
        1,
    );
    quiet(
        &[
            "can",
            "10.9.0.1",
            "team/server",
            "--port",
            "http",
            "-f",
            &file,
        ],
        0,
    );

    // A bad item is named by document and item.
    let bad = write(
        dir.path(),
        "bad-list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Namespace\n    metadata: {name: ok}\n  - name: not-an-object\n",
    );
    let err = one_error(&["list", "-f", &bad], 1);
    assert!(
        err.starts_with(&format!("error: {bad}: document 1, item 2: ")),
        "{err}"
    );
}

#[test]
fn json_manifest_input() {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "json-deny", "namespace": "team"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    });
    write(
        dir.path(),
        "policy.json",
        &serde_json::to_string_pretty(&json).unwrap(),
    );
    write(dir.path(), "pod.yaml", TOP_POD);
    let path = dir.path().to_str().unwrap();

    let out = ok(&["list", "-f", path]);
    assert_eq!(
        row(&out, &["team", "json-deny"]),
        [
            "team",
            "json-deny",
            "1",
            "namespace/team denies all ingress and egress for all pods"
        ]
    );
    let single = format!("{path}/policy.json");
    let v = parse_json(&ok(&["list", "-f", &single, "-o", "json"]));
    assert_eq!(v["policies"][0]["name"], "json-deny");
    assert_eq!(v["policies"][0]["pods"], 0);

    // A JSON List, on stdin.
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [json]});
    let a = netpol()
        .args(["list", "-f", "-", "-o", "json"])
        .write_stdin(list.to_string())
        .assert()
        .code(0)
        .stderr("");
    assert_eq!(
        parse_json(&stdout_of(&a))["policies"][0]["name"],
        "json-deny"
    );
}

// ---------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------

const CAN_WEB_API: [&str; 7] = [
    "can",
    "frontend/web",
    "backend/api",
    "--port",
    "8080",
    "-f",
    SHOP,
];

#[test]
fn color_always_emits_ansi_escapes() {
    let out = ok(&[&CAN_WEB_API[..], &["--color", "always"]].concat());
    assert!(out.contains('\x1b'), "{out:?}");
    assert_eq!(
        strip_ansi(&out),
        ok(&CAN_WEB_API),
        "colour changes nothing but escapes"
    );
    let denied = quiet(
        &[
            "can",
            "frontend/loadtest",
            "backend/api",
            "-f",
            SHOP,
            "--color=always",
        ],
        1,
    );
    assert!(denied.contains("\x1b["), "{denied:?}");
    // --color always wins over NO_COLOR.
    let a = netpol()
        .args([&CAN_WEB_API[..], &["--color", "always"]].concat())
        .env("NO_COLOR", "1")
        .assert()
        .code(0);
    assert!(stdout_of(&a).contains('\x1b'));
}

#[test]
fn color_never_and_default_emit_none() {
    for extra in [&["--color", "never"][..], &[], &["--color", "auto"]] {
        let out = ok(&[&CAN_WEB_API[..], extra].concat());
        assert!(!out.contains('\x1b'), "{extra:?}: {out:?}");
        let out = ok(&[&["explain", "api", "-n", "backend", "-f", SHOP][..], extra].concat());
        assert!(!out.contains('\x1b'), "{extra:?}: {out:?}");
        let out = ok(&[&["matrix", "-n", "backend", "-f", SHOP][..], extra].concat());
        assert!(!out.contains('\x1b'), "{extra:?}: {out:?}");
    }
    // JSON is never coloured.
    let out = ok(&["matrix", "-f", SHOP, "-o", "json", "--color", "always"]);
    assert!(!out.contains('\x1b'));
    parse_json(&out);
}

#[test]
fn colored_matrix_grid_is_aligned() {
    let plain = ok(&["matrix", "-n", "backend", "-f", SHOP]);
    let colored = ok(&["matrix", "-n", "backend", "-f", SHOP, "--color", "always"]);
    assert!(colored.contains('\x1b'));
    assert_eq!(strip_ansi(&colored), plain);
}

// ---------------------------------------------------------------------------
// stderr stays quiet on success
// ---------------------------------------------------------------------------

#[test]
fn successful_runs_write_nothing_to_stderr() {
    for args in [
        &["list", "-f", SHOP][..],
        &["list", "-f", SHOP, "-o", "json"],
        &["list", "-f", SHOP, "-o", "yaml"],
        &["list", "-f", SHOP, "-o", "wide"],
        &["explain", "api", "-n", "backend", "-f", SHOP],
        &["explain", "api", "-n", "backend", "-f", SHOP, "-o", "wide"],
        &["explain", "toolbox", "-f", SHOP, "-o", "yaml"],
        &["can", "frontend/web", "backend/api", "-f", SHOP],
        &[
            "can",
            "backend/api",
            "payments/gateway",
            "--port",
            "8443",
            "-f",
            SHOP,
        ],
        &["matrix", "-f", SHOP],
        &["matrix", "-A", "-f", SHOP, "-o", "yaml"],
        &["matrix", "-n", "backend", "-f", SHOP],
    ] {
        let out = ok(args);
        assert!(!out.is_empty(), "{args:?} printed nothing");
        assert!(out.ends_with('\n'), "{args:?}");
    }
}

/// The classic typo: a namespaceSelector on a `name` label nobody set. The
/// text must say that no namespace matches, not just show zero pods.
#[test]
fn explain_says_when_a_namespace_selector_matches_no_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "typo.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: backend, labels: {app: api}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: frontend, labels: {app: web}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-frontend, namespace: backend}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {name: frontend}}\n",
    );
    let out = ok(&["explain", "api", "-n", "backend", "-f", &file]);
    assert!(
        out.contains(
            "From:   all pods in namespaces [name=frontend] -> no namespace has these labels"
        ),
        "{out}"
    );
    let fixed = std::fs::read_to_string(&file).unwrap().replace(
        "{name: frontend}",
        "{kubernetes.io/metadata.name: frontend}",
    );
    let file = write(dir.path(), "fixed.yaml", &fixed);
    let out = ok(&["explain", "api", "-n", "backend", "-f", &file]);
    assert!(
        out.contains("From:   all pods in frontend -> 1 pod: frontend/web"),
        "{out}"
    );
}

// ---- Regressions found in review: each once gave a wrong or misleading answer.

const NS_A: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";

fn pod_yaml(name: &str, labels: &str, ip: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: a, labels: {{{labels}}}{extra}}}\nspec: {{containers: [{{name: c, image: x, ports: [{{name: dns, containerPort: 53, protocol: UDP}}]}}]}}\nstatus: {{podIP: {ip}}}\n"
    )
}

const DENY_ALL_A: &str = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: a}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";

#[test]
fn replicas_of_one_workload_are_two_pods_not_self_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let owner = ", ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f9, uid: u, controller: true}]";
    let text = format!(
        "{NS_A}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: a}}\nspec: {{selector: {{matchLabels: {{app: web}}}}, template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: x}}]}}}}}}\n{}{}{DENY_ALL_A}",
        pod_yaml(
            "web-5d8f9-aaaaa",
            "app: web, pod-template-hash: 5d8f9",
            "10.0.0.11",
            owner
        ),
        pod_yaml(
            "web-5d8f9-bbbbb",
            "app: web, pod-template-hash: 5d8f9",
            "10.0.0.12",
            owner
        ),
    );
    let file = write(dir.path(), "t.yaml", &text);
    for refs in [["deployment/web", "deployment/web"], ["web", "web"]] {
        let out = quiet(&["can", refs[0], refs[1], "-n", "a", "-f", &file], 1);
        assert!(
            out.starts_with("DENIED: a/web-5d8f9-aaaaa -> a/web-5d8f9-bbbbb"),
            "{out}"
        );
    }
    // One real pod to itself is outside NetworkPolicy.
    let out = quiet(
        &[
            "can",
            "pod/web-5d8f9-aaaaa",
            "pod/web-5d8f9-aaaaa",
            "-n",
            "a",
            "-f",
            &file,
        ],
        0,
    );
    assert!(out.contains("not subject to NetworkPolicy"), "{out}");
}

#[test]
fn unknown_fields_make_a_policy_invalid_instead_of_wider() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NS_A}{}{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: typo, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from:\n    - podSelector: {{matchlabels: {{app: web}}}}\n    port: [{{port: 8080}}]\n",
        pod_yaml("api", "app: api", "10.0.0.1", ""),
        pod_yaml("evil", "app: evil", "10.0.0.2", ""),
    );
    let file = write(dir.path(), "t.yaml", &text);
    let a = netpol().args(["list", "-f", &file]).assert().code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains(r#"INVALID: strict decoding error: unknown field "spec.ingress[0].port""#),
        "{out}"
    );
    assert!(
        stderr_of(&a)
            .contains(r#"unknown field "spec.ingress[0].from[0].podSelector.matchlabels""#),
        "{}",
        stderr_of(&a)
    );
    let a = netpol()
        .args(["can", "evil", "api", "--port", "22", "-n", "a", "-f", &file])
        .assert()
        .code(2)
        .stdout("");
    let err = stderr_of(&a);
    assert!(
        err.starts_with("error: NetworkPolicy \"a/typo\" is invalid (2 errors)"),
        "{err}"
    );
}

#[test]
fn an_ip_means_that_address_only() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NS_A}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: dual, namespace: a}}\nspec: {{containers: [{{name: c, image: x}}]}}\nstatus: {{podIP: 10.0.0.5, podIPs: [{{ip: 10.0.0.5}}, {{ip: 'fd00::5'}}]}}\n{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: srv, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: srv}}}}\n  ingress:\n  - from: [{{ipBlock: {{cidr: 10.0.0.5/32}}}}]\n",
        pod_yaml("srv", "app: srv", "10.0.0.9", ""),
    );
    let file = write(dir.path(), "t.yaml", &text);
    quiet(&["can", "10.0.0.5", "srv", "-n", "a", "-f", &file], 0);
    let out = quiet(&["can", "fd00::5", "srv", "-n", "a", "-f", &file], 1);
    assert!(out.starts_with("DENIED"), "{out}");
    // A finished pod's IP is not a live pod's.
    let done = format!(
        "{text}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: old-job, namespace: a}}\nspec: {{containers: [{{name: c, image: x}}]}}\nstatus: {{phase: Succeeded, podIP: 10.0.0.9}}\n"
    );
    let file = write(dir.path(), "done.yaml", &done);
    let out = quiet(&["can", "10.0.0.5", "10.0.0.9", "-f", &file], 0);
    assert!(out.contains("-> a/srv"), "{out}");
    // explain takes an IP too.
    let out = ok(&["explain", "10.0.0.9", "-f", &file]);
    assert!(out.starts_with("Pod:         a/srv"), "{out}");
}

#[test]
fn a_pod_and_a_workload_of_the_same_name_both_count() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NS_A}{}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: a}}\nspec: {{selector: {{matchLabels: {{app: web}}}}, template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: x}}]}}}}}}\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: web, namespace: a}}\nspec: {{selector: {{matchLabels: {{app: agent}}}}, template: {{metadata: {{labels: {{app: agent}}}}, spec: {{containers: [{{name: c, image: x}}]}}}}}}\n",
        pod_yaml("web", "app: other", "10.0.0.3", ""),
    );
    let file = write(dir.path(), "t.yaml", &text);
    let m = parse_json(&ok(&["matrix", "-f", &file, "-o", "json"]));
    let kinds: Vec<String> = m["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["workload"]["kind"].as_str().unwrap_or("Pod").to_string())
        .collect();
    assert_eq!(kinds.len(), 3, "{m}");
    for k in ["Pod", "Deployment", "DaemonSet"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    let out = ok(&["explain", "deployment/web", "-n", "a", "-f", &file]);
    assert!(out.contains("app=web"), "{out}");
    let out = ok(&["explain", "pod/web", "-n", "a", "-f", &file]);
    assert!(out.contains("app=other"), "{out}");
}

#[test]
fn summaries_keep_excepts_peers_and_ports_apart() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NS_A}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from:\n    - ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}}\n    - ipBlock: {{cidr: 192.168.0.0/16}}\n  - from: [{{podSelector: {{matchLabels: {{app: admin}}}}}}]\n    ports: [{{port: 22}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: empty-value, namespace: a}}\nspec:\n  podSelector: {{matchLabels: {{app: ''}}}}\n  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: ''}}}}}}]}}]\n"
    );
    let file = write(dir.path(), "t.yaml", &text);
    let out = ok(&["list", "-f", &file]);
    assert!(out.contains("namespace/a allows api from 10.0.0.0/8 except [10.1.0.0/16, 10.2.0.0/16] or 192.168.0.0/16 on any port and from a/admin on TCP/22"), "{out}");
    assert!(
        out.contains("namespace/a allows pods [app=] from a pods [app=]"),
        "{out}"
    );
}

#[test]
fn explain_does_not_claim_a_dead_named_port_admits_anything() {
    let dir = tempfile::tempdir().unwrap();
    // The pod's `dns` port is UDP; the rule asks for TCP/dns.
    let text = format!(
        "{NS_A}{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: a}}\nspec:\n  podSelector: {{}}\n  ingress: [{{ports: [{{port: dns}}]}}]\n",
        pod_yaml("dns", "app: dns", "10.0.0.4", ""),
    );
    let file = write(dir.path(), "t.yaml", &text);
    let out = ok(&["explain", "dns", "-n", "a", "-f", &file]);
    assert!(out.contains("=> a/dns is isolated for ingress and no rule admits anything (the named ports its rules use do not exist on this pod)"), "{out}");
}

#[test]
fn other_api_groups_and_cronjob_pods() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NS_A}---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: calico-own, namespace: a}}\nspec: {{selector: all()}}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: report, namespace: a}}\nspec: {{schedule: '0 * * * *', jobTemplate: {{spec: {{template: {{metadata: {{labels: {{app: report}}}}, spec: {{containers: [{{name: c, image: x}}], restartPolicy: Never}}}}}}}}}}\n{}",
        pod_yaml(
            "report-28912345-x7k2p",
            "app: report",
            "10.0.0.8",
            ", ownerReferences: [{apiVersion: batch/v1, kind: Job, name: report-28912345, uid: u, controller: true}]"
        ),
    );
    let file = write(dir.path(), "t.yaml", &text);
    let m = parse_json(&ok(&["matrix", "-f", &file, "-o", "json"]));
    let pods = m["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 1, "{m}");
    assert_eq!(pods[0]["name"], "report-28912345-x7k2p");
    assert_eq!(pods[0]["workload"]["kind"], "CronJob");
    let a = netpol().args(["list", "-f", &file]).assert().code(0);
    assert!(
        stderr_of(&a).contains("No resources found"),
        "{}",
        stderr_of(&a)
    );
}

#[test]
fn answers_that_depend_on_unknown_namespace_labels_say_so() {
    let dir = tempfile::tempdir().unwrap();
    // No Namespace objects: `prod` has only its name label here, so NotIn
    // matches it; in the cluster it may well carry env=prod.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: data, labels: {app: db}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: attacker, namespace: prod}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.2}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: not-prod, namespace: data}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}]\n";
    let file = write(dir.path(), "t.yaml", text);
    // Whether `env NotIn (prod)` matches namespace prod is unknown: the
    // answer is neither ALLOWED nor DENIED (exit 4), and says why.
    let out = quiet(&["can", "prod/attacker", "data/db", "-f", &file], 4);
    assert!(
        out.starts_with("UNKNOWN: prod/attacker -> data/db"),
        "{out}"
    );
    assert!(
        out.contains("not in the input: only their name label is known"),
        "{out}"
    );
    assert!(
        out.contains(
            "unknown: whether prod/attacker matches from all pods in namespaces [env!=prod]"
        ),
        "{out}"
    );
    let v = parse_json(&quiet(
        &["can", "prod/attacker", "data/db", "-f", &file, "-o", "json"],
        4,
    ));
    assert_eq!(v["allowed"], serde_json::Value::Null, "{v}");
    assert_eq!(v["ingress"]["allowed"], serde_json::Value::Null, "{v}");
    assert_eq!(v["egress"]["allowed"], true, "{v}");
    // With the Namespace object (no env label), the answer is certain.
    let with_ns = format!("{text}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: prod}}\n");
    let file2 = write(dir.path(), "t2.yaml", &with_ns);
    let out = quiet(&["can", "prod/attacker", "data/db", "-f", &file2], 0);
    assert!(
        out.starts_with("ALLOWED: prod/attacker -> data/db"),
        "{out}"
    );
    // A selector on the name label alone is decided without the object.
    let by_name = text.replace(
        "matchExpressions: [{key: env, operator: NotIn, values: [prod]}]",
        "matchLabels: {kubernetes.io/metadata.name: prod}",
    );
    let file3 = write(dir.path(), "t3.yaml", &by_name);
    let out = quiet(&["can", "prod/attacker", "data/db", "-f", &file3], 0);
    assert!(
        out.starts_with("ALLOWED: prod/attacker -> data/db"),
        "{out}"
    );
    let a = netpol().args(["matrix", "-f", &file]).assert().code(0);
    assert!(
        stderr_of(&a).contains("warning: namespaces data, prod are not in the input"),
        "{}",
        stderr_of(&a)
    );
    // The matrix marks the pair, never "nothing allowed" alone.
    let out = stdout_of(&a);
    assert!(
        out.contains("[2] prod/attacker   -?1    self")
            && out.contains("?1 = unknown: every port may be allowed"),
        "{out}"
    );
    let a = netpol()
        .args(["matrix", "-f", &file, "-o", "json"])
        .assert()
        .code(0);
    let v = parse_json(&stdout_of(&a));
    assert_eq!(
        v["connections"][1],
        serde_json::json!({"from": "prod/attacker", "to": "data/db", "ports": [], "possible": "all"}),
        "{v}"
    );
    let a = netpol()
        .args(["matrix", "-f", &file, "--no-headers"])
        .assert()
        .code(0);
    assert!(
        stdout_of(&a).contains(
            "prod/attacker   data/db         none for certain (unknown: every port may be allowed)"
        ),
        "{}",
        stdout_of(&a)
    );
}

/// A workload manifest's pod has no IP: an ipBlock rule toward it cannot
/// be checked, and an answer that hangs on it is UNKNOWN, not DENIED.
#[test]
fn answers_that_depend_on_an_unknown_pod_ip_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-range, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n    ports: [{port: 8080}]\n";
    let file = write(dir.path(), "t.yaml", text);
    let out = quiet(
        &[
            "can",
            "deployment/web",
            "deployment/api",
            "--port",
            "8080",
            "-n",
            "shop",
            "-f",
            &file,
        ],
        4,
    );
    assert!(out.starts_with("UNKNOWN: shop/"), "{out}");
    assert!(out.contains("its IP is not known"), "{out}");
    // A port the ipBlock rule does not allow is decided whatever the IP:
    // DENIED.
    let out = quiet(
        &[
            "can",
            "deployment/web",
            "deployment/api",
            "--port",
            "9999",
            "-n",
            "shop",
            "-f",
            &file,
        ],
        1,
    );
    assert!(out.starts_with("DENIED: shop/"), "{out}");
}

/// `::ffff:a.b.c.d` is the IPv4 address a.b.c.d (what a dual-stack socket
/// sends), so it names the pod that has that IPv4 address.
#[test]
fn an_ipv4_mapped_address_is_its_ipv4_address() {
    let out = quiet(
        &[
            "can",
            "frontend/web",
            "::ffff:10.244.2.7",
            "--port",
            "8080",
            "-f",
            "examples/shop",
        ],
        0,
    );
    assert!(
        out.starts_with("ALLOWED: frontend/deployment/web -> frontend/web-canary on TCP/8080"),
        "{out}"
    );
}

#[test]
fn check_on_manifests_and_exit_codes() {
    let fx = |f: &str| format!("tests/fixtures/cni/{f}");
    let out = quiet(&["check", "-f", &fx("calico-manifest.yaml")], 0);
    assert!(out.starts_with("NetworkPolicy:  enforced\n"), "{out}");
    let out = quiet(&["check", "-f", &fx("flannel.yaml")], 3);
    assert!(out.starts_with("NetworkPolicy:  not enforced\n"), "{out}");
    let out = quiet(&["check", "-f", &fx("nothing-found.yaml"), "-o", "json"], 4);
    let v = parse_json(&out);
    assert_eq!(v["verdict"], "unknown");
    for key in [
        "verdict",
        "reason",
        "found",
        "caveats",
        "problems",
        "unreadable",
    ] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    let v = parse_json(&quiet(
        &["check", "-f", &fx("cilium-policy-never.yaml"), "-o", "json"],
        3,
    ));
    assert_eq!(v["found"][0]["name"], "Cilium", "{v}");
    assert_eq!(v["found"][0]["enforces"], false, "{v}");
}

#[test]
fn list_explain_can_and_matrix_warn_when_policies_are_not_enforced() {
    let flannel = "tests/fixtures/cni/flannel.yaml";
    for args in [
        &["list", "-f", SHOP, "-f", flannel][..],
        &["explain", "api", "-n", "backend", "-f", SHOP, "-f", flannel],
        // `can` and `matrix` carry the same caveat (issue 13).
        &[
            "can",
            "frontend/web",
            "backend/api",
            "--port",
            "8080",
            "-f",
            SHOP,
            "-f",
            flannel,
        ],
        &["matrix", "-n", "backend", "-f", SHOP, "-f", flannel],
    ] {
        let a = netpol().args(args).assert().code(0);
        let err = stderr_of(&a);
        let caveats: Vec<&str> = err
            .lines()
            .filter(|l| {
                l.starts_with("warning: NetworkPolicy is not enforced in this cluster: flannel")
            })
            .collect();
        assert_eq!(caveats.len(), 1, "{args:?}: {err}");
        // The matrix also says that workload manifests have no IPs.
        if args[0] != "matrix" {
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    // With Calico beside flannel (Canal-like), no warning.
    ok(&[
        "list",
        "-f",
        SHOP,
        "-f",
        "tests/fixtures/cni/flannel-calico.yaml",
    ]);
}

#[test]
fn check_is_not_fooled_by_names_or_unready_engines() {
    let dir = tempfile::tempdir().unwrap();
    let ds = |name: &str, container: &str, image: &str, ready: u32| {
        format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: kube-system}}\nspec:\n  selector: {{matchLabels: {{a: b}}}}\n  template:\n    metadata: {{labels: {{a: b}}}}\n    spec: {{containers: [{{name: {container}, image: '{image}'}}]}}\nstatus: {{desiredNumberScheduled: 3, numberReady: {ready}, currentNumberScheduled: 3, numberMisscheduled: 0}}\n"
        )
    };
    // A DaemonSet that is only named like Calico.
    let file = write(
        dir.path(),
        "name.yaml",
        &ds("calico-node", "app", "docker.io/library/busybox:1.36", 3),
    );
    let out = quiet(&["check", "-f", &file], 4);
    assert!(out.starts_with("NetworkPolicy:  unknown"), "{out}");
    // Real Calico with no ready pod: nothing enforces right now.
    let file = write(
        dir.path(),
        "down.yaml",
        &ds(
            "calico-node",
            "calico-node",
            "docker.io/calico/node:v3.28.1",
            0,
        ),
    );
    let out = quiet(&["check", "-f", &file], 4);
    assert!(out.contains("no agent pod is ready"), "{out}");
    // Ready: enforced.
    let file = write(
        dir.path(),
        "up.yaml",
        &ds(
            "calico-node",
            "calico-node",
            "docker.io/calico/node:v3.28.1",
            3,
        ),
    );
    quiet(&["check", "-f", &file], 0);
}

#[test]
fn version_subcommand_names_version_commit_and_target() {
    let out = ok(&["version"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("kubectl-netpol v{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(lines[1].starts_with("git commit: "), "{out}");
    assert!(
        lines[2].starts_with("target:     ") && lines[2].len() > 12,
        "{out}"
    );
    let v = parse_json(&ok(&["version", "-o", "json"]));
    assert_eq!(keys(&v), set(&["version", "gitCommit", "target"]));
}

#[test]
fn completion_offers_subcommands_flags_and_values() {
    let c = |words: &[&str]| {
        let mut args = vec!["__complete"];
        args.extend(words);
        ok(&args)
    };
    let subs = c(&[""]);
    for s in [
        "explain", "list", "can", "matrix", "check", "lint", "coverage", "wizard", "version",
        "generate", "sync", "graph",
    ] {
        assert!(subs.lines().any(|l| l == s), "{s} in {subs}");
    }
    assert!(!subs.contains("__complete"), "hidden: {subs}");
    assert!(subs.ends_with(":4\n"), "{subs}");
    assert_eq!(c(&["ma"]), "matrix\n:4\n");
    let flags = c(&["lint", "--fa"]);
    assert_eq!(flags, "--fail-on\n:4\n");
    assert!(c(&["list", "--"]).contains("--kubeconfig\n"));
    assert_eq!(c(&["list", "-o", "y"]), "yaml\n:4\n");
    // File names for -f; nothing (quietly) when no cluster is reachable.
    assert_eq!(c(&["list", "-f", ""]), ":0\n");
    assert_eq!(c(&["explain", "-n", ""]), ":4\n");
    assert_eq!(c(&["explain", ""]), ":4\n");
}

/// `check` tells the platform from Node objects (tests/fixtures/cni/platforms,
/// the same files tests/e2e_input.rs applies to a real API server) and uses
/// it where it changes the verdict or its caveats.
#[test]
fn check_tells_the_platform_from_nodes() {
    let fx = |f: &str| format!("tests/fixtures/cni/platforms/{f}");
    for (file, name, node, sign) in [
        (
            "kind.yaml",
            "kind",
            "netpol-e2e-kind-control-plane",
            "providerID kind://docker/netpol/netpol-control-plane",
        ),
        (
            "eks.yaml",
            "EKS",
            "netpol-e2e-eks-ip-10-0-1-20",
            "label eks.amazonaws.com/capacityType",
        ),
        (
            "gke.yaml",
            "GKE",
            "netpol-e2e-gke-pool-a-1",
            "label cloud.google.com/gke-nodepool",
        ),
        (
            "aks.yaml",
            "AKS",
            "netpol-e2e-aks-nodepool1-0",
            "label kubernetes.azure.com/agentpool",
        ),
        (
            "rke2.yaml",
            "RKE2",
            "netpol-e2e-rke2-agent",
            "kubelet v1.31.4+rke2r1",
        ),
        (
            "minikube.yaml",
            "minikube",
            "netpol-e2e-minikube-m01",
            "label minikube.k8s.io/name",
        ),
        (
            "openshift.yaml",
            "OpenShift",
            "netpol-e2e-openshift-master-0",
            "label node.openshift.io/os_id",
        ),
    ] {
        // Nodes alone: no CNI to judge, so the verdict cannot be told.
        let v = parse_json(&quiet(&["check", "-f", &fx(file), "-o", "json"], 4));
        assert_eq!(v["platform"]["name"], name, "{file}: {v}");
        assert_eq!(v["platform"]["node"], node, "{file}: {v}");
        assert_eq!(v["platform"]["sign"], sign, "{file}: {v}");
        let out = quiet(&["check", "-f", &fx(file)], 4);
        assert!(
            out.contains(&format!("\nPlatform:       {name} (node {node}: {sign})\n")),
            "{file}: {out}"
        );
    }
    // k3s is told from its kubelet version too.
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            "tests/fixtures/cni/k3s-default.yaml",
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(v["platform"]["name"], "k3s", "{v}");
    // No nodes: no platform, said as such.
    let out = quiet(
        &["check", "-f", "tests/fixtures/cni/calico-manifest.yaml"],
        0,
    );
    assert!(out.contains("\nPlatform:       <unknown>\n"), "{out}");
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            "tests/fixtures/cni/calico-manifest.yaml",
            "-o",
            "json",
        ],
        0,
    ));
    assert!(v["platform"].is_null(), "{v}");
}

#[test]
fn the_platform_changes_the_verdict_and_caveats() {
    let dir = tempfile::tempdir().unwrap();
    let fx = |f: &str| format!("tests/fixtures/cni/{f}");
    // Something of kube-system that is no policy engine (CoreDNS).
    let dns = write(
        dir.path(),
        "dns.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns-5d78c9869d-abcde, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec: {containers: [{name: coredns, image: 'registry.k8s.io/coredns/coredns:v1.11.1'}]}\n",
    );
    // GKE without anetd or calico-node: not enforced (exit 3).
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            &fx("platforms/gke.yaml"),
            "-f",
            &dns,
            "-o",
            "json",
        ],
        3,
    ));
    assert_eq!(v["verdict"], "not-enforced", "{v}");
    assert_eq!(
        v["reason"],
        "GKE enforces NetworkPolicy only with Dataplane V2 or with network policy enforcement (Calico) turned on, and neither was found.",
        "{v}"
    );
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap_or_default()
            .contains("anetd"),
        "{v}"
    );
    // The same pods without the GKE nodes: cannot tell.
    quiet(&["check", "-f", &dns], 4);
    // GKE nodes alone (no kube-system seen): cannot tell either.
    quiet(&["check", "-f", &fx("platforms/gke.yaml")], 4);
    // GKE with Dataplane V2: enforced.
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            &fx("platforms/gke.yaml"),
            "-f",
            &fx("gke-dataplane-v2.yaml"),
            "-o",
            "json",
        ],
        0,
    ));
    assert_eq!(v["found"][0]["name"], "GKE Dataplane V2", "{v}");
    assert_eq!(v["platform"]["name"], "GKE", "{v}");
    // EKS with the VPC CNI enforcing: Fargate and Windows nodes are not covered.
    let fargate = |v: &Value| {
        v["caveats"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c.as_str().unwrap_or_default().contains("Fargate"))
    };
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            &fx("platforms/eks.yaml"),
            "-f",
            &fx("aws-vpc-cni-agent-enabled.yaml"),
            "-o",
            "json",
        ],
        0,
    ));
    assert!(fargate(&v), "{v}");
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            &fx("aws-vpc-cni-agent-enabled.yaml"),
            "-o",
            "json",
        ],
        0,
    ));
    assert!(!fargate(&v), "not EKS: {v}");
    // AKS with no engine found: still cannot tell (a cluster may bring its
    // own CNI), with the caveat naming AKS's engines.
    let v = parse_json(&quiet(
        &[
            "check",
            "-f",
            &fx("platforms/aks.yaml"),
            "-f",
            &dns,
            "-o",
            "json",
        ],
        4,
    ));
    assert!(
        v["caveats"].as_array().into_iter().flatten().any(|c| c
            .as_str()
            .unwrap_or_default()
            .contains("Azure NPM, Calico or Cilium")),
        "{v}"
    );
}

// ---------------------------------------------------------------------------
// kubectl conventions: -l, --no-headers, -o name, -o wide, flags that mean
// nothing for a command, completion from the kubeconfig
// ---------------------------------------------------------------------------

const LABELLED: &str = "tests/fixtures/kubectl/labelled.yaml";

#[test]
fn list_table_wide_no_headers_and_names() {
    // The default table: header, one row per policy, then the findings.
    let out = ok(&["list", "-n", "backend", "-f", SHOP]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(cells(lines[0]), ["NAME", "PODS", "SUMMARY"]);
    assert_eq!(
        row(&out, &["default-deny"]),
        [
            "default-deny",
            "6",
            "namespace/backend denies all ingress and egress for all pods"
        ]
    );
    // -o wide: policy types, rules per direction, the pod selector.
    let wide = ok(&["list", "-f", LABELLED, "-o", "wide"]);
    assert_eq!(
        cells(wide.lines().next().unwrap()),
        [
            "NAMESPACE",
            "NAME",
            "PODS",
            "POLICY-TYPES",
            "INGRESS-RULES",
            "EGRESS-RULES",
            "POD-SELECTOR",
            "SUMMARY"
        ]
    );
    assert_eq!(
        row(&wide, &["team", "web-egress"])[..7],
        ["team", "web-egress", "2", "Egress", "-", "2", "app=web"]
    );
    assert_eq!(
        row(&wide, &["team", "unlabelled-deny"])[..7],
        [
            "team",
            "unlabelled-deny",
            "3",
            "Ingress",
            "0",
            "-",
            "<none>"
        ]
    );
    let shop_wide = ok(&["list", "-n", "backend", "-f", SHOP, "-o", "wide"]);
    assert_eq!(
        row(&shop_wide, &["default-deny"])[..6],
        ["default-deny", "6", "Ingress,Egress", "0", "0", "<none>"]
    );
    // --no-headers: the rows alone (no header, no findings below).
    let bare = ok(&["list", "-f", LABELLED, "--no-headers"]);
    assert_eq!(bare.lines().count(), 3, "{bare}");
    assert!(bare.lines().all(|l| l.starts_with("team ")), "{bare}");
    assert!(
        !bare.contains("NAME") && !bare.contains("Findings"),
        "{bare}"
    );
    let bare_wide = ok(&["list", "-f", LABELLED, "--no-headers", "-o", "wide"]);
    assert_eq!(bare_wide.lines().count(), 3, "{bare_wide}");
    assert_eq!(
        cells(bare_wide.lines().next().unwrap())[..4],
        ["team", "db-from-web", "1", "Ingress"]
    );
    // -o name: as kubectl get -o name (no namespace), sorted as the table.
    assert_eq!(
        ok(&["list", "-n", "frontend", "-f", SHOP, "-o", "name"]),
        "networkpolicy.networking.k8s.io/allow-canary-debug\n\
         networkpolicy.networking.k8s.io/allow-web-ingress\n\
         networkpolicy.networking.k8s.io/default-deny-ingress\n"
    );
    // Nothing in scope: kubectl's message on stderr, nothing on stdout.
    let a = netpol()
        .args(["list", "-n", "nowhere", "-f", SHOP, "-o", "name"])
        .assert()
        .code(0)
        .stdout("");
    assert_eq!(stderr_of(&a), "No resources found in nowhere namespace.\n");
}

#[test]
fn list_selector_filters_policies_by_their_labels() {
    let names = |sel: &str| {
        ok(&["list", "-f", LABELLED, "-l", sel, "-o", "name"])
            .lines()
            .map(|l| l.trim_start_matches("networkpolicy.networking.k8s.io/"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(names("owner=alpha"), "db-from-web");
    assert_eq!(names("owner==beta"), "web-egress");
    assert_eq!(names("owner!=alpha"), "unlabelled-deny web-egress");
    assert_eq!(names("owner in (alpha,beta)"), "db-from-web web-egress");
    assert_eq!(names("owner notin (alpha)"), "unlabelled-deny web-egress");
    assert_eq!(names("owner"), "db-from-web web-egress");
    assert_eq!(names("!owner"), "unlabelled-deny");
    assert_eq!(names("owner,!tier"), "web-egress");
    // The selector is about the policies, not the pods they select.
    let a = netpol()
        .args(["list", "-f", LABELLED, "-l", "app=web"])
        .assert()
        .code(0)
        .stdout("");
    assert_eq!(stderr_of(&a), "No resources found\n");
    let v = parse_json(&ok(&[
        "list",
        "-f",
        LABELLED,
        "--selector",
        "tier=data",
        "-o",
        "json",
    ]));
    assert_eq!(v["policies"].as_array().unwrap().len(), 1);
    assert_eq!(v["policies"][0]["name"], "db-from-web");
}

#[test]
fn an_invalid_selector_is_one_error_line_with_an_example() {
    for sel in ["app in (a", "=x", "a=b=c", "%%"] {
        for cmd in ["list", "matrix", "coverage"] {
            let e = one_error(&[cmd, "-f", LABELLED, "-l", sel], 2);
            assert!(
                e.starts_with(&format!(
                    "error: -l/--selector {sel:?}: invalid label selector"
                )) && e.contains("e.g. -l 'app=web,tier in (front,back),!canary'"),
                "{cmd} -l {sel}: {e}"
            );
        }
    }
    // A common slip gets its correction, checked to parse.
    for (sel, fixed) in [("app in web", "app in (web)"), ("app=a|b", "app in (a,b)")] {
        let e = one_error(&["list", "-f", LABELLED, "-l", sel], 2);
        assert!(
            e.starts_with(&format!(
                "error: -l/--selector {sel:?}: invalid label selector"
            )) && e.ends_with(&format!("did you mean -l {fixed:?}?")),
            "-l {sel}: {e}"
        );
    }
    // Keys and values are checked as the API checks them.
    let e = one_error(&["list", "-f", LABELLED, "-l", "app=-web"], 2);
    assert!(e.contains("label value \"-web\""), "{e}");
    let e = one_error(
        &["explain", "-n", "team", "-f", LABELLED, "-l", "x in (a"],
        2,
    );
    assert!(e.contains("invalid label selector"), "{e}");
}

#[test]
fn selector_picks_pods_for_explain_matrix_and_coverage() {
    // explain -l: each matching pod, as explain POD would say it.
    let out = ok(&["explain", "-n", "team", "-f", LABELLED, "-l", "app=web"]);
    let pods: Vec<&str> = out.lines().filter(|l| l.starts_with("Pod:")).collect();
    assert_eq!(pods, ["Pod:         team/web-1", "Pod:         team/web-2"]);
    let single = ok(&["explain", "web-1", "-n", "team", "-f", LABELLED]);
    assert!(out.starts_with(&single), "{out}");
    let v = parse_json(&ok(&[
        "explain",
        "-n",
        "team",
        "-f",
        LABELLED,
        "-l",
        "tier in (front),app",
        "-o",
        "json",
    ]));
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pod"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-2"]);
    // The same documents as explain POD -o json, in order.
    let one = parse_json(&ok(&[
        "explain", "web-1", "-n", "team", "-f", LABELLED, "-o", "json",
    ]));
    assert_eq!(v["items"][0], one);
    let yaml = ok(&[
        "explain", "-n", "team", "-f", LABELLED, "-l", "app=db", "-o", "yaml",
    ]);
    let y: Value = serde_yaml_ng::from_str(&yaml).expect("YAML");
    assert_eq!(y["items"][0]["pod"]["name"], "db-1");
    assert_eq!(y["items"].as_array().unwrap().len(), 1);
    // No pod matches: kubectl's message, exit 0.
    let a = netpol()
        .args(["explain", "-n", "team", "-f", LABELLED, "-l", "app=none"])
        .assert()
        .code(0)
        .stdout("");
    assert_eq!(stderr_of(&a), "No resources found in team namespace.\n");
    let v = parse_json(&stdout_of(
        &netpol()
            .args([
                "explain", "-n", "team", "-f", LABELLED, "-l", "x", "-o", "json",
            ])
            .assert()
            .code(0),
    ));
    assert_eq!(v, serde_json::json!({"items": []}));

    // matrix -l: only the matching pods, as rows and columns.
    let v = parse_json(&ok(&["matrix", "-f", LABELLED, "-l", "app", "-o", "json"]));
    assert_eq!(v["pods"].as_array().unwrap().len(), 3);
    let v = parse_json(&ok(&[
        "matrix", "-f", LABELLED, "-l", "app!=db", "-o", "json",
    ]));
    let names: Vec<&str> = v["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-2"]);
    assert_eq!(v["connections"], serde_json::json!([]));

    // coverage -l: the matching pods are counted, the default deny stays.
    let v = parse_json(&ok(&[
        "coverage", "-f", LABELLED, "-l", "app=db", "-o", "json",
    ]));
    assert_eq!(v["total"]["pods"], 1);
    assert_eq!(
        v["namespaces"][0]["defaultDenyIngress"],
        serde_json::json!(["unlabelled-deny"])
    );
    assert_eq!(
        v["namespaces"][0]["notIsolatedEgress"],
        serde_json::json!(["team/db-1"])
    );
    let v = parse_json(&ok(&["coverage", "-f", LABELLED, "-o", "json"]));
    assert_eq!(v["total"]["pods"], 3);
}

#[test]
fn no_headers_on_every_table() {
    // coverage: the namespace rows alone (no TOTAL, no notes).
    assert_eq!(
        ok(&["coverage", "-f", LABELLED, "--no-headers"]),
        "team   3   3/3   2/3   ingress\n"
    );
    // matrix: the pairs that may connect, without header nor count.
    assert_eq!(
        ok(&["matrix", "-f", LABELLED, "--no-headers"]),
        "team/web-1   team/db-1   TCP/5432\nteam/web-2   team/db-1   TCP/5432\n"
    );
    let with = ok(&["matrix", "-f", LABELLED]);
    assert!(with.contains("FROM \\ TO"), "{with}");
    // lint --list-checks: the table, and JSON.
    let table = ok(&["lint", "--list-checks", "--no-headers"]);
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .starts_with("namespace-selector-typo ")
    );
    assert!(!table.contains("SEVERITY"));
    let v = parse_json(&ok(&["lint", "--list-checks", "-o", "json"]));
    let first = &v["checks"][0];
    assert_eq!(keys(first), set(&["check", "severity", "finds"]));
    assert_eq!(v["checks"].as_array().unwrap().len(), table.lines().count());
    // --no-headers=false keeps them; with -o json it changes nothing (kubectl).
    assert!(ok(&["list", "-f", LABELLED, "--no-headers=false"]).starts_with("NAMESPACE"));
    assert_eq!(
        ok(&["list", "-f", LABELLED, "--no-headers", "-o", "json"]),
        ok(&["list", "-f", LABELLED, "-o", "json"])
    );
}

/// Flags that mean nothing for a command are one error line, exit 2,
/// never silently ignored.
#[test]
fn flags_that_mean_nothing_for_a_command_are_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["explain", "api", "-A", "-f", SHOP],
            "-A/--all-namespaces does not apply to explain",
        ),
        (
            &["can", "a", "b", "-A", "-f", SHOP],
            "-A/--all-namespaces does not apply to can",
        ),
        (
            &["check", "-A", "-f", SHOP],
            "-A/--all-namespaces does not apply to check",
        ),
        (
            &["wizard", "-A", "--offline"],
            "-A/--all-namespaces does not apply to wizard",
        ),
        (
            &["version", "--all-namespaces"],
            "-A/--all-namespaces does not apply to version",
        ),
        (&["list", "-R"], "-R/--recursive needs -f"),
        (&["version", "-R"], "-R/--recursive needs -f"),
        (
            &["can", "a", "b", "-o", "wide", "-f", SHOP],
            "-o wide is not supported by can; allowed formats: text, json, yaml",
        ),
        (
            &["matrix", "-o", "wide", "-f", SHOP],
            "-o wide is not supported by matrix",
        ),
        (
            &["check", "-o", "wide", "-f", SHOP],
            "-o wide is not supported by check",
        ),
        (
            &["lint", "-o", "wide", "-f", SHOP],
            "-o wide is not supported by lint",
        ),
        (
            &["version", "-o", "wide"],
            "-o wide is not supported by version",
        ),
        (
            &["wizard", "-o", "wide", "--offline"],
            "-o wide is not supported by wizard",
        ),
        (
            &["explain", "api", "-o", "name", "-f", SHOP],
            "-o name is not supported by explain (it prints the names of the objects a command lists: only list does)",
        ),
        (
            &["coverage", "-o", "name", "-f", SHOP],
            "-o name is not supported by coverage",
        ),
        (
            &["matrix", "-o", "name", "-f", SHOP],
            "-o name is not supported by matrix",
        ),
        (
            &["explain", "api", "--no-headers", "-f", SHOP],
            "--no-headers applies to tables",
        ),
        (
            &["can", "a", "b", "--no-headers", "-f", SHOP],
            "--no-headers applies to tables",
        ),
        (
            &["lint", "--no-headers", "-f", SHOP],
            "--no-headers applies to tables (list, coverage, matrix, lint --list-checks); lint prints none",
        ),
        (
            &["coverage", "--no-headers", "-o", "wide", "-f", SHOP],
            "--no-headers with coverage -o wide",
        ),
        (
            &["can", "a", "b", "-l", "app=x", "-f", SHOP],
            "-l/--selector does not apply to can",
        ),
        (
            &["wizard", "--selector", "app=x", "--offline"],
            "-l/--selector does not apply to wizard: the pods a policy protects are --select LABELS",
        ),
        (
            &["lint", "-l", "app=x", "-f", SHOP],
            "-l/--selector does not apply to lint",
        ),
        (
            &["check", "-l", "app=x", "-f", SHOP],
            "-l/--selector does not apply to check",
        ),
        (&["explain", "-f", SHOP], "explain needs a POD"),
        (
            &["explain", "api", "-l", "app=api", "-f", SHOP],
            "name cannot be provided when a selector is specified",
        ),
        (
            &["list", "--as-uid", "42", "--server", "https://127.0.0.1:1"],
            "requesting uid (--as-uid) without impersonating a user (--as)",
        ),
    ];
    for (args, expected) in cases {
        let e = one_error(args, 2);
        assert!(
            e.starts_with(&format!("error: {expected}")),
            "{args:?}: {e}"
        );
    }
    // Where they do apply, they are fine.
    ok(&["list", "-A", "-f", SHOP, "-o", "name"]);
    ok(&["coverage", "-A", "-f", SHOP, "-o", "wide"]);
    ok(&["explain", "api", "-n", "backend", "-f", SHOP, "-A=false"]);
}

/// clap's "did you mean" for near misses names the flag meant.
#[test]
fn near_misses_suggest_the_flag_meant() {
    for (typed, meant) in [
        ("--selectr", "--selector"),
        ("--selecto", "--selector"),
        ("--namespaces", "--namespace"),
        ("--all-namespace", "--all-namespaces"),
        ("--no-header", "--no-headers"),
        ("--contxt", "--context"),
        ("--client-cert", "--client-certificate"),
    ] {
        let err = one_error(&["list", typed, "x"], 2);
        assert!(
            err.contains(&format!(
                "; did you mean '{meant}'? (see kubectl netpol list --help)"
            )),
            "{typed}: {err}"
        );
    }
}

/// After a flag that takes a value come that flag's values or nothing;
/// positional words beyond a command's own get nothing; -f's names come
/// from the manifests; only flags that apply to the command are offered.
#[test]
fn completion_follows_the_parser() {
    let c = |words: &[&str]| {
        let mut args = vec!["__complete"];
        args.extend(words);
        ok(&args)
    };
    // A kubeconfig whose server is a port nothing listens on: were pods
    // asked for, the answer would still be empty, so the directive and
    // the absence of anything else is what is checked.
    for words in [
        &["explain", "-l", ""][..],
        &["can", "--port", ""],
        &["can", "--token", ""],
        &["can", "--as", ""],
        &["can", "-s", ""],
        &["can", "web-1", "api-1", ""],
        &["explain", "api-1", ""],
        &["list", ""],
        &["list", "-A", ""],
    ] {
        assert_eq!(c(words), ":4\n", "{words:?}");
    }
    // -f: names from the manifests, never the cluster.
    assert_eq!(
        c(&["explain", "-f", SHOP, "-n", "backend", "c"]),
        "cache-0\n:4\n"
    );
    assert_eq!(
        c(&["can", "-f", SHOP, "frontend/web", "backend/p"]),
        "backend/postgres\n:4\n"
    );
    let out = c(&["can", "-f", SHOP, "fr"]);
    assert_eq!(out, "frontend/\n:6\n");
    assert_eq!(c(&["list", "-f", SHOP, "-n", "fr"]), "frontend\n:4\n");
    assert_eq!(c(&["list", "-f", SHOP, "-n=fr"]), "-n=frontend\n:4\n");
    assert_eq!(
        c(&["list", "-f", SHOP, "--namespace=fr"]),
        "--namespace=frontend\n:4\n"
    );
    assert_eq!(
        c(&["wizard", "-f", SHOP, "-n", "backend", "--from", "allow-web"]),
        "allow-web-to-api\n:4\n"
    );
    assert_eq!(
        c(&["wizard", "-f", SHOP, "--from", "backend/allow-web"]),
        "backend/allow-web-to-api\n:4\n"
    );
    // Fixed values.
    assert_eq!(c(&["lint", "--fail-on", ""]), "error\nwarning\ninfo\n:4\n");
    assert_eq!(c(&["lint", "--fail-on=w"]), "--fail-on=warning\n:4\n");
    // A check given once is not offered again, to either flag.
    let again = c(&["lint", "--disable", "split-peer", "--disable", "split-"]);
    assert_eq!(again, "split-rule\n:4\n");
    // Flags that apply to the command only.
    let explain = c(&["explain", "--"]);
    assert!(!explain.contains("--all-namespaces"), "{explain}");
    assert!(!explain.contains("--no-headers"), "{explain}");
    assert!(explain.contains("--selector\n"), "{explain}");
    assert!(!c(&["can", "--"]).contains("--selector"));
    assert_eq!(c(&["version", "--"]), "--help\n--output\n:4\n");
    // With -f, no connection flags (but where -f meets a cluster).
    assert_eq!(c(&["list", "-f", SHOP, "--cont"]), ":4\n");
    assert_eq!(
        c(&["lint", "-f", SHOP, "--against-cluster", "--cont"]),
        "--context\n:4\n"
    );
    assert_eq!(c(&["diff", "-f", SHOP, "--cont"]), "--context\n:4\n");
    // diff's OLD and NEW are files.
    assert_eq!(c(&["diff", ""]), ":0\n");
}

/// Completion never takes more than its two seconds, however many reads
/// it makes, against a server that accepts and never answers.
#[test]
fn completion_is_bounded_as_a_whole() {
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hang.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = hang.incoming().take(16).collect();
        std::thread::sleep(std::time::Duration::from_secs(10));
        drop(held);
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- {{name: c, cluster: {{server: 'https://127.0.0.1:{port}'}}}}\nusers:\n- {{name: u, user: {{token: t}}}}\ncontexts:\n- {{name: x, context: {{cluster: c, user: u}}}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let kc = kc.display().to_string();
    for words in [
        &["can", ""][..],
        &["list", "-n", ""],
        &["wizard", "--from", ""],
    ] {
        let start = std::time::Instant::now();
        let mut args = vec!["__complete", "--kubeconfig", kc.as_str()];
        args.extend(words);
        assert_eq!(ok(&args), ":4\n");
        let took = start.elapsed();
        assert!(
            took < std::time::Duration::from_millis(2700),
            "{words:?} took {took:?}"
        );
    }
}

/// One wording for a --request-timeout that runs out, whichever command
/// and whichever stage (connecting, TLS, reading) it runs out in.
#[test]
fn request_timeout_is_worded_once() {
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", hang.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let held: Vec<_> = hang.incoming().take(64).collect();
        std::thread::sleep(std::time::Duration::from_secs(20));
        drop(held);
    });
    for timeout in ["1ms", "200ms"] {
        for args in [
            &["list"][..],
            &["list", "-o", "name"],
            &["can", "a", "b"],
            &["explain", "a"],
            &["matrix"],
        ] {
            let code = if args[0] == "can" { 2 } else { 1 };
            let all = [args, &["-s", url.as_str(), "--request-timeout", timeout]].concat();
            assert_eq!(
                one_error(&all, code),
                format!("error: the request timed out after {timeout} (--request-timeout)"),
                "{all:?}"
            );
        }
    }
}

/// A kubeconfig that chooses no context is told so, as kubectl would,
/// never with a made-up cluster name.
#[test]
fn a_kubeconfig_without_current_context_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- {name: c, cluster: {server: 'https://127.0.0.1:1'}}\ncontexts:\n- {name: a, context: {cluster: c}}\n- {name: b, context: {cluster: c}}\n",
    )
    .unwrap();
    let kc = kc.display().to_string();
    assert_eq!(
        one_error(&["list", "--kubeconfig", &kc], 1),
        "error: no context chosen: the kubeconfig sets no current-context; use --context NAME (a, b) or set one with kubectl config use-context NAME"
    );
    // --context chooses one.
    let e = one_error(&["list", "--kubeconfig", &kc, "--context", "b"], 1);
    assert!(e.contains("127.0.0.1:1"), "{e}");
}

/// -n is a namespace name: a DNS-1123 label, checked before anything is
/// read.
#[test]
fn an_invalid_namespace_is_a_usage_error() {
    for ns in ["..", "Backend", "a_b", "x-", &"a".repeat(64)] {
        let e = one_error(&["list", "-n", ns, "-f", SHOP], 2);
        assert!(
            e.starts_with(&format!("error: invalid namespace {ns:?}: ")),
            "{e}"
        );
    }
}

/// A kubeconfig with two contexts, clusters and users, pointing at a
/// port nothing listens on.
fn write_kubeconfig(dir: &Path) -> String {
    let path = dir.join("config");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- {name: prod-cluster, cluster: {server: 'https://127.0.0.1:1'}}\n- {name: dev-cluster, cluster: {server: 'https://127.0.0.1:1'}}\n\
         users:\n- {name: prod-admin, user: {token: t}}\n- {name: dev-user, user: {token: t}}\n\
         contexts:\n- {name: prod, context: {cluster: prod-cluster, user: prod-admin}}\n- {name: dev, context: {cluster: dev-cluster, user: dev-user}}\n\
         current-context: dev\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn completion_of_kubeconfig_names_check_ids_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(dir.path());
    let c = |words: &[&str]| {
        let mut args = vec!["__complete"];
        args.extend(words);
        ok(&args)
    };
    assert_eq!(
        c(&["list", "--kubeconfig", &kc, "--context", ""]),
        "dev\nprod\n:4\n"
    );
    assert_eq!(
        c(&["list", "--kubeconfig", &kc, "--context", "p"]),
        "prod\n:4\n"
    );
    assert_eq!(
        c(&["--kubeconfig", &kc, "can", "--cluster", ""]),
        "dev-cluster\nprod-cluster\n:4\n"
    );
    assert_eq!(
        c(&["list", &format!("--kubeconfig={kc}"), "--user", "d"]),
        "dev-user\n:4\n"
    );
    // --flag=value forms.
    assert_eq!(
        c(&["list", "--kubeconfig", &kc, "--context=pr"]),
        "--context=prod\n:4\n"
    );
    // $KUBECONFIG, as kubectl reads it.
    let a = netpol()
        .env("KUBECONFIG", &kc)
        .args(["__complete", "list", "--user", ""])
        .assert()
        .code(0);
    assert_eq!(stdout_of(&a), "dev-user\nprod-admin\n:4\n");
    // No kubeconfig: quietly nothing.
    assert_eq!(c(&["list", "--context", ""]), ":4\n");
    // lint check ids, comma-separated, not repeating one already given.
    assert_eq!(
        c(&["lint", "--disable", "split-"]),
        "split-peer\nsplit-rule\n:4\n"
    );
    assert_eq!(
        c(&["lint", "--enable", "split-peer,split-"]),
        "split-peer,split-rule\n:4\n"
    );
    assert_eq!(
        c(&["lint", "--enable=egress-b"]),
        "--enable=egress-blocks-dns\n:4\n"
    );
    let all = c(&["lint", "--disable", ""]);
    assert_eq!(
        all.lines().count(),
        ok(&["lint", "--list-checks", "--no-headers"])
            .lines()
            .count()
            + 1
    );
    // -o: the formats the subcommand prints.
    assert_eq!(c(&["list", "-o", ""]), "text\nwide\njson\nyaml\nname\n:4\n");
    assert_eq!(c(&["can", "-o", ""]), "text\njson\nyaml\n:4\n");
    assert_eq!(c(&["explain", "-o", "w"]), "wide\n:4\n");
    // The new flags are offered.
    let flags = c(&["list", "--"]);
    for f in [
        "--selector",
        "--no-headers",
        "--client-certificate",
        "--client-key",
        "--as-uid",
    ] {
        assert!(flags.lines().any(|l| l == f), "{f} in {flags}");
    }
    // File names for the certificate flags.
    assert_eq!(c(&["list", "--client-key", ""]), ":0\n");
}

#[test]
fn empty_connection_flags_mean_not_given_as_for_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(dir.path());
    // --context= is the current context: the error is about the server,
    // not about a context named "".
    let e = one_error(
        &[
            "list",
            "--kubeconfig",
            &kc,
            "--context=",
            "--request-timeout",
            "2s",
        ],
        1,
    );
    assert!(!e.contains("context was not found"), "{e}");
    assert!(e.contains("127.0.0.1:1"), "{e}");
    let e = one_error(&["list", "--kubeconfig", &kc, "--context=nope"], 1);
    assert!(
        e.contains("context was not found for specified context: nope"),
        "{e}"
    );
}

#[test]
fn client_certificate_flags_are_checked_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(dir.path());
    let e = one_error(
        &[
            "list",
            "--kubeconfig",
            &kc,
            "--client-certificate",
            "/nonexistent/cert.pem",
            "--client-key",
            "/nonexistent/key.pem",
        ],
        1,
    );
    assert!(
        e.starts_with("error: --client-certificate \"/nonexistent/cert.pem\": "),
        "{e}"
    );
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "not used").unwrap();
    let e = one_error(
        &[
            "list",
            "--kubeconfig",
            &kc,
            "--client-certificate",
            cert.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        e.contains(
            "client-key-data or client-key (--client-key) must be specified for \"dev-user\""
        ),
        "{e}"
    );
}

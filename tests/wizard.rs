//! Tests of `kubectl netpol wizard`, offline.
//!
//! Two halves:
//!
//! * unattended runs through [`netpol`] (as in tests/cli.rs: a scrubbed
//!   environment, stdin empty, so nothing is ever asked), checking every
//!   error path and the policies built from flags;
//! * interactive runs through a real pseudo-terminal ([`Term`], rexpect)
//!   on the bundled example (`-f examples/shop`), with keys as a person
//!   would press them.
//!
//! The end-to-end half (server dry run, apply) is in tests/e2e.rs.

use std::path::Path;
use std::time::Duration;

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession};
use serde_json::{Value, json};
use tempfile::TempDir;

mod common;
use common::*;

const SHOP: &str = "examples/shop";
/// The example by absolute path, for runs in a temporary directory.
const SHOP_ABS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shop");

/// The one line an unattended run without enough answers gets; `{}` is
/// what is missing.
fn missing(what: &str) -> String {
    format!(
        "error: not enough answers to build a policy without prompts; pass {what} (see kubectl netpol wizard --help)"
    )
}
const NEED_SELECT: &str = "--select LABELS (or --all-pods)";
const NEED_DIRECTION: &str =
    "--allow-from PEER, --allow-to PEER, --deny-all-ingress, --deny-all-egress or --allow-dns";
const NEED_CLUSTER: &str = "error: --apply and --dry-run need a cluster; offline (-f or --offline) the wizard only prints or writes";

/// The DNS rule the wizard adds for the usual CoreDNS.
fn dns_rule() -> Value {
    json!({
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        "to": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}
        }]
    })
}

/// What the wizard prints for "api in backend accepts app=web of frontend
/// on 8080".
const WEB_TO_API: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web-to-api
  namespace: backend
spec:
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: frontend
      podSelector:
        matchLabels:
          app: web
    ports:
    - port: 8080
      protocol: TCP
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
";

/// [`WEB_TO_API`] under another name: on the example, where
/// backend/allow-web-to-api exists with other rules, the name suggested is
/// the next free one, `allow-web-to-api-2`.
fn web_to_api(name: &str) -> String {
    WEB_TO_API.replace("  name: allow-web-to-api\n", &format!("  name: {name}\n"))
}

/// The note of a suggested name that moved on from an existing policy's.
const NAME_MOVED: &str = "a different NetworkPolicy backend/allow-web-to-api exists: the name suggested is allow-web-to-api-2 (--name allow-web-to-api replaces it)";

// ---------------------------------------------------------------------------
// Helpers: unattended runs
// ---------------------------------------------------------------------------

/// `kubectl netpol wizard ARGS`, which must fail with `code`, print nothing
/// on stdout and exactly one line on stderr; returns that line.
fn one_error(args: &[&str], code: i32) -> String {
    let a = netpol()
        .arg("wizard")
        .args(args)
        .assert()
        .code(code)
        .stdout("");
    let err = stderr_of(&a);
    assert!(err.starts_with("error: "), "{args:?}: stderr: {err:?}");
    assert!(err.ends_with('\n'), "{args:?}: stderr: {err:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got: {err:?}");
    err.trim_end().to_string()
}

/// `kubectl netpol wizard ARGS`, which must succeed; (stdout, stderr).
fn wizard(args: &[&str]) -> (String, String) {
    let a = netpol().arg("wizard").args(args).assert().code(0);
    (stdout_of(&a), stderr_of(&a))
}

/// The policy an unattended offline run prints, parsed from its YAML.
fn policy(args: &[&str]) -> Value {
    let mut all = vec!["--offline"];
    all.extend(args);
    let (out, err) = wizard(&all);
    let v = parse_yaml(&out);
    assert_minimal(&v, &format!("{args:?}"));
    assert!(err.starts_with("summary: "), "{args:?}: {err}");
    v
}

fn parse_yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("invalid YAML ({e}):\n{text}"))
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
}

/// A policy as the wizard promises it: apiVersion, kind, metadata (name and
/// namespace only) and spec; no `status`; explicit `policyTypes`; no null,
/// no empty list, no empty object but the selectors that mean "all" and a
/// rule that allows everything.
fn assert_minimal(v: &Value, what: &str) {
    assert_eq!(
        v.as_object()
            .unwrap_or_else(|| panic!("{what}: not an object: {v}"))
            .keys()
            .collect::<Vec<_>>(),
        ["apiVersion", "kind", "metadata", "spec"],
        "{what}: {v}"
    );
    assert_eq!(v["apiVersion"], "networking.k8s.io/v1", "{what}");
    assert_eq!(v["kind"], "NetworkPolicy", "{what}");
    let meta: Vec<&String> = v["metadata"].as_object().unwrap().keys().collect();
    assert_eq!(meta, ["name", "namespace"], "{what}: {v}");
    let types = v["spec"]["policyTypes"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: policyTypes must be explicit: {v}"));
    assert!(!types.is_empty(), "{what}: {v}");
    for (dir, ty) in [("ingress", "Ingress"), ("egress", "Egress")] {
        if v["spec"].get(dir).is_some() {
            assert!(
                types.contains(&json!(ty)),
                "{what}: {dir} without {ty}: {v}"
            );
        }
    }
    no_empty(v, "", what);
}

fn no_empty(v: &Value, path: &str, what: &str) {
    match v {
        Value::Null => panic!("{what}: null at {path}"),
        Value::Array(a) => {
            assert!(!a.is_empty(), "{what}: empty list at {path}");
            for (i, x) in a.iter().enumerate() {
                no_empty(x, &format!("{path}[{i}]"), what);
            }
        }
        Value::Object(o) => {
            let may_be_empty = path.ends_with("podSelector")
                || path.ends_with("namespaceSelector")
                || (path.ends_with(']')
                    && (path.contains(".ingress[") || path.contains(".egress[")));
            assert!(
                !o.is_empty() || may_be_empty,
                "{what}: empty object at {path}"
            );
            for (k, x) in o {
                no_empty(x, &format!("{path}.{k}"), what);
            }
        }
        Value::String(s) => assert!(!s.is_empty(), "{what}: empty string at {path}"),
        _ => {}
    }
}

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let path = dir.join(rel);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------
// Unattended: errors
// ---------------------------------------------------------------------------

#[test]
fn missing_answers_name_the_flags_to_pass() {
    let both = format!("{NEED_SELECT} and {NEED_DIRECTION}");
    for (args, want) in [
        (&[][..], both.as_str()),
        (&["-f", SHOP], both.as_str()),
        (&["-n", "backend", "--yes"], both.as_str()),
        (&["--select", "app=api"], NEED_DIRECTION),
        (&["--all-pods", "--port", "8080"], NEED_DIRECTION),
        (&["--all-pods", "--name", "x", "--offline"], NEED_DIRECTION),
        (&["--deny-all-ingress"], NEED_SELECT),
        (&["--allow-from", "anywhere", "-f", SHOP], NEED_SELECT),
        (&["--allow-dns", "--apply", "--yes"], NEED_SELECT),
    ] {
        assert_eq!(one_error(args, 2), missing(want), "{args:?}");
    }
}

#[test]
fn invalid_ports_are_one_line_errors() {
    for (port, want) in [
        (
            "0",
            r#""0": a port is a number from 1 to 65535 or a port name"#,
        ),
        (
            "70000",
            r#""70000": a port is a number from 1 to 65535 or a port name"#,
        ),
        (
            "8100-8000",
            r#""8100-8000": the range must not end before it starts"#,
        ),
        (
            "8000-99999",
            r#""8000-99999": a port is a number from 1 to 65535 or a port name"#,
        ),
        ("53/ICMP", r#""53/ICMP": protocol must be TCP, UDP or SCTP"#),
        (
            "Http_",
            r#""Http_": not a port number, range or valid port name (must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-))"#,
        ),
        (
            "",
            r#""": not a port number, range or valid port name (must contain at least one letter (a-z))"#,
        ),
    ] {
        let args = [
            "-n",
            "backend",
            "--select",
            "app=api",
            "--allow-from",
            "pods=app=web",
            "--port",
            port,
            "--offline",
        ];
        assert_eq!(
            one_error(&args, 2),
            format!("error: invalid --port {want}"),
            "{port:?}"
        );
    }
    // One bad port among good ones is still an error.
    let err = one_error(
        &[
            "--all-pods",
            "--allow-to",
            "anywhere",
            "--port",
            "443",
            "--port",
            "x_y",
            "--offline",
        ],
        2,
    );
    assert!(err.starts_with(r#"error: invalid --port "x_y": "#), "{err}");
}

const EXPECTED_PEER: &str = "expected NAMESPACE/NAME (frontend/web), NAMESPACE/LABELS (frontend/app=web), NAMESPACE/* (every pod of it), a CIDR (10.0.0.0/8), anywhere, or pods=, namespace=, namespace-labels=, cidr= parts (see kubectl netpol wizard --help)";

#[test]
fn invalid_peers_are_one_line_errors_for_both_directions() {
    let cases: Vec<(&str, String)> = vec![
        // An ipBlock stands alone.
        (
            "cidr=10.0.0.0/8,pods=app=web",
            r#""cidr=10.0.0.0/8,pods=app=web": cidr= cannot be combined with pods= or namespace= (an ipBlock stands alone)"#.into(),
        ),
        (
            "namespace=frontend,cidr=10.0.0.0/8",
            r#""namespace=frontend,cidr=10.0.0.0/8": cidr= cannot be combined with pods= or namespace= (an ipBlock stands alone)"#.into(),
        ),
        // Not a CIDR.
        (
            "cidr=10.0.0.0/33",
            r#""10.0.0.0/33" is not a CIDR such as 10.0.0.0/8"#.into(),
        ),
        ("cidr=10.0.0", r#""10.0.0" is not a CIDR such as 10.0.0.0/8"#.into()),
        ("cidr=", r#""" is not a CIDR such as 10.0.0.0/8"#.into()),
        // except outside the CIDR, as large as it, or not a CIDR.
        (
            "cidr=10.0.0.0/8,except=11.0.0.0/16",
            r#"except "11.0.0.0/16" must be inside 10.0.0.0/8 and smaller than it"#.into(),
        ),
        (
            "cidr=10.0.0.0/16,except=10.0.0.0/8",
            r#"except "10.0.0.0/8" must be inside 10.0.0.0/16 and smaller than it"#.into(),
        ),
        (
            "cidr=10.0.0.0/8,except=10.0.0.0/8",
            r#"except "10.0.0.0/8" must be inside 10.0.0.0/8 and smaller than it"#.into(),
        ),
        (
            "cidr=10.0.0.0/8,except=nope",
            r#"except "nope" is not a CIDR"#.into(),
        ),
        // Namespace names.
        (
            "namespace=Bad_NS",
            r#"namespace "Bad_NS": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#.into(),
        ),
        (
            "namespaces=good,-bad",
            r#"namespace "-bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#.into(),
        ),
        // Empty, or no key at all.
        ("", format!(r#""": {EXPECTED_PEER}"#)),
        (
            "app=web",
            r#""app=web": labels alone do not say where: did you mean pods=app=web (this namespace) or NAMESPACE/app=web?"#.into(),
        ),
        ("anywhere,pods=app=x", format!(r#""anywhere,pods=app=x": {EXPECTED_PEER}"#)),
        // A key without what it needs.
        (
            "namespace=",
            r#""namespace=": say which pods (pods=), namespaces (namespace=) or addresses (cidr=)"#.into(),
        ),
        (
            "except=10.0.0.0/8",
            r#""except=10.0.0.0/8": except= goes with cidr="#.into(),
        ),
        // Both ways of naming namespaces.
        (
            "namespace=a,namespace-labels=team=x",
            r#""namespace=a,namespace-labels=team=x": use namespace= or namespace-labels=, not both"#.into(),
        ),
        // Label selectors.
        (
            "pods=app in web",
            r#""pods=app in web": invalid label selector "app in web": the values of in and notin go in parentheses: did you mean "app in (web)"?"#.into(),
        ),
        (
            "namespace-labels=team in x",
            r#""namespace-labels=team in x": invalid label selector "team in x": the values of in and notin go in parentheses: did you mean "team in (x)"?"#.into(),
        ),
        (
            "frontend/app==",
            r#""frontend/app==": invalid label selector "app==": app has no value: write app=VALUE (as app=web), app for pods that have the label, or !app for pods without it"#.into(),
        ),
        (
            "frontend/",
            r#""frontend/": say which pods after the /: a name (frontend/web), labels (frontend/app=web) or * for all"#.into(),
        ),
        (
            "Front_End/web",
            r#"namespace "Front_End": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#.into(),
        ),
        // Inline ports: checked as --port is.
        (
            "frontend/web:0",
            r#"port "0": a port is a number from 1 to 65535 or a port name"#.into(),
        ),
        (
            "frontend/web:",
            r#""frontend/web:": no ports after ':' (as frontend/web:8080)"#.into(),
        ),
        (
            "frontend/web:8080/ICMP",
            r#"port "8080/ICMP": protocol must be TCP, UDP or SCTP"#.into(),
        ),
    ];
    for (peer, want) in &cases {
        for flag in ["--allow-from", "--allow-to"] {
            let args = [
                "-n",
                "backend",
                "--select",
                "app=api",
                flag,
                peer,
                "--offline",
            ];
            assert_eq!(
                one_error(&args, 2),
                format!("error: invalid {flag} {want}"),
                "{flag} {peer:?}"
            );
        }
    }
    // The first bad one of several is reported.
    let err = one_error(
        &[
            "--all-pods",
            "--allow-from",
            "anywhere",
            "--allow-from",
            "cidr=1.2.3.4/40",
            "--offline",
        ],
        2,
    );
    assert_eq!(
        err,
        r#"error: invalid --allow-from "1.2.3.4/40" is not a CIDR such as 10.0.0.0/8"#
    );
}

/// A peer given twice the same key, or `except=` without `cidr=`: the
/// wizard keeps the first value (or drops `except`) without a word, and
/// builds a policy other than the one asked for.
#[test]
fn peers_with_ignored_parts_are_refused() {
    for peer in [
        "pods=app=web,pods=app=db",
        "cidr=10.0.0.0/8,cidr=11.0.0.0/8",
        "namespace-labels=a=b,namespace-labels=c=d",
        "pods=app=web,except=10.0.0.0/8",
        "namespace=frontend,except=10.0.0.0/8",
    ] {
        netpol()
            .args([
                "wizard",
                "--offline",
                "-n",
                "backend",
                "--select",
                "app=api",
            ])
            .args(["--allow-from", peer])
            .assert()
            .code(2)
            .stdout("");
    }
}

/// `invalid --allow-to invalid label selector "app in web"`: the word is
/// doubled and the flag's value is not quoted, unlike the other peer
/// errors.
#[test]
fn peer_selector_errors_name_the_peer_once() {
    let err = one_error(
        &["--offline", "--all-pods", "--allow-to", "pods=app in web"],
        2,
    );
    assert!(!err.contains("invalid --allow-to invalid"), "{err}");
    assert!(err.contains("\"pods=app in web\""), "{err}");
}

#[test]
fn invalid_select_and_name_are_one_line_errors() {
    let base = ["-n", "backend", "--deny-all-ingress", "--offline"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        one_error(&args, 2)
    };
    // What is wrong, and a corrected example.
    for (typed, why, fixed) in [
        (
            "app in web",
            "the values of in and notin go in parentheses",
            "app in (web)",
        ),
        (
            "app IN (web,api)",
            "the operators are lower case",
            "app in (web,api)",
        ),
        (
            "app: web",
            "a label is key=value, not key: value",
            "app=web",
        ),
        (
            "app=web|api",
            "several values are written with in",
            "app in (web,api)",
        ),
        (
            "app=web tier=api",
            "requirements are separated by commas",
            "app=web,tier=api",
        ),
    ] {
        assert_eq!(
            run(&["--select", typed]),
            format!(
                "error: invalid --select: invalid label selector {typed:?}: {why}: did you mean {fixed:?}?"
            ),
        );
    }
    assert_eq!(
        run(&["--select", "app=="]),
        r#"error: invalid --select: invalid label selector "app==": app has no value: write app=VALUE (as app=web), app for pods that have the label, or !app for pods without it"#
    );
    assert_eq!(
        run(&["--select", "app=(web"]),
        r#"error: invalid --select: invalid label selector "app=(web": a selector is comma-separated requirements such as app=web, tier!=db, env in (a,b), track, !canary"#
    );
    assert_eq!(
        run(&["--select", "app=-bad"]),
        r#"error: invalid --select: invalid label selector "app=-bad": label value "-bad": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#
    );
    let err = run(&["--select", "a/b/c=x"]);
    assert!(
        err.starts_with(
            r#"error: invalid --select: invalid label selector "a/b/c=x": label key "a/b/c": "#
        ),
        "{err}"
    );
    let rfc1123 = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    for name in ["Bad_Name", "name.", "UPPER"] {
        assert_eq!(
            run(&["--select", "app=api", "--name", name]),
            format!("error: invalid --name {name:?}: {rfc1123}"),
            "{name}"
        );
    }
    let long = "a".repeat(254);
    let err = run(&["--all-pods", "--name", &long]);
    assert!(
        // Shortened in one error line (issue 12): the first 64 characters.
        err.starts_with(&format!("error: invalid --name \"{}...\": ", &long[..64])),
        "{err}"
    );
    // The parser's own usage errors: exit 2.
    for args in [
        &["--select", "app=api", "--all-pods", "--deny-all-ingress"][..],
        &["--all-pods", "--deny-all-ingress", "--dry-run=client"],
        &["--all-pods", "--deny-all-ingress", "--no-such-flag"],
    ] {
        let a = netpol()
            .arg("wizard")
            .args(args)
            .assert()
            .code(2)
            .stdout("");
        assert!(stderr_of(&a).starts_with("error: "), "{args:?}");
    }
}

#[test]
fn apply_without_yes_is_refused_before_any_cluster_is_contacted() {
    // No kubeconfig in the scrubbed environment: a refusal that came after
    // contacting a cluster would be a different error.
    assert_eq!(
        one_error(
            &[
                "-n",
                "backend",
                "--select",
                "app=api",
                "--allow-from",
                "anywhere",
                "--apply"
            ],
            2
        ),
        "error: refusing to apply without a yes: add --yes (or run on a terminal to be asked)"
    );
}

#[test]
fn apply_and_dry_run_need_a_cluster() {
    let base = [
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "pods=app=web",
    ];
    for extra in [
        &["--apply", "--yes", "-f", SHOP][..],
        &["--apply", "-f", SHOP],
        &["--dry-run=server", "-f", SHOP],
        &["--dry-run", "server", "-f", SHOP],
        &["--apply", "--yes", "--offline"],
        &["--dry-run=server", "--offline"],
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        assert_eq!(one_error(&args, 2), NEED_CLUSTER, "{extra:?}");
    }
}

// ---------------------------------------------------------------------------
// Unattended: policies
// ---------------------------------------------------------------------------

#[test]
fn print_is_exactly_the_yaml_and_the_review_goes_to_stderr() {
    let args = [
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
    ];
    // Offline nothing exists; the example has a different
    // backend/allow-web-to-api: the name suggested is the next free one.
    for (extra, name) in [
        (&["-f", SHOP][..], "allow-web-to-api-2"),
        (&["--offline"], "allow-web-to-api"),
        (&["-f", SHOP, "-o", "yaml"], "allow-web-to-api-2"),
    ] {
        let mut all = args.to_vec();
        all.extend(extra);
        let (out, err) = wizard(&all);
        assert_eq!(out, web_to_api(name), "{extra:?}");
        assert_eq!(
            err.lines().next(),
            Some("summary: namespace/backend allows api from frontend/web on TCP/8080"),
            "{extra:?}: {err}"
        );
        assert!(!out.contains("status"));
        assert_minimal(&parse_yaml(&out), "web to api");
    }
    // With the example: the suggested name moved on (said), and what
    // changes for the pods it selects.
    let mut all = args.to_vec();
    all.extend(["-f", SHOP]);
    let (_, err) = wizard(&all);
    assert!(err.contains(&format!("note: {NAME_MOVED}\n")), "{err}");
    assert!(!err.contains("applying replaces it"), "{err}");
    // What it does to connectivity (diff's engine): web already reaches
    // the api on 8080 through allow-web-to-api.
    assert!(
        err.contains("connectivity: no connection changes\n"),
        "{err}"
    );
    // Named explicitly, the existing policy is replaced, as asked, and
    // the review says so.
    let mut named = all.clone();
    named.extend(["--name", "allow-web-to-api"]);
    let (out, err) = wizard(&named);
    assert_eq!(out, WEB_TO_API);
    assert!(
        err.contains(
            "note: a NetworkPolicy backend/allow-web-to-api exists already: applying replaces it\n"
        ),
        "{err}"
    );
    assert!(!err.contains(NAME_MOVED), "{err}");
    // -o json: the same object.
    all.extend(["-o", "json"]);
    let (out, _) = wizard(&all);
    assert_eq!(
        parse_json(&out),
        parse_yaml(&web_to_api("allow-web-to-api-2"))
    );
}

/// Each PEER form of the help, as `from` (ingress) and as `to` (egress).
#[test]
fn every_peer_form_translates_as_documented() {
    let ns_name = |n: &str| json!({"matchLabels": {"kubernetes.io/metadata.name": n}});
    let names_in = |v: &[&str]| json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": v}]});
    let cases: Vec<(&str, Option<Value>)> = vec![
        (
            "pods=app=web",
            Some(json!([{"podSelector": {"matchLabels": {"app": "web"}}}])),
        ),
        (
            "pods=app=web,tier=front",
            Some(json!([{"podSelector": {"matchLabels": {"app": "web", "tier": "front"}}}])),
        ),
        (
            "pods=tier in (b,a)",
            Some(
                json!([{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}}]),
            ),
        ),
        (
            "pods=app!=web",
            Some(
                json!([{"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}}]),
            ),
        ),
        (
            "pods=track",
            Some(
                json!([{"podSelector": {"matchExpressions": [{"key": "track", "operator": "Exists"}]}}]),
            ),
        ),
        (
            "pods=!canary",
            Some(
                json!([{"podSelector": {"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}}]),
            ),
        ),
        (
            "namespace=frontend",
            Some(json!([{"namespaceSelector": ns_name("frontend")}])),
        ),
        (
            "namespace=frontend,pods=app=web",
            Some(
                json!([{"namespaceSelector": ns_name("frontend"), "podSelector": {"matchLabels": {"app": "web"}}}]),
            ),
        ),
        (
            "namespace=b|a",
            Some(json!([{"namespaceSelector": names_in(&["a", "b"])}])),
        ),
        (
            "namespaces=b,a,b",
            Some(json!([{"namespaceSelector": names_in(&["a", "b"])}])),
        ),
        (
            "namespaces=a,b,pods=app=web",
            Some(
                json!([{"namespaceSelector": names_in(&["a", "b"]), "podSelector": {"matchLabels": {"app": "web"}}}]),
            ),
        ),
        (
            "namespace-labels=team=web",
            Some(json!([{"namespaceSelector": {"matchLabels": {"team": "web"}}}])),
        ),
        (
            "namespace-labels=",
            Some(json!([{"namespaceSelector": {}}])),
        ),
        (
            "namespace-labels=team=web,pods=app=x",
            Some(
                json!([{"namespaceSelector": {"matchLabels": {"team": "web"}}, "podSelector": {"matchLabels": {"app": "x"}}}]),
            ),
        ),
        (
            "cidr=10.0.0.0/8",
            Some(json!([{"ipBlock": {"cidr": "10.0.0.0/8"}}])),
        ),
        (
            "cidr=10.0.0.0/8,except=10.1.0.0/16",
            Some(json!([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}])),
        ),
        (
            "cidr=10.0.0.0/8,except=10.1.0.0/16,10.2.0.0/16",
            Some(
                json!([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}]),
            ),
        ),
        (
            "cidr=10.0.0.0/8,except=10.1.0.0/16|10.2.0.0/16",
            Some(
                json!([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}]),
            ),
        ),
        (
            "cidr=2001:db8::/32,except=2001:db8:1::/48",
            Some(json!([{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}])),
        ),
        ("anywhere", None),
    ];
    for (peer, want) in &cases {
        for (flag, dir, key, ty) in [
            ("--allow-from", "ingress", "from", "Ingress"),
            ("--allow-to", "egress", "to", "Egress"),
        ] {
            let v = policy(&[
                "-n", "shop", "--select", "app=api", flag, peer, "-o", "json",
            ]);
            let rules = v["spec"][dir]
                .as_array()
                .unwrap_or_else(|| panic!("{flag} {peer}: {v}"));
            assert_eq!(rules.len(), 1, "{flag} {peer}: {v}");
            match want {
                Some(w) => assert_eq!(&rules[0][key], w, "{flag} {peer}"),
                // anywhere: no from/to at all, and no ports: a rule that
                // allows everything.
                None => assert_eq!(rules[0], json!({}), "{flag} {peer}"),
            }
            assert_eq!(v["spec"]["policyTypes"], json!([ty]), "{flag} {peer}");
            assert_eq!(
                v["spec"]["podSelector"],
                json!({"matchLabels": {"app": "api"}})
            );
        }
    }
}

/// -o json prints JSON, the same document as the YAML.
#[test]
fn json_output_is_the_same_policy() {
    let args = [
        "-n",
        "shop",
        "--select",
        "app=api",
        "--allow-to",
        "cidr=10.0.0.0/8",
        "--port",
        "443",
    ];
    let yaml = policy(&args);
    let mut with_json = args.to_vec();
    with_json.extend(["-o", "json"]);
    let (out, _) = wizard(&[&["--offline"][..], &with_json].concat());
    assert!(out.starts_with("{\n"), "{out}");
    assert_eq!(parse_json(&out), yaml);
}

/// Each PORT form of the help, in the order given, on every rule.
#[test]
fn every_port_form_translates_as_documented() {
    for (port, want) in [
        ("8080", json!({"port": 8080, "protocol": "TCP"})),
        (
            "8000-8100",
            json!({"port": 8000, "endPort": 8100, "protocol": "TCP"}),
        ),
        ("9000-9000", json!({"port": 9000, "protocol": "TCP"})),
        ("http", json!({"port": "http", "protocol": "TCP"})),
        ("http/TCP", json!({"port": "http", "protocol": "TCP"})),
        ("53/UDP", json!({"port": 53, "protocol": "UDP"})),
        ("53/udp", json!({"port": 53, "protocol": "UDP"})),
        ("132/SCTP", json!({"port": 132, "protocol": "SCTP"})),
        (
            "30000-32767/UDP",
            json!({"port": 30000, "endPort": 32767, "protocol": "UDP"}),
        ),
        ("65535", json!({"port": 65535, "protocol": "TCP"})),
    ] {
        let v = policy(&[
            "-n",
            "shop",
            "--select",
            "app=api",
            "--allow-from",
            "pods=app=web",
            "--port",
            port,
        ]);
        assert_eq!(v["spec"]["ingress"][0]["ports"], json!([want]), "{port}");
    }
    // The outputs' order (PROTO/PORT) reads too, and PROTO/all.
    for (port, want) in [
        ("TCP/8080", json!({"port": 8080, "protocol": "TCP"})),
        ("UDP/53", json!({"port": 53, "protocol": "UDP"})),
        ("TCP/http", json!({"port": "http", "protocol": "TCP"})),
        ("UDP/all", json!({"protocol": "UDP"})),
    ] {
        let v = policy(&[
            "-n",
            "shop",
            "--select",
            "app=api",
            "--allow-from",
            "pods=app=web",
            "--port",
            port,
        ]);
        assert_eq!(v["spec"]["ingress"][0]["ports"], json!([want]), "{port}");
    }
    // Several ports go to the peer flag before them, in the order given;
    // a rule without any: every port.
    let v = policy(&[
        "-n",
        "shop",
        "--select",
        "app=api",
        "--allow-from",
        "pods=app=web",
        "--port",
        "8080",
        "--port",
        "53/UDP",
        "--allow-from",
        "namespace=ops",
        "--port",
        "metrics",
        "--allow-from",
        "cidr=10.0.0.0/8",
    ]);
    let rules = v["spec"]["ingress"].as_array().unwrap();
    assert_eq!(rules.len(), 3, "{v}");
    assert_eq!(
        rules[0]["ports"],
        json!([{"port": 8080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
    );
    assert_eq!(
        rules[1]["ports"],
        json!([{"port": "metrics", "protocol": "TCP"}])
    );
    assert!(rules[2].get("ports").is_none(), "{v}");
    let v = policy(&[
        "-n",
        "shop",
        "--select",
        "app=api",
        "--allow-from",
        "pods=app=web",
    ]);
    assert_eq!(
        v["spec"]["ingress"],
        json!([{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])
    );
}

#[test]
fn allow_dns_adds_the_dns_rule() {
    // Alone: egress isolated, DNS the only way out.
    let (out, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-dns",
        "-f",
        SHOP,
    ]);
    let v = parse_yaml(&out);
    assert_minimal(&v, "dns only");
    assert_eq!(v["metadata"]["name"], "allow-dns-only-api");
    assert_eq!(v["spec"]["egress"], json!([dns_rule()]));
    assert_eq!(v["spec"]["policyTypes"], json!(["Egress"]));
    assert!(v["spec"].get("ingress").is_none(), "{v}");
    assert_eq!(
        err.lines().next(),
        Some("summary: namespace/backend allows api to kube-system/kube-dns on UDP/53, TCP/53"),
        "{err}"
    );
    assert!(
        !err.contains("note:"),
        "the example's CoreDNS is the usual one: {err}"
    );
    // With other egress rules: DNS comes last; with ingress too: both types.
    let v = policy(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-to",
        "pods=app=postgres",
        "--port",
        "5432",
        "--allow-dns",
        "--allow-from",
        "namespace=frontend",
    ]);
    let egress = v["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 2, "{v}");
    assert_eq!(
        egress[0],
        json!({"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}], "ports": [{"port": 5432, "protocol": "TCP"}]})
    );
    assert_eq!(
        egress[1],
        dns_rule(),
        "--port is not applied to the DNS rule"
    );
    assert_eq!(v["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    // Egress isolated without it: a note says what that means, when it
    // is so. In backend, allow-dns-egress admits DNS for every pod: the
    // api still resolves names, and no note says otherwise.
    let (_, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-to",
        "pods=app=postgres",
        "-f",
        SHOP,
    ]);
    assert!(!err.contains("without DNS"), "{err}");
    // Nothing closes (DNS among it): api-egress and allow-dns-egress
    // already admit what this admits, and postgres takes only 5432.
    assert!(
        err.contains("connectivity: no connection changes\n"),
        "{err}"
    );
    // In frontend no policy admits DNS: the note.
    let (_, err) = wizard(&[
        "-n",
        "frontend",
        "--select",
        "app=web",
        "--allow-to",
        "backend/app=api",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains(
            "note: egress is isolated without DNS: these pods will not resolve names (add --allow-dns)\n"
        ),
        "{err}"
    );
    // Nor by a policy that selects no pod yet: said from its own rules.
    let (_, err) = wizard(&[
        "-n",
        "frontend",
        "--select",
        "app=nothing-yet",
        "--deny-all-egress",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains("note: egress is isolated without DNS: the pods it will select cannot resolve names unless another policy admits DNS (add --allow-dns)\n"),
        "{err}"
    );
}

#[test]
fn dns_rule_follows_the_dns_pods_found() {
    let dir = tempfile::tempdir().unwrap();
    let app = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: app, labels: {app: api}}\nspec: {containers: [{name: c, image: x}]}\n";
    // CoreDNS listening on 5353 (behind a Service on 53): the rule names
    // the pod's port.
    let custom = write(
        dir.path(),
        "custom.yaml",
        &format!(
            "{app}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: coredns-0, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}\nspec: {{containers: [{{name: c, image: x, ports: [{{containerPort: 5353, protocol: UDP}}, {{containerPort: 5353, protocol: TCP}}]}}]}}\n"
        ),
    );
    let (out, err) = wizard(&[
        "-n",
        "app",
        "--select",
        "app=api",
        "--allow-dns",
        "-f",
        &custom,
    ]);
    let v = parse_yaml(&out);
    assert_eq!(
        v["spec"]["egress"][0]["ports"],
        json!([{"port": 5353, "protocol": "UDP"}, {"port": 5353, "protocol": "TCP"}])
    );
    assert_eq!(v["spec"]["egress"][0]["to"], dns_rule()["to"]);
    assert!(
        err.contains("note: the DNS pods listen on UDP 5353: the DNS rule uses it (NetworkPolicy sees the pod's port, not the Service's)\n"),
        "{err}"
    );
    // No DNS pods at all: the usual labels, and a note.
    let none = write(dir.path(), "none.yaml", app);
    let (out, err) = wizard(&[
        "-n",
        "app",
        "--select",
        "app=api",
        "--allow-dns",
        "-f",
        &none,
    ]);
    assert_eq!(parse_yaml(&out)["spec"]["egress"], json!([dns_rule()]));
    assert!(
        err.contains("note: no kube-system pods labelled k8s-app=kube-dns were found: the DNS rule assumes the usual CoreDNS labels\n"),
        "{err}"
    );
}

#[test]
fn deny_all_with_all_pods_is_a_default_deny() {
    let (out, err) = wizard(&[
        "--offline",
        "-n",
        "shop",
        "--all-pods",
        "--deny-all-ingress",
    ]);
    assert_eq!(
        out,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-ingress-all\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n"
    );
    assert_eq!(
        err,
        "summary: namespace/shop denies all ingress to all pods\n"
    );
    assert_minimal(&parse_yaml(&out), "deny ingress");
    for (flags, name, types) in [
        (
            &["--deny-all-egress"][..],
            "deny-egress-all",
            json!(["Egress"]),
        ),
        (
            &["--deny-all-ingress", "--deny-all-egress"],
            "deny-all-all",
            json!(["Ingress", "Egress"]),
        ),
    ] {
        let v = policy(&[&["-n", "shop", "--all-pods"][..], flags].concat());
        assert_eq!(v["metadata"]["name"], name);
        assert_eq!(
            v["spec"],
            json!({"podSelector": {}, "policyTypes": types}),
            "{flags:?}"
        );
    }
    // Without -n: the default namespace.
    let v = policy(&["--all-pods", "--deny-all-ingress"]);
    assert_eq!(v["metadata"]["namespace"], "default");
}

#[test]
fn suggested_names_follow_the_answers() {
    for (args, name) in [
        (
            &["--select", "app=api", "--allow-from", "pods=app=web"][..],
            "allow-web-to-api",
        ),
        (
            &["--select", "app=api", "--allow-to", "pods=app=db"],
            "allow-api-to-db",
        ),
        (
            &["--select", "app=api", "--allow-from", "namespace=frontend"],
            "allow-frontend-to-api",
        ),
        (
            &[
                "--select",
                "app=api",
                "--allow-from",
                "namespace=frontend,pods=app=web",
            ],
            "allow-web-to-api",
        ),
        (
            &[
                "--select",
                "app=api",
                "--allow-from",
                "namespace-labels=team=x",
            ],
            "allow-namespaces-to-api",
        ),
        (
            &["--select", "app=api", "--allow-from", "cidr=10.0.0.0/8"],
            "allow-cidr-to-api",
        ),
        (
            &["--select", "app=api", "--allow-from", "anywhere"],
            "allow-anywhere-to-api",
        ),
        (
            &["--select", "app=api", "--allow-to", "anywhere"],
            "allow-api-to-anywhere",
        ),
        (
            &["--select", "app=api", "--allow-from", "pods=tier in (a,b)"],
            "allow-pods-to-api",
        ),
        (
            &["--select", "app=api", "--allow-dns"],
            "allow-dns-only-api",
        ),
        (
            &["--select", "app=api", "--deny-all-ingress"],
            "deny-ingress-api",
        ),
        (
            &["--select", "app=api", "--deny-all-egress"],
            "deny-egress-api",
        ),
        (&["--all-pods", "--deny-all-ingress"], "deny-ingress-all"),
        (
            &["--all-pods", "--deny-all-ingress", "--deny-all-egress"],
            "deny-all-all",
        ),
        (
            &["--select", "app=api,tier=be", "--deny-all-ingress"],
            "deny-ingress-pods",
        ),
        (
            &[
                "--select",
                "app.kubernetes.io/name=Shop_API",
                "--deny-all-ingress",
            ],
            "deny-ingress-shop-api",
        ),
        (
            &[
                "--select",
                "app=api",
                "--allow-from",
                "pods=app=web",
                "--name",
                "mine",
            ],
            "mine",
        ),
    ] {
        let v = policy(&[&["-n", "shop"][..], args].concat());
        assert_eq!(v["metadata"]["name"], name, "{args:?}");
    }
}

/// `app=api,app=web` selects nothing (a pod has one `app`); the policy must
/// not select `app=web` pods instead.
#[test]
fn conflicting_equalities_keep_their_meaning() {
    let v = policy(&[
        "-n",
        "shop",
        "--select",
        "app=api,app=web",
        "--deny-all-ingress",
    ]);
    assert_ne!(
        v["spec"]["podSelector"],
        json!({"matchLabels": {"app": "web"}}),
        "the policy now protects app=web pods"
    );
    let v = policy(&[
        "-n",
        "shop",
        "--select",
        "app=api",
        "--allow-from",
        "pods=app=web,app=db",
    ]);
    assert_ne!(
        v["spec"]["ingress"][0]["from"][0]["podSelector"],
        json!({"matchLabels": {"app": "db"}}),
        "the policy now admits app=db pods"
    );
}

#[test]
fn write_writes_the_file_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web-to-api.yaml").display().to_string();
    let args = [
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
        "--offline",
        "--write",
        &file,
    ];
    let (out, err) = wizard(&args);
    assert_eq!(out, "", "nothing on stdout");
    assert_eq!(
        err.lines().last(),
        Some(format!("networkpolicy backend/allow-web-to-api written to {file}").as_str()),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), WEB_TO_API);
    // It round-trips through the tool.
    let a = netpol().args(["list", "-f", &file]).assert().code(0);
    let table = stdout_of(&a);
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_else(|| panic!("{table}"))
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        row,
        [
            "backend",
            "allow-web-to-api",
            "0",
            "namespace/backend allows api from frontend/web on TCP/8080"
        ],
        "{table}"
    );
    // An existing file is replaced only with --overwrite: without it, one
    // error and the file as it was.
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json", "--name", "web-to-api-json"]);
    let err = one_error(&json_args, 1);
    assert_eq!(
        err,
        format!("error: {file}: the file exists: refusing to replace it without --overwrite")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), WEB_TO_API);
    // -o json writes JSON, which the tool reads as well.
    json_args.push("--overwrite");
    let (out, _) = wizard(&json_args);
    assert_eq!(out, "");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut want = parse_yaml(WEB_TO_API);
    want["metadata"]["name"] = json!("web-to-api-json");
    assert_eq!(parse_json(&text), want);
    let a = netpol()
        .args(["list", "-f", &file, "-o", "json"])
        .assert()
        .code(0);
    let list = parse_json(&stdout_of(&a));
    assert_eq!(list["policies"][0]["name"], "web-to-api-json");
    assert_eq!(
        list["policies"][0]["summary"],
        "namespace/backend allows api from frontend/web on TCP/8080"
    );
    assert_eq!(list["policies"][0]["valid"], true);
    // Next to the example, the written policy does what it says: web may
    // now reach the api's metrics port too.
    let metrics = dir.path().join("metrics.yaml").display().to_string();
    wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "9090",
        "--name",
        "web-to-api-metrics",
        "-f",
        SHOP,
        "--write",
        &metrics,
    ]);
    let can = |files: &[&str]| {
        let mut cmd = netpol();
        cmd.args(["can", "frontend/web", "backend/api", "--port", "9090"]);
        for f in files {
            cmd.args(["-f", f]);
        }
        cmd.assert().get_output().status.code()
    };
    assert_eq!(can(&[SHOP]), Some(1), "denied before");
    assert_eq!(
        can(&[SHOP, &metrics]),
        Some(0),
        "allowed with the new policy"
    );
}

#[test]
fn write_to_an_unwritable_path_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no/such/dir/p.yaml").display().to_string();
    let err = one_error(
        &[
            "--offline",
            "--all-pods",
            "--deny-all-ingress",
            "--write",
            &file,
        ],
        1,
    );
    assert!(err.starts_with(&format!("error: {file}: ")), "{err}");
}

// ---------------------------------------------------------------------------
// Helpers: a pseudo-terminal
// ---------------------------------------------------------------------------

/// `kubectl-netpol wizard -f <shop> --color never ARGS` on a pseudo-terminal
/// (stdin, stdout and stderr), in an empty temporary directory.
struct Term {
    s: PtySession,
    dir: TempDir,
    _home: TempDir,
    /// Everything read so far, for failure messages.
    seen: String,
}

fn term(args: &[&str]) -> Term {
    let mut all = vec!["wizard", "-f", SHOP_ABS, "--color", "never"];
    all.extend(args);
    term_raw(&all)
}

fn term_raw(args: &[&str]) -> Term {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .current_dir(dir.path())
        .args(args);
    let s = rexpect::spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(10_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn on a pseudo-terminal");
    Term {
        s,
        dir,
        _home: home,
        seen: String::new(),
    }
}

impl Term {
    /// Waits for `text`; returns what came before it (without `\r`).
    fn wait(&mut self, text: &str) -> String {
        match self.s.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
                before.replace('\r', "")
            }
            Err(e) => panic!(
                "waiting for {text:?}: {e}\n--- the terminal so far:\n{}",
                self.seen.replace('\r', "")
            ),
        }
    }

    fn keys(&mut self, keys: &str) {
        self.s.send(keys).expect("send keys");
        self.s.flush().expect("flush keys");
    }

    /// A menu: waits until it is drawn (its `last` item), moves the cursor
    /// (`moves`, arrow keys), checks it is on `item`, presses Enter and
    /// waits for the answer line. Returns the menu as drawn.
    fn select(&mut self, prompt: &str, last: &str, moves: &str, item: &str) -> String {
        let mut drawn = self.wait(&format!("{prompt}:\r\n"));
        drawn.push_str(&format!("{prompt}:\n"));
        drawn.push_str(&self.wait(&format!("{last}\r\n")));
        drawn.push_str(&format!("{last}\n"));
        if moves.is_empty() {
            assert!(
                drawn.contains(&format!("> {item}")),
                "the cursor is not on {item:?}:\n{drawn}"
            );
        } else {
            self.keys(moves);
            self.wait(&format!("> {item}"));
        }
        self.keys("\r");
        self.wait(&format!("{prompt}: {item}"));
        drawn
    }

    /// A yes/no question.
    fn confirm(&mut self, prompt: &str, yes: bool) {
        self.wait(prompt);
        self.wait("] ");
        self.keys(if yes { "y" } else { "n" });
        self.wait(&format!("{prompt} {}", if yes { "yes" } else { "no" }));
    }

    /// A text prompt: types `text` and Enter (the answer is not waited for,
    /// as it may be refused).
    fn input(&mut self, prompt: &str, text: &str) {
        self.wait(prompt);
        self.wait(": ");
        self.keys(&format!("{text}\r"));
    }

    /// Reads to the end; returns (exit status, the rest of the output).
    fn finish(mut self) -> (WaitStatus, String, TempDir) {
        let rest = match self.s.exp_eof() {
            Ok(rest) => rest.replace('\r', ""),
            Err(e) => panic!(
                "waiting for the end: {e}\n--- the terminal so far:\n{}",
                self.seen.replace('\r', "")
            ),
        };
        let status = self.s.process().wait().expect("wait for the wizard");
        (status, rest, self.dir)
    }
}

fn exit_code(status: &WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(*code),
        _ => None,
    }
}

/// The YAML printed after "What now?: print the YAML".
fn printed(rest: &str) -> Value {
    let v = parse_yaml(rest);
    assert_minimal(&v, "printed");
    v
}

const UP: &str = "\x1b[A";
/// The last item of the review's menu.
const EDIT: &str = "edit a step (pods, rules, ports, name...)";
const DOWN: &str = "\x1b[B";
/// The namespaces of the example, sorted; the menu starts on "default".
const LAST_NAMESPACE: &str = "payments";
/// The last item of the pods menu.
const TYPE_SELECTOR: &str = "type a label selector...";
const LAST_PEER: &str = "type it (PEER syntax: namespace=frontend,pods=app=web ...)";

/// The question of a namespace with policies, before the pods: a new
/// policy.
fn new_policy(t: &mut Term) -> String {
    let drawn = t.wait("Start from:\r\n");
    let menu = t.wait("> a new policy");
    t.keys("\r");
    t.wait("Start from: a new policy");
    format!("{drawn}{menu}")
}

/// Namespace backend, pods app=api.
fn backend_api(t: &mut Term) {
    t.select("Namespace", LAST_NAMESPACE, UP, "backend");
    new_policy(t);
    t.select(
        "Which pods should this policy protect?",
        TYPE_SELECTOR,
        "",
        "app=api  (1 pod)",
    );
    t.wait("selects 1 pod now: api");
}

/// backend/api accepts app=web of namespace frontend on 8080, up to the
/// name (accepted as suggested) and the final menu, drawn.
fn cross_namespace_ingress(t: &mut Term) -> String {
    backend_api(t);
    t.select("Restrict which direction?", "both", "", "ingress");
    t.confirm("Add an ingress rule?", true);
    t.select(
        "Allow traffic from",
        LAST_PEER,
        DOWN,
        "pods in other namespaces, by labels",
    );
    // A multi-select: space marks frontend.
    let ns = "Which namespaces? (space to pick, enter to confirm)";
    t.wait(&format!("{ns}:\r\n"));
    t.wait(&format!("[ ] {LAST_NAMESPACE}\r\n"));
    t.keys(&format!("{DOWN}{DOWN}"));
    t.wait("> [ ] frontend");
    t.keys(" ");
    t.wait("> [x] frontend");
    t.keys("\r");
    t.wait(&format!("{ns}: frontend"));
    t.select("Which pods?", TYPE_SELECTOR, DOWN, "app=web  (2 pods)");
    // The ports offered are the api's container ports.
    let ports = t.select("On which ports?", "every port", "", "TCP/8080");
    assert!(ports.contains("TCP/http  (named port)"), "{ports}");
    assert!(ports.contains("TCP/metrics  (named port)"), "{ports}");
    t.confirm("Add another rule?", false);
    // backend/allow-web-to-api exists with other rules: the next free
    // name is offered, and why.
    t.wait(NAME_MOVED);
    t.input("Name [allow-web-to-api-2]", "");
    t.wait("Name: allow-web-to-api-2");
    let review = t.wait("What now?:\r\n");
    let menu = t.wait("write it to a file\r\n");
    assert!(menu.contains("> print the YAML"), "{menu}");
    review
}

// ---------------------------------------------------------------------------
// Interactive
// ---------------------------------------------------------------------------

#[test]
fn interactive_cross_namespace_ingress_then_print() {
    let mut t = term(&[]);
    let review = cross_namespace_ingress(&mut t);
    assert!(
        review.contains("Summary:  namespace/backend allows api from frontend/web on TCP/8080\n"),
        "{review}"
    );
    assert!(review.contains("Selects:  1 pod now: api\n"), "{review}");
    assert!(!review.contains("applying replaces it"), "{review}");
    // The policy is shown before anything is done with it.
    assert!(
        review.contains(web_to_api("allow-web-to-api-2").trim_end()),
        "{review}"
    );
    // Offline, the menu offers to print, write or edit, nothing else: up
    // from the first item wraps to the edit, up again is "write it to a
    // file".
    t.keys(UP);
    t.wait(&format!("> {EDIT}"));
    t.keys(UP);
    let menu = t.wait("> write it to a file");
    assert!(!menu.contains("dry-run"), "{menu}");
    assert!(!menu.contains("apply it"), "{menu}");
    t.keys(&DOWN.repeat(2));
    t.wait("> print the YAML");
    t.keys("\r");
    t.wait("What now?: print the YAML\r\n");
    let (status, rest, dir) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(v, parse_yaml(&web_to_api("allow-web-to-api-2")), "{rest}");
    assert_eq!(
        v["spec"]["ingress"][0]["from"][0],
        json!({
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}},
            "podSelector": {"matchLabels": {"app": "web"}}
        })
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn interactive_write_from_the_menu() {
    let mut t = term(&[]);
    cross_namespace_ingress(&mut t);
    t.keys(DOWN);
    t.wait("> write it to a file");
    t.keys("\r");
    t.wait("What now?: write it to a file");
    t.input("File [allow-web-to-api-2.yaml]", "");
    t.wait("networkpolicy backend/allow-web-to-api-2 written to allow-web-to-api-2.yaml");
    let (status, rest, dir) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let file = dir.path().join("allow-web-to-api-2.yaml");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        web_to_api("allow-web-to-api-2")
    );
    let a = netpol()
        .args(["list", "-o", "json", "-f"])
        .arg(&file)
        .assert()
        .code(0);
    assert_eq!(
        parse_json(&stdout_of(&a))["policies"][0]["summary"],
        "namespace/backend allows api from frontend/web on TCP/8080"
    );
}

#[test]
fn interactive_egress_with_dns() {
    let mut t = term(&[]);
    backend_api(&mut t);
    t.select("Restrict which direction?", "both", DOWN, "egress");
    t.confirm("Add an egress rule?", true);
    t.select(
        "Allow traffic to",
        LAST_PEER,
        "",
        "pods in backend, by labels",
    );
    t.select(
        "Which pods?",
        TYPE_SELECTOR,
        &DOWN.repeat(3),
        "app=postgres  (1 pod)",
    );
    // Egress: the ports offered are the destination's.
    let ports = t.select("On which ports?", "every port", "", "TCP/5432");
    assert!(ports.contains("TCP/pg  (named port)"), "{ports}");
    t.confirm("Add another rule?", false);
    t.confirm(
        "Allow DNS (UDP and TCP 53 to kube-system/kube-dns)? Without it these pods cannot resolve any name",
        true,
    );
    // backend/allow-api-to-postgres exists (other rules): the next free name.
    t.input("Name [allow-api-to-postgres-2]", "api-egress-wizard");
    t.wait("Name: api-egress-wizard");
    let review = t.select("What now?", "write it to a file", "", "print the YAML");
    assert!(
        review.contains("Summary:  namespace/backend allows api to backend/postgres on TCP/5432 and to kube-system/kube-dns on UDP/53, TCP/53"),
        "{review}"
    );
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(
        v["metadata"],
        json!({"name": "api-egress-wizard", "namespace": "backend"})
    );
    assert_eq!(
        v["spec"],
        json!({
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
                    "ports": [{"port": 5432, "protocol": "TCP"}]
                },
                dns_rule()
            ]
        })
    );
}

#[test]
fn interactive_default_deny_both_directions() {
    let mut t = term(&[]);
    t.select("Namespace", LAST_NAMESPACE, DOWN, "frontend");
    new_policy(&mut t);
    t.select(
        "Which pods should this policy protect?",
        TYPE_SELECTOR,
        &DOWN.repeat(2),
        "all pods in frontend  (3 pods)",
    );
    t.wait("selects 3 pods now: ");
    t.select("Restrict which direction?", "both", &DOWN.repeat(2), "both");
    t.confirm("Add an ingress rule?", false);
    t.confirm("Add an egress rule?", false);
    t.confirm(
        "Allow DNS (UDP and TCP 53 to kube-system/kube-dns)? Without it these pods cannot resolve any name",
        false,
    );
    t.input("Name [deny-all-all]", "");
    t.wait("Name: deny-all-all");
    let review = t.select("What now?", "write it to a file", "", "print the YAML");
    assert!(
        review
            .contains("Summary:  namespace/frontend denies all ingress and egress for all pods\n"),
        "{review}"
    );
    assert!(
        review.contains("Note:     egress is isolated without DNS: these pods will not resolve names (add --allow-dns)"),
        "{review}"
    );
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(
        v["metadata"],
        json!({"name": "deny-all-all", "namespace": "frontend"})
    );
    assert_eq!(
        v["spec"],
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    );
}

#[test]
fn interactive_invalid_input_is_asked_again_with_the_reason() {
    let mut t = term(&[]);
    t.select("Namespace", LAST_NAMESPACE, UP, "backend");
    new_policy(&mut t);
    // The menu wraps: up from the first item is the last.
    t.select(
        "Which pods should this policy protect?",
        TYPE_SELECTOR,
        UP,
        TYPE_SELECTOR,
    );
    let selector = "Label selector (app=api, tier in (a,b))";
    t.input(selector, "app in web");
    t.wait("error: invalid label selector \"app in web\": the values of in and notin go in parentheses: did you mean \"app in (web)\"?");
    t.input(selector, "app=api");
    t.wait(&format!("{selector}: app=api"));
    t.wait("selects 1 pod now: api");
    t.select("Restrict which direction?", "both", "", "ingress");
    t.confirm("Add an ingress rule?", true);
    t.select("Allow traffic from", LAST_PEER, UP, LAST_PEER);
    t.input("Peer", "cidr=10.0.0.0/8,pods=app=web");
    t.wait("error: \"cidr=10.0.0.0/8,pods=app=web\": cidr= cannot be combined with pods= or namespace= (an ipBlock stands alone)");
    t.input("Peer", "namespace=frontend,pods=app=web");
    t.wait("Peer: namespace=frontend,pods=app=web");
    t.select(
        "On which ports?",
        "every port",
        &UP.repeat(2),
        "type ports...",
    );
    let ports = "Ports (8080, 8000-8100, http, 53/UDP; comma-separated)";
    t.input(ports, "8080,0");
    t.wait("error: \"0\": a port is a number from 1 to 65535 or a port name");
    t.input(ports, "8080, 8000-8100/udp");
    t.wait(&format!("{ports}: 8080, 8000-8100/udp"));
    t.confirm("Add another rule?", false);
    t.input("Name [allow-web-to-api-2]", "Bad_Name");
    t.wait(
        "error: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters",
    );
    t.input("Name [allow-web-to-api-2]", "web-to-api-2");
    t.wait("Name: web-to-api-2");
    t.select("What now?", "write it to a file", "", "print the YAML");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(v["metadata"]["name"], "web-to-api-2");
    assert_eq!(
        v["spec"]["podSelector"],
        json!({"matchLabels": {"app": "api"}})
    );
    assert_eq!(
        v["spec"]["ingress"],
        json!([{
            "from": [{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}},
                "podSelector": {"matchLabels": {"app": "web"}}
            }],
            "ports": [
                {"port": 8080, "protocol": "TCP"},
                {"port": 8000, "endPort": 8100, "protocol": "UDP"}
            ]
        }])
    );
}

/// Ctrl-C at a menu: exit 130 and the one line that says nothing changed
/// (as Esc gives).
#[test]
fn interactive_ctrl_c_cancels_with_130() {
    let mut t = term(&[]);
    backend_api(&mut t);
    t.wait("Restrict which direction?:\r\n");
    t.wait("both\r\n");
    std::thread::sleep(Duration::from_millis(200));
    t.s.send_control('c').unwrap();
    let (status, rest, dir) = t.finish();
    assert_eq!(exit_code(&status), Some(130), "{status:?}: {rest}");
    assert!(
        rest.contains("error: cancelled: nothing was changed"),
        "{rest}"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// Ctrl-C at the last step, the file name: nothing is written, whatever
/// the exit status.
#[test]
fn interactive_ctrl_c_writes_nothing() {
    let mut t = term(&[]);
    cross_namespace_ingress(&mut t);
    t.keys(DOWN);
    t.wait("> write it to a file");
    t.keys("\r");
    t.wait("What now?: write it to a file");
    t.wait("File [allow-web-to-api-2.yaml]: ");
    std::thread::sleep(Duration::from_millis(200));
    t.s.send_control('c').unwrap();
    let (status, rest, dir) = t.finish();
    assert_ne!(exit_code(&status), Some(0), "{status:?}: {rest}");
    assert!(!rest.contains("written"), "{rest}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

/// Esc stops the wizard as documented: exit 130, one line, nothing written.
#[test]
fn interactive_escape_cancels_with_130() {
    // At the first question.
    let mut t = term(&[]);
    t.wait(&format!("{LAST_NAMESPACE}\r\n"));
    t.keys("\x1b");
    let (status, rest, dir) = t.finish();
    assert_eq!(exit_code(&status), Some(130), "{status:?}: {rest}");
    assert!(
        rest.ends_with("error: cancelled: nothing was changed\n"),
        "{rest:?}"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    // Part-way, at a yes/no question.
    let mut t = term(&[]);
    backend_api(&mut t);
    t.select("Restrict which direction?", "both", "", "ingress");
    t.wait("Add an ingress rule?");
    t.wait("] ");
    t.keys("\x1b");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(130), "{status:?}: {rest}");
    assert!(
        rest.contains("error: cancelled: nothing was changed"),
        "{rest}"
    );
    // At the final menu, with everything answered.
    let mut t = term(&[]);
    cross_namespace_ingress(&mut t);
    t.keys("\x1b");
    let (status, rest, dir) = t.finish();
    assert_eq!(exit_code(&status), Some(130), "{status:?}: {rest}");
    assert!(
        rest.contains("error: cancelled: nothing was changed"),
        "{rest}"
    );
    assert!(!rest.contains("apiVersion"), "nothing printed: {rest}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// Answers given as flags are not asked; --yes asks nothing at all, even
/// on a terminal.
#[test]
fn interactive_flags_skip_their_questions_and_yes_skips_all() {
    let mut t = term(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
    ]);
    // Straight to the name.
    let before = t.wait("Name [allow-web-to-api-2]: ");
    for asked in [
        "Namespace:",
        "Which pods",
        "Restrict which direction",
        "Allow DNS",
    ] {
        assert!(!before.contains(asked), "{asked} asked: {before}");
    }
    t.keys("\r");
    t.select("What now?", "write it to a file", "", "print the YAML");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    assert_eq!(
        printed(&rest),
        parse_yaml(&web_to_api("allow-web-to-api-2"))
    );

    let t = term(&["--yes"]);
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(2), "{status:?}: {rest}");
    assert_eq!(
        rest.trim_end(),
        missing(&format!("{NEED_SELECT} and {NEED_DIRECTION}"))
    );
    let t = term(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
        "--yes",
    ]);
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    assert!(!rest.contains("What now?"), "{rest}");
    // stdout and stderr share the terminal: the summary, then the policy.
    let yaml = rest
        .split_once("\napiVersion:")
        .map(|(_, y)| format!("apiVersion:{y}"))
        .unwrap_or_else(|| panic!("{rest}"));
    assert_eq!(yaml, web_to_api("allow-web-to-api-2"));
}

// ---------------------------------------------------------------------------
// Actions that contradict each other; files
// ---------------------------------------------------------------------------

/// A dry run writes nothing, whatever else is given: `--dry-run` with
/// `--apply` or `--write` is a usage error (exit 2, one line naming both
/// flags), refused before anything is read, sent or written.
#[test]
fn a_dry_run_with_apply_or_write_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml").display().to_string();
    let base = ["-n", "backend", "--all-pods", "--deny-all-ingress"];
    for (extra, other) in [
        (&["--dry-run=server", "--apply", "--yes"][..], "--apply"),
        (&["--apply", "--yes", "--dry-run", "server"][..], "--apply"),
        (
            &["--dry-run=server", "--write", &file][..],
            "--write <FILE>",
        ),
        (
            &["--dry-run=server", "--write", &file, "--apply", "--yes"][..],
            "",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        // A server that answers nothing: were anything sent, it would hang
        // or fail differently.
        args.extend(["--server", "https://127.0.0.1:9"]);
        let err = one_error(&args, 2);
        assert!(err.starts_with("error: the argument '"), "{extra:?}: {err}");
        assert!(err.contains("cannot be used with"), "{extra:?}: {err}");
        assert!(err.contains("--dry-run"), "{extra:?}: {err}");
        assert!(err.contains(other), "{extra:?}: {err}");
        assert!(!Path::new(&file).exists(), "{extra:?}: nothing written");
    }
    // --overwrite and --force-conflicts only mean something with their
    // action.
    for extra in [&["--overwrite"][..], &["--force-conflicts"]] {
        let mut args = base.to_vec();
        args.extend(extra);
        let a = netpol()
            .arg("wizard")
            .args(&args)
            .arg("--offline")
            .assert()
            .code(2)
            .stdout("");
        assert!(stderr_of(&a).starts_with("error: "), "{extra:?}");
    }
}

/// A copy of the example in a temporary directory (for tests that try to
/// write over it).
fn shop_copy() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["namespaces.yaml", "policies.yaml", "workloads.yaml"] {
        std::fs::copy(Path::new(SHOP_ABS).join(f), dir.path().join(f)).unwrap();
    }
    dir
}

#[cfg(unix)]
fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().ino()
}

/// A file read with -f is never written over: not by its own name, not
/// through another path, a symlink or a hard link, not as a manifest of a
/// directory given to -f, not even with --overwrite.
#[test]
fn write_never_replaces_an_input() {
    let shop = shop_copy();
    let policies = shop.path().join("policies.yaml");
    let before = std::fs::read_to_string(&policies).unwrap();
    let other = tempfile::tempdir().unwrap();
    let link = other.path().join("link.yaml");
    std::os::unix::fs::symlink(&policies, &link).unwrap();
    let hard = other.path().join("hard.yaml");
    std::fs::hard_link(&policies, &hard).unwrap();
    let dotted = format!(
        "{}/../{}/policies.yaml",
        shop.path().display(),
        shop.path().file_name().unwrap().to_str().unwrap()
    );
    let p = |x: &Path| x.display().to_string();
    let shop_dir = p(shop.path());
    for (input, target) in [
        (p(&policies), p(&policies)),
        (p(&policies), dotted.clone()),
        (p(&policies), p(&link)),
        (p(&policies), p(&hard)),
        (p(&link), p(&policies)),
        (shop_dir.clone(), p(&policies)),
        (shop_dir.clone(), p(&link)),
    ] {
        let err = one_error(
            &[
                "-n",
                "backend",
                "--all-pods",
                "--deny-all-ingress",
                "-f",
                &input,
                "--write",
                &target,
                "--overwrite",
            ],
            1,
        );
        assert!(
            err.starts_with(&format!(
                "error: {target}: refusing to write over an input file"
            )),
            "-f {input} --write {target}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&policies).unwrap(), before);
    }
    // Standard input (-f -) redirected from the file is an input too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
        .env_clear()
        .env("HOME", other.path())
        .args([
            "wizard",
            "-n",
            "backend",
            "--all-pods",
            "--deny-all-ingress",
        ])
        .args(["-f", "-", "--write", &p(&link), "--overwrite"])
        .stdin(std::fs::File::open(&policies).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: refusing to write over an input file (-f -)",
            p(&link)
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&policies).unwrap(), before);
    // A new file next to the inputs is fine.
    let new = shop.path().join("new.yaml");
    wizard(&[
        "-n",
        "backend",
        "--all-pods",
        "--deny-all-ingress",
        "-f",
        &shop_dir,
        "--write",
        &p(&new),
    ]);
    assert!(
        std::fs::read_to_string(&new)
            .unwrap()
            .contains("kind: NetworkPolicy")
    );
}

/// The file is written through a temporary file that is renamed into
/// place: a replaced file is a new inode, and nothing else is left in the
/// directory.
#[test]
fn write_goes_through_a_temporary_file_and_a_rename() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(&file, "old\n").unwrap();
    let old_inode = inode(&file);
    let f = file.display().to_string();
    let args = [
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
        "--offline",
        "--write",
        &f,
        "--overwrite",
    ];
    wizard(&args);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), WEB_TO_API);
    assert_ne!(inode(&file), old_inode, "renamed into place, not rewritten");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["p.yaml"], "no temporary file left");
}

/// On a terminal, "write it to a file" over an existing file asks first,
/// defaulting to No; no keeps the file as it was.
#[test]
fn interactive_write_asks_before_replacing_a_file() {
    for answer in [None, Some(false), Some(true)] {
        let mut t = term(&[]);
        std::fs::write(t.dir.path().join("allow-web-to-api-2.yaml"), "mine\n").unwrap();
        cross_namespace_ingress(&mut t);
        t.keys(DOWN);
        t.wait("> write it to a file");
        t.keys("\r");
        t.input("File [allow-web-to-api-2.yaml]", "");
        t.wait("allow-web-to-api-2.yaml exists. Overwrite it? [y/N] ");
        match answer {
            None => t.keys("\r"),
            Some(true) => t.keys("y"),
            Some(false) => t.keys("n"),
        }
        let (status, rest, dir) = t.finish();
        let text = std::fs::read_to_string(dir.path().join("allow-web-to-api-2.yaml")).unwrap();
        if answer == Some(true) {
            assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
            assert_eq!(text, web_to_api("allow-web-to-api-2"));
        } else {
            assert_eq!(
                exit_code(&status),
                Some(130),
                "{answer:?}: {status:?}: {rest}"
            );
            assert!(
                rest.contains("error: cancelled: nothing was changed"),
                "{rest}"
            );
            assert_eq!(text, "mine\n", "{answer:?}");
        }
    }
    // An input file is refused outright, without a question.
    let mut t = term(&[]);
    cross_namespace_ingress(&mut t);
    t.keys(DOWN);
    t.wait("> write it to a file");
    t.keys("\r");
    let input = format!("{SHOP_ABS}/policies.yaml");
    let before = std::fs::read_to_string(&input).unwrap();
    t.input("File [allow-web-to-api-2.yaml]", &input);
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(1), "{status:?}: {rest}");
    assert!(
        rest.contains(&format!(
            "error: {input}: refusing to write over an input file"
        )),
        "{rest}"
    );
    assert!(!rest.contains("Overwrite"), "{rest}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), before);
}

// ---------------------------------------------------------------------------
// Hostile names and labels
// ---------------------------------------------------------------------------

/// Terminal sequences a hostile manifest may hide in names and labels:
/// CSI (colour, clear screen, blink), an OSC 8 link, C1 controls (CSI as
/// U+009B, NEL), DEL, bidirectional override and isolate.
const HOSTILE: [&str; 10] = [
    "\x1b[31;1m",
    "\x1b[2J",
    "\x1b[5m",
    "\x1b]8;;https://evil.example\x07",
    "\u{9b}",
    "\u{85}",
    "\x7f",
    "\u{202e}",
    "\u{2066}",
    "\x1b]8;;\x07",
];

/// Namespace `evil…` (a hostile name) and namespace `plain` with a pod
/// whose name, label value and port name are hostile, and a pod `second`
/// with hostile labels.
fn hostile_manifest(dir: &Path) -> String {
    let ns = "evil\x1b[31;1mRED\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\u{9b}x\u{202e}txt\u{2066}\x7f";
    let docs = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "plain"}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "pod\x1b]8;;https://evil.example\x07y", "namespace": "plain",
                      "labels": {"app": "web\x1b[2J\u{202e}oops\u{85}"}},
         "spec": {"containers": [{"name": "c", "image": "i",
                  "ports": [{"containerPort": 80, "name": "h\x1b[5m"}]}]}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "second", "namespace": "plain",
                      "labels": {"app": "web\x1b[2J\u{202e}oops\u{85}", "tier": "\u{2069}\u{9f}"}},
         "spec": {"containers": [{"name": "c", "image": "i"}]}}
    ]});
    // As JSON escapes: YAML refuses some of them raw.
    let ascii: String = docs
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii() && c != '\x7f' {
                c.to_string()
            } else {
                format!("\\u{:04x}", c as u32)
            }
        })
        .collect();
    write(dir, "hostile.json", &ascii)
}

/// Every prompt, choice, default and review line of the interactive
/// wizard goes through the sanitiser: on the real terminal (escape codes
/// not stripped), no hostile sequence arrives; the names show with `?` in
/// place of each control character.
#[test]
fn interactive_prompts_are_sanitised() {
    let input = tempfile::tempdir().unwrap();
    let manifest = hostile_manifest(input.path());
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .current_dir(dir.path())
        .args(["wizard", "-f", &manifest, "--color", "never"]);
    let s = rexpect::spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(10_000))
            .strip_ansi_escape_codes(false),
    )
    .expect("spawn on a pseudo-terminal");
    let mut t = Term {
        s,
        dir,
        _home: home,
        seen: String::new(),
    };
    // Namespaces, sorted: the hostile one first, then plain.
    t.wait("plain");
    t.keys(DOWN);
    t.wait("> plain");
    t.keys("\r");
    // The pods: all pods, or typed (the hostile label value is not a
    // valid label value: no selector can name it, so it is not offered).
    t.wait(TYPE_SELECTOR);
    t.keys("\r");
    t.wait("selects 2 pods now: ");
    t.wait("Restrict which direction?");
    t.wait("both");
    t.keys("\r");
    t.wait("Add an ingress rule?");
    t.wait("] ");
    t.keys("y");
    t.wait(LAST_PEER);
    t.keys(DOWN);
    t.wait("> pods in other namespaces, by labels");
    t.keys("\r");
    // The namespaces to pick from: both names, the hostile one sanitised.
    t.wait("[ ] plain");
    t.keys(DOWN);
    t.wait("> [ ] plain");
    t.keys(" ");
    t.wait("> [x] plain");
    t.keys("\r");
    t.wait(TYPE_SELECTOR);
    t.keys(DOWN);
    t.wait(&format!("> {TYPE_SELECTOR}"));
    t.keys("\r");
    t.wait("Label selector (app=web): ");
    t.keys("app=x\r");
    // Ports offered: the hostile port name among them.
    t.wait("every port");
    t.keys(UP);
    t.wait("> every port");
    t.keys("\r");
    t.wait("Add another rule?");
    t.wait("] ");
    t.keys("n");
    t.wait("Name [");
    t.wait("]: ");
    t.keys("\r");
    t.wait("What now?");
    t.wait("write it to a file");
    t.keys("\r");
    let seen = t.seen.clone();
    let (status, rest, _) = t.finish();
    let all = format!("{seen}{rest}");
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {all:?}");
    for h in HOSTILE {
        // rexpect reads the terminal's bytes one char each: look for the
        // UTF-8 bytes of each sequence.
        let bytes: String = h.bytes().map(char::from).collect();
        assert!(!all.contains(&bytes), "{h:?} reached the terminal: {all:?}");
    }
    // What was shown instead, prompt by prompt.
    for shown in [
        // the namespaces menu and the namespaces to pick from
        "evil?[31;1mRED?]8;;https://evil.example?link?]8;;??x?txt??",
        // the pods selected
        "pod?]8;;https://evil.example?y",
        // the ports offered
        "TCP/h?[5m  (named port)",
    ] {
        assert!(all.contains(shown), "{shown:?} not shown: {all:?}");
    }
    assert!(
        !all.contains("app=web?[2J"),
        "an invalid label value offered: {all:?}"
    );
    // The policy printed is the plain one.
    let yaml = rest
        .split_once("apiVersion:")
        .map(|(_, y)| format!("apiVersion:{y}"))
        .unwrap_or_else(|| panic!("{rest:?}"));
    let v = parse_yaml(&yaml);
    assert_eq!(v["metadata"]["namespace"], "plain");
}

/// `-o json` spells C1 controls, DEL and bidirectional overrides and
/// isolates as `\uXXXX` (serde_json leaves them raw), in every command's
/// JSON; the values read back unchanged.
#[test]
fn json_output_escapes_c1_del_and_bidi_controls() {
    let input = tempfile::tempdir().unwrap();
    let manifest = hostile_manifest(input.path());
    for args in [&["coverage", "-A"][..], &["matrix", "-A"]] {
        let a = netpol()
            .args(args)
            .args(["-f", &manifest, "-o", "json"])
            .assert();
        let out = stdout_of(&a);
        assert!(out.starts_with('{'), "{args:?}: {out}");
        for c in out.chars() {
            assert!(
                !matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
                "{args:?}: {c:?} raw in {out}"
            );
        }
        // Valid JSON, holding the name as it is.
        let text = parse_json(&out).to_string();
        assert!(
            text.contains("pod\\u001b]8;;https://evil.example\\u0007y"),
            "{args:?}: the pod's name reads back: {text}"
        );
    }
    let a = netpol()
        .args(["explain", "-n", "plain", "second"])
        .args(["-f", &manifest, "-o", "json"])
        .assert();
    let out = stdout_of(&a);
    assert!(out.contains("web\\u001b[2J\\u202eoops\\u0085"), "{out}");
    assert!(out.contains("\\u2069\\u009f"), "{out}");
}

/// `--write -` is not a file named `-`: stdout is where the policy goes
/// without --write.
#[test]
fn write_dash_is_refused_not_a_file_named_dash() {
    let dir = tempfile::tempdir().unwrap();
    let out = netpol()
        .current_dir(dir.path())
        .args([
            "wizard",
            "-f",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shop"),
            "-n",
            "backend",
            "--select",
            "app=api",
            "--allow-from",
            "pods=app=web",
            "--port",
            "8080",
            "--name",
            "x",
            "--write",
            "-",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--write - is not a file"), "{err}");
    assert!(!dir.path().join("-").exists());
}

// ---------------------------------------------------------------------------
// Ports per rule, the outputs' peer notation, hints, --from (issue 13)
// ---------------------------------------------------------------------------

/// The README's example, written as there: each --port belongs to the peer
/// flag before it. Run through `matrix -f` with the example's pods (and
/// no other policy): frontend/web reaches the api on 8080 only, the api
/// reaches postgres on 5432 only (and DNS), nothing else reaches the api
/// nor leaves it.
#[test]
fn the_readme_example_builds_exactly_the_intended_policy() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = "$ kubectl netpol wizard -n backend --select app=api \\
    --allow-from namespace=frontend,pods=app=web --port 8080 \\
    --deny-all-egress --allow-dns --allow-to pods=app=postgres --port 5432 > policy.yaml";
    assert!(
        readme.contains(example),
        "the README example changed: update this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
        "--deny-all-egress",
        "--allow-dns",
        "--allow-to",
        "pods=app=postgres",
        "--port",
        "5432",
        "--offline",
    ]);
    let file = write(dir.path(), "policy.yaml", &out);
    let a = netpol()
        .args(["matrix", "-A", "-o", "json"])
        .args(["-f", &format!("{SHOP_ABS}/namespaces.yaml")])
        .args(["-f", &format!("{SHOP_ABS}/workloads.yaml")])
        .args(["-f", &file])
        .assert()
        .code(0);
    let m = parse_json(&stdout_of(&a));
    let conns = m["connections"].as_array().unwrap();
    let to_api: Vec<(String, Value)> = conns
        .iter()
        .filter(|c| c["to"] == "backend/deployment/api")
        .map(|c| (c["from"].as_str().unwrap().to_string(), c["ports"].clone()))
        .collect();
    assert_eq!(
        to_api,
        [
            ("frontend/deployment/web".to_string(), json!(["TCP/8080"])),
            ("frontend/web-canary".to_string(), json!(["TCP/8080"])),
        ]
    );
    let from_api: Vec<(String, Value)> = conns
        .iter()
        .filter(|c| c["from"] == "backend/deployment/api")
        .map(|c| (c["to"].as_str().unwrap().to_string(), c["ports"].clone()))
        .collect();
    assert_eq!(
        from_api,
        [
            (
                "backend/statefulset/postgres".to_string(),
                json!(["TCP/5432"])
            ),
            (
                "kube-system/deployment/coredns".to_string(),
                json!(["TCP/53", "UDP/53"])
            ),
        ]
    );
    // The same policy in the outputs' notation, ports inline.
    let (inline, _) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "frontend/web:8080",
        "--deny-all-egress",
        "--allow-dns",
        "--allow-to",
        "backend/app=postgres:5432/TCP",
        "--offline",
    ]);
    assert_eq!(inline, out);
}

/// A suggested name never takes an existing policy's place: on the example
/// (the README's own example included), backend/allow-web-to-api exists
/// with other rules, so the next free name is suggested and said; a policy
/// of that name that is the same keeps it (applying it changes nothing);
/// an explicit --name replaces, as asked.
#[test]
fn a_suggested_name_never_replaces_another_policy() {
    // The README's example, on the example cluster.
    let (out, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=frontend,pods=app=web",
        "--port",
        "8080",
        "--deny-all-egress",
        "--allow-dns",
        "--allow-to",
        "pods=app=postgres",
        "--port",
        "5432",
        "-f",
        SHOP,
    ]);
    assert_eq!(parse_yaml(&out)["metadata"]["name"], "allow-web-to-api-2");
    assert!(err.contains(&format!("note: {NAME_MOVED}\n")), "{err}");
    assert!(!err.contains("applying replaces it"), "{err}");
    // The same as the existing policy: its name, and no change.
    let (out, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "frontend/app=web:http",
        "-f",
        SHOP,
    ]);
    assert_eq!(parse_yaml(&out)["metadata"]["name"], "allow-web-to-api");
    assert!(
        err.contains("note: a NetworkPolicy backend/allow-web-to-api exists already, the same as this one: applying it changes nothing\n"),
        "{err}"
    );
    // Another policy whose suggested name is taken too.
    let (out, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=postgres",
        "--allow-from",
        "pods=app=api",
        "-f",
        SHOP,
    ]);
    assert_eq!(
        parse_yaml(&out)["metadata"]["name"],
        "allow-api-to-postgres-2"
    );
    assert!(
        err.contains("note: a different NetworkPolicy backend/allow-api-to-postgres exists: the name suggested is allow-api-to-postgres-2 (--name allow-api-to-postgres replaces it)\n"),
        "{err}"
    );
}

/// Adding what a policy admits already adds nothing: the DNS rule of
/// --allow-dns (run twice on a policy, or on one that has it), a rule the
/// same as one there or narrower, the same flag twice; a note says which
/// rule admits it.
#[test]
fn rules_already_there_are_not_added_again() {
    let (out, err) = wizard(&[
        "--from",
        "backend/allow-dns-egress",
        "--allow-dns",
        "-f",
        SHOP,
    ]);
    let v = parse_yaml(&out);
    assert_eq!(v["spec"]["egress"], json!([dns_rule()]), "{out}");
    assert!(
        err.contains("note: --allow-dns: DNS is already admitted by egress rule #1 (kube-system/k8s-app=kube-dns on UDP/53, TCP/53): no second DNS rule\n"),
        "{err}"
    );
    assert!(
        err.contains("diff: none: the same as backend/allow-dns-egress is now"),
        "{err}"
    );
    // Narrower than a rule there (postgres among app in (cache,postgres),
    // on one of its ports).
    let (out, err) = wizard(&[
        "--from",
        "backend/api-egress",
        "--allow-to",
        "backend/app=postgres:5432",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains("note: --allow-to backend/app=postgres:5432: already admitted by egress rule #1 (backend/app in (cache,postgres) on TCP/5432, TCP/6379): not added again\n"),
        "{err}"
    );
    assert_eq!(
        parse_yaml(&out)["spec"]["egress"].as_array().unwrap().len(),
        2
    );
    // The same flag twice, and the DNS rule given by hand and by --allow-dns.
    let v = policy(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-to",
        "pods=app=postgres:5432",
        "--allow-to",
        "backend/app=postgres:5432/TCP",
        "--allow-to",
        "kube-system/k8s-app=kube-dns:53/UDP,53/TCP",
        "--allow-dns",
    ]);
    let egress = v["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 2, "{v}");
    assert_eq!(egress[1], dns_rule());
    let (_, err) = wizard(&[
        "--offline",
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-to",
        "pods=app=postgres:5432",
        "--allow-to",
        "backend/app=postgres:5432/TCP",
    ]);
    assert!(
        err.contains("note: --allow-to backend/app=postgres:5432/TCP: already admitted by egress rule #1 (backend/app=postgres on TCP/5432): not added again\n"),
        "{err}"
    );
}

/// Each --port goes to the --allow-from/--allow-to before it, whatever
/// the direction; inline ports and --port add up.
#[test]
fn ports_belong_to_the_peer_flag_before_them() {
    let v = policy(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-to",
        "backend/postgres:5432",
        "--port",
        "pg",
        "--allow-from",
        "frontend/web",
        "--port",
        "8080",
        "--allow-to",
        "cidr=2001:db8::/32:443",
        "--allow-to",
        "2001:db8::/32",
        "--allow-from",
        "monitoring/*:TCP/metrics,UDP/all",
    ]);
    assert_eq!(
        v["spec"]["egress"],
        json!([
            {"to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
             "ports": [{"port": 5432, "protocol": "TCP"}, {"port": "pg", "protocol": "TCP"}]},
            {"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}],
             "ports": [{"port": 443, "protocol": "TCP"}]},
            {"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}]}
        ])
    );
    assert_eq!(
        v["spec"]["ingress"],
        json!([
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "frontend"}},
                       "podSelector": {"matchLabels": {"app": "web"}}}],
             "ports": [{"port": 8080, "protocol": "TCP"}]},
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
             "ports": [{"port": "metrics", "protocol": "TCP"}, {"protocol": "UDP"}]}
        ])
    );
}

#[test]
fn a_port_before_any_peer_is_an_error_with_an_example() {
    for args in [
        &["--all-pods", "--port", "8080", "--allow-from", "anywhere"][..],
        &[
            "--all-pods",
            "--deny-all-egress",
            "--port",
            "53/UDP",
            "--allow-to",
            "anywhere",
        ],
    ] {
        let port = args[args.iter().position(|a| *a == "--port").unwrap() + 1];
        assert_eq!(
            one_error(&[args, &["--offline"]].concat(), 2),
            format!(
                "error: --port {port} comes before any --allow-from or --allow-to: a --port gives ports to the peer flag just before it, as in --allow-from frontend/web --port 8080 (or --allow-from frontend/web:8080)"
            )
        );
    }
}

/// Peers as list, explain and matrix write them are read back as the
/// same peers; in the policy's own namespace they are a plain podSelector.
#[test]
fn peers_in_the_outputs_notation() {
    let ns_name = |n: &str| json!({"matchLabels": {"kubernetes.io/metadata.name": n}});
    let cases: Vec<(&str, Value)> = vec![
        (
            "frontend/web",
            json!([{"namespaceSelector": ns_name("frontend"), "podSelector": {"matchLabels": {"app": "web"}}}]),
        ),
        // The key that names pods comes from the pods: storefront is an
        // app.kubernetes.io/name, kube-dns a k8s-app.
        (
            "frontend/storefront",
            json!([{"namespaceSelector": ns_name("frontend"), "podSelector": {"matchLabels": {"app.kubernetes.io/name": "storefront"}}}]),
        ),
        (
            "kube-system/kube-dns",
            json!([{"namespaceSelector": ns_name("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]),
        ),
        (
            "frontend/app=web,track",
            json!([{"namespaceSelector": ns_name("frontend"), "podSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "track", "operator": "Exists"}]}}]),
        ),
        (
            "frontend/*",
            json!([{"namespaceSelector": ns_name("frontend")}]),
        ),
        (
            "all pods in frontend",
            json!([{"namespaceSelector": ns_name("frontend")}]),
        ),
        (
            "frontend pods [track]",
            json!([{"namespaceSelector": ns_name("frontend"), "podSelector": {"matchExpressions": [{"key": "track", "operator": "Exists"}]}}]),
        ),
        (
            "prometheus in namespaces [purpose=monitoring]",
            json!([{"namespaceSelector": {"matchLabels": {"purpose": "monitoring"}}, "podSelector": {"matchLabels": {"app": "prometheus"}}}]),
        ),
        (
            "pods [app in (cache,postgres)] in any namespace",
            json!([{"namespaceSelector": {}, "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["cache", "postgres"]}]}}]),
        ),
        ("any namespace", json!([{"namespaceSelector": {}}])),
        (
            "all pods in namespaces [team=web]",
            json!([{"namespaceSelector": {"matchLabels": {"team": "web"}}}]),
        ),
        // Own namespace: a podSelector alone, as `backend/api` reads.
        (
            "backend/postgres",
            json!([{"podSelector": {"matchLabels": {"app": "postgres"}}}]),
        ),
        ("backend/*", json!([{"podSelector": {}}])),
        ("10.0.0.0/8", json!([{"ipBlock": {"cidr": "10.0.0.0/8"}}])),
        (
            "10.0.0.0/8 except 10.244.0.0/16",
            json!([{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.0.0/16"]}}]),
        ),
        (
            "0.0.0.0/0 except [169.254.169.254/32, 10.0.0.0/8]",
            json!([{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "10.0.0.0/8"]}}]),
        ),
    ];
    for (peer, want) in &cases {
        let (out, _) = wizard(&[
            "-n",
            "backend",
            "--select",
            "app=api",
            "--allow-from",
            peer,
            "-o",
            "json",
            "-f",
            SHOP,
        ]);
        let v = parse_json(&out);
        assert_minimal(&v, peer);
        assert_eq!(&v["spec"]["ingress"][0]["from"], want, "{peer}");
    }
    // What `list` writes for the example's policies reads back: each
    // summary's peers, through the wizard, give the same sentence.
    let (out, err) = wizard(&[
        "-n",
        "payments",
        "--select",
        "app=gateway",
        "--allow-from",
        "10.0.0.0/8 except 10.244.0.0/16:TCP/8443",
        "--allow-from",
        "backend/api:TCP/8443",
        "--allow-from",
        "prometheus in namespaces [purpose=monitoring]:TCP/metrics",
        "-f",
        SHOP,
    ]);
    assert!(out.contains("name: allow-cidr-to-gateway"), "{out}");
    assert!(
        err.starts_with("summary: namespace/payments allows gateway from 10.0.0.0/8 except 10.244.0.0/16 on TCP/8443 and from backend/api on TCP/8443 and from prometheus in namespaces [purpose=monitoring] on TCP/metrics\n"),
        "{err}"
    );
}

/// A peer or --select that matches nothing is allowed, and said as typed,
/// with the nearest label sets that exist.
#[test]
fn peers_that_match_nothing_are_flagged_with_the_nearest_labels() {
    let (_, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "frontend/wbe:8080",
        "--allow-to",
        "namespace=paymnts",
        "--allow-to",
        "pods=app=postgress",
        "-f",
        SHOP,
    ]);
    for want in [
        "note: --allow-from frontend/wbe:8080 matches no pod now (allowed: pods that get these labels will match); nearest label sets: frontend/app=web (2 pods)\n",
        "note: --allow-to namespace=paymnts matches no pod now (allowed: pods that get these labels will match); namespace paymnts does not exist (nearest: payments)\n",
        "note: --allow-to pods=app=postgress matches no pod now (allowed: pods that get these labels will match); nearest label sets: backend/app=postgres (1 pod)\n",
    ] {
        assert!(err.contains(want), "{want}\n--- got:\n{err}");
    }
    let (_, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=apii",
        "--deny-all-ingress",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains("note: --select app=apii selects no pod of backend now (allowed: pods that get these labels will be selected); nearest label sets: app=api (1 pod)\n"),
        "{err}"
    );
    // Offline without manifests nothing is known: nothing is said.
    let (_, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=apii",
        "--allow-from",
        "frontend/wbe",
        "--offline",
    ]);
    assert!(!err.contains("matches no pod"), "{err}");
    assert!(!err.contains("selects no pod"), "{err}");
}

/// --from starts from a policy of the manifests: the same policy when
/// nothing changes (no diff), the flags add to it, the diff says what.
#[test]
fn from_starts_from_an_existing_policy() {
    // Unchanged: the same spec, said so.
    let (out, err) = wizard(&["--from", "payments/gateway-ingress", "-f", SHOP]);
    let v = parse_yaml(&out);
    assert_minimal(&v, "from");
    assert_eq!(
        v["metadata"],
        json!({"name": "gateway-ingress", "namespace": "payments"})
    );
    assert_eq!(
        v["spec"]["ingress"][1],
        json!({"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "backend"}},
                         "podSelector": {"matchLabels": {"app": "api"}}}],
               "ports": [{"port": 8443, "protocol": "TCP"}]})
    );
    assert!(
        err.contains("\ndiff: none: the same as payments/gateway-ingress is now\n"),
        "{err}"
    );
    // -n and a bare name; a rule added: the unified diff shows it.
    let (out, err) = wizard(&[
        "--from",
        "allow-web-to-api",
        "-n",
        "backend",
        "--allow-from",
        "monitoring/prometheus:metrics",
        "-f",
        SHOP,
    ]);
    let v = parse_yaml(&out);
    assert_eq!(v["spec"]["ingress"].as_array().unwrap().len(), 2, "{v}");
    assert!(err.contains("diff: --- backend/allow-web-to-api (now)\ndiff: +++ backend/allow-web-to-api (reviewed)\ndiff: @@ "), "{err}");
    assert!(err.contains("diff: +          app: prometheus\n"), "{err}");
    assert!(err.contains("diff: +    - port: metrics\n"), "{err}");
    // --select replaces the pods; --name writes a copy, said in a note.
    let (out, err) = wizard(&[
        "--from",
        "backend/allow-web-to-api",
        "--select",
        "app=worker",
        "--name",
        "allow-web-to-worker",
        "-f",
        SHOP,
    ]);
    let v = parse_yaml(&out);
    assert_eq!(v["metadata"]["name"], "allow-web-to-worker");
    assert_eq!(
        v["spec"]["podSelector"],
        json!({"matchLabels": {"app": "worker"}})
    );
    assert!(err.contains("note: started from backend/allow-web-to-api under another name: that policy stays as it is"), "{err}");
    // A rule of two peers becomes two rules with the same ports.
    let dir = tempfile::tempdir().unwrap();
    let two = write(
        dir.path(),
        "two.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: two, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: a}}}, {ipBlock: {cidr: 10.0.0.0/8}}]\n    ports: [{port: 80}, {protocol: UDP}]\n",
    );
    let (out, err) = wizard(&["--from", "shop/two", "-f", &two]);
    let v = parse_yaml(&out);
    let ports = json!([{"port": 80, "protocol": "TCP"}, {"protocol": "UDP"}]);
    assert_eq!(
        v["spec"]["ingress"],
        json!([{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}], "ports": ports},
               {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": ports}])
    );
    assert_eq!(v["spec"]["policyTypes"], json!(["Ingress"]));
    assert!(err.contains("note: ingress rule #1 has 2 peers: the wizard writes one rule per peer, with the same ports (the same traffic)"), "{err}");
    // Errors: not found, -n against NS/NAME.
    assert_eq!(
        one_error(&["--from", "backend/nope", "-f", SHOP], 1),
        r#"error: networkpolicies.networking.k8s.io "nope" not found in namespace "backend""#
    );
    assert_eq!(
        one_error(
            &["--from", "backend/api-egress", "-n", "frontend", "-f", SHOP],
            2
        ),
        "error: --from backend/api-egress names namespace backend, but -n says frontend: give one of them"
    );
}

/// The way back: at the review, "edit a step" changes a rule's ports and
/// the name without starting over; the review is shown again.
#[test]
fn interactive_edit_a_step_at_the_review() {
    let mut t = term(&[]);
    cross_namespace_ingress(&mut t);
    t.keys(UP);
    t.wait(&format!("> {EDIT}"));
    t.keys("\r");
    t.wait(&format!("What now?: {EDIT}"));
    let steps = t.select(
        "Change which step?",
        "back to the review",
        &DOWN.repeat(3),
        "ingress rules: 1 rule",
    );
    assert!(steps.contains("pods to protect: app=api"), "{steps}");
    assert!(steps.contains("name: allow-web-to-api-2"), "{steps}");
    t.select(
        "Which rule?",
        "back",
        "",
        "#1 from frontend/app=web on TCP/8080",
    );
    t.select("Rule #1", "back", DOWN, "change the ports");
    t.select(
        "On which ports?",
        "every port",
        &UP.repeat(2),
        "type ports...",
    );
    // The typed ports start as the rule's.
    t.input(
        "Ports (8080, 8000-8100, http, 53/UDP; comma-separated) [TCP/8080]",
        "8080,9090",
    );
    // The review again, with the change.
    let review = t.wait("What now?:\r\n");
    assert!(
        review.contains(
            "Summary:  namespace/backend allows api from frontend/web on TCP/8080, TCP/9090"
        ),
        "{review}"
    );
    t.wait(&format!("{EDIT}\r\n"));
    t.keys(UP);
    t.wait(&format!("> {EDIT}"));
    t.keys("\r");
    t.select(
        "Change which step?",
        "back to the review",
        &UP.repeat(2),
        "name: allow-web-to-api-2",
    );
    t.input("Name [allow-web-to-api-2]", "web-to-api-edited");
    t.select("What now?", EDIT, "", "print the YAML");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(v["metadata"]["name"], "web-to-api-edited");
    assert_eq!(
        v["spec"]["ingress"][0]["ports"],
        json!([{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}])
    );
    assert_eq!(
        v["spec"]["ingress"][0]["from"],
        parse_yaml(WEB_TO_API)["spec"]["ingress"][0]["from"]
    );
}

/// On a terminal, a namespace's policies are offered as a start; the
/// review shows the diff against the one picked, after an edit too.
#[test]
fn interactive_start_from_an_existing_policy() {
    let mut t = term(&[]);
    t.select("Namespace", LAST_NAMESPACE, UP, "backend");
    let start = "allow-web-to-api: namespace/backend allows api from frontend/web on TCP/http";
    t.wait("Start from:\r\n");
    t.wait("default-deny: namespace/backend denies all ingress and egress for all pods\r\n");
    t.keys(&DOWN.repeat(5));
    t.wait(&format!("> {start}"));
    t.keys("\r");
    t.wait(&format!("Start from: {start}"));
    // Straight to the review: nothing changed yet.
    let review = t.wait("What now?:\r\n");
    assert!(
        review.contains("Diff:     none: the same as backend/allow-web-to-api is now"),
        "{review}"
    );
    assert!(!review.contains("exists already"), "{review}");
    t.wait(&format!("{EDIT}\r\n"));
    t.keys(UP);
    t.wait(&format!("> {EDIT}"));
    t.keys("\r");
    t.select(
        "Change which step?",
        "back to the review",
        &DOWN.repeat(3),
        "ingress rules: 1 rule",
    );
    t.select("Which rule?", "back", DOWN, "add a rule");
    t.select("Allow traffic from", LAST_PEER, UP, LAST_PEER);
    t.input("Peer", "monitoring/prometheus");
    t.wait("Peer: monitoring/prometheus");
    t.select(
        "On which ports?",
        "every port",
        &DOWN.repeat(3),
        "TCP/metrics  (named port)",
    );
    let review = t.wait("What now?:\r\n");
    assert!(
        review.contains("Diff against backend/allow-web-to-api as it is now:\n--- backend/allow-web-to-api (now)\n+++ backend/allow-web-to-api (reviewed)\n@@ "),
        "{review}"
    );
    assert!(
        review.contains("\n+          app: prometheus\n"),
        "{review}"
    );
    assert!(review.contains("\n+    - port: metrics\n"), "{review}");
    t.wait(&format!("{EDIT}\r\n"));
    t.keys("\r");
    t.wait("What now?: print the YAML");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(0), "{status:?}: {rest}");
    let v = printed(&rest);
    assert_eq!(v["metadata"]["name"], "allow-web-to-api");
    assert_eq!(v["spec"]["ingress"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["spec"]["ingress"][1]["from"][0]["podSelector"],
        json!({"matchLabels": {"app": "prometheus"}})
    );
}

/// A typed selector that selects nothing is taken, with a warning that
/// names the nearest label sets.
#[test]
fn interactive_selector_that_matches_nothing_is_warned() {
    let mut t = term(&[]);
    t.select("Namespace", LAST_NAMESPACE, UP, "backend");
    new_policy(&mut t);
    t.select(
        "Which pods should this policy protect?",
        TYPE_SELECTOR,
        UP,
        TYPE_SELECTOR,
    );
    t.input("Label selector (app=api, tier in (a,b))", "app=apii");
    t.wait("warning: app=apii selects no pod of backend now (allowed: pods that get these labels will be selected); nearest label sets: app=api (1 pod)");
    t.wait("selects 0 pods now");
    t.wait("Restrict which direction?:\r\n");
    t.keys("\x1b");
    let (status, rest, _) = t.finish();
    assert_eq!(exit_code(&status), Some(130), "{status:?}: {rest}");
}

/// The review says what the policy does to connectivity with `kubectl
/// netpol diff`'s engine: the connections it opens and closes, grouped and
/// counted the same way.
#[test]
fn the_review_shows_the_connectivity_diff() {
    let (_, err) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "frontend/loadtest",
        "--port",
        "8080",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains(
            "connectivity: + frontend/loadtest -> backend/deployment/api  TCP/8080\nconnectivity: 1 opened, 0 closed, 0 changed\n"
        ),
        "{err}"
    );
    // The same policy through `diff`: the same line.
    let dir = tempfile::tempdir().unwrap();
    let (yaml, _) = wizard(&[
        "-n",
        "backend",
        "--select",
        "app=api",
        "--allow-from",
        "frontend/loadtest",
        "--port",
        "8080",
        "-f",
        SHOP,
    ]);
    let new = dir.path().join("new");
    std::fs::create_dir(&new).unwrap();
    for f in ["namespaces.yaml", "workloads.yaml", "policies.yaml"] {
        std::fs::copy(format!("{SHOP_ABS}/{f}"), new.join(f)).unwrap();
    }
    std::fs::write(new.join("wizard.yaml"), &yaml).unwrap();
    let a = netpol()
        .args(["diff", SHOP_ABS, new.to_str().unwrap()])
        .assert()
        .code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains("+ frontend/loadtest -> backend/deployment/api  TCP/8080\n"),
        "{out}"
    );
    // Egress isolated with no rule: what closes, at most twelve lines and
    // how many more.
    let (_, err) = wizard(&[
        "-n",
        "frontend",
        "--select",
        "app=web",
        "--deny-all-egress",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains(
            "connectivity: - frontend/deployment/web -> backend/deployment/api  TCP/8080\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("more (kubectl netpol diff lists them all)\n")
            && err.contains(" opened, ")
            && err.contains(" closed, 0 changed\n"),
        "{err}"
    );
}

/// Unattended, a lint finding's fix is YAML over several lines on stderr,
/// never folded into one line with `?` for each line break.
#[test]
fn a_findings_fix_keeps_its_lines() {
    let (_, err) = wizard(&[
        "-n",
        "frontend",
        "--select",
        "app=web",
        "--deny-all-egress",
        "--allow-to",
        "backend/api:8080",
        "-f",
        SHOP,
    ]);
    assert!(
        err.contains("cannot resolve names: no egress rule of the policies selecting them admits UDP/53 to kube-system/coredns\n  fix:\n    egress:\n    - to:\n"),
        "{err}"
    );
    assert!(!err.contains("?  fix:?"), "{err}");
}

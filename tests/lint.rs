//! Hermetic end-to-end tests of `kubectl netpol lint` and
//! `kubectl netpol coverage`.
//!
//! Every check of the lint engine's `CHECKS` table has a positive fixture
//! (the gotcha is present: the check fires, on the expected object and
//! field path, with the expected hint) and a negative one (the corrected
//! policy, differing minimally from the positive: nothing fires). The
//! fixtures live in `tests/fixtures/lint/` and are linted together with
//! `base.yaml`, which holds the namespaces and pods they refer to:
//!
//! ```text
//! kubectl netpol lint -f tests/fixtures/lint/base.yaml -f tests/fixtures/lint/CASE.yaml
//! ```
//!
//! Expected findings and coverage counts were derived by hand from the
//! fixtures, not copied from the tool's output. Tests marked
//! `#[ignore = "bug: ..."]` show behaviour that looks wrong: they assert
//! what the tool should do, and fail today.

use std::collections::BTreeSet;

use netpol::engine::lint::CHECKS;
use serde_json::Value;

mod common;
use common::*;

const DIR: &str = "tests/fixtures/lint";
const BASE: &str = "tests/fixtures/lint/base.yaml";
const COVERAGE: &str = "tests/fixtures/lint/coverage.yaml";
const SHOP: &str = "examples/shop";
const INVALID: &str = "examples/broken/invalid-policy.yaml";

/// What `egress-blocks-dns` and `dns-udp-only` suggest.
const DNS_HINT: &str = "\
egress:
- to:
  - namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: kube-system
    podSelector:
      matchLabels:
        k8s-app: kube-dns
  ports:
  - port: 53
    protocol: UDP
  - port: 53
    protocol: TCP";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs a command that must exit with `code` and print nothing on stderr;
/// returns stdout.
fn quiet(args: &[&str], code: i32) -> String {
    let a = netpol().args(args).assert().code(code);
    let err = stderr_of(&a);
    assert!(err.is_empty(), "{args:?}: unexpected stderr: {err}");
    stdout_of(&a)
}

/// Runs a command that must succeed silently on stderr; returns stdout.
fn ok(args: &[&str]) -> String {
    quiet(args, 0)
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

/// `tests/fixtures/lint/NAME`.
fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

/// The default severity of a check, as the JSON spells it.
fn severity_of(check: &str) -> &'static str {
    CHECKS
        .iter()
        .find(|(id, _, _)| *id == check)
        .map(|(_, sev, _)| sev.as_str())
        .unwrap_or_else(|| panic!("{check:?} is not in CHECKS"))
}

/// `lint -f base.yaml -f FILE... -o json ARGS`: the exit code and the
/// parsed report. Nothing may be printed on stderr.
fn lint_json(files: &[&str], args: &[&str]) -> (i32, Value) {
    let mut argv: Vec<&str> = vec!["lint", "-f", BASE];
    for f in files {
        argv.extend(["-f", f]);
    }
    argv.extend(["-o", "json"]);
    argv.extend(args);
    let a = netpol().args(&argv).assert();
    let code = a.get_output().status.code().expect("exit code");
    let err = stderr_of(&a);
    assert!(err.is_empty(), "{argv:?}: unexpected stderr: {err}");
    let report = parse_json(&stdout_of(&a));
    assert_schema(&report);
    (code, report)
}

/// `lint -f base.yaml -f FILE... ARGS` in text form: exit code and stdout.
fn lint_text(files: &[&str], args: &[&str]) -> (i32, String) {
    let mut argv: Vec<&str> = vec!["lint", "-f", BASE];
    for f in files {
        argv.extend(["-f", f]);
    }
    argv.extend(args);
    let a = netpol().args(&argv).assert();
    let code = a.get_output().status.code().expect("exit code");
    let err = stderr_of(&a);
    assert!(err.is_empty(), "{argv:?}: unexpected stderr: {err}");
    (code, stdout_of(&a))
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings is an array")
}

/// `(check, object, path)` of every finding; `-` stands for no path.
fn triples(report: &Value) -> BTreeSet<(String, String, String)> {
    findings(report)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

fn checks(report: &Value) -> Vec<&str> {
    findings(report)
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect()
}

/// The report's shape: exactly these fields, severities spelled in lower
/// case and matching the check's, and a summary that counts the findings.
fn assert_schema(report: &Value) {
    assert_eq!(keys(report), set(&["findings", "summary"]), "{report}");
    let mut counts = [0u64; 4];
    for f in findings(report) {
        assert_eq!(
            keys(f),
            set(&[
                "check",
                "severity",
                "object",
                "path",
                "message",
                "hint",
                "notChecked"
            ]),
            "{f}"
        );
        let check = f["check"].as_str().expect("check is a string");
        let sev = f["severity"].as_str().expect("severity is a string");
        // A check that could not be made (RBAC) is info, counted apart.
        if f["notChecked"].is_string() {
            assert_eq!(sev, "info", "{f}");
            counts[3] += 1;
            continue;
        }
        assert!(f["notChecked"].is_null(), "{f}");
        assert_eq!(sev, severity_of(check), "{f}");
        match sev {
            "error" => counts[0] += 1,
            "warning" => counts[1] += 1,
            "info" => counts[2] += 1,
            other => panic!("severity {other:?} in {f}"),
        }
        let object = f["object"].as_str().expect("object is a string");
        assert_eq!(object.matches('/').count(), 1, "object is ns/name: {f}");
        assert!(f["path"].is_string() || f["path"].is_null(), "{f}");
        assert!(f["hint"].is_string() || f["hint"].is_null(), "{f}");
        assert!(!f["message"].as_str().expect("message").is_empty(), "{f}");
    }
    let s = &report["summary"];
    assert_eq!(
        keys(s),
        set(&["error", "warning", "info", "notChecked"]),
        "{s}"
    );
    assert_eq!(
        [
            s["error"].as_u64().unwrap(),
            s["warning"].as_u64().unwrap(),
            s["info"].as_u64().unwrap(),
            s["notChecked"].as_u64().unwrap()
        ],
        counts,
        "summary does not count the findings: {report}"
    );
}

// ---------------------------------------------------------------------------
// One positive and one negative fixture per check
// ---------------------------------------------------------------------------

/// One check's fixtures and what its positive must produce.
struct Case {
    check: &'static str,
    /// The gotcha: `check` fires (plus `also`, nothing else).
    bad: &'static str,
    /// The gotcha fixed: nothing fires.
    good: &'static str,
    /// Extra arguments for both runs.
    args: &'static [&'static str],
    object: &'static str,
    path: Option<&'static str>,
    /// Substrings of the message.
    message: &'static [&'static str],
    hint: Option<&'static str>,
    /// Other findings `(check, path)` on the same object that rightly come
    /// with this gotcha.
    also: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        check: "namespace-selector-typo",
        bad: "namespace-selector-typo.bad.yaml",
        good: "namespace-selector-typo.good.yaml",
        args: &[],
        object: "store/db-from-ops",
        path: Some("spec.ingress[0].from[0].namespaceSelector"),
        message: &[
            "no namespace has the label name=ops",
            "namespace \"ops\" exists and carries kubernetes.io/metadata.name=ops",
        ],
        hint: Some("namespaceSelector:\n  matchLabels:\n    kubernetes.io/metadata.name: ops"),
        also: &[],
    },
    Case {
        check: "namespace-selector-matches-nothing",
        bad: "namespace-selector-matches-nothing.bad.yaml",
        good: "namespace-selector-matches-nothing.good.yaml",
        args: &[],
        object: "store/db-from-team",
        path: Some("spec.ingress[0].from[0].namespaceSelector"),
        message: &["namespaceSelector [team=sre] matches no namespace"],
        hint: None,
        also: &[],
    },
    Case {
        check: "pod-selector-matches-nothing",
        bad: "pod-selector-matches-nothing.bad.yaml",
        good: "pod-selector-matches-nothing.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.podSelector"),
        message: &["podSelector [app=postgres] selects no pod in namespace \"store\""],
        hint: None,
        also: &[],
    },
    Case {
        check: "peer-matches-nothing",
        bad: "peer-matches-nothing.bad.yaml",
        good: "peer-matches-nothing.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0]"),
        message: &["peer store/backend matches no pod"],
        hint: None,
        also: &[],
    },
    Case {
        check: "egress-blocks-dns",
        bad: "egress-blocks-dns.bad.yaml",
        good: "egress-blocks-dns.good.yaml",
        args: &[],
        object: "store/api-egress",
        path: Some("spec.egress"),
        message: &[
            "the pod this policy isolates",
            "UDP/53",
            "kube-system/coredns-7d9f",
        ],
        hint: Some(DNS_HINT),
        also: &[],
    },
    Case {
        check: "dns-udp-only",
        bad: "dns-udp-only.bad.yaml",
        good: "dns-udp-only.good.yaml",
        args: &[],
        object: "store/api-egress",
        path: Some("spec.egress"),
        message: &[
            "the pod this policy isolates reaches DNS",
            "UDP/53 but not TCP/53",
        ],
        hint: Some(DNS_HINT),
        also: &[],
    },
    Case {
        check: "named-port-missing",
        bad: "named-port-missing.bad.yaml",
        good: "named-port-missing.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].ports[0]"),
        message: &[
            "no container port named \"postgres\" (TCP)",
            "the pods this policy selects",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "service-port-used",
        bad: "service-port-used.bad.yaml",
        good: "service-port-used.good.yaml",
        args: &[],
        object: "store/api-ingress",
        path: Some("spec.ingress[0].ports[0]"),
        message: &[
            "TCP/80 is the port of Service store/api",
            "listen on 8080 (its targetPort)",
        ],
        hint: Some("- port: 8080\n  protocol: TCP"),
        also: &[],
    },
    Case {
        check: "egress-rules-without-policy-types",
        bad: "egress-rules-without-policy-types.bad.yaml",
        good: "egress-rules-without-policy-types.good.yaml",
        args: &[],
        object: "store/api-egress",
        path: Some("spec.policyTypes"),
        message: &["policyTypes is omitted", "also isolates ingress"],
        hint: Some("policyTypes:\n- Egress"),
        also: &[],
    },
    Case {
        check: "egress-type-without-rules",
        bad: "egress-type-without-rules.bad.yaml",
        good: "egress-type-without-rules.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.policyTypes"),
        message: &["no egress rules", "DNS included"],
        hint: Some("policyTypes:\n- Ingress"),
        // Nothing else admits the database's DNS: the consequence the
        // warning describes is real, and its own error.
        also: &[("egress-blocks-dns", "spec.egress")],
    },
    Case {
        check: "split-peer",
        bad: "split-peer.bad.yaml",
        good: "split-peer.good.yaml",
        args: &[],
        object: "store/db-metrics",
        path: Some("spec.ingress[0].from[0]"),
        message: &[
            "items 0 and 1 are two peers (OR)",
            "the selected pods of namespace \"store\"",
        ],
        hint: Some(
            "from:\n- namespaceSelector:\n    matchLabels:\n      team: ops\n  podSelector:\n    matchLabels:\n      app: prometheus",
        ),
        // As written, item 1 looks for app=prometheus in store, where there
        // is none.
        also: &[("peer-matches-nothing", "spec.ingress[0].from[1]")],
    },
    Case {
        check: "invalid-policy",
        bad: "invalid-policy.bad.yaml",
        good: "invalid-policy.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].ports[0].endPort"),
        message: &[
            "the API server would reject this policy",
            "must be greater than or equal to `port`",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-pass-in-baseline",
        bad: "tier-pass-in-baseline.bad.yaml",
        good: "tier-pass-in-baseline.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/bl",
        path: Some("spec.ingress[0].action"),
        message: &[
            "Pass in the Baseline tier skips the rest of the Baseline tier",
            "acts as Accept",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-domain-names-deny",
        bad: "tier-domain-names-deny.bad.yaml",
        good: "tier-domain-names-deny.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/dn",
        path: Some("spec.egress[0].to[0].domainNames"),
        message: &["domainNames in a Deny rule", "Accept rules only"],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-equal-priority",
        bad: "tier-equal-priority.bad.yaml",
        good: "tier-equal-priority.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/eq-a",
        path: Some("spec.priority"),
        message: &[
            "clusternetworkpolicy/eq-b",
            "priority 20",
            "store/db (ingress)",
            "leaves which goes first to the implementation",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-baseline-never-applies",
        bad: "tier-baseline-never-applies.bad.yaml",
        good: "tier-baseline-never-applies.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/bl-db",
        path: Some("spec.ingress"),
        message: &["isolated for ingress by a NetworkPolicy", "never apply"],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-shadowed-rule",
        bad: "tier-shadowed-rule.bad.yaml",
        good: "tier-shadowed-rule.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/store-lockdown",
        path: Some("spec.ingress[1]"),
        message: &[
            "clusternetworkpolicy/store-lockdown ingress rule #2 \"metrics\" is never reached",
            "rule #1 \"no-ops\" (Deny) comes before it",
            "already matches every peer and port it matches",
            "put it before rule #1 \"no-ops\"",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-unusable-selector",
        bad: "tier-unusable-selector.bad.yaml",
        good: "tier-unusable-selector.good.yaml",
        args: &[],
        object: "clusternetworkpolicy/nv",
        path: Some("spec.subject.namespaces.matchExpressions[0].values"),
        message: &[
            "must be specified when `operator` is 'In' or 'NotIn'",
            "the API server accepts this selector",
            "no implementation can convert it",
            "undecided",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "tier-reversed-port-range",
        bad: "tier-reversed-port-range.bad.yaml",
        good: "tier-reversed-port-range.good.yaml",
        args: &[],
        object: "adminnetworkpolicy/rev",
        path: Some("spec.ingress[0].ports[0].portRange"),
        message: &[
            "start 9000 is greater than end 8000",
            "the API server accepts it",
            "undecided",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "split-rule",
        bad: "split-rule.bad.yaml",
        good: "split-rule.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[1]"),
        message: &[
            "rule 2 has only ports and the rule before it only peers",
            "same list item as `from`",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "redundant-rule",
        bad: "redundant-rule.bad.yaml",
        good: "redundant-rule.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0]"),
        message: &["store/db-ingress rule #2 admits already"],
        hint: None,
        also: &[],
    },
    Case {
        check: "duplicate-policy",
        bad: "duplicate-policy.bad.yaml",
        good: "duplicate-policy.good.yaml",
        args: &[],
        object: "store/db-from-api-copy",
        path: None,
        message: &["exactly the same as store/db-from-api"],
        hint: None,
        also: &[],
    },
    Case {
        check: "ipblock-selects-pods",
        bad: "ipblock-selects-pods.bad.yaml",
        good: "ipblock-selects-pods.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0].ipBlock"),
        message: &["10.1.0.11/32 holds the IPs of 1 pod (store/api)"],
        hint: None,
        also: &[],
    },
    Case {
        check: "egress-to-metadata",
        bad: "egress-to-metadata.bad.yaml",
        good: "egress-to-metadata.good.yaml",
        args: &[],
        object: "store/api-egress",
        path: Some("spec.egress[1].to[0].ipBlock"),
        message: &["0.0.0.0/0 includes the cloud metadata address 169.254.169.254"],
        hint: Some("ipBlock:\n  cidr: 0.0.0.0/0\n  except:\n  - 169.254.169.254/32"),
        also: &[],
    },
    Case {
        check: "policy-without-namespace",
        bad: "policy-without-namespace.bad.yaml",
        good: "policy-without-namespace.good.yaml",
        // The current namespace: where the namespace-less policy lands.
        args: &["-n", "store"],
        object: "store/db-ingress",
        path: Some("metadata.namespace"),
        message: &["names no namespace", "(here read as \"store\")"],
        hint: Some("metadata:\n  name: db-ingress\n  namespace: store"),
        also: &[],
    },
    Case {
        check: "rules-outside-policy-types",
        bad: "rules-outside-policy-types.bad.yaml",
        good: "rules-outside-policy-types.good.yaml",
        args: &[],
        object: "store/db-policy",
        path: Some("spec.egress"),
        message: &[
            "policyTypes is [Ingress], which leaves out Egress",
            "the egress rule spec.egress[0] has no effect",
            "the egress of db is not restricted",
        ],
        hint: Some("policyTypes:\n- Ingress\n- Egress"),
        also: &[],
    },
    Case {
        check: "empty-egress-without-policy-types",
        bad: "empty-egress-without-policy-types.bad.yaml",
        good: "empty-egress-without-policy-types.good.yaml",
        args: &[],
        object: "store/api-lockdown",
        path: Some("spec.policyTypes"),
        message: &[
            "`egress` is empty and policyTypes is omitted",
            "sets policyTypes to [Ingress]",
            "denies all ingress to api and does not restrict their egress",
            "policyTypes: [Egress]",
        ],
        hint: Some("policyTypes:\n- Egress"),
        also: &[],
    },
    Case {
        check: "ipblock-unusable-range",
        bad: "ipblock-unusable-range.bad.yaml",
        good: "ipblock-unusable-range.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0].ipBlock"),
        message: &[
            "0.0.0.0/24 is 0.0.0.0 to 0.0.0.255, 256 addresses",
            "This peer admits nothing",
            "\"any address\" is 0.0.0.0/0",
        ],
        hint: Some("ipBlock:\n  cidr: 0.0.0.0/0"),
        also: &[],
    },
    Case {
        check: "ipblock-ipv4-mapped",
        bad: "ipblock-ipv4-mapped.bad.yaml",
        good: "ipblock-ipv4-mapped.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0].ipBlock.cidr"),
        message: &[
            "::ffff:192.168.7.9/128 is an IPv4-mapped IPv6 CIDR",
            "reads it as 192.168.7.9/32 (IPv4)",
        ],
        hint: Some("cidr: 192.168.7.9/32"),
        also: &[],
    },
    Case {
        check: "ipblock-host-bits",
        bad: "ipblock-host-bits.bad.yaml",
        good: "ipblock-host-bits.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0].ipBlock.cidr"),
        message: &[
            "192.168.7.9/16 has bits set beyond its /16 prefix",
            "reads it as 192.168.0.0/16, 192.168.0.0 to 192.168.255.255, 65536 addresses",
            "write 192.168.7.9/32",
        ],
        hint: Some("cidr: 192.168.0.0/16"),
        also: &[],
    },
    Case {
        check: "ipblock-cni-dependent",
        bad: "ipblock-cni-dependent.bad.yaml",
        good: "ipblock-cni-dependent.good.yaml",
        args: &[],
        object: "store/db-ingress",
        path: Some("spec.ingress[0].from[0].ipBlock"),
        message: &[
            "0.0.0.0/0 also holds the IPs of 4 pods (kube-system/coredns-7d9f, ops/prom, store/api, ...) as sources",
            "depends on the CNI (Calico: yes; Cilium",
            "the CNI is not known here",
        ],
        hint: None,
        also: &[],
    },
    Case {
        check: "host-network-peer",
        bad: "host-network-peer.bad.yaml",
        good: "host-network-peer.good.yaml",
        args: &["-f", "tests/fixtures/lint/host-network-pods.yaml"],
        object: "ops/prom-egress",
        path: Some("spec.egress[0].to"),
        message: &[
            "this rule selects kube-system/node-exporter-n1, kube-system/node-exporter-n2, which run with hostNetwork: true",
            "their node's address (192.168.50.11, 192.168.50.12)",
            "pod selectors do not match host-network pods",
            "allow the node addresses with an ipBlock",
        ],
        hint: Some(
            "egress:\n- to:\n  - ipBlock:\n      cidr: 192.168.50.11/32\n  - ipBlock:\n      cidr: 192.168.50.12/32\n  ports:\n  - port: 9100",
        ),
        also: &[],
    },
];

fn case(check: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.check == check)
        .unwrap_or_else(|| panic!("no case for {check:?}"))
}

/// The finding of `check` in `report`, which must be the only one.
fn only_finding<'r>(report: &'r Value, check: &str) -> &'r Value {
    let mine: Vec<&Value> = findings(report)
        .iter()
        .filter(|f| f["check"] == check)
        .collect();
    assert_eq!(mine.len(), 1, "expected one {check} finding: {report:#}");
    mine[0]
}

/// Positive: `check` fires with the expected object, path, message and
/// hint, and nothing else but `also` fires. `--disable check` removes it;
/// `--enable check` leaves only it.
fn assert_positive(c: &Case) {
    let bad = fixture(c.bad);
    let (code, report) = lint_json(&[&bad], c.args);

    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    expected.insert((
        c.check.into(),
        c.object.into(),
        c.path.unwrap_or("-").into(),
    ));
    for (check, path) in c.also {
        expected.insert(((*check).into(), c.object.into(), (*path).into()));
    }
    assert_eq!(triples(&report), expected, "{}: {report:#}", c.bad);

    let f = only_finding(&report, c.check);
    assert_eq!(f["severity"], severity_of(c.check), "{f:#}");
    match c.path {
        Some(p) => assert_eq!(f["path"], p, "{f:#}"),
        None => assert!(f["path"].is_null(), "{f:#}"),
    }
    let message = f["message"].as_str().unwrap();
    for part in c.message {
        assert!(
            message.contains(part),
            "{}: message lacks {part:?}: {message}",
            c.check
        );
    }
    match c.hint {
        Some(h) => {
            assert_eq!(f["hint"], h, "{f:#}");
            // The hint is YAML one can paste.
            let parsed: Result<serde_yaml_ng::Value, _> = serde_yaml_ng::from_str(h);
            assert!(parsed.is_ok(), "hint is not YAML: {h}");
        }
        None => assert!(f["hint"].is_null(), "{f:#}"),
    }

    // The default --fail-on is error.
    let any_error = findings(&report).iter().any(|f| f["severity"] == "error");
    assert_eq!(code, if any_error { 5 } else { 0 }, "{}", c.bad);

    // --disable CHECK removes exactly its findings.
    let mut args = c.args.to_vec();
    args.extend(["--disable", c.check]);
    let (_, without) = lint_json(&[&bad], &args);
    let mut rest = expected.clone();
    rest.retain(|(check, _, _)| check != c.check);
    assert_eq!(triples(&without), rest, "--disable {}", c.check);

    // --enable CHECK runs only it.
    let mut args = c.args.to_vec();
    args.extend(["--enable", c.check]);
    let (_, only) = lint_json(&[&bad], &args);
    assert_eq!(checks(&only), [c.check], "--enable {}", c.check);
}

/// Negative: the fixed fixture lints clean even at --fail-on info.
fn assert_negative(c: &Case) {
    let good = fixture(c.good);
    let mut args = c.args.to_vec();
    args.extend(["--fail-on", "info"]);
    let (code, report) = lint_json(&[&good], &args);
    assert!(findings(&report).is_empty(), "{}: {report:#}", c.good);
    assert_eq!(code, 0, "{}", c.good);
}

fn positive_and_negative(check: &str) {
    let c = case(check);
    assert_positive(c);
    assert_negative(c);
}

#[test]
fn every_check_has_a_case() {
    let ids: BTreeSet<&str> = CHECKS.iter().map(|(id, _, _)| *id).collect();
    let cased: BTreeSet<&str> = CASES.iter().map(|c| c.check).collect();
    assert_eq!(ids, cased, "CHECKS and the test cases differ");
    assert_eq!(CASES.len(), CHECKS.len(), "a check has two cases");
    for c in CASES {
        assert_ne!(c.bad, c.good);
        for f in [c.bad, c.good] {
            assert!(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(fixture(f))
                    .is_file(),
                "missing fixture {f}"
            );
        }
    }
}

#[test]
fn rules_outside_policy_types() {
    positive_and_negative("rules-outside-policy-types");
}

#[test]
fn empty_egress_without_policy_types() {
    positive_and_negative("empty-egress-without-policy-types");
}

#[test]
fn ipblock_unusable_range() {
    positive_and_negative("ipblock-unusable-range");
}

#[test]
fn ipblock_ipv4_mapped() {
    positive_and_negative("ipblock-ipv4-mapped");
}

#[test]
fn ipblock_host_bits() {
    positive_and_negative("ipblock-host-bits");
}

#[test]
fn ipblock_cni_dependent() {
    positive_and_negative("ipblock-cni-dependent");
}

#[test]
fn host_network_peer() {
    positive_and_negative("host-network-peer");
}

#[test]
fn base_alone_lints_clean() {
    let (code, report) = lint_json(&[], &["--fail-on", "info"]);
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn namespace_selector_typo() {
    positive_and_negative("namespace-selector-typo");
}

#[test]
fn namespace_selector_matches_nothing() {
    positive_and_negative("namespace-selector-matches-nothing");
}

#[test]
fn pod_selector_matches_nothing() {
    positive_and_negative("pod-selector-matches-nothing");
}

#[test]
fn peer_matches_nothing() {
    positive_and_negative("peer-matches-nothing");
}

#[test]
fn egress_blocks_dns() {
    positive_and_negative("egress-blocks-dns");
}

#[test]
fn dns_udp_only() {
    positive_and_negative("dns-udp-only");
}

#[test]
fn named_port_missing() {
    positive_and_negative("named-port-missing");
}

#[test]
fn service_port_used() {
    positive_and_negative("service-port-used");
}

#[test]
fn egress_rules_without_policy_types() {
    positive_and_negative("egress-rules-without-policy-types");
}

#[test]
fn egress_type_without_rules() {
    positive_and_negative("egress-type-without-rules");
}

#[test]
fn split_peer() {
    positive_and_negative("split-peer");
}

#[test]
fn split_rule() {
    positive_and_negative("split-rule");
}

#[test]
fn redundant_rule() {
    positive_and_negative("redundant-rule");
}

#[test]
fn duplicate_policy() {
    positive_and_negative("duplicate-policy");
}

#[test]
fn ipblock_selects_pods() {
    positive_and_negative("ipblock-selects-pods");
}

#[test]
fn egress_to_metadata() {
    positive_and_negative("egress-to-metadata");
}

#[test]
fn policy_without_namespace() {
    positive_and_negative("policy-without-namespace");
}

// ---------------------------------------------------------------------------
// More of individual checks
// ---------------------------------------------------------------------------

#[test]
fn named_port_with_the_wrong_protocol_gets_the_right_one_as_hint() {
    let (_, report) = lint_json(&[&fixture("named-port-missing.protocol.yaml")], &[]);
    assert_eq!(checks(&report), ["named-port-missing"], "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["object"], "store/db-ingress");
    assert_eq!(f["path"], "spec.ingress[0].ports[0]");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(
            "named port \"pg\" is declared as TCP by the pods this policy selects, not UDP"
        ),
        "{message}"
    );
    assert_eq!(f["hint"], "- port: pg\n  protocol: TCP");
}

#[test]
fn named_port_on_egress_is_looked_up_on_the_destination() {
    let (_, report) = lint_json(&[&fixture("named-port-missing.egress.yaml")], &[]);
    assert_eq!(checks(&report), ["named-port-missing"], "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["object"], "store/api-egress");
    assert_eq!(f["path"], "spec.egress[0].ports[0]");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(
            "no container port named \"postgres\" (TCP) exists on the pods this rule sends to"
        ),
        "{message}"
    );
}

#[test]
fn identical_rules_only_the_later_is_redundant() {
    let (_, report) = lint_json(
        &[&fixture("redundant-rule.identical.yaml")],
        &["--fail-on", "info"],
    );
    assert_eq!(checks(&report), ["redundant-rule"], "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["path"], "spec.ingress[1]");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("store/db-ingress rule #1 admits already"),
        "{message}"
    );
}

#[test]
fn redundant_rule_across_policies_for_the_same_pods() {
    let (code, report) = lint_json(
        &[&fixture("redundant-rule.across.yaml")],
        &["--fail-on", "info"],
    );
    assert_eq!(code, 5);
    let expected: BTreeSet<(String, String, String)> = [(
        "redundant-rule".to_string(),
        "store/db-metrics".to_string(),
        "spec.ingress[0]".to_string(),
    )]
    .into();
    assert_eq!(triples(&report), expected, "{report:#}");
    let message = findings(&report)[0]["message"].as_str().unwrap();
    assert!(
        message.contains("store/db-wide rule #1 admits already"),
        "{message}"
    );
}

#[test]
fn ipblock_message_names_three_pods_at_most() {
    let (_, report) = lint_json(&[&fixture("ipblock-selects-pods.many.yaml")], &[]);
    assert_eq!(checks(&report), ["ipblock-selects-pods"], "{report:#}");
    let message = findings(&report)[0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "10.0.0.0/8 holds the IPs of 4 pods (kube-system/coredns-7d9f, ops/prom, store/api, ...)"
        ),
        "{message}"
    );
}

// ---------------------------------------------------------------------------
// Behaviour that looks wrong (each test asserts what should happen)
// ---------------------------------------------------------------------------

/// Two rules with the same peers in another order cover each other; the
/// engine reports both as redundant (each citing the other), so following
/// the advice removes both and cuts the peers off.
#[test]
fn equivalent_rules_only_one_is_redundant() {
    let (_, report) = lint_json(
        &[&fixture("redundant-rule.reordered.yaml")],
        &["--fail-on", "info"],
    );
    assert_eq!(checks(&report), ["redundant-rule"], "{report:#}");
    assert_eq!(findings(&report)[0]["path"], "spec.ingress[1]");
}

/// With the podSelector item first, "the first admits every pod of the
/// selected namespaces" describes the second item.
#[test]
fn split_peer_message_follows_the_item_order() {
    let (_, report) = lint_json(&[&fixture("split-peer.reversed.yaml")], &[]);
    let f = only_finding(&report, "split-peer");
    let message = f["message"].as_str().unwrap();
    assert!(
        !message.contains("the first admits every pod of the selected namespaces"),
        "item 0 is the podSelector, item 1 the namespaceSelector: {message}"
    );
}

/// Namespace ops is not in the input (only a pod names it), so whether it
/// carries a `name` label is unknown; the sibling check
/// namespace-selector-matches-nothing says as much, this one reports an
/// error (exit 5) claiming "no namespace has the label name=ops".
#[test]
fn typo_check_does_not_claim_unknown_namespace_labels() {
    let file = fixture("namespace-selector-typo.unlisted-namespace.yaml");
    let a = netpol().args(["lint", "-f", &file, "-o", "json"]).assert();
    let report = parse_json(&stdout_of(&a));
    assert!(
        !checks(&report).contains(&"namespace-selector-typo"),
        "{report:#}"
    );
    assert_eq!(a.get_output().status.code(), Some(0));
}

/// allow-dns already isolates the database for egress and admits DNS, so
/// Egress in db-ingress's policyTypes changes nothing, and "all egress ...
/// is denied, DNS included" is false.
#[test]
fn egress_type_without_rules_when_already_isolated() {
    let (_, report) = lint_json(
        &[&fixture("egress-type-without-rules.already-isolated.yaml")],
        &["--fail-on", "info"],
    );
    assert!(findings(&report).is_empty(), "{report:#}");
}

/// `egress: [{to: [db]}, {ports: [53/UDP, 53/TCP]}]` is the usual way to
/// allow DNS to anywhere next to other destinations, not a split rule.
#[test]
fn split_rule_leaves_a_dns_rule_alone() {
    let (_, report) = lint_json(&[&fixture("split-rule.dns.yaml")], &["--fail-on", "info"]);
    assert!(findings(&report).is_empty(), "{report:#}");
}

/// `--list-checks` needs no input, but without -f the command first
/// connects to a cluster and fails when there is none.
#[test]
fn list_checks_needs_no_cluster() {
    let out = ok(&["lint", "--list-checks"]);
    for (id, _, _) in CHECKS {
        assert!(out.contains(id), "{id} missing:\n{out}");
    }
}

/// An invalid policy fails the run (exit 5) but the report says nothing
/// of it: "No findings." in text, an empty report with zero errors in JSON.
#[test]
fn invalid_policy_is_in_the_report() {
    let a = netpol().args(["lint", "-f", INVALID]).assert().code(5);
    assert!(!stdout_of(&a).contains("No findings."), "{}", stdout_of(&a));
    let a = netpol()
        .args(["lint", "-f", INVALID, "-o", "json"])
        .assert()
        .code(5);
    let report = parse_json(&stdout_of(&a));
    assert!(
        report["summary"]["error"].as_u64().unwrap() > 0,
        "{report:#}"
    );
}

// ---------------------------------------------------------------------------
// Output, exit codes and options
// ---------------------------------------------------------------------------

#[test]
fn text_output_of_one_finding() {
    let (code, out) = lint_text(&[&fixture("namespace-selector-typo.bad.yaml")], &[]);
    assert_eq!(code, 5);
    assert!(!out.contains('\x1b'), "no colour into a pipe: {out:?}");
    let expected = "\
error[namespace-selector-typo]: store/db-from-ops spec.ingress[0].from[0].namespaceSelector: \
no namespace has the label name=ops, so this peer matches nothing; namespace \"ops\" exists and \
carries kubernetes.io/metadata.name=ops, set by the API server
  fix:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: ops

1 error, 0 warnings, 0 info
";
    assert_eq!(out, expected);
}

#[test]
fn text_output_without_path_or_hint() {
    let (code, out) = lint_text(&[&fixture("duplicate-policy.bad.yaml")], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "warning[duplicate-policy]: store/db-from-api-copy: this policy is exactly the same as \
         store/db-from-api: one of them can go\n\n0 errors, 1 warning, 0 info\n"
    );
}

#[test]
fn text_summary_counts_every_severity() {
    let files = [
        fixture("namespace-selector-typo.bad.yaml"),
        fixture("split-peer.bad.yaml"),
        fixture("redundant-rule.bad.yaml"),
    ];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let (code, out) = lint_text(&files, &[]);
    assert_eq!(code, 5);
    assert!(out.ends_with("\n\n1 error, 2 warnings, 1 info\n"), "{out}");
    // Every finding line has the form severity[check]: ns/name path: message.
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(heads.len(), 5, "{out}");
    assert!(heads[0].starts_with("error[namespace-selector-typo]: store/db-from-ops "));
    assert!(
        heads[1].starts_with("warning[split-peer]: store/db-metrics spec.ingress[0].from[0]: ")
    );
    assert!(
        heads[2].starts_with(
            "warning[peer-matches-nothing]: store/db-metrics spec.ingress[0].from[1]: "
        )
    );
    assert!(heads[3].starts_with("info[redundant-rule]: store/db-ingress spec.ingress[0]: "));
}

#[test]
fn text_output_with_nothing_found() {
    let (code, out) = lint_text(&[&fixture("split-peer.good.yaml")], &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "No findings.\n");
}

#[test]
fn json_report_schema_and_order() {
    let files = [
        fixture("namespace-selector-typo.bad.yaml"),
        fixture("split-peer.bad.yaml"),
        fixture("redundant-rule.bad.yaml"),
    ];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let (code, report) = lint_json(&files, &[]);
    assert_eq!(code, 5);
    // lint_json checked the schema; the summary by value:
    assert_eq!(
        report["summary"],
        serde_json::json!({"error": 1, "warning": 2, "info": 1, "notChecked": 0})
    );
    // Worst first, then by object and path.
    assert_eq!(
        checks(&report),
        [
            "namespace-selector-typo",
            "split-peer",
            "peer-matches-nothing",
            "redundant-rule"
        ]
    );
    let severities: Vec<&str> = findings(&report)
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["error", "warning", "warning", "info"]);
}

#[test]
fn json_path_and_hint_are_null_when_absent() {
    let (_, report) = lint_json(&[&fixture("duplicate-policy.bad.yaml")], &[]);
    let f = only_finding(&report, "duplicate-policy");
    assert!(f.get("path").is_some_and(Value::is_null), "{f:#}");
    assert!(f.get("hint").is_some_and(Value::is_null), "{f:#}");
}

#[test]
fn exit_code_follows_fail_on() {
    let error = fixture("namespace-selector-typo.bad.yaml");
    let warning = fixture("peer-matches-nothing.bad.yaml");
    let info = fixture("redundant-rule.bad.yaml");
    let clean = fixture("peer-matches-nothing.good.yaml");
    let table: &[(&str, &[(&String, i32)])] = &[
        (
            "error",
            &[(&error, 5), (&warning, 0), (&info, 0), (&clean, 0)],
        ),
        (
            "warning",
            &[(&error, 5), (&warning, 5), (&info, 0), (&clean, 0)],
        ),
        (
            "info",
            &[(&error, 5), (&warning, 5), (&info, 5), (&clean, 0)],
        ),
    ];
    for (fail_on, runs) in table {
        for (file, want) in *runs {
            let (code, _) = lint_json(&[file], &["--fail-on", fail_on]);
            assert_eq!(code, *want, "--fail-on {fail_on} on {file}");
        }
    }
    // The default is error.
    assert_eq!(lint_json(&[&warning], &[]).0, 0);
    assert_eq!(lint_json(&[&error], &[]).0, 5);
    // The output is the same whatever --fail-on says.
    let (_, a) = lint_json(&[&warning], &[]);
    let (_, b) = lint_json(&[&warning], &["--fail-on", "info"]);
    assert_eq!(a, b);
}

#[test]
fn fail_on_takes_a_severity() {
    let a = netpol()
        .args(["lint", "-f", BASE, "--fail-on", "fatal"])
        .assert()
        .code(2)
        .stdout("");
    let err = stderr_of(&a);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("error, warning, info"), "{err}");
}

#[test]
fn disable_and_enable_take_lists() {
    let bad = fixture("split-peer.bad.yaml");
    // Comma-separated and repeated forms.
    let (code, report) = lint_json(
        &[&bad],
        &[
            "--disable",
            "split-peer,peer-matches-nothing",
            "--fail-on",
            "info",
        ],
    );
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(code, 0);
    let (_, report) = lint_json(
        &[&bad],
        &[
            "--disable",
            "split-peer",
            "--disable",
            "peer-matches-nothing",
        ],
    );
    assert!(findings(&report).is_empty(), "{report:#}");
    let (_, report) = lint_json(&[&bad], &["--enable", "split-peer,peer-matches-nothing"]);
    assert_eq!(checks(&report), ["split-peer", "peer-matches-nothing"]);
    // A check enabled for nothing to find finds nothing.
    let (_, report) = lint_json(&[&bad], &["--enable", "duplicate-policy"]);
    assert!(findings(&report).is_empty(), "{report:#}");
    // --disable wins over --enable.
    let (_, report) = lint_json(
        &[&bad],
        &["--enable", "split-peer", "--disable", "split-peer"],
    );
    assert!(findings(&report).is_empty(), "{report:#}");
}

#[test]
fn disabling_the_error_passes() {
    let bad = fixture("namespace-selector-typo.bad.yaml");
    let (code, report) = lint_json(&[&bad], &["--disable", "namespace-selector-typo"]);
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn unknown_check_is_an_error() {
    for flag in ["--enable", "--disable"] {
        let line = one_error(&["lint", "-f", BASE, flag, "no-such-check"], 2);
        assert!(line.contains("unknown check \"no-such-check\""), "{line}");
        assert!(line.contains("--list-checks"), "{line}");
    }
    // One bad name in a list is enough.
    let line = one_error(
        &["lint", "-f", BASE, "--enable", "split-peer,split-peers"],
        2,
    );
    assert!(line.contains("\"split-peers\""), "{line}");
}

#[test]
fn list_checks_lists_every_check() {
    let out = ok(&["lint", "--list-checks", "-f", BASE]);
    let mut lines = out.lines();
    assert_eq!(
        cells(lines.next().expect("a header")),
        ["CHECK", "SEVERITY", "FINDS"]
    );
    let rows: Vec<Vec<&str>> = lines.map(cells).collect();
    assert_eq!(rows.len(), CHECKS.len(), "{out}");
    for (id, sev, _) in CHECKS {
        let r = row(&out, &[id]);
        assert_eq!(r[1], sev.as_str(), "{out}");
        assert!(r.len() == 3 && !r[2].is_empty(), "{out}");
    }
    // Ids are unique.
    let ids: BTreeSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(ids.len(), CHECKS.len());
}

#[test]
fn namespace_scope_limits_what_is_linted() {
    let bad = fixture("namespace-selector-typo.bad.yaml");
    // -n another namespace than the policy's: kubectl's error, never a
    // silent "No findings".
    let a = netpol()
        .args(["lint", "-f", BASE, "-f", &bad, "-n", "ops"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&a).contains(
            "the namespace from the provided object \"store\" does not match the namespace \"ops\". You must pass '--namespace=store' to perform this operation."
        ),
        "{}",
        stderr_of(&a)
    );
    assert_eq!(stdout_of(&a), "");
    let (code, report) = lint_json(&[&bad], &["-n", "store"]);
    assert_eq!(checks(&report), ["namespace-selector-typo"]);
    assert_eq!(code, 5);
}

#[test]
fn namespaceless_policy_lands_in_default_without_n() {
    // Without -n the policy is read into "default". No pod of the input
    // lives there, so whether its selectors match cannot be told: only the
    // missing namespace is reported.
    let (_, report) = lint_json(&[&fixture("policy-without-namespace.bad.yaml")], &[]);
    let expected: BTreeSet<(String, String, String)> = [(
        "policy-without-namespace".to_string(),
        "default/db-ingress".to_string(),
        "metadata.namespace".to_string(),
    )]
    .into_iter()
    .collect();
    assert_eq!(triples(&report), expected, "{report:#}");
    let f = only_finding(&report, "policy-without-namespace");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("(here read as \"default\")"),
        "{f:#}"
    );
    assert_eq!(
        f["hint"],
        "metadata:\n  name: db-ingress\n  namespace: default"
    );
}

#[test]
fn shop_example_has_no_errors() {
    let out = ok(&["lint", "-f", SHOP, "-o", "json"]);
    let report = parse_json(&out);
    assert_schema(&report);
    assert_eq!(report["summary"]["error"], 0, "{report:#}");
    assert!(
        findings(&report).iter().all(|f| f["severity"] != "error"),
        "{report:#}"
    );
    ok(&["lint", "-f", SHOP]);
}

#[test]
fn invalid_policy_is_an_error_finding() {
    let a = netpol().args(["lint", "-f", INVALID]).assert().code(5);
    let out = stdout_of(&a);
    assert!(
        out.starts_with("error[invalid-policy]: backend/everything-wrong spec.ingress[0].ports[0].endPort: the API server would reject this policy: "),
        "{out}"
    );
    assert!(out.ends_with("\n1 error, 0 warnings, 0 info\n"), "{out}");
    assert_eq!(stderr_of(&a), "");
    let a = netpol()
        .args(["lint", "-f", INVALID, "-o", "json"])
        .assert()
        .code(5);
    let report = parse_json(&stdout_of(&a));
    assert_schema(&report);
    assert_eq!(checks(&report), ["invalid-policy"], "{report:#}");
    assert_eq!(report["summary"]["error"], 1);
}

#[test]
fn invalid_policy_does_not_stop_the_others_being_linted() {
    let bad = fixture("peer-matches-nothing.bad.yaml");
    let a = netpol()
        .args(["lint", "-f", BASE, "-f", &bad, "-f", INVALID, "-o", "json"])
        .assert()
        .code(5);
    let report = parse_json(&stdout_of(&a));
    let mut got = checks(&report);
    got.sort();
    assert_eq!(
        got,
        ["invalid-policy", "peer-matches-nothing"],
        "{report:#}"
    );
    // `-n` naming another namespace than the manifests' is an error, as
    // with kubectl apply -f: their policies are never left out unlinted.
    let a = netpol()
        .args(["lint", "-f", BASE, "-f", &bad, "-f", INVALID, "-n", "store"])
        .assert()
        .code(2);
    assert!(
        stderr_of(&a)
            .contains("does not match the namespace \"store\". You must pass '--namespace="),
        "{}",
        stderr_of(&a)
    );
}

#[test]
fn lint_with_another_namespace_than_the_manifests_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fe-policy.yaml");
    std::fs::write(
        &file,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: admin-egress, namespace: shop-frontend}\nspec:\n  podSelector: {matchLabels: {app: admin-ui}}\n  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]}]\n",
    )
    .unwrap();
    let f = file.display().to_string();
    let a = netpol()
        .args(["lint", "-f", &f, "-n", "shop-backend"])
        .assert()
        .code(2);
    assert_eq!(
        stderr_of(&a),
        "error: NetworkPolicy \"admin-egress\": the namespace from the provided object \"shop-frontend\" does not match the namespace \"shop-backend\". You must pass '--namespace=shop-frontend' to perform this operation.\n"
    );
    assert_eq!(stdout_of(&a), "");
    // Its own namespace, or -A: linted.
    for extra in [["-n", "shop-frontend"], ["-A", "-n"]] {
        let mut args = vec!["lint", "-f", &f];
        args.extend(extra);
        if extra[0] == "-A" {
            args.push("shop-backend");
        }
        let a = netpol().args(&args).assert().code(0);
        assert!(
            stdout_of(&a)
                .contains("warning[egress-rules-without-policy-types]: shop-frontend/admin-egress"),
            "{}",
            stdout_of(&a)
        );
    }
}

// ---------------------------------------------------------------------------
// coverage
// ---------------------------------------------------------------------------

#[test]
fn coverage_table() {
    let out = ok(&["coverage", "-f", COVERAGE]);
    let mut lines = out.lines();
    assert_eq!(
        cells(lines.next().expect("a header")),
        [
            "NAMESPACE",
            "PODS",
            "INGRESS ISOLATED",
            "EGRESS ISOLATED",
            "DEFAULT DENY"
        ]
    );
    assert_eq!(row(&out, &["open"]), ["open", "1", "0/1", "0/1", "<none>"]);
    assert_eq!(row(&out, &["shop"]), ["shop", "3", "3/3", "1/3", "ingress"]);
    assert_eq!(
        row(&out, &["staging"]),
        ["staging", "0", "0/0", "0/0", "ingress, egress"]
    );
    assert_eq!(
        row(&out, &["tools"]),
        ["tools", "1", "1/1", "0/1", "<none>"]
    );
    assert_eq!(row(&out, &["TOTAL"]), ["TOTAL", "5", "4/5", "1/5"]);
    // Namespaces in name order, TOTAL last; idle (no pod, no policy) left out.
    let first: Vec<&str> = out
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| cells(l)[0])
        .collect();
    assert_eq!(
        first,
        ["NAMESPACE", "open", "shop", "staging", "tools", "TOTAL"]
    );
    assert!(
        out.contains(
            "\nNot isolated (every connection allowed in that direction):\n\
         \x20 ingress  open/legacy\n\
         \x20 egress   open/legacy\n\
         \x20 egress   shop/db, shop/web\n\
         \x20 egress   tools/runner\n"
        ),
        "{out}"
    );
    assert!(!out.contains("Policies selecting each pod"), "{out}");
}

#[test]
fn coverage_json() {
    let out = ok(&["coverage", "-f", COVERAGE, "-o", "json"]);
    let c = parse_json(&out);
    assert_eq!(
        keys(&c),
        set(&["namespaces", "total", "clusterPoliciesReadable"])
    );
    assert_eq!(
        c["total"],
        serde_json::json!({"pods": 5, "ingressIsolated": 4, "egressIsolated": 1})
    );
    let namespaces = c["namespaces"].as_array().unwrap();
    let names: Vec<&str> = namespaces
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["open", "shop", "staging", "tools"]);
    for n in namespaces {
        assert_eq!(
            keys(n),
            set(&[
                "namespace",
                "pods",
                "ingressIsolated",
                "egressIsolated",
                "defaultDenyIngress",
                "defaultDenyEgress",
                "notIsolatedIngress",
                "notIsolatedEgress",
                "podPolicies",
                "hostNetwork",
            ]),
            "{n:#}"
        );
        for pp in n["podPolicies"].as_array().unwrap() {
            assert_eq!(keys(pp), set(&["pod", "ingress", "egress"]), "{pp:#}");
        }
    }
    let shop = &namespaces[1];
    assert_eq!(shop["pods"], 3);
    assert_eq!(shop["ingressIsolated"], 3);
    assert_eq!(shop["egressIsolated"], 1);
    assert_eq!(strings(&shop["defaultDenyIngress"]), ["deny-ingress"]);
    assert!(strings(&shop["defaultDenyEgress"]).is_empty());
    assert!(strings(&shop["notIsolatedIngress"]).is_empty());
    assert_eq!(strings(&shop["notIsolatedEgress"]), ["shop/db", "shop/web"]);
    assert_eq!(
        shop["podPolicies"],
        serde_json::json!([
            {"pod": "shop/api", "ingress": ["deny-ingress"], "egress": ["api-egress"]},
            {"pod": "shop/db", "ingress": ["deny-ingress"], "egress": []},
            {"pod": "shop/web", "ingress": ["deny-ingress"], "egress": []},
        ])
    );
    let staging = &namespaces[2];
    assert_eq!(staging["pods"], 0);
    assert_eq!(strings(&staging["defaultDenyIngress"]), ["deny-all"]);
    assert_eq!(strings(&staging["defaultDenyEgress"]), ["deny-all"]);
    assert_eq!(staging["podPolicies"], serde_json::json!([]));
    // allow-all isolates tools for ingress but denies nothing.
    let tools = &namespaces[3];
    assert_eq!(tools["ingressIsolated"], 1);
    assert!(strings(&tools["defaultDenyIngress"]).is_empty());
    assert_eq!(strings(&tools["notIsolatedEgress"]), ["tools/runner"]);
    let open = &namespaces[0];
    assert_eq!(strings(&open["notIsolatedIngress"]), ["open/legacy"]);
    assert_eq!(strings(&open["notIsolatedEgress"]), ["open/legacy"]);
    assert_eq!(
        open["podPolicies"],
        serde_json::json!([{"pod": "open/legacy", "ingress": [], "egress": []}])
    );
}

#[test]
fn coverage_wide_lists_policies_per_pod() {
    let out = ok(&["coverage", "-f", COVERAGE, "-o", "wide"]);
    // The namespace table comes first, as without -o wide.
    assert_eq!(row(&out, &["shop"]), ["shop", "3", "3/3", "1/3", "ingress"]);
    let (_, pods) = out
        .split_once("\nPolicies selecting each pod:\n")
        .unwrap_or_else(|| panic!("no per-pod table:\n{out}"));
    let mut lines = pods.lines();
    assert_eq!(
        cells(lines.next().unwrap()),
        ["POD", "INGRESS POLICIES", "EGRESS POLICIES"]
    );
    let rows: Vec<Vec<&str>> = lines.map(cells).collect();
    assert_eq!(
        rows,
        [
            vec!["open/legacy", "<none>", "<none>"],
            vec!["shop/api", "deny-ingress", "api-egress"],
            vec!["shop/db", "deny-ingress", "<none>"],
            vec!["shop/web", "deny-ingress", "<none>"],
            vec!["tools/runner", "allow-all", "<none>"],
        ]
    );
}

#[test]
fn coverage_namespace_scope() {
    let out = ok(&["coverage", "-f", COVERAGE, "-n", "shop"]);
    let first: Vec<&str> = out
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| cells(l)[0])
        .collect();
    assert_eq!(first, ["NAMESPACE", "shop", "TOTAL"]);
    assert_eq!(row(&out, &["TOTAL"]), ["TOTAL", "3", "3/3", "1/3"]);
    let c = parse_json(&ok(&[
        "coverage", "-f", COVERAGE, "-n", "shop", "-o", "json",
    ]));
    assert_eq!(c["namespaces"].as_array().unwrap().len(), 1);
    assert_eq!(
        c["total"],
        serde_json::json!({"pods": 3, "ingressIsolated": 3, "egressIsolated": 1})
    );
    // -A wins over -n.
    let c = parse_json(&ok(&[
        "coverage", "-f", COVERAGE, "-n", "shop", "-A", "-o", "json",
    ]));
    assert_eq!(c["total"]["pods"], 5);
}

#[test]
fn coverage_of_an_empty_namespace() {
    // idle exists but has neither pods nor policies.
    let a = netpol()
        .args(["coverage", "-f", COVERAGE, "-n", "idle"])
        .assert()
        .code(0)
        .stdout("");
    assert_eq!(stderr_of(&a), "No resources found in idle namespace.\n");
}

// ---------------------------------------------------------------------------
// Issue 11: every kind of silent mistake, in several variants
// (tests/fixtures/lint/kinds/), and the handed real-world cases.
// ---------------------------------------------------------------------------

/// `lint -f FILE... -o json ARGS` without base.yaml.
fn lint_alone(files: &[&str], args: &[&str]) -> (i32, Value) {
    let mut argv: Vec<&str> = vec!["lint"];
    for f in files {
        argv.extend(["-f", f]);
    }
    argv.extend(["-o", "json"]);
    argv.extend(args);
    let a = netpol().args(&argv).assert();
    let code = a.get_output().status.code().expect("exit code");
    let err = stderr_of(&a);
    assert!(err.is_empty(), "{argv:?}: unexpected stderr: {err}");
    let report = parse_json(&stdout_of(&a));
    assert_schema(&report);
    (code, report)
}

/// The finding of `check` on `object` at `path`.
fn finding<'r>(report: &'r Value, check: &str, object: &str, path: &str) -> &'r Value {
    findings(report)
        .iter()
        .find(|f| f["check"] == check && f["object"] == object && f["path"] == path)
        .unwrap_or_else(|| panic!("no {check} on {object} {path}: {report:#}"))
}

fn message(f: &Value) -> &str {
    f["message"].as_str().expect("message")
}

/// `(check, object, path)`.
type Triple<'a> = (&'a str, &'a str, &'a str);

fn owned(items: &[Triple]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(c, o, p)| (c.to_string(), o.to_string(), p.to_string()))
        .collect()
}

#[test]
fn policy_types_mistakes_in_every_variant() {
    let file = fixture("kinds/policy-types.yaml");
    let (_, report) = lint_json(
        &[&file],
        &[
            "--enable",
            "rules-outside-policy-types,empty-egress-without-policy-types",
        ],
    );
    assert_eq!(
        triples(&report),
        owned(&[
            (
                "rules-outside-policy-types",
                "store/two-ignored-ingress-rules",
                "spec.ingress"
            ),
            (
                "rules-outside-policy-types",
                "store/ignored-deny-ingress",
                "spec.ingress"
            ),
            (
                "empty-egress-without-policy-types",
                "ops/empty-list",
                "spec.policyTypes"
            ),
            (
                "empty-egress-without-policy-types",
                "store/db-both",
                "spec.policyTypes"
            ),
            (
                "empty-egress-without-policy-types",
                "ops/default-deny-egress",
                "spec.policyTypes"
            ),
        ]),
        "{report:#}"
    );
    let two = finding(
        &report,
        "rules-outside-policy-types",
        "store/two-ignored-ingress-rules",
        "spec.ingress",
    );
    assert!(message(two).contains("policyTypes is [Egress], which leaves out Ingress: the 2 ingress rules spec.ingress[0..1] have no effect"), "{two:#}");
    assert_eq!(two["hint"], "policyTypes:\n- Ingress\n- Egress");
    let deny = finding(
        &report,
        "rules-outside-policy-types",
        "store/ignored-deny-ingress",
        "spec.ingress",
    );
    assert!(
        message(deny).contains("`ingress: []` (deny all ingress) has no effect"),
        "{deny:#}"
    );
    let list = finding(
        &report,
        "empty-egress-without-policy-types",
        "ops/empty-list",
        "spec.policyTypes",
    );
    assert!(
        message(list).contains("denies all ingress to all pods and does not restrict their egress"),
        "{list:#}"
    );
    assert_eq!(list["hint"], "policyTypes:\n- Egress");
    let both = finding(
        &report,
        "empty-egress-without-policy-types",
        "store/db-both",
        "spec.policyTypes",
    );
    assert!(
        message(both).contains("the egress of db is not restricted by this policy"),
        "{both:#}"
    );
    assert_eq!(both["hint"], "policyTypes:\n- Ingress\n- Egress");
    let named = finding(
        &report,
        "empty-egress-without-policy-types",
        "ops/default-deny-egress",
        "spec.policyTypes",
    );
    assert!(
        message(named).contains("the name \"default-deny-egress\" speaks of egress"),
        "{named:#}"
    );
}

#[test]
fn odd_ipblock_ranges_in_every_variant() {
    let file = fixture("kinds/ipblocks.yaml");
    let (_, report) = lint_json(
        &[&file],
        &["--enable", "ipblock-unusable-range,ipblock-host-bits"],
    );
    let p = "store/odd-ranges";
    let at = |i: usize| format!("spec.ingress[{i}].from[0].ipBlock");
    let mut want: Vec<(String, String, String)> = [0, 1, 2, 3, 4, 5]
        .iter()
        .map(|i| ("ipblock-unusable-range".into(), p.into(), at(*i)))
        .collect();
    want.push((
        "ipblock-host-bits".into(),
        p.into(),
        format!("{}.except[0]", at(7)),
    ));
    want.push((
        "ipblock-host-bits".into(),
        p.into(),
        format!("{}.cidr", at(8)),
    ));
    want.push((
        "ipblock-host-bits".into(),
        p.into(),
        format!("{}.cidr", at(9)),
    ));
    assert_eq!(triples(&report), want.into_iter().collect(), "{report:#}");
    for (i, what, hint) in [
        (
            0,
            "127.0.0.0/8 is 127.0.0.0 to 127.255.255.255, 16777216 addresses: loopback",
            None,
        ),
        (
            1,
            "0.0.0.0/8 is 0.0.0.0 to 0.255.255.255",
            Some("ipBlock:\n  cidr: 0.0.0.0/0"),
        ),
        (
            2,
            "169.254.0.0/24 is 169.254.0.0 to 169.254.0.255, 256 addresses: link-local",
            None,
        ),
        (
            3,
            "::/64 is :: to ::ffff:ffff:ffff:ffff",
            Some("ipBlock:\n  cidr: ::/0"),
        ),
        (4, "fe80::/64 is fe80:: to fe80::ffff:ffff:ffff:ffff", None),
        (
            5,
            "0.0.0.0/16 is 0.0.0.0 to 0.0.255.255, 65536 addresses",
            Some("ipBlock:\n  cidr: 0.0.0.0/0"),
        ),
    ] {
        let f = finding(&report, "ipblock-unusable-range", p, &at(i));
        assert!(message(f).contains(what), "{f:#}");
        match hint {
            Some(h) => assert_eq!(f["hint"], h, "{f:#}"),
            None => assert!(f["hint"].is_null(), "{f:#}"),
        }
    }
    let except = finding(
        &report,
        "ipblock-host-bits",
        p,
        &format!("{}.except[0]", at(7)),
    );
    assert!(
        message(except).contains("172.16.5.1/24 has bits set beyond its /24 prefix"),
        "{except:#}"
    );
    assert!(
        message(except).contains("reads it as 172.16.5.0/24"),
        "{except:#}"
    );
    assert_eq!(except["hint"], "cidr: 172.16.5.0/24");
    let v6 = finding(&report, "ipblock-host-bits", p, &format!("{}.cidr", at(9)));
    assert!(message(v6).contains("write 2001:db8::1/128"), "{v6:#}");
}

#[test]
fn host_network_intent_in_every_variant() {
    let file = fixture("kinds/host-network.yaml");
    let pods = fixture("host-network-pods.yaml");
    let (_, report) = lint_json(&[&pods, &file], &[]);
    let host: BTreeSet<_> = triples(&report)
        .into_iter()
        .filter(|(c, _, _)| c == "host-network-peer")
        .collect();
    assert_eq!(
        host,
        owned(&[
            (
                "host-network-peer",
                "store/api-from-router",
                "spec.ingress[0].from"
            ),
            ("host-network-peer", "ops/scrape-split", "spec.egress[0].to"),
        ]),
        "{report:#}"
    );
    let router = finding(
        &report,
        "host-network-peer",
        "store/api-from-router",
        "spec.ingress[0].from",
    );
    assert!(
        message(router)
            .contains("this rule selects edge/router-n1, which runs with hostNetwork: true"),
        "{router:#}"
    );
    assert!(
        message(router).contains("traffic from a pod's own node is always allowed"),
        "{router:#}"
    );
    assert_eq!(
        router["hint"],
        "ingress:\n- from:\n  - ipBlock:\n      cidr: 192.168.50.11/32\n  ports:\n  - port: 8080"
    );
    // The split, name-labelled peer: its intent, with the other findings.
    let split = finding(
        &report,
        "host-network-peer",
        "ops/scrape-split",
        "spec.egress[0].to",
    );
    assert!(
        message(split).contains(
            "evidently meant for kube-system/node-exporter-n1, kube-system/node-exporter-n2"
        ),
        "{split:#}"
    );
    // The named port becomes the number: toward an ipBlock a name matches nothing.
    assert_eq!(
        split["hint"],
        "egress:\n- to:\n  - ipBlock:\n      cidr: 192.168.50.11/32\n  - ipBlock:\n      cidr: 192.168.50.12/32\n  ports:\n  - port: 9100"
    );
    finding(
        &report,
        "namespace-selector-typo",
        "ops/scrape-split",
        "spec.egress[0].to[0].namespaceSelector",
    );
    finding(
        &report,
        "split-peer",
        "ops/scrape-split",
        "spec.egress[0].to[0]",
    );
}

#[test]
fn dns_checks_use_the_dns_pods_real_port() {
    let file = fixture("kinds/dns-5353.yaml");
    let (code, report) = lint_alone(&[&file], &[]);
    assert_eq!(code, 5);
    assert_eq!(
        triples(&report),
        owned(&[
            ("egress-blocks-dns", "web/front-egress", "spec.egress"),
            ("egress-blocks-dns", "portsonly/front-egress", "spec.egress"),
            (
                "service-port-used",
                "web/front-egress",
                "spec.egress[0].ports[0]"
            ),
            (
                "service-port-used",
                "web/front-egress",
                "spec.egress[0].ports[1]"
            ),
        ]),
        "fixed/front-egress admits 5353 and is clean: {report:#}"
    );
    let dns = finding(
        &report,
        "egress-blocks-dns",
        "web/front-egress",
        "spec.egress",
    );
    assert!(
        message(dns).contains("admits UDP/5353 to kube-system/resolver-0"),
        "{dns:#}"
    );
    assert!(
        message(dns).contains("Service kube-system/cluster-dns maps port 53 to UDP/5353"),
        "{dns:#}"
    );
    // The fix works on this cluster: the pods' labels and port.
    assert_eq!(
        dns["hint"],
        "egress:\n- to:\n  - namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: kube-system\n    podSelector:\n      matchLabels:\n        app: resolver\n  ports:\n  - port: 5353\n    protocol: UDP\n  - port: 5353\n    protocol: TCP"
    );
    let svc = finding(
        &report,
        "service-port-used",
        "web/front-egress",
        "spec.egress[0].ports[0]",
    );
    assert!(
        message(svc).contains(
            "UDP/53 is the port of Service kube-system/cluster-dns, whose pods listen on 5353"
        ),
        "{svc:#}"
    );
    assert_eq!(svc["hint"], "- port: 5353\n  protocol: UDP");
}

#[test]
fn ipblock_notes_name_the_cni_check_found() {
    let bad = fixture("ipblock-cni-dependent.bad.yaml");
    for (cni, says) in [
        (
            "cni-cilium.yaml",
            "this cluster runs Cilium, which matches ipBlock only against addresses outside the cluster (pods are matched by identity): 0.0.0.0/0 admits none of the pods inside it",
        ),
        (
            "cni-calico.yaml",
            "this cluster runs Calico, which matches ipBlock against pod IPs too: 0.0.0.0/0 does admit the pods inside it",
        ),
    ] {
        let cni = fixture(cni);
        let (_, report) = lint_json(&[&cni, &bad], &["--enable", "ipblock-cni-dependent"]);
        let f = finding(
            &report,
            "ipblock-cni-dependent",
            "store/db-ingress",
            "spec.ingress[0].from[0].ipBlock",
        );
        assert!(message(f).contains(says), "{f:#}");
    }
    // A narrower block holding pod IPs carries the same note.
    let narrow = fixture("ipblock-selects-pods.bad.yaml");
    let cilium = fixture("cni-cilium.yaml");
    let (_, report) = lint_json(&[&cilium, &narrow], &[]);
    let f = finding(
        &report,
        "ipblock-selects-pods",
        "store/db-ingress",
        "spec.ingress[0].from[0].ipBlock",
    );
    assert!(
        message(f).contains("Meanwhile this cluster runs Cilium"),
        "{f:#}"
    );
    assert!(
        message(f).contains("10.1.0.11/32 admits none of the pods inside it"),
        "{f:#}"
    );
}

#[test]
fn new_findings_are_shown_by_list_and_explain() {
    let file = fixture("empty-egress-without-policy-types.bad.yaml");
    // stdout only: stderr says the CNI is not known (no CNI in the fixtures).
    let run = |args: &[&str]| stdout_of(&netpol().args(args).assert().success());
    let list = run(&["list", "-f", BASE, "-f", &file, "-n", "store"]);
    assert!(
        list.contains(
            "warning[empty-egress-without-policy-types]: store/api-lockdown spec.policyTypes"
        ),
        "{list}"
    );
    let explain = run(&["explain", "-f", BASE, "-f", &file, "-n", "store", "pod/api"]);
    assert!(
        explain.contains(
            "warning[empty-egress-without-policy-types]: store/api-lockdown spec.policyTypes"
        ),
        "{explain}"
    );
}

/// The handed real-world cases of issue 11 (`../shared/cases/real-world/`,
/// beside the repository) give the findings their headers expect.
#[test]
fn real_world_cases_get_their_findings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/cases/real-world");
    let case = |name: &str| format!("{dir}/{name}");
    let expect: &[(&str, &[Triple])] = &[
        (
            "05-ipblock-zero-slash-24.yaml",
            &[
                (
                    "ipblock-unusable-range",
                    "jobs/default-deny",
                    "spec.ingress[0].from[0].ipBlock",
                ),
                (
                    "ipblock-unusable-range",
                    "jobs/default-deny",
                    "spec.egress[0].to[0].ipBlock",
                ),
            ],
        ),
        (
            "07-dns-service-port-vs-container-port.yaml",
            &[
                ("egress-blocks-dns", "gateway/allow-dns", "spec.egress"),
                (
                    "service-port-used",
                    "gateway/allow-dns",
                    "spec.egress[0].ports[0]",
                ),
                (
                    "service-port-used",
                    "gateway/allow-dns",
                    "spec.egress[0].ports[1]",
                ),
            ],
        ),
        (
            "14-empty-egress-without-policytypes.yaml",
            &[(
                "empty-egress-without-policy-types",
                "shop/deny-all",
                "spec.policyTypes",
            )],
        ),
        (
            "16-egress-to-hostnetwork-daemon.yaml",
            &[
                (
                    "namespace-selector-typo",
                    "monitoring/prometheus-egress",
                    "spec.egress[0].to[0].namespaceSelector",
                ),
                (
                    "split-peer",
                    "monitoring/prometheus-egress",
                    "spec.egress[0].to[0]",
                ),
                (
                    "host-network-peer",
                    "monitoring/prometheus-egress",
                    "spec.egress[0].to",
                ),
            ],
        ),
    ];
    for (name, want) in expect {
        let (_, report) = lint_alone(&[&case(name)], &[]);
        let got = triples(&report);
        for w in owned(want) {
            assert!(got.contains(&w), "{name}: no {w:?} in {report:#}");
        }
    }
    let (_, report) = lint_alone(&[&case("07-dns-service-port-vs-container-port.yaml")], &[]);
    let dns = finding(
        &report,
        "egress-blocks-dns",
        "gateway/allow-dns",
        "spec.egress",
    );
    assert!(message(dns).contains("UDP/8053"), "{dns:#}");
    assert!(
        dns["hint"].as_str().unwrap().contains("port: 8053"),
        "{dns:#}"
    );
    let (_, report) = lint_alone(&[&case("14-empty-egress-without-policytypes.yaml")], &[]);
    let f = finding(
        &report,
        "empty-egress-without-policy-types",
        "shop/deny-all",
        "spec.policyTypes",
    );
    assert_eq!(f["hint"], "policyTypes:\n- Egress");
}

/// `can` on fixtures: stdout (text or JSON); stderr may carry the CNI
/// enforcement warning.
fn can(args: &[&str], code: i32) -> String {
    stdout_of(&netpol().args(args).assert().code(code))
}

#[test]
fn can_says_what_the_cni_does_with_an_ipblock_that_decides() {
    let bad = fixture("ipblock-selects-pods.bad.yaml");
    for (cni, says) in [
        (
            Some("cni-cilium.yaml"),
            "this cluster runs Cilium, which matches ipBlock only against addresses outside the cluster (pods are matched by identity): 10.1.0.11/32 admits none of the pods inside it",
        ),
        (
            Some("cni-calico.yaml"),
            "this cluster runs Calico, which matches ipBlock against pod IPs too: 10.1.0.11/32 does admit the pods inside it",
        ),
        (
            None,
            "whether 10.1.0.11/32 admits the pods inside it depends on the CNI",
        ),
    ] {
        let mut args = vec!["can", "-f", BASE, "-f", &bad];
        let cni = cni.map(fixture);
        if let Some(c) = &cni {
            args.extend(["-f", c]);
        }
        args.extend(["store/api", "store/db", "--port", "5432"]);
        let text = can(&args, 0);
        assert!(
            text.contains("ingress rule #1 of store/db-ingress reaches store/api through ipBlock 10.1.0.11/32, which holds pod IPs: "),
            "{text}"
        );
        assert!(text.contains(says), "{cni:?}: {text}");
        args.extend(["-o", "json"]);
        let json = parse_json(&can(&args, 0));
        assert!(
            strings(&json["notes"]).iter().any(|n| n.contains(says)),
            "{json:#}"
        );
    }
    // The ipBlock on egress decides too.
    let egress = fixture("ipblock-cni-dependent.bad.yaml");
    let cilium = fixture("cni-cilium.yaml");
    let text = can(
        &[
            "can", "-f", BASE, "-f", &egress, "-f", &cilium, "ops/prom", "store/db", "--port",
            "5432",
        ],
        0,
    );
    assert!(
        text.contains("through ipBlock 0.0.0.0/0, which holds pod IPs: this cluster runs Cilium"),
        "{text}"
    );
}

#[test]
fn can_is_quiet_when_a_selector_admits_as_well() {
    let both = fixture("kinds/ipblock-and-selector.yaml");
    let cilium = fixture("cni-cilium.yaml");
    let text = can(
        &[
            "can",
            "-f",
            BASE,
            "-f",
            &both,
            "-f",
            &cilium,
            "store/api",
            "store/db",
            "--port",
            "5432",
        ],
        0,
    );
    assert!(!text.contains("ipBlock"), "{text}");
    // Nothing to say either when the ipBlock does not hold the far end.
    let bad = fixture("ipblock-selects-pods.bad.yaml");
    let text = can(
        &[
            "can", "-f", BASE, "-f", &bad, "-f", &cilium, "ops/prom", "store/db", "--port", "5432",
        ],
        1,
    );
    assert!(!text.contains("through ipBlock"), "{text}");
}

#[test]
fn explain_notes_ipblock_rules_holding_pod_ips() {
    let bad = fixture("ipblock-cni-dependent.bad.yaml");
    let cilium = fixture("cni-cilium.yaml");
    let text = stdout_of(
        &netpol()
            .args(["explain", "-f", BASE, "-f", &bad, "-f", &cilium, "store/db"])
            .assert()
            .success(),
    );
    assert!(
        text.contains("ingress rule #1 of store/db-ingress reaches kube-system/coredns-7d9f, ops/prom, store/api through ipBlock 0.0.0.0/0, which holds pod IPs: this cluster runs Cilium"),
        "{text}"
    );
    // The finding shown beside it knows the CNI too.
    assert!(
        text.contains("info[ipblock-cni-dependent]: store/db-ingress spec.ingress[0].from[0].ipBlock: 0.0.0.0/0 also holds the IPs of 4 pods"),
        "{text}"
    );
    assert!(!text.contains("the CNI is not known here"), "{text}");
}

/// The README lists every check with its id, severity and description, as
/// `lint --list-checks` does.
#[test]
fn readme_lists_every_check() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for (id, sev, what) in CHECKS {
        let row = format!(
            "| `{id}` | {} | {} |",
            sev.as_str(),
            what.replace('|', "\\|")
        );
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
    let listed = ok(&["lint", "--list-checks"]);
    for (id, _, _) in CHECKS {
        assert!(listed.contains(id), "--list-checks lacks {id}");
    }
}

/// `"egress": null` in JSON is kept apart from an absent `egress` as in
/// YAML: the policy meant egress.
#[test]
fn null_egress_in_json_is_an_empty_egress() {
    let file = fixture("kinds/null-egress.json");
    let (_, report) = lint_json(&[&file], &["--enable", "empty-egress-without-policy-types"]);
    let f = finding(
        &report,
        "empty-egress-without-policy-types",
        "store/web-quiet",
        "spec.policyTypes",
    );
    assert!(
        message(f).starts_with("`egress` is empty and policyTypes is omitted"),
        "{f:#}"
    );
}

// ---------------------------------------------------------------------------
// Host-network pods are not counted; IPv4-mapped ipBlocks read as IPv4
// ---------------------------------------------------------------------------

const HOST_COUNTS: &str = "tests/fixtures/lint/kinds/host-network-counts.yaml";

#[test]
fn lint_counts_only_the_pods_a_policy_can_isolate() {
    let (_, out) = lint_text(&[HOST_COUNTS], &[]);
    assert!(
        out.contains("hn/default-deny-all spec.egress: all 3 pods this policy isolates for egress cannot resolve names"),
        "{out}"
    );
    assert!(!out.contains("of the 4 pods"), "{out}");
    assert!(
        out.contains(
            "podSelector [app=agent] selects only host-network pods in namespace \"hn\" (hn/agent)"
        ),
        "{out}"
    );
    // `explain` of the host-network pod shows no findings as if the
    // policies its labels match isolated it.
    let out = ok(&["explain", "hn/agent", "-f", HOST_COUNTS]);
    assert!(!out.contains("Findings"), "{out}");
    assert!(!out.contains("egress-blocks-dns"), "{out}");
}

#[test]
fn an_ipv4_mapped_ipblock_is_its_ipv4_network() {
    let (_, report) = lint_json(&[HOST_COUNTS], &[]);
    let got = checks(&report);
    assert!(got.contains(&"ipblock-ipv4-mapped"), "{report:#}");
    assert!(!got.contains(&"ipblock-unusable-range"), "{report:#}");
    // The engine matches it as 10.244.1.6/32: hn/b (10.244.1.6) is admitted.
    let a = netpol()
        .args([
            "can",
            "hn/b",
            "hn/a",
            "--port",
            "80",
            "-o",
            "json",
            "-f",
            HOST_COUNTS,
        ])
        .assert()
        .code(1);
    let v = parse_json(&stdout_of(&a));
    assert_eq!(v["ingress"]["allowed"], true, "{v:#}");
    assert_eq!(
        v["ingress"]["allowedBy"][0]["policy"], "hn/a-from-b",
        "{v:#}"
    );
}

#[test]
fn one_address_and_one_pod_are_singular() {
    let (_, out) = lint_text(
        &[&fixture("kinds/one-address.yaml")],
        &["--enable", "ipblock-unusable-range"],
    );
    assert!(out.contains("::1/128 is ::1 only, 1 address:"), "{out}");
    assert!(!out.contains(" 1 addresses"), "{out}");
}

/// A selector rule admitting the same peer on another port does not make
/// an ipBlock rule's port safe: the caveat follows the port asked.
#[test]
fn can_warns_for_the_port_only_an_ipblock_admits() {
    let split = fixture("kinds/ipblock-other-port.yaml");
    let cilium = fixture("cni-cilium.yaml");
    let ask = |port: &str| {
        can(
            &[
                "can",
                "-f",
                BASE,
                "-f",
                &split,
                "-f",
                &cilium,
                "store/api",
                "store/db",
                "--port",
                port,
            ],
            0,
        )
    };
    let text = ask("443");
    assert!(
        text.contains("ingress rule #1 of store/db-ingress reaches store/api through ipBlock 10.1.0.0/16, which holds pod IPs: this cluster runs Cilium"),
        "{text}"
    );
    let text = ask("5432");
    assert!(!text.contains("through ipBlock"), "{text}");
}

#[test]
fn tier_pass_in_baseline() {
    positive_and_negative("tier-pass-in-baseline");
}

#[test]
fn tier_domain_names_deny() {
    positive_and_negative("tier-domain-names-deny");
}

#[test]
fn tier_equal_priority() {
    positive_and_negative("tier-equal-priority");
}

#[test]
fn tier_baseline_never_applies() {
    positive_and_negative("tier-baseline-never-applies");
}

#[test]
fn tier_shadowed_rule() {
    positive_and_negative("tier-shadowed-rule");
}

#[test]
fn tier_unusable_selector() {
    positive_and_negative("tier-unusable-selector");
}

#[test]
fn tier_reversed_port_range() {
    positive_and_negative("tier-reversed-port-range");
}

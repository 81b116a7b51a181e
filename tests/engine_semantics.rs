//! Table-driven tests of the NetworkPolicy engine through the library's
//! public API only.
//!
//! Every test builds a small cluster from inline YAML (the same eight pods,
//! [`BASE`], plus the policies of each case), then asks the engine which
//! ports one endpoint may use to reach another. Each rule of the semantics
//! (DESIGN.md, "NetworkPolicy semantics") has cases that allow and cases
//! that deny, so breaking the rule makes a case fail. Failures name the case
//! and the connection.

use std::collections::HashMap;
use std::net::IpAddr;

use netpol::engine::Model;
use netpol::engine::policy::Direction;
use netpol::engine::ports::{PortSet, Protocol};
use netpol::engine::reach::{Classes, class_matrix};
use netpol::engine::validate;
use netpol::engine::verdict::{Endpoint, connection};
use netpol::snapshot::{NAMESPACE_NAME_LABEL, PodInfo, Snapshot};
use netpol::source::files::load_str;

/// `PortSet::to_strings()` of every port of every protocol.
const ALL: &[&str] = &["TCP/all", "UDP/all", "SCTP/all"];
/// `PortSet::to_strings()` of the empty set.
const NONE: &[&str] = &[];

/// The cluster every test starts from.
///
/// | pod             | labels                          | IP          | container ports                       |
/// |-----------------|---------------------------------|-------------|---------------------------------------|
/// | frontend/web    | app=web tier=front role=client  | 10.1.0.10   | http 8080/TCP, metrics 9090/TCP       |
/// | frontend/cache  | app=cache                       | 10.1.0.20   | redis 6379/TCP                        |
/// | backend/api     | app=api tier=back               | 10.2.0.10   | http 80/TCP, grpc 9000/TCP, dns 53/UDP|
/// | backend/db      | app=db tier=back                | 10.2.0.20   | pg 5432/TCP                           |
/// | backend/worker  | app=worker role=client          | 10.2.0.30   | none                                  |
/// | default/client  | app=client role=client          | 10.0.0.5    | none                                  |
/// | ops/debug       | app=debug                       | 192.168.5.5 | none                                  |
/// | monitoring/prom | app=prom                        | 10.3.0.5    | metrics 9090/TCP                      |
///
/// Namespaces frontend (team=web, env=prod), backend (team=api, env=prod)
/// and ops (env=dev) are given without `kubernetes.io/metadata.name`;
/// default and monitoring are not given at all.
const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: frontend, labels: {team: web, env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: backend, labels: {team: api, env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {env: dev}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: frontend, labels: {app: web, tier: front, role: client}}
spec:
  containers:
  - name: main
    image: example.org/web
    ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
status: {podIP: 10.1.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: cache, namespace: frontend, labels: {app: cache}}
spec:
  containers:
  - name: main
    image: example.org/cache
    ports: [{name: redis, containerPort: 6379, protocol: TCP}]
status: {podIP: 10.1.0.20}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: backend, labels: {app: api, tier: back}}
spec:
  containers:
  - name: main
    image: example.org/api
    ports:
    - {name: http, containerPort: 80}
    - {name: grpc, containerPort: 9000}
    - {name: dns, containerPort: 53, protocol: UDP}
status: {podIP: 10.2.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: backend, labels: {app: db, tier: back}}
spec:
  containers:
  - name: main
    image: example.org/db
    ports: [{name: pg, containerPort: 5432}]
status: {podIP: 10.2.0.20}
---
apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: backend, labels: {app: worker, role: client}}
spec:
  containers: [{name: main, image: example.org/worker}]
status: {podIP: 10.2.0.30}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client, role: client}}
spec:
  containers: [{name: main, image: example.org/client}]
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: ops, labels: {app: debug}}
spec:
  containers: [{name: main, image: example.org/debug}]
status: {podIP: 192.168.5.5}
---
apiVersion: v1
kind: Pod
metadata: {name: prom, namespace: monitoring, labels: {app: prom}}
spec:
  containers:
  - name: main
    image: example.org/prom
    ports: [{name: metrics, containerPort: 9090}]
status: {podIP: 10.3.0.5}
"#;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Removes the common leading indentation, so that YAML can be written
/// indented inside the test source.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        if !line.trim().is_empty() {
            out.push_str(&line[indent..]);
        }
        out.push('\n');
    }
    out
}

/// A NetworkPolicy document; `spec` is the YAML of its spec (any
/// indentation).
fn policy(namespace: &str, name: &str, spec: &str) -> String {
    let mut out = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
         metadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n"
    );
    for line in dedent(spec).lines() {
        if !line.is_empty() {
            out.push_str("  ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// An ingress-only policy on backend/api with one rule, written as a YAML
/// flow mapping, e.g. `{from: [{podSelector: {}}]}`.
fn api_ingress(name: &str, rule: &str) -> String {
    policy(
        "backend",
        name,
        &format!(
            "podSelector: {{matchLabels: {{app: api}}}}\npolicyTypes: [Ingress]\ningress:\n- {rule}\n"
        ),
    )
}

/// An egress-only policy on backend/api with one rule.
fn api_egress(name: &str, rule: &str) -> String {
    policy(
        "backend",
        name,
        &format!(
            "podSelector: {{matchLabels: {{app: api}}}}\npolicyTypes: [Egress]\negress:\n- {rule}\n"
        ),
    )
}

/// [`BASE`] plus more documents.
fn cluster(docs: &[String]) -> String {
    let mut all = vec![BASE.to_string()];
    all.extend(docs.iter().cloned());
    all.join("\n---\n")
}

fn snapshot(yaml: &str) -> Snapshot {
    load_str("engine_semantics.yaml", yaml, "default")
        .unwrap_or_else(|e| panic!("fixture does not load: {e}\n{yaml}"))
}

fn pod<'s>(snap: &'s Snapshot, key: &str) -> &'s PodInfo {
    snap.pods
        .iter()
        .find(|p| p.key() == key)
        .unwrap_or_else(|| panic!("no pod {key} in the fixture"))
}

/// `namespace/name` is a pod, anything that parses as an IP address is an
/// address outside the cluster.
fn endpoint<'s>(snap: &'s Snapshot, spec: &str) -> Endpoint<'s> {
    match spec.parse::<IpAddr>() {
        Ok(ip) => Endpoint::External(ip),
        Err(_) => Endpoint::Pod(pod(snap, spec)),
    }
}

/// A model of `yaml` whose policies are all valid (an invalid fixture
/// policy would be dropped silently and make a test pass for the wrong
/// reason).
fn valid_model<'s>(snap: &'s Snapshot, case: &str) -> Model<'s> {
    let model = Model::new(snap, "default");
    assert!(
        model.invalid.is_empty(),
        "case {case:?}: the fixture has invalid policies: {:?}",
        model.invalid
    );
    model
}

/// The ports `from` may use to reach `to` in the cluster `yaml`.
fn allowed(yaml: &str, from: &str, to: &str) -> PortSet {
    let snap = snapshot(yaml);
    let model = valid_model(&snap, "allowed()");
    connection(&model, &endpoint(&snap, from), &endpoint(&snap, to)).allowed
}

/// One connection to check: from, to, the expected `to_strings()`.
type Check<'a> = (&'a str, &'a str, &'a [&'a str]);

/// Runs a table of (case name, extra documents, connections to check) and
/// reports every failing connection at once.
fn run_cases(cases: &[(&str, Vec<String>, &[Check])]) {
    let mut failures = Vec::new();
    for (name, docs, checks) in cases {
        let yaml = cluster(docs);
        let snap = snapshot(&yaml);
        let model = valid_model(&snap, name);
        for (from, to, want) in checks.iter() {
            let got = connection(&model, &endpoint(&snap, from), &endpoint(&snap, to))
                .allowed
                .to_strings();
            if got != *want {
                failures.push(format!(
                    "case {name:?}: {from} -> {to}: want {want:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing connection(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// (pod, isolated for ingress, isolated for egress).
type IsolationCheck<'a> = (&'a str, bool, bool);

/// Runs a table of (case name, extra documents, isolation to check) through
/// `Model::isolating`.
fn run_isolation(cases: &[(&str, Vec<String>, &[IsolationCheck])]) {
    let mut failures = Vec::new();
    for (name, docs, checks) in cases {
        let yaml = cluster(docs);
        let snap = snapshot(&yaml);
        let model = valid_model(&snap, name);
        for (key, ingress, egress) in checks.iter() {
            let p = pod(&snap, key);
            let got = (
                !model.isolating(p, Direction::Ingress).is_empty(),
                !model.isolating(p, Direction::Egress).is_empty(),
            );
            if got != (*ingress, *egress) {
                failures.push(format!(
                    "case {name:?}: {key}: want (ingress, egress) isolated = {:?}, got {got:?}",
                    (ingress, egress)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing isolation check(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// 1. Isolation
// ---------------------------------------------------------------------------

#[test]
fn isolation_is_per_direction_and_per_namespace() {
    let deny_api_ingress = policy(
        "backend",
        "deny-api-in",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Ingress]",
    );
    let deny_web_egress = policy(
        "frontend",
        "deny-web-out",
        "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]",
    );
    let deny_frontend_ingress = policy(
        "frontend",
        "deny-all-in",
        "podSelector: {}\npolicyTypes: [Ingress]",
    );
    run_cases(&[
        (
            "no policy: nothing is isolated",
            vec![],
            &[
                ("frontend/web", "backend/api", ALL),
                ("backend/api", "frontend/web", ALL),
                ("ops/debug", "monitoring/prom", ALL),
            ],
        ),
        (
            "api isolated for ingress only",
            vec![deny_api_ingress.clone()],
            &[
                ("frontend/web", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
                // api's egress is not isolated, web is not selected.
                ("backend/api", "frontend/web", ALL),
                // db is in the same namespace but not selected.
                ("frontend/web", "backend/db", ALL),
            ],
        ),
        (
            "web isolated for egress only",
            vec![deny_web_egress.clone()],
            &[
                ("frontend/web", "backend/api", NONE),
                ("frontend/web", "frontend/cache", NONE),
                ("frontend/web", "8.8.8.8", NONE),
                // web's ingress is not isolated, cache is not selected.
                ("backend/api", "frontend/web", ALL),
                ("frontend/cache", "backend/api", ALL),
            ],
        ),
        (
            "a policy in frontend isolates frontend pods only",
            vec![deny_frontend_ingress.clone()],
            &[
                ("default/client", "frontend/web", NONE),
                ("default/client", "frontend/cache", NONE),
                ("default/client", "backend/api", ALL),
                ("frontend/web", "backend/api", ALL),
            ],
        ),
    ]);
    run_isolation(&[
        (
            "no policy",
            vec![],
            &[
                ("frontend/web", false, false),
                ("backend/api", false, false),
            ],
        ),
        (
            "ingress policy on api",
            vec![deny_api_ingress],
            &[
                ("backend/api", true, false),
                ("backend/db", false, false),
                ("frontend/web", false, false),
            ],
        ),
        (
            "egress policy on web",
            vec![deny_web_egress],
            &[
                ("frontend/web", false, true),
                ("frontend/cache", false, false),
            ],
        ),
        (
            "podSelector {} in frontend does not reach other namespaces",
            vec![deny_frontend_ingress],
            &[
                ("frontend/web", true, false),
                ("frontend/cache", true, false),
                ("backend/api", false, false),
                ("default/client", false, false),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 2. Effective policyTypes
// ---------------------------------------------------------------------------

#[test]
fn effective_policy_types_when_omitted_or_explicit() {
    let egress_to_db = r#"
        egress:
        - to: [{podSelector: {matchLabels: {app: db}}}]
          ports: [{port: 5432}]
    "#;
    let on_api = "podSelector: {matchLabels: {app: api}}\n";
    let no_types_no_rules = policy("backend", "p", on_api);
    let no_types_egress_rules =
        policy("backend", "p", &format!("{on_api}{}", dedent(egress_to_db)));
    let no_types_empty_egress = policy("backend", "p", &format!("{on_api}egress: []\n"));
    let empty_types_egress_rules = policy(
        "backend",
        "p",
        &format!("{on_api}policyTypes: []\n{}", dedent(egress_to_db)),
    );
    let egress_type_with_rules = policy(
        "backend",
        "p",
        &format!("{on_api}policyTypes: [Egress]\n{}", dedent(egress_to_db)),
    );
    let egress_type_no_rules = policy("backend", "p", &format!("{on_api}policyTypes: [Egress]\n"));
    let ingress_type_with_egress_rules = policy(
        "backend",
        "p",
        &format!("{on_api}policyTypes: [Ingress]\n{}", dedent(egress_to_db)),
    );
    let both_types_no_rules = policy(
        "backend",
        "p",
        &format!("{on_api}policyTypes: [Ingress, Egress]\n"),
    );

    run_cases(&[
        (
            "omitted, no rules: Ingress only",
            vec![no_types_no_rules.clone()],
            &[
                ("frontend/web", "backend/api", NONE),
                ("backend/api", "frontend/web", ALL),
            ],
        ),
        (
            "omitted, egress rules: Ingress AND Egress",
            vec![no_types_egress_rules.clone()],
            &[
                ("backend/api", "backend/db", &["TCP/5432"]),
                ("backend/api", "frontend/web", NONE),
                // The gotcha: an egress-only policy without policyTypes
                // also isolates ingress.
                ("frontend/web", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "omitted, `egress: []`: Ingress only",
            vec![no_types_empty_egress.clone()],
            &[
                ("backend/api", "frontend/web", ALL),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "`policyTypes: []` is defaulted like an omitted field",
            vec![empty_types_egress_rules.clone()],
            &[
                ("backend/api", "backend/db", &["TCP/5432"]),
                ("backend/api", "frontend/web", NONE),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "explicit [Egress] does not isolate ingress",
            vec![egress_type_with_rules.clone()],
            &[
                ("frontend/web", "backend/api", ALL),
                ("backend/api", "backend/db", &["TCP/5432"]),
                ("backend/api", "frontend/web", NONE),
            ],
        ),
        (
            "explicit [Egress], no rules: egress deny-all",
            vec![egress_type_no_rules.clone()],
            &[
                ("backend/api", "frontend/web", NONE),
                ("backend/api", "1.1.1.1", NONE),
                ("frontend/web", "backend/api", ALL),
            ],
        ),
        (
            "explicit [Ingress] ignores egress rules",
            vec![ingress_type_with_egress_rules.clone()],
            &[
                ("backend/api", "frontend/web", ALL),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "explicit [Ingress, Egress], no rules: both deny-all",
            vec![both_types_no_rules.clone()],
            &[
                ("backend/api", "frontend/web", NONE),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
    ]);
    run_isolation(&[
        (
            "omitted, no rules",
            vec![no_types_no_rules],
            &[("backend/api", true, false)],
        ),
        (
            "omitted, egress rules",
            vec![no_types_egress_rules],
            &[("backend/api", true, true)],
        ),
        (
            "omitted, `egress: []`",
            vec![no_types_empty_egress],
            &[("backend/api", true, false)],
        ),
        (
            "`policyTypes: []`",
            vec![empty_types_egress_rules],
            &[("backend/api", true, true)],
        ),
        (
            "[Egress] with rules",
            vec![egress_type_with_rules],
            &[("backend/api", false, true)],
        ),
        (
            "[Egress] without rules",
            vec![egress_type_no_rules],
            &[("backend/api", false, true)],
        ),
        (
            "[Ingress] with egress rules",
            vec![ingress_type_with_egress_rules],
            &[("backend/api", true, false)],
        ),
        (
            "[Ingress, Egress]",
            vec![both_types_no_rules],
            &[("backend/api", true, true)],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 3. Union of allows, no order
// ---------------------------------------------------------------------------

#[test]
fn allows_are_a_union_across_rules_and_policies() {
    let from_web =
        "{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}";
    let allow_http = api_ingress(
        "allow-http",
        &format!("{{from: [{from_web}], ports: [{{port: 80}}]}}"),
    );
    let allow_grpc = api_ingress(
        "allow-grpc",
        &format!("{{from: [{from_web}], ports: [{{port: 9000}}]}}"),
    );
    let two_rules = policy(
        "backend",
        "two-rules",
        &format!(
            "podSelector: {{matchLabels: {{app: api}}}}\n\
             ingress:\n\
             - {{from: [{from_web}], ports: [{{port: 80}}]}}\n\
             - {{from: [{{podSelector: {{matchLabels: {{app: worker}}}}}}], ports: [{{port: 53, protocol: UDP}}]}}\n"
        ),
    );
    // Sorted by name, "a-deny" comes before "allow-http" and "z-deny" after.
    let deny_first = policy(
        "backend",
        "a-deny",
        "podSelector: {}\npolicyTypes: [Ingress]",
    );
    let deny_last = policy(
        "backend",
        "z-deny",
        "podSelector: {}\npolicyTypes: [Ingress]",
    );
    let allow_all_to_db = policy(
        "backend",
        "db-open",
        "podSelector: {matchLabels: {app: db}}\ningress: [{}]",
    );
    run_cases(&[
        (
            "one policy",
            vec![allow_http.clone()],
            &[
                ("frontend/web", "backend/api", &["TCP/80"]),
                ("frontend/cache", "backend/api", NONE),
            ],
        ),
        (
            "two policies add up",
            vec![allow_http.clone(), allow_grpc.clone()],
            &[
                ("frontend/web", "backend/api", &["TCP/80", "TCP/9000"]),
                ("frontend/cache", "backend/api", NONE),
            ],
        ),
        (
            "two rules of one policy add up, each with its own peers",
            vec![two_rules],
            &[
                ("frontend/web", "backend/api", &["TCP/80"]),
                ("backend/worker", "backend/api", &["UDP/53"]),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "a deny-all sorted first does not subtract",
            vec![deny_first.clone(), allow_http.clone(), allow_grpc.clone()],
            &[
                ("frontend/web", "backend/api", &["TCP/80", "TCP/9000"]),
                ("backend/worker", "backend/api", NONE),
                ("frontend/web", "backend/db", NONE),
            ],
        ),
        (
            "a deny-all sorted last does not subtract",
            vec![allow_grpc, allow_http, deny_last],
            &[
                ("frontend/web", "backend/api", &["TCP/80", "TCP/9000"]),
                ("backend/worker", "backend/api", NONE),
            ],
        ),
        (
            "an allow-all on another pod does not open this one",
            vec![deny_first, allow_all_to_db],
            &[
                ("frontend/web", "backend/api", NONE),
                ("frontend/web", "backend/db", ALL),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 4. Empty rules, empty peers, empty ports
// ---------------------------------------------------------------------------

#[test]
fn empty_rule_lists_rules_peers_and_ports() {
    let on_api = "podSelector: {matchLabels: {app: api}}\n";
    run_cases(&[
        (
            "`ingress: []` allows nothing",
            vec![policy(
                "backend",
                "p",
                &format!("{on_api}policyTypes: [Ingress]\ningress: []"),
            )],
            &[
                ("frontend/web", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
                ("9.9.9.9", "backend/api", NONE),
            ],
        ),
        (
            "absent ingress with policyTypes [Ingress] allows nothing",
            vec![policy(
                "backend",
                "p",
                &format!("{on_api}policyTypes: [Ingress]"),
            )],
            &[
                ("frontend/web", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "a rule `{}` allows everything",
            vec![api_ingress("p", "{}")],
            &[
                ("frontend/web", "backend/api", ALL),
                ("ops/debug", "backend/api", ALL),
                ("203.0.113.9", "backend/api", ALL),
            ],
        ),
        (
            "a rule without `from` matches every peer",
            vec![api_ingress("p", "{ports: [{port: 80}]}")],
            &[
                ("frontend/web", "backend/api", &["TCP/80"]),
                ("default/client", "backend/api", &["TCP/80"]),
                ("203.0.113.9", "backend/api", &["TCP/80"]),
            ],
        ),
        (
            "`from: []` also matches every peer",
            vec![api_ingress("p", "{from: [], ports: [{port: 9000}]}")],
            &[
                ("default/client", "backend/api", &["TCP/9000"]),
                ("ops/debug", "backend/api", &["TCP/9000"]),
                ("203.0.113.9", "backend/api", &["TCP/9000"]),
            ],
        ),
        (
            "a rule without `ports` matches every port",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: web}}}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", ALL),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "`ports: []` also matches every port",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: web}}}], ports: []}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "an egress rule `{}` allows every destination",
            vec![api_egress("p", "{}")],
            &[
                ("backend/api", "frontend/web", ALL),
                ("backend/api", "8.8.8.8", ALL),
            ],
        ),
        (
            "`egress: []` with policyTypes [Egress] allows nothing",
            vec![policy(
                "backend",
                "p",
                &format!("{on_api}policyTypes: [Egress]\negress: []"),
            )],
            &[
                ("backend/api", "frontend/web", NONE),
                ("backend/api", "8.8.8.8", NONE),
            ],
        ),
        (
            "an egress rule without `to` matches every destination",
            vec![api_egress("p", "{ports: [{port: 443}]}")],
            &[
                ("backend/api", "frontend/web", &["TCP/443"]),
                ("backend/api", "8.8.8.8", &["TCP/443"]),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 5. Peers
// ---------------------------------------------------------------------------

#[test]
fn peers_select_by_pod_and_namespace() {
    run_cases(&[
        (
            "podSelector alone: pods of the policy's namespace only",
            vec![api_ingress(
                "p",
                "{from: [{podSelector: {matchLabels: {role: client}}}]}",
            )],
            &[
                ("backend/worker", "backend/api", ALL),
                // role=client too, but in other namespaces.
                ("frontend/web", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "namespaceSelector alone: every pod of matching namespaces",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: web}}}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", ALL),
                ("backend/worker", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "both selectors in one peer: AND",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {role: client}}}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", NONE),
                ("backend/worker", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "the same selectors as two peers: OR",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: web}}}, {podSelector: {matchLabels: {role: client}}}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", ALL),
                ("backend/worker", "backend/api", ALL),
                ("default/client", "backend/api", NONE),
                ("ops/debug", "backend/api", NONE),
            ],
        ),
        (
            "namespaceSelector {}: every namespace",
            vec![api_ingress("p", "{from: [{namespaceSelector: {}}]}")],
            &[
                ("default/client", "backend/api", ALL),
                ("ops/debug", "backend/api", ALL),
                ("monitoring/prom", "backend/api", ALL),
                ("backend/db", "backend/api", ALL),
                // Selectors never match addresses outside the cluster.
                ("203.0.113.7", "backend/api", NONE),
            ],
        ),
        (
            "podSelector {}: every pod of the policy's namespace",
            vec![api_ingress("p", "{from: [{podSelector: {}}]}")],
            &[
                ("backend/db", "backend/api", ALL),
                ("backend/worker", "backend/api", ALL),
                ("frontend/web", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "namespaceSelector {} AND podSelector: matching pods anywhere",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: client}}}]}",
            )],
            &[
                ("default/client", "backend/api", ALL),
                ("frontend/web", "backend/api", ALL),
                ("backend/worker", "backend/api", ALL),
                ("frontend/cache", "backend/api", NONE),
                ("ops/debug", "backend/api", NONE),
            ],
        ),
        (
            "a namespaceSelector no namespace matches: nobody",
            vec![api_ingress(
                "p",
                "{from: [{namespaceSelector: {matchLabels: {team: nobody}}}]}",
            )],
            &[
                ("frontend/web", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "egress podSelector alone: the policy's namespace only",
            vec![policy(
                "frontend",
                "web-out",
                r#"
                podSelector: {matchLabels: {app: web}}
                policyTypes: [Egress]
                egress:
                - to:
                  - podSelector: {matchLabels: {app: cache}}
                  - podSelector: {matchLabels: {app: api}}
                "#,
            )],
            &[
                ("frontend/web", "frontend/cache", ALL),
                // app=api lives in backend, not in the policy's namespace.
                ("frontend/web", "backend/api", NONE),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 6. kubernetes.io/metadata.name
// ---------------------------------------------------------------------------

#[test]
fn namespace_name_label_is_always_present() {
    let from_ns = |name: &str, selector: &str| {
        api_ingress(
            name,
            &format!("{{from: [{{namespaceSelector: {selector}}}]}}"),
        )
    };
    // Given with a wrong name label: the API server overwrites it.
    let ops_with_wrong_label = dedent(
        r#"
        apiVersion: v1
        kind: Namespace
        metadata: {name: ops, labels: {env: dev, kubernetes.io/metadata.name: elsewhere}}
        "#,
    );
    run_cases(&[
        (
            "a namespace given without the label",
            vec![from_ns(
                "p",
                "{matchLabels: {kubernetes.io/metadata.name: frontend}}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", ALL),
                ("default/client", "backend/api", NONE),
                ("backend/worker", "backend/api", NONE),
            ],
        ),
        (
            "`default`, never given",
            vec![from_ns(
                "p",
                "{matchLabels: {kubernetes.io/metadata.name: default}}",
            )],
            &[
                ("default/client", "backend/api", ALL),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "`monitoring`, only referred to by a pod",
            vec![from_ns(
                "p",
                "{matchLabels: {kubernetes.io/metadata.name: monitoring}}",
            )],
            &[
                ("monitoring/prom", "backend/api", ALL),
                ("ops/debug", "backend/api", NONE),
            ],
        ),
        (
            "In over names",
            vec![from_ns(
                "p",
                "{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [default, ops]}]}",
            )],
            &[
                ("default/client", "backend/api", ALL),
                ("ops/debug", "backend/api", ALL),
                ("frontend/web", "backend/api", NONE),
                ("monitoring/prom", "backend/api", NONE),
            ],
        ),
        (
            "NotIn over names",
            vec![from_ns(
                "p",
                "{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [backend, frontend]}]}",
            )],
            &[
                ("default/client", "backend/api", ALL),
                ("monitoring/prom", "backend/api", ALL),
                ("backend/worker", "backend/api", NONE),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "a `name` label that no namespace carries matches nothing",
            vec![from_ns("p", "{matchLabels: {name: frontend}}")],
            &[("frontend/web", "backend/api", NONE)],
        ),
        (
            "a wrong name label in a manifest is replaced by the real name",
            vec![
                ops_with_wrong_label,
                api_ingress(
                    "by-real-name",
                    "{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}}], ports: [{port: 80}]}",
                ),
                api_ingress(
                    "by-wrong-name",
                    "{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}}], ports: [{port: 9000}]}",
                ),
            ],
            &[("ops/debug", "backend/api", &["TCP/80"])],
        ),
    ]);

    let snap = snapshot(BASE);
    let model = Model::new(&snap, "default");
    for (ns, synthesized) in [
        ("frontend", false),
        ("ops", false),
        ("default", true),
        ("monitoring", true),
    ] {
        let info = model
            .namespace(ns)
            .unwrap_or_else(|| panic!("namespace {ns} missing from the model"));
        assert_eq!(
            info.labels.get(NAMESPACE_NAME_LABEL).map(String::as_str),
            Some(ns),
            "namespace {ns}: labels {:?}",
            info.labels
        );
        assert_eq!(info.synthesized, synthesized, "namespace {ns}: synthesized");
    }
}

// ---------------------------------------------------------------------------
// 7. ipBlock and addresses outside the cluster
// ---------------------------------------------------------------------------

#[test]
fn ip_blocks_match_addresses_and_pod_ips() {
    let web_egress = |rule: &str| {
        policy(
            "frontend",
            "web-out",
            &format!(
                "podSelector: {{matchLabels: {{app: web}}}}\npolicyTypes: [Egress]\negress:\n- {rule}\n"
            ),
        )
    };
    let deny_ingress_everywhere: Vec<String> =
        ["frontend", "backend", "default", "ops", "monitoring"]
            .iter()
            .map(|ns| policy(ns, "deny-in", "podSelector: {}\npolicyTypes: [Ingress]"))
            .collect();
    run_cases(&[
        (
            "ingress from a cidr with an except",
            vec![api_ingress(
                "p",
                "{from: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.20/32]}}]}",
            )],
            &[
                // Pod IPs are matched like any address.
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
                ("10.1.7.7", "backend/api", ALL),
                ("10.1.0.20", "backend/api", NONE),
                ("8.8.8.8", "backend/api", NONE),
                ("2001:db8::1", "backend/api", NONE),
            ],
        ),
        (
            "a cidr written with host bits set",
            vec![api_ingress(
                "p",
                "{from: [{ipBlock: {cidr: 10.1.0.99/16}}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("10.1.255.255", "backend/api", ALL),
                ("10.2.0.1", "backend/api", NONE),
            ],
        ),
        (
            "an IPv6 cidr",
            vec![api_ingress(
                "p",
                "{from: [{ipBlock: {cidr: '2001:db8::/32'}}]}",
            )],
            &[
                ("2001:db8:1::5", "backend/api", ALL),
                ("2001:db9::5", "backend/api", NONE),
                ("frontend/web", "backend/api", NONE),
            ],
        ),
        (
            "egress to everything but 10.0.0.0/8",
            vec![web_egress(
                "{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}",
            )],
            &[
                ("frontend/web", "8.8.8.8", ALL),
                ("frontend/web", "10.9.9.9", NONE),
                // A pod whose IP is in the except.
                ("frontend/web", "backend/api", NONE),
                // A pod whose IP is in the cidr.
                ("frontend/web", "ops/debug", ALL),
            ],
        ),
        (
            "selector peers never match external addresses (egress)",
            vec![web_egress(
                "{to: [{namespaceSelector: {}, podSelector: {}}]}",
            )],
            &[
                ("frontend/web", "8.8.8.8", NONE),
                ("frontend/web", "10.2.0.10", NONE),
                ("frontend/web", "backend/api", ALL),
                ("frontend/web", "ops/debug", ALL),
            ],
        ),
        (
            "selector peers never match external addresses (ingress)",
            vec![api_ingress("p", "{from: [{namespaceSelector: {}}]}")],
            &[
                // Even an address that is a pod's IP is, as an endpoint,
                // outside the cluster.
                ("10.0.0.5", "backend/api", NONE),
                ("default/client", "backend/api", ALL),
            ],
        ),
        (
            "the far side of an external destination is never isolated",
            deny_ingress_everywhere,
            &[
                ("frontend/web", "8.8.8.8", ALL),
                ("frontend/web", "backend/api", NONE),
                ("8.8.8.8", "frontend/web", NONE),
            ],
        ),
    ]);

    // The verdict says why: the external side has no policies at all.
    let yaml = cluster(&[]);
    let snap = snapshot(&yaml);
    let model = Model::new(&snap, "default");
    let out = connection(
        &model,
        &endpoint(&snap, "frontend/web"),
        &endpoint(&snap, "8.8.8.8"),
    );
    assert!(!out.ingress.applies && !out.ingress.isolated && out.ingress.allowed.is_all());
    assert!(out.egress.applies && !out.egress.isolated);
    let back = connection(
        &model,
        &endpoint(&snap, "8.8.8.8"),
        &endpoint(&snap, "frontend/web"),
    );
    assert!(!back.egress.applies && !back.egress.isolated && back.egress.allowed.is_all());
    assert!(back.ingress.applies);
}

// ---------------------------------------------------------------------------
// 8. Ports
// ---------------------------------------------------------------------------

#[test]
fn ports_protocols_ranges_and_named_ports() {
    run_cases(&[
        (
            "protocol defaults to TCP",
            vec![api_ingress("p", "{ports: [{port: 80}]}")],
            // TCP/80 only: UDP/80 is not in the set.
            &[("default/client", "backend/api", &["TCP/80"])],
        ),
        (
            "explicit UDP",
            vec![api_ingress("p", "{ports: [{port: 53, protocol: UDP}]}")],
            &[("default/client", "backend/api", &["UDP/53"])],
        ),
        (
            "explicit SCTP",
            vec![api_ingress("p", "{ports: [{port: 3868, protocol: SCTP}]}")],
            &[("default/client", "backend/api", &["SCTP/3868"])],
        ),
        (
            "endPort makes an inclusive range",
            vec![api_ingress("p", "{ports: [{port: 8000, endPort: 8100}]}")],
            &[("default/client", "backend/api", &["TCP/8000-8100"])],
        ),
        (
            "endPort equal to port is one port",
            vec![api_ingress("p", "{ports: [{port: 80, endPort: 80}]}")],
            &[("default/client", "backend/api", &["TCP/80"])],
        ),
        (
            "a named port resolves on the destination",
            vec![api_ingress("p", "{ports: [{port: http}]}")],
            // api's http is 80 (web's http, 8080, does not matter).
            &[("frontend/web", "backend/api", &["TCP/80"])],
        ),
        (
            "a named port with the name on UDP only does not match TCP",
            vec![api_ingress("p", "{ports: [{port: dns}]}")],
            &[("default/client", "backend/api", NONE)],
        ),
        (
            "a named port matches when the protocol agrees",
            vec![api_ingress("p", "{ports: [{port: dns, protocol: UDP}]}")],
            &[("default/client", "backend/api", &["UDP/53"])],
        ),
        (
            "a named port the destination does not declare matches nothing",
            vec![api_ingress("p", "{ports: [{port: pg}]}")],
            &[("backend/db", "backend/api", NONE)],
        ),
        (
            "a named port declared only by the source matches nothing",
            vec![api_ingress("p", "{ports: [{port: metrics}]}")],
            &[("frontend/web", "backend/api", NONE)],
        ),
        (
            "a protocol without a port: every port of that protocol",
            vec![api_ingress("p", "{ports: [{protocol: UDP}]}")],
            &[("default/client", "backend/api", &["UDP/all"])],
        ),
        (
            "port entries add up",
            vec![api_ingress(
                "p",
                "{ports: [{protocol: SCTP}, {port: 443}, {port: grpc}]}",
            )],
            &[(
                "default/client",
                "backend/api",
                &["TCP/443", "TCP/9000", "SCTP/all"],
            )],
        ),
        (
            "egress named port resolves on each destination pod",
            vec![api_egress("p", "{ports: [{port: http}]}")],
            &[
                ("backend/api", "frontend/web", &["TCP/8080"]),
                ("backend/api", "backend/db", NONE),
                ("backend/api", "monitoring/prom", NONE),
            ],
        ),
        (
            "egress named port towards an external address matches nothing",
            vec![api_egress(
                "p",
                "{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: http}, {port: 443}]}",
            )],
            &[
                ("backend/api", "8.8.8.8", &["TCP/443"]),
                ("backend/api", "10.1.0.10", &["TCP/443"]),
            ],
        ),
        (
            "egress named port alone towards an external address: nothing at all",
            vec![api_egress(
                "p",
                "{to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: http}]}",
            )],
            &[("backend/api", "8.8.8.8", NONE)],
        ),
    ]);

    // The ends of a range, one past each end, and the other protocol.
    let yaml = cluster(&[api_ingress("p", "{ports: [{port: 8000, endPort: 8100}]}")]);
    let set = allowed(&yaml, "default/client", "backend/api");
    for (proto, port, want) in [
        (Protocol::Tcp, 7999, false),
        (Protocol::Tcp, 8000, true),
        (Protocol::Tcp, 8050, true),
        (Protocol::Tcp, 8100, true),
        (Protocol::Tcp, 8101, false),
        (Protocol::Udp, 8050, false),
    ] {
        assert_eq!(
            set.contains(proto, port),
            want,
            "endPort range: {proto}/{port}"
        );
    }
    let yaml = cluster(&[api_ingress("p", "{ports: [{port: 80}]}")]);
    let set = allowed(&yaml, "default/client", "backend/api");
    assert!(set.contains(Protocol::Tcp, 80));
    assert!(
        !set.contains(Protocol::Udp, 80),
        "UDP on the same number is denied"
    );
    assert!(!set.contains(Protocol::Sctp, 80));
}

// ---------------------------------------------------------------------------
// 9. Both sides must allow
// ---------------------------------------------------------------------------

#[test]
fn both_sides_must_allow_and_the_result_is_the_intersection() {
    let web_egress = |name: &str, rules: &str| {
        policy(
            "frontend",
            name,
            &format!(
                "podSelector: {{matchLabels: {{app: web}}}}\npolicyTypes: [Egress]\negress: {rules}\n"
            ),
        )
    };
    let api_deny_in = policy(
        "backend",
        "api-deny-in",
        "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Ingress]",
    );
    let web_to_backend = web_egress(
        "web-out",
        "[{to: [{namespaceSelector: {matchLabels: {team: api}}}]}]",
    );
    let web_deny_out = web_egress("web-out", "[]");
    let api_from_frontend = api_ingress(
        "api-in",
        "{from: [{namespaceSelector: {matchLabels: {team: web}}}]}",
    );
    run_cases(&[
        (
            "egress allows, ingress denies",
            vec![web_to_backend.clone(), api_deny_in],
            &[
                ("frontend/web", "backend/api", NONE),
                // db's ingress is not isolated.
                ("frontend/web", "backend/db", ALL),
            ],
        ),
        (
            "ingress allows, egress denies",
            vec![web_deny_out, api_from_frontend.clone()],
            &[
                ("frontend/web", "backend/api", NONE),
                // cache's egress is not isolated.
                ("frontend/cache", "backend/api", ALL),
            ],
        ),
        (
            "both allow",
            vec![web_to_backend, api_from_frontend],
            &[("frontend/web", "backend/api", ALL)],
        ),
        (
            "the allowed set is the intersection",
            vec![
                web_egress(
                    "web-out",
                    "[{to: [{namespaceSelector: {matchLabels: {team: api}}}], ports: [{port: 1, endPort: 9000}]}]",
                ),
                api_ingress(
                    "api-in",
                    "{from: [{namespaceSelector: {matchLabels: {team: web}}}], ports: [{port: 9000}, {port: 53, protocol: UDP}, {port: 8000, endPort: 9500}]}",
                ),
            ],
            &[
                ("frontend/web", "backend/api", &["TCP/8000-9000"]),
                // Only one side restricts here.
                ("frontend/web", "backend/db", &["TCP/1-9000"]),
                (
                    "frontend/cache",
                    "backend/api",
                    &["TCP/8000-9500", "UDP/53"],
                ),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 10. matchExpressions
// ---------------------------------------------------------------------------

#[test]
fn match_expressions_follow_the_label_selector_rules() {
    let from_pods = |selector: &str| {
        api_ingress(
            "p",
            &format!("{{from: [{{namespaceSelector: {{}}, podSelector: {selector}}}]}}"),
        )
    };
    run_cases(&[
        (
            "In",
            vec![from_pods(
                "{matchExpressions: [{key: tier, operator: In, values: [front, edge]}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("backend/db", "backend/api", NONE),
                // No tier label at all.
                ("frontend/cache", "backend/api", NONE),
            ],
        ),
        (
            "NotIn matches pods without the key",
            vec![from_pods(
                "{matchExpressions: [{key: tier, operator: NotIn, values: [back]}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", ALL),
                ("default/client", "backend/api", ALL),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "Exists",
            vec![from_pods(
                "{matchExpressions: [{key: tier, operator: Exists}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("backend/db", "backend/api", ALL),
                ("frontend/cache", "backend/api", NONE),
                ("default/client", "backend/api", NONE),
            ],
        ),
        (
            "DoesNotExist",
            vec![from_pods(
                "{matchExpressions: [{key: tier, operator: DoesNotExist}]}",
            )],
            &[
                ("frontend/cache", "backend/api", ALL),
                ("default/client", "backend/api", ALL),
                ("frontend/web", "backend/api", NONE),
                ("backend/db", "backend/api", NONE),
            ],
        ),
        (
            "matchLabels AND matchExpressions",
            vec![from_pods(
                "{matchLabels: {role: client}, matchExpressions: [{key: tier, operator: DoesNotExist}]}",
            )],
            &[
                ("backend/worker", "backend/api", ALL),
                ("default/client", "backend/api", ALL),
                // role=client but has a tier.
                ("frontend/web", "backend/api", NONE),
                // no tier but no role.
                ("frontend/cache", "backend/api", NONE),
            ],
        ),
        (
            "several expressions AND",
            vec![from_pods(
                "{matchExpressions: [{key: app, operator: In, values: [web, cache]}, {key: tier, operator: Exists}]}",
            )],
            &[
                ("frontend/web", "backend/api", ALL),
                ("frontend/cache", "backend/api", NONE),
            ],
        ),
    ]);
    // The policy's own podSelector uses the same rules.
    run_isolation(&[
        (
            "spec.podSelector NotIn selects pods without the key",
            vec![policy(
                "backend",
                "p",
                "podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [back]}]}\npolicyTypes: [Ingress]",
            )],
            &[
                ("backend/worker", true, false),
                ("backend/api", false, false),
                ("backend/db", false, false),
            ],
        ),
        (
            "spec.podSelector Exists",
            vec![policy(
                "backend",
                "p",
                "podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\npolicyTypes: [Egress]",
            )],
            &[
                ("backend/worker", false, false),
                ("backend/api", false, true),
                ("backend/db", false, true),
            ],
        ),
    ]);
}

// ---------------------------------------------------------------------------
// 11. The matrix agrees with connection()
// ---------------------------------------------------------------------------

/// Pods that make classes interesting: a twin of web (same labels and ports,
/// different IP) and a Deployment without pods (a representative pod with no
/// IP at all).
const EXTRA_PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: frontend, labels: {app: web, tier: front, role: client}}
spec:
  containers:
  - name: main
    image: example.org/web
    ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
status: {podIP: 10.1.0.11}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: backend}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch, role: client}}
    spec:
      containers:
      - name: main
        image: example.org/batch
        ports: [{name: http, containerPort: 8081}]
"#;

#[test]
fn matrix_agrees_with_connection_for_every_pair() {
    let mixed = vec![
        policy(
            "backend",
            "default-deny-in",
            "podSelector: {}\npolicyTypes: [Ingress]",
        ),
        api_ingress(
            "api-from-web",
            "{from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}], ports: [{port: http}, {port: dns, protocol: UDP}]}",
        ),
        policy(
            "backend",
            "db-in",
            r#"
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from: [{podSelector: {matchLabels: {app: api}}}]
              ports: [{port: 5432}]
            - from: [{ipBlock: {cidr: 10.1.0.0/24, except: [10.1.0.20/32, 10.1.0.11/32]}}]
              ports: [{port: pg}]
            "#,
        ),
        policy(
            "frontend",
            "web-out",
            r#"
            podSelector: {matchLabels: {app: web}}
            egress:
            - to: [{namespaceSelector: {matchLabels: {team: api}}}]
              ports: [{port: 80, endPort: 9000}]
            - to: [{ipBlock: {cidr: 192.168.0.0/16}}]
            - to: [{namespaceSelector: {}}]
              ports: [{port: 53, protocol: UDP}, {port: 53}]
            "#,
        ),
        policy(
            "default",
            "client-out",
            r#"
            podSelector: {}
            policyTypes: [Egress]
            egress:
            - to: [{namespaceSelector: {}, podSelector: {matchLabels: {role: client}}}]
            "#,
        ),
        policy("ops", "open", "podSelector: {}\ningress: [{}]"),
        policy(
            "monitoring",
            "scrape",
            r#"
            podSelector: {matchLabels: {app: prom}}
            policyTypes: [Egress]
            egress:
            - to: [{namespaceSelector: {}}]
              ports: [{port: metrics}, {port: http}]
            "#,
        ),
    ];
    let lockdown = vec![
        policy(
            "frontend",
            "lock",
            "podSelector: {}\npolicyTypes: [Ingress, Egress]",
        ),
        policy(
            "backend",
            "lock",
            "podSelector: {}\npolicyTypes: [Ingress, Egress]",
        ),
        policy(
            "frontend",
            "cache-open",
            "podSelector: {matchLabels: {app: cache}}\ningress: [{from: [{namespaceSelector: {}}, {ipBlock: {cidr: 10.2.0.0/16}}]}]",
        ),
        policy(
            "backend",
            "worker-out",
            "podSelector: {matchLabels: {role: client}}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.10/32]}}]}]",
        ),
    ];
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("no policies", vec![]),
        ("mixed policies", mixed),
        ("lockdown with holes", lockdown),
    ];

    let mut failures = Vec::new();
    for (name, mut docs) in cases {
        docs.push(EXTRA_PODS.to_string());
        let yaml = cluster(&docs);
        let snap = snapshot(&yaml);
        let model = valid_model(&snap, name);
        let pods: Vec<&PodInfo> = snap.pods.iter().collect();
        assert_eq!(pods.len(), 10, "case {name:?}: fixture pods");

        let classes = Classes::build(&model, &pods);
        assert!(
            classes.len() <= pods.len(),
            "case {name:?}: more classes than pods"
        );
        let cm = class_matrix(&model, &classes);
        let computed: HashMap<(usize, usize), PortSet> =
            netpol::cmd::matrix::compute(&model, &pods, |m| {
                (0..pods.len())
                    .flat_map(|i| {
                        m.row(i)
                            .iter()
                            .map(|(j, ports)| ((i, j), ports.clone()))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            });

        for (i, a) in pods.iter().enumerate() {
            for (j, b) in pods.iter().enumerate() {
                if i == j {
                    continue;
                }
                let direct = connection(&model, &Endpoint::Pod(a), &Endpoint::Pod(b)).allowed;
                let by_class = cm.get(classes.class_of[i], classes.class_of[j]);
                if *by_class != direct {
                    failures.push(format!(
                        "case {name:?}: {} -> {}: class_matrix {:?}, connection {:?}",
                        a.key(),
                        b.key(),
                        by_class.to_strings(),
                        direct.to_strings()
                    ));
                }
                let from_compute = computed.get(&(i, j)).cloned().unwrap_or_default();
                if from_compute != direct {
                    failures.push(format!(
                        "case {name:?}: {} -> {}: matrix::compute {:?}, connection {:?}",
                        a.key(),
                        b.key(),
                        from_compute.to_strings(),
                        direct.to_strings()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// 12. Validation
// ---------------------------------------------------------------------------

/// The validation errors of one NetworkPolicy document, as displayed.
fn validation_errors(doc: &str) -> Vec<String> {
    let snap = snapshot(doc);
    assert_eq!(snap.policies.len(), 1, "expected one policy in\n{doc}");
    validate::network_policy(&snap.policies[0])
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The validation errors of a policy `default/p` with this spec.
fn spec_errors(spec: &str) -> Vec<String> {
    validation_errors(&policy("default", "p", spec))
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_KEY_NAME_PART: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// How an expected error is compared.
enum Want {
    /// The whole Display string.
    Exact(&'static str),
    /// Only its start (used where the rest is checked by its own test).
    Prefix(&'static str),
    /// Built at run time (long shared messages).
    Owned(String),
}

fn check_errors(cases: Vec<(&str, String, Vec<Want>)>) {
    let mut failures = Vec::new();
    for (name, spec, wants) in cases {
        let got = spec_errors(&spec);
        let ok = got.len() == wants.len()
            && got.iter().zip(&wants).all(|(g, w)| match w {
                Want::Exact(s) => g == s,
                Want::Prefix(s) => g.starts_with(s),
                Want::Owned(s) => g == s,
            });
        if !ok {
            let wants: Vec<String> = wants
                .iter()
                .map(|w| match w {
                    Want::Exact(s) => s.to_string(),
                    Want::Prefix(s) => format!("{s}…"),
                    Want::Owned(s) => s.clone(),
                })
                .collect();
            failures.push(format!(
                "case {name:?}:\n    want {wants:#?}\n    got  {got:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing validation case(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn validation_reports_api_server_field_errors() {
    use Want::{Exact, Owned, Prefix};
    let on_api = "podSelector: {matchLabels: {app: api}}\n";
    let ingress = |rule: &str| format!("{on_api}ingress:\n- {rule}\n");
    let egress = |rule: &str| format!("{on_api}policyTypes: [Egress]\negress:\n- {rule}\n");
    let selector = |sel: &str| format!("podSelector: {sel}\n");
    check_errors(vec![
        (
            "endPort below port",
            ingress("{ports: [{port: 100, endPort: 90}]}"),
            vec![Prefix("spec.ingress[0].ports[0].endPort: Invalid value: ")],
        ),
        (
            "endPort with a named port",
            ingress("{ports: [{port: http, endPort: 90}]}"),
            vec![Exact(
                "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
            )],
        ),
        (
            "port out of range",
            egress("{ports: [{port: 70000}]}"),
            vec![Exact(
                "spec.egress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
            )],
        ),
        (
            "endPort out of range",
            ingress("{ports: [{port: 80, endPort: 65536}]}"),
            vec![Exact(
                "spec.ingress[0].ports[0].endPort: Invalid value: 65536: must be between 1 and 65535, inclusive",
            )],
        ),
        (
            "a cidr that is not one",
            ingress("{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}"),
            vec![Owned(format!(
                "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": {CIDR}"
            ))],
        ),
        (
            "a cidr without a prefix length",
            egress("{to: [{ipBlock: {cidr: 10.0.0.1}}]}"),
            vec![Owned(format!(
                "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.0.0.1\": {CIDR}"
            ))],
        ),
        (
            "an except that is not a CIDR",
            ingress("{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0]}}]}"),
            vec![Owned(format!(
                "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0\": {CIDR}"
            ))],
        ),
        (
            "an except outside the cidr",
            ingress("{from: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.0/24, 10.2.0.0/24]}}]}"),
            vec![Exact(
                "spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: \"10.2.0.0/24\": must be a strict subset of `cidr`",
            )],
        ),
        (
            "an except equal to the cidr",
            ingress("{from: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.0/16]}}]}"),
            vec![Exact(
                "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/16\": must be a strict subset of `cidr`",
            )],
        ),
        (
            "protocol ICMP",
            ingress("{ports: [{port: 80, protocol: ICMP}]}"),
            vec![Prefix(
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: ",
            )],
        ),
        (
            "protocol in lower case",
            ingress("{ports: [{port: 80, protocol: tcp}]}"),
            vec![Prefix(
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"tcp\": supported values: ",
            )],
        ),
        (
            "ipBlock and podSelector in one peer",
            ingress(
                "{from: [{podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {matchLabels: {app: web}}}]}",
            ),
            vec![Exact(
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
            )],
        ),
        (
            "ipBlock and namespaceSelector in one egress peer",
            egress("{to: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}"),
            vec![Exact(
                "spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer",
            )],
        ),
        (
            "an empty peer",
            ingress("{from: [{}]}"),
            vec![Exact(
                "spec.ingress[0].from[0]: Required value: must specify a peer",
            )],
        ),
        (
            "an unknown operator",
            selector("{matchExpressions: [{key: app, operator: Equals, values: [api]}]}"),
            vec![Exact(
                "spec.podSelector.matchExpressions[0].operator: Invalid value: \"Equals\": not a valid selector operator",
            )],
        ),
        (
            "In without values",
            selector("{matchExpressions: [{key: app, operator: In}]}"),
            vec![Exact(
                "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            )],
        ),
        (
            "NotIn with an empty list",
            selector("{matchExpressions: [{key: app, operator: NotIn, values: []}]}"),
            vec![Exact(
                "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            )],
        ),
        (
            "Exists with values",
            selector("{matchExpressions: [{key: app, operator: Exists, values: [api]}]}"),
            vec![Exact(
                "spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )],
        ),
        (
            "an invalid label key in matchLabels",
            selector("{matchLabels: {-app: api}}"),
            vec![Owned(format!(
                "spec.podSelector.matchLabels: Invalid value: \"-app\": {LABEL_KEY_NAME_PART}"
            ))],
        ),
        (
            "an invalid label key in a peer's expression",
            ingress(
                "{from: [{namespaceSelector: {matchExpressions: [{key: 'team name', operator: Exists}]}}]}",
            ),
            vec![Owned(format!(
                "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].key: Invalid value: \"team name\": {LABEL_KEY_NAME_PART}"
            ))],
        ),
        (
            "an invalid label key prefix",
            selector("{matchLabels: {Example.com/app: api}}"),
            vec![Owned(format!(
                "spec.podSelector.matchLabels: Invalid value: \"Example.com/app\": prefix part {DNS1123_SUBDOMAIN}"
            ))],
        ),
        (
            "policyTypes Both",
            format!("{on_api}policyTypes: [Ingress, Both]\n"),
            vec![Prefix(
                "spec.policyTypes[1]: Unsupported value: \"Both\": supported values: ",
            )],
        ),
        (
            "errors are reported in the API server's order",
            format!(
                "{}{}",
                selector("{matchExpressions: [{key: app, operator: In}]}"),
                "ingress:\n- {from: [{}], ports: [{port: 80, endPort: 443, protocol: UDP}, {port: http, endPort: 90}]}\n\
                 egress:\n- {to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}\n",
            ),
            vec![
                Exact(
                    "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                ),
                Exact(
                    "spec.ingress[0].ports[1].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                ),
                Exact("spec.ingress[0].from[0]: Required value: must specify a peer"),
                Exact(
                    "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
                ),
            ],
        ),
        (
            "a valid complex policy",
            dedent(
                r#"
                podSelector:
                  matchLabels: {app.kubernetes.io/name: api}
                  matchExpressions:
                  - {key: tier, operator: In, values: [back, edge]}
                  - {key: canary, operator: DoesNotExist}
                policyTypes: [Ingress, Egress]
                ingress:
                - from:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
                    podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [cache]}]}
                  - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.0/24]}
                  - ipBlock: {cidr: '2001:db8::/32', except: ['2001:db8:1::/48']}
                  ports:
                  - {port: 80}
                  - {port: http, protocol: TCP}
                  - {port: 8000, endPort: 8100}
                  - {protocol: UDP}
                  - {port: 3868, protocol: SCTP}
                - {}
                egress:
                - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
                  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
                - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
                  ports: [{port: 443, endPort: 443}]
                "#,
            ),
            vec![],
        ),
    ]);

    // Metadata is validated too.
    let bad_name = policy("default", "Bad_Name", "podSelector: {}");
    assert_eq!(
        validation_errors(&bad_name),
        vec![format!(
            "metadata.name: Invalid value: \"Bad_Name\": {DNS1123_SUBDOMAIN}"
        )]
    );
    let ok_name = policy("default", "allow-dns.v2", "podSelector: {}");
    assert_eq!(validation_errors(&ok_name), Vec::<String>::new());
}

#[test]
fn invalid_policies_are_set_aside_and_never_evaluated() {
    // Each of these would isolate backend/api for ingress (and so deny
    // web -> api) if it were evaluated.
    let cases = [
        (
            "backend/Bad_Name",
            policy(
                "backend",
                "Bad_Name",
                "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Ingress]",
            ),
            "metadata.name: Invalid value: \"Bad_Name\"",
        ),
        (
            "backend/empty-peer",
            api_ingress("empty-peer", "{from: [{}]}"),
            "spec.ingress[0].from[0]: Required value: must specify a peer",
        ),
        (
            "backend/mixed-peer",
            api_ingress(
                "mixed-peer",
                "{from: [{ipBlock: {cidr: 10.9.0.0/16}, podSelector: {}}]}",
            ),
            "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer",
        ),
        (
            "backend/bad-type",
            policy(
                "backend",
                "bad-type",
                "podSelector: {matchLabels: {app: api}}\npolicyTypes: [Ingress, Both]",
            ),
            "spec.policyTypes[1]: Unsupported value: \"Both\"",
        ),
        (
            "backend/icmp",
            api_ingress("icmp", "{ports: [{protocol: ICMP}]}"),
            "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\"",
        ),
    ];
    let valid = api_ingress(
        "valid",
        "{from: [{namespaceSelector: {}}], ports: [{port: 80}]}",
    );
    for (key, doc, error) in cases {
        // Alone: nothing isolates api.
        let yaml = cluster(std::slice::from_ref(&doc));
        let snap = snapshot(&yaml);
        let model = Model::new(&snap, "default");
        assert!(model.policies.is_empty(), "{key}: compiled anyway");
        assert_eq!(
            model.invalid.len(),
            1,
            "{key}: invalid list {:?}",
            model.invalid
        );
        assert_eq!(model.invalid[0].key, key);
        let errors: Vec<String> = model.invalid[0]
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            errors.iter().any(|e| e.starts_with(error)),
            "{key}: want an error starting with {error:?}, got {errors:?}"
        );
        let api = pod(&snap, "backend/api");
        assert!(
            model.isolating(api, Direction::Ingress).is_empty(),
            "{key}: isolates api"
        );
        assert!(model.selecting(api).is_empty(), "{key}: selects api");
        let out = connection(
            &model,
            &endpoint(&snap, "frontend/web"),
            &endpoint(&snap, "backend/api"),
        );
        assert!(
            out.allowed.is_all(),
            "{key}: web -> api {:?}",
            out.allowed.to_strings()
        );

        // Next to a valid policy: only the valid one counts.
        let yaml = cluster(&[doc, valid.clone()]);
        let snap = snapshot(&yaml);
        let model = Model::new(&snap, "default");
        assert_eq!(model.policies.len(), 1, "{key}");
        assert_eq!(model.policies[0].key(), "backend/valid");
        assert_eq!(model.invalid.len(), 1, "{key}");
        let out = connection(
            &model,
            &endpoint(&snap, "frontend/web"),
            &endpoint(&snap, "backend/api"),
        );
        assert_eq!(out.allowed.to_strings(), vec!["TCP/80"], "{key}");
    }
}

// ---------------------------------------------------------------------------
// Exact API server wording (kubernetes v1.35.4,
// pkg/apis/networking/validation/validation.go and
// apimachinery/pkg/util/validation/field/errors.go)
// ---------------------------------------------------------------------------

#[test]
fn endport_below_port_reports_the_port_as_the_bad_value() {
    // Upstream: field.Invalid(portPath.Child("endPort"), port.Port.IntVal,
    // "must be greater than or equal to `port`") -- the value shown is the
    // port, not the endPort.
    assert_eq!(
        spec_errors("podSelector: {}\ningress:\n- {ports: [{port: 100, endPort: 90}]}\n"),
        vec![
            "spec.ingress[0].ports[0].endPort: Invalid value: 100: must be greater than or equal to `port`"
        ]
    );
}

#[test]
fn unsupported_protocol_lists_values_in_the_api_server_order() {
    // Upstream: field.NotSupported(..., []string{"TCP", "UDP", "SCTP"});
    // NotSupported keeps the order it is given.
    assert_eq!(
        spec_errors("podSelector: {}\ningress:\n- {ports: [{port: 80, protocol: ICMP}]}\n"),
        vec![
            "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\""
        ]
    );
}

#[test]
fn unsupported_policy_type_lists_values_in_the_api_server_order() {
    // Upstream: field.NotSupported(policyPath, pType, []string{"Ingress", "Egress"}).
    assert_eq!(
        spec_errors("podSelector: {}\npolicyTypes: [Both]\n"),
        vec![
            "spec.policyTypes[0]: Unsupported value: \"Both\": supported values: \"Ingress\", \"Egress\""
        ]
    );
}

#[test]
fn endport_without_port_is_an_invalid_endport() {
    // Upstream: field.Invalid(portPath.Child("endPort"), *port.EndPort,
    // "may not be specified when `port` is not specified").
    assert_eq!(
        spec_errors("podSelector: {}\ningress:\n- {ports: [{protocol: TCP, endPort: 90}]}\n"),
        vec![
            "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not specified"
        ]
    );
}

#[test]
fn required_value_without_detail_has_no_trailing_colon() {
    // Upstream: field.Required(fldPath.Child("cidr"), "") and ErrorBody adds
    // ": detail" only when the detail is non-empty.
    assert_eq!(
        spec_errors("podSelector: {}\ningress:\n- {from: [{ipBlock: {cidr: ''}}]}\n"),
        vec!["spec.ingress[0].from[0].ipBlock.cidr: Required value"]
    );
}

#[test]
fn long_label_value_with_multibyte_characters_does_not_panic() {
    // 62 ASCII letters, then a two-byte character straddling byte 63.
    let value = format!("{}é{}", "a".repeat(62), "b".repeat(5));
    let errors = spec_errors(&format!("podSelector: {{matchLabels: {{app: {value}}}}}\n"));
    assert_eq!(
        errors,
        vec![
            format!(
                "spec.podSelector.matchLabels: Invalid value: \"{value}\": must be no more than 63 characters"
            ),
            format!(
                "spec.podSelector.matchLabels: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ),
        ]
    );
}

/// `Model::peer_pods` / `peers_pods` / `selected_pods` answer from indexes
/// (pods by namespace, pod IPs sorted for ipBlock range queries); they must
/// give exactly what filtering every pod with `peer_matches` gives, in the
/// snapshot's order, each pod once (dual-stack pods have two IPs).
#[test]
fn indexed_peer_resolution_agrees_with_peer_matches() {
    let extra = r#"
apiVersion: v1
kind: Pod
metadata: {name: dual, namespace: frontend, labels: {app: web, stack: dual}}
spec: {containers: [{name: main, image: example.org/web}]}
status: {podIP: 10.1.0.12, podIPs: [{ip: 10.1.0.12}, {ip: "fd00::12"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: ops, labels: {app: agent}}
spec: {hostNetwork: true, containers: [{name: main, image: example.org/agent}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: v6-only, namespace: backend, labels: {app: api}}
spec: {containers: [{name: main, image: example.org/api}]}
status: {podIP: "fd00:0:0:1::1"}
"#;
    let peers = policy(
        "frontend",
        "many-peers",
        r#"
        podSelector: {}
        ingress:
        - from:
          - ipBlock: {cidr: 10.0.0.0/8}
          - ipBlock: {cidr: 10.1.0.0/16, except: [10.1.0.10/32, 10.1.0.0/30]}
          - ipBlock: {cidr: "fd00::/64"}
          - ipBlock: {cidr: "fd00::/16", except: ["fd00::12/128"]}
          - ipBlock: {cidr: 0.0.0.0/0}
          - ipBlock: {cidr: 10.2.0.20/32}
          - ipBlock: {cidr: 172.16.0.0/12}
        - from:
          - podSelector: {matchLabels: {app: web}}
          - namespaceSelector: {}
          - namespaceSelector: {matchLabels: {env: prod}}
            podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [db]}]}
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
          - namespaceSelector: {matchLabels: {team: nobody}}
          - podSelector: {matchExpressions: [{key: stack, operator: Exists}]}
        egress:
        - to:
          - ipBlock: {cidr: 10.1.0.0/24}
          - podSelector: {matchLabels: {app: web}}
          - namespaceSelector: {matchLabels: {team: api}}
        - {}
        "#,
    );
    let yaml = cluster(&[peers, extra.to_string(), EXTRA_PODS.to_string()]);
    let snap = snapshot(&yaml);
    let model = valid_model(&snap, "peer resolution");
    let keys = |pods: &[&PodInfo]| pods.iter().map(|p| p.key()).collect::<Vec<_>>();
    let brute = |keep: &dyn Fn(&PodInfo) -> bool| {
        snap.pods
            .iter()
            .filter(|p| keep(p))
            .map(|p| p.key())
            .collect::<Vec<_>>()
    };
    let mut checked = 0;
    for p in &model.policies {
        assert_eq!(
            keys(&model.selected_pods(p)),
            brute(&|pod| pod.namespace == p.namespace && p.pod_selector.matches(&pod.labels)),
            "selected_pods of {}",
            p.key()
        );
        for d in Direction::BOTH {
            for rule in p.rules(d).unwrap_or_default() {
                for peer in rule.peers.iter().flatten() {
                    let want = brute(&|pod| {
                        netpol::engine::verdict::peer_matches(&model, peer, &Endpoint::Pod(pod)).0
                    });
                    assert_eq!(keys(&model.peer_pods(peer)), want, "peer {peer:?}");
                    checked += 1;
                }
                let want = brute(&|pod| {
                    rule.peers.as_ref().is_none_or(|peers| {
                        peers.iter().any(|peer| {
                            netpol::engine::verdict::peer_matches(&model, peer, &Endpoint::Pod(pod))
                                .0
                        })
                    })
                });
                assert_eq!(
                    keys(&model.peers_pods(rule.peers.as_deref())),
                    want,
                    "rule peers {:?}",
                    rule.peers
                );
            }
        }
    }
    assert_eq!(checked, 16, "every peer of the fixture was compared");
    // The fixture exercises what the indexes could get wrong.
    let block = |cidr: &str| {
        model
            .policies
            .iter()
            .flat_map(|p| p.peers())
            .find_map(|peer| match peer {
                netpol::engine::policy::Peer::IpBlock(b) if b.cidr.to_string() == cidr => {
                    Some(keys(&model.pods_in_block(b)))
                }
                _ => None,
            })
            .unwrap()
    };
    assert!(block("0.0.0.0/0").contains(&"frontend/dual".to_string()));
    assert_eq!(
        block("fd00::/64"),
        vec!["frontend/dual".to_string()],
        "v6 range"
    );
    assert_eq!(
        block("10.1.0.0/16"),
        vec![
            "frontend/cache".to_string(),
            "frontend/dual".to_string(),
            "frontend/web-2".to_string()
        ],
        "except removes 10.1.0.10 and the /30 holding the host-network pod's 10.1.0.1"
    );
}

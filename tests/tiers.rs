//! Table-driven tests of the cluster policy tiers (ClusterNetworkPolicy
//! v1alpha2, AdminNetworkPolicy / BaselineAdminNetworkPolicy v1alpha1)
//! through `verdict::connection`, on the cluster of
//! `tests/fixtures/tiers/cluster.yaml`:
//!
//! | pod          | namespace labels | IP         | node (labels)              | ports                         |
//! |--------------|------------------|------------|----------------------------|-------------------------------|
//! | prod/web     | env=prod         | 10.0.1.1   | node-a (role=worker)       | http 8080/TCP, admin 9000/TCP |
//! | prod/db      | env=prod         | 10.0.1.2   | node-a                     | pg 5432/TCP                   |
//! | dev/tool     | env=dev          | 10.0.2.1   | node-a                     | none                          |
//! | dev/agent    | env=dev          | 172.16.0.2 | node-b (role=control-plane), hostNetwork | none          |
//! | elsewhere/ghost | not read      | 10.0.3.1   | node-a                     | none                          |
//!
//! Each case lists connections with the ports certainly allowed and the
//! ports possibly allowed (equal when the answer is decided).

use std::net::IpAddr;

use netpol::engine::Model;
use netpol::engine::ports::{PortSet, Protocol};
use netpol::engine::tier::{Action, Tier};
use netpol::engine::verdict::{Endpoint, Verdict, connection};
use netpol::snapshot::Snapshot;
use netpol::source::files::load_str;

const ALL: &[&str] = &["TCP/all", "UDP/all", "SCTP/all"];
const NONE: &[&str] = &[];
/// Every port but TCP/8080.
const ALL_BUT_8080: &[&str] = &["TCP/1-8079", "TCP/8081-65535", "UDP/all", "SCTP/all"];

fn cluster(docs: &[String]) -> String {
    let base = include_str!("fixtures/tiers/cluster.yaml");
    let mut all = vec![base.to_string()];
    all.extend(docs.iter().cloned());
    all.join("\n---\n")
}

/// A ClusterNetworkPolicy (v1alpha2): `rules` is the YAML of `ingress:` /
/// `egress:` lines inside `spec`.
fn cnp(name: &str, tier: &str, priority: u32, subject: &str, rules: &str) -> String {
    format!(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n  subject: {subject}\n{rules}"
    )
}

fn np(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {spec}"
    )
}

const PROD: &str = "{namespaces: {matchLabels: {env: prod}}}";
const DEV: &str = "{namespaces: {matchLabels: {env: dev}}}";
const FROM_DEV: &str = "[{namespaces: {matchLabels: {env: dev}}}]";

fn snapshot(yaml: &str) -> Snapshot {
    load_str("tiers.yaml", yaml, "default").unwrap_or_else(|e| panic!("does not load: {e}"))
}

fn endpoint<'s>(snap: &'s Snapshot, spec: &str) -> Endpoint<'s> {
    match spec.parse::<IpAddr>() {
        Ok(ip) => Endpoint::External(ip),
        Err(_) => Endpoint::Pod(
            snap.pods
                .iter()
                .find(|p| p.key() == spec)
                .unwrap_or_else(|| panic!("no pod {spec}")),
        ),
    }
}

fn verdict(model: &Model<'_>, snap: &Snapshot, from: &str, to: &str) -> Verdict {
    connection(model, &endpoint(snap, from), &endpoint(snap, to))
}

/// (from, to, allowed, possible)
type Check<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str]);

fn run_cases(cases: &[(&str, Vec<String>, &[Check])]) {
    let mut failures = Vec::new();
    for (name, docs, checks) in cases {
        let snap = snapshot(&cluster(docs));
        let model = Model::new(&snap, "default");
        assert!(
            model.invalid.is_empty(),
            "case {name:?}: {:?}",
            model.invalid
        );
        let invalid_expected = name.starts_with("invalid");
        assert_eq!(
            model.cluster_invalid.is_empty(),
            !invalid_expected,
            "case {name:?}: {:?}",
            model.cluster_invalid
        );
        for (from, to, want, possible) in checks.iter() {
            let v = verdict(&model, &snap, from, to);
            let got = (v.allowed.to_strings(), v.possible.to_strings());
            if got.0 != *want || got.1 != *possible {
                failures.push(format!(
                    "case {name:?}: {from} -> {to}: want {want:?} (possible {possible:?}), got {:?} (possible {:?})",
                    got.0, got.1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn admin_tier_decides_first() {
    let deny_dev = cnp(
        "deny-dev",
        "Admin",
        10,
        PROD,
        &format!("  ingress: [{{action: Deny, from: {FROM_DEV}}}]"),
    );
    let prod_isolated = np("prod", "deny-all", "{podSelector: {}}");
    let accept_8080 = cnp(
        "accept-8080",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress: [{{action: Accept, from: {FROM_DEV}, protocols: [{{tcp: {{destinationPort: {{number: 8080}}}}}}]}}]"
        ),
    );
    run_cases(&[
        (
            "no cluster policy: NetworkPolicy alone",
            vec![],
            &[("dev/tool", "prod/web", ALL, ALL)],
        ),
        (
            "an Admin Deny is final",
            vec![deny_dev.clone()],
            &[
                ("dev/tool", "prod/web", NONE, NONE),
                ("prod/db", "prod/web", ALL, ALL),
                // Not a subject: dev's own ingress is untouched.
                ("prod/web", "dev/tool", ALL, ALL),
            ],
        ),
        (
            "an Admin Accept is final over NetworkPolicy's implicit deny",
            vec![accept_8080, prod_isolated.clone()],
            &[
                ("dev/tool", "prod/web", &["TCP/8080"], &["TCP/8080"]),
                ("prod/db", "prod/web", NONE, NONE),
            ],
        ),
        (
            "an Admin Deny is not undone by a NetworkPolicy allow",
            vec![
                deny_dev,
                np(
                    "prod",
                    "allow-dev",
                    "{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {env: dev}}}]}]}",
                ),
            ],
            &[("dev/tool", "prod/web", NONE, NONE)],
        ),
    ]);
}

#[test]
fn priorities_rule_order_and_pass() {
    let deny_8080_first = cnp(
        "deny-8080",
        "Admin",
        5,
        PROD,
        &format!(
            "  ingress: [{{action: Deny, from: {FROM_DEV}, protocols: [{{tcp: {{destinationPort: {{number: 8080}}}}}}]}}]"
        ),
    );
    let accept_later = cnp(
        "accept-dev",
        "Admin",
        10,
        PROD,
        &format!("  ingress: [{{action: Accept, from: {FROM_DEV}}}]"),
    );
    let rule_order = cnp(
        "ordered",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress:\n  - {{action: Accept, from: {FROM_DEV}, protocols: [{{tcp: {{destinationPort: {{range: {{start: 9000, end: 9001}}}}}}}}]}}\n  - {{action: Deny, from: {FROM_DEV}}}"
        ),
    );
    let pass_dev = cnp(
        "pass-dev",
        "Admin",
        1,
        PROD,
        &format!("  ingress: [{{action: Pass, from: {FROM_DEV}}}]"),
    );
    let deny_dev_later = cnp(
        "deny-dev",
        "Admin",
        20,
        PROD,
        &format!("  ingress: [{{action: Deny, from: {FROM_DEV}}}]"),
    );
    let np_allow_8080 = np(
        "prod",
        "allow-8080",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 8080}]}]}",
    );
    run_cases(&[
        (
            "a lower priority number is evaluated first",
            vec![accept_later.clone(), deny_8080_first],
            &[("dev/tool", "prod/web", ALL_BUT_8080, ALL_BUT_8080)],
        ),
        (
            "rules in written order: the first match decides",
            vec![rule_order],
            &[(
                "dev/tool",
                "prod/web",
                &["TCP/9000-9001"],
                &["TCP/9000-9001"],
            )],
        ),
        (
            "Pass skips the rest of the Admin tier: default allow",
            vec![pass_dev.clone(), deny_dev_later.clone()],
            &[("dev/tool", "prod/web", ALL, ALL)],
        ),
        (
            "Pass hands the port to NetworkPolicy, whose implicit deny is final",
            vec![pass_dev, deny_dev_later, np_allow_8080],
            &[
                ("dev/tool", "prod/web", &["TCP/8080"], &["TCP/8080"]),
                // prod/db is not selected by the NetworkPolicy: the Admin
                // Pass leads to the default.
                ("dev/tool", "prod/db", ALL, ALL),
            ],
        ),
    ]);
}

#[test]
fn baseline_tier_only_without_network_policy() {
    let baseline_deny = cnp(
        "baseline-deny",
        "Baseline",
        10,
        PROD,
        "  ingress: [{action: Deny, from: [{namespaces: {}}]}]",
    );
    let baseline_pass = cnp(
        "baseline-pass",
        "Baseline",
        10,
        PROD,
        &format!(
            "  ingress:\n  - {{action: Pass, from: {FROM_DEV}}}\n  - {{action: Deny, from: [{{namespaces: {{}}}}]}}"
        ),
    );
    let np_web_from_dev = np(
        "prod",
        "web-from-dev",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {matchLabels: {env: dev}}}]}]}",
    );
    run_cases(&[
        (
            "Baseline decides pods no NetworkPolicy selects",
            vec![baseline_deny.clone()],
            &[
                ("dev/tool", "prod/web", NONE, NONE),
                ("prod/db", "prod/web", NONE, NONE),
                // namespaces peers never match host-network pods.
                ("dev/agent", "prod/web", ALL, ALL),
            ],
        ),
        (
            "a NetworkPolicy selecting the pod takes over from Baseline",
            vec![baseline_deny, np_web_from_dev],
            &[
                ("dev/tool", "prod/web", ALL, ALL),
                ("prod/db", "prod/web", NONE, NONE),
                ("dev/tool", "prod/db", NONE, NONE),
            ],
        ),
        (
            "a Baseline Pass is the default: allowed",
            vec![baseline_pass],
            &[
                ("dev/tool", "prod/web", ALL, ALL),
                ("prod/db", "prod/web", NONE, NONE),
            ],
        ),
    ]);
}

#[test]
fn both_sides_are_needed() {
    let egress_accept = cnp(
        "dev-out",
        "Admin",
        10,
        DEV,
        "  egress: [{action: Accept, to: [{namespaces: {}}]}]",
    );
    let egress_deny = cnp(
        "dev-no-out",
        "Admin",
        10,
        DEV,
        "  egress: [{action: Deny, to: [{namespaces: {matchLabels: {env: prod}}}]}]",
    );
    run_cases(&[
        (
            "an egress Accept does not bypass the destination's ingress",
            vec![egress_accept, np("prod", "deny-all", "{podSelector: {}}")],
            &[("dev/tool", "prod/web", NONE, NONE)],
        ),
        (
            "an egress Deny blocks what the destination allows",
            vec![egress_deny],
            &[
                ("dev/tool", "prod/web", NONE, NONE),
                // Host-network pods are never subjects.
                ("dev/agent", "prod/web", ALL, ALL),
            ],
        ),
    ]);
}

#[test]
fn equal_priorities_in_conflict_are_undefined() {
    let accept = cnp(
        "accept-dev",
        "Admin",
        10,
        PROD,
        &format!("  ingress: [{{action: Accept, from: {FROM_DEV}}}]"),
    );
    let deny = cnp(
        "deny-dev",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress: [{{action: Deny, from: {FROM_DEV}, protocols: [{{tcp: {{destinationPort: {{number: 8080}}}}}}]}}]"
        ),
    );
    let deny_udp = cnp(
        "deny-udp",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress: [{{action: Deny, from: {FROM_DEV}, protocols: [{{udp: {{destinationPort: {{range: {{start: 1, end: 65535}}}}}}}}]}}]"
        ),
    );
    let deny_tcp = cnp(
        "deny-tcp",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress: [{{action: Deny, from: {FROM_DEV}, protocols: [{{tcp: {{destinationPort: {{range: {{start: 1, end: 65535}}}}}}}}]}}]"
        ),
    );
    run_cases(&[
        (
            "Accept and Deny at one priority on TCP/8080: undecided there",
            vec![accept.clone(), deny.clone()],
            &[("dev/tool", "prod/web", ALL_BUT_8080, ALL)],
        ),
        (
            "equal priorities that do not overlap all apply",
            vec![deny_udp, deny_tcp],
            &[("dev/tool", "prod/web", &["SCTP/all"], &["SCTP/all"])],
        ),
    ]);
    // The verdict names both rules.
    let snap = snapshot(&cluster(&[accept, deny]));
    let model = Model::new(&snap, "default");
    let v = verdict(&model, &snap, "dev/tool", "prod/web");
    let tiers = v.ingress.tiers.as_ref().expect("tiers evaluated");
    assert_eq!(tiers.conflicts.len(), 1);
    let c = &tiers.conflicts[0];
    assert_eq!((c.tier, c.priority), (Tier::Admin, Some(10)));
    assert_eq!(c.ports.to_strings(), vec!["TCP/8080"]);
    let mut names: Vec<(&str, Action)> = c
        .steps
        .iter()
        .map(|&s| {
            let step = &tiers.steps[s];
            (
                model.cluster_policies[step.policy].name.as_str(),
                step.action,
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![("accept-dev", Action::Accept), ("deny-dev", Action::Deny)]
    );
    assert!(
        v.ingress
            .undefined_on(&PortSet::single(Protocol::Tcp, 8080))
    );
    assert!(!v.ingress.undefined_on(&PortSet::single(Protocol::Tcp, 80)));
}

#[test]
fn peers_networks_nodes_named_ports_and_domains() {
    let deny_net = cnp(
        "no-prod-net",
        "Admin",
        10,
        DEV,
        "  egress: [{action: Deny, to: [{networks: [10.0.1.0/24]}]}]",
    );
    let deny_cp = cnp(
        "no-control-plane",
        "Admin",
        10,
        PROD,
        "  egress: [{action: Deny, to: [{nodes: {matchLabels: {role: control-plane}}}]}]",
    );
    let deny_http = cnp(
        "no-http",
        "Admin",
        10,
        PROD,
        &format!(
            "  ingress: [{{action: Deny, from: {FROM_DEV}, protocols: [{{destinationNamedPort: http}}]}}]"
        ),
    );
    let domains = cnp(
        "allowlist",
        "Admin",
        10,
        DEV,
        "  egress:\n  - {action: Accept, to: [{domainNames: [example.com]}]}\n  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}",
    );
    run_cases(&[
        (
            "networks match pod IPs and addresses",
            vec![deny_net],
            &[
                ("dev/tool", "prod/web", NONE, NONE),
                ("dev/tool", "10.0.1.99", NONE, NONE),
                ("dev/tool", "8.8.8.8", ALL, ALL),
                ("dev/tool", "elsewhere/ghost", ALL, ALL),
            ],
        ),
        (
            "nodes match node addresses and the host-network pods on them",
            vec![deny_cp],
            &[
                ("prod/web", "172.16.0.2", NONE, NONE),
                ("prod/web", "dev/agent", NONE, NONE),
                ("prod/web", "dev/tool", ALL, ALL),
            ],
        ),
        (
            "a named port resolves on the destination with its protocol",
            vec![deny_http],
            &[
                ("dev/tool", "prod/web", ALL_BUT_8080, ALL_BUT_8080),
                ("dev/tool", "prod/db", ALL, ALL),
            ],
        ),
        (
            "domainNames cannot be decided offline",
            vec![domains],
            &[
                ("dev/tool", "8.8.8.8", NONE, ALL),
                ("dev/tool", "prod/web", NONE, ALL),
            ],
        ),
    ]);
}

#[test]
fn unknown_namespace_labels_and_invalid_policies_are_undecided() {
    let deny_prod = cnp(
        "deny-prod",
        "Admin",
        10,
        "{namespaces: {matchLabels: {env: prod}}}",
        "  ingress: [{action: Deny, from: [{namespaces: {}}]}]",
    );
    let invalid = cnp(
        "too-high",
        "Admin",
        2000,
        PROD,
        "  ingress: [{action: Deny, from: [{namespaces: {}}]}]",
    );
    run_cases(&[
        (
            "a subject on labels of a namespace not read",
            vec![deny_prod],
            &[
                ("dev/tool", "prod/web", NONE, NONE),
                ("dev/tool", "elsewhere/ghost", NONE, ALL),
                ("dev/tool", "dev/tool", ALL, ALL),
            ],
        ),
        (
            "invalid: a cluster policy the API rejects makes what it may decide undecided",
            vec![invalid],
            &[
                ("dev/tool", "prod/web", NONE, ALL),
                // Not a subject: unaffected.
                ("prod/web", "dev/tool", ALL, ALL),
            ],
        ),
    ]);
}

#[test]
fn v1alpha1_maps_onto_the_tiers() {
    let anp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: old-admin}\nspec:\n  priority: 10\n  subject: {pods: {namespaceSelector: {matchLabels: {env: prod}}, podSelector: {matchLabels: {app: web}}}}\n  ingress:\n  - {action: Allow, from: [{namespaces: {matchLabels: {env: dev}}}], ports: [{portNumber: {port: 8080}}, {portRange: {protocol: UDP, start: 5000, end: 5001}}]}\n  - {action: Pass, from: [{namespaces: {matchLabels: {env: dev}}}], ports: [{namedPort: admin}]}\n  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}".to_string();
    let banp = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]".to_string();
    let snap = snapshot(&cluster(&[anp.clone(), banp.clone()]));
    let model = Model::new(&snap, "default");
    let tiers: Vec<(Tier, Option<u32>)> = model
        .cluster_policies
        .iter()
        .map(|p| (p.tier, p.priority))
        .collect();
    assert_eq!(tiers, vec![(Tier::Admin, Some(10)), (Tier::Baseline, None)]);
    run_cases(&[(
        "AdminNetworkPolicy Allow = Accept, Pass to the Baseline (no NetworkPolicy)",
        vec![anp, banp],
        &[
            // 8080 and UDP 5000-5001 allowed by the ANP; 9000 (admin)
            // passed to the BANP, which denies; the rest denied by the ANP.
            (
                "dev/tool",
                "prod/web",
                &["TCP/8080", "UDP/5000-5001"],
                &["TCP/8080", "UDP/5000-5001"],
            ),
            ("prod/web", "dev/tool", NONE, NONE),
        ],
    )]);
}

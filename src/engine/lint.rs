//! Gotchas: policies that are valid but almost certainly do not do what
//! their author meant, each with a stable check id, a severity, the field
//! path, a plain message, and where possible the corrected YAML.
//!
//! Checks look at the compiled policies together with the pods, namespaces
//! and Services of the snapshot, and use the verdict engine itself where a
//! question is semantic (does this pod still reach DNS?).

pub mod cni;
pub mod dns;
mod hostnet;
mod ipblock;
mod tiers;
mod types;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer, Policy, PortSpec, PortValue, Rule};
use crate::engine::ports::Protocol;
use crate::snapshot::{NAMESPACE_NAME_LABEL, PodInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// Every check, with its default severity and what it finds.
pub const CHECKS: &[(&str, Severity, &str)] = &[
    (
        "namespace-selector-typo",
        Severity::Error,
        "a namespaceSelector on a `name` label no namespace has, where a namespace of that name exists",
    ),
    (
        "namespace-selector-matches-nothing",
        Severity::Warning,
        "a namespaceSelector that matches no namespace",
    ),
    (
        "pod-selector-matches-nothing",
        Severity::Warning,
        "a policy whose podSelector selects no pod",
    ),
    (
        "peer-matches-nothing",
        Severity::Warning,
        "a peer that matches no pod",
    ),
    (
        "egress-blocks-dns",
        Severity::Error,
        "egress isolation with no rule admitting DNS (UDP/53) to the cluster's DNS pods",
    ),
    (
        "dns-udp-only",
        Severity::Warning,
        "DNS allowed on UDP but not TCP (large answers fall back to TCP)",
    ),
    (
        "named-port-missing",
        Severity::Warning,
        "a named port that no selected (ingress) or destination (egress) pod declares with that protocol",
    ),
    (
        "service-port-used",
        Severity::Warning,
        "a Service port where the pods' container port (the Service's targetPort) is meant",
    ),
    (
        "egress-rules-without-policy-types",
        Severity::Warning,
        "policyTypes omitted on an egress-only policy, which then also denies all ingress",
    ),
    (
        "egress-type-without-rules",
        Severity::Warning,
        "Egress in policyTypes with no egress rules next to ingress rules: all egress denied, DNS included",
    ),
    (
        "split-peer",
        Severity::Warning,
        "a namespaceSelector item and a podSelector item that were probably meant as one peer (AND), not two (OR)",
    ),
    (
        "split-rule",
        Severity::Warning,
        "a rule with only ports right after a rule with only peers: probably one rule split in two",
    ),
    (
        "redundant-rule",
        Severity::Info,
        "a rule that another rule for the same pods fully covers",
    ),
    (
        "duplicate-policy",
        Severity::Warning,
        "two policies in one namespace that are exactly the same",
    ),
    (
        "ipblock-selects-pods",
        Severity::Warning,
        "an ipBlock whose range contains pod IPs (pod IPs change: select pods instead)",
    ),
    (
        "egress-to-metadata",
        Severity::Warning,
        "egress to 0.0.0.0/0 (or any range holding 169.254.169.254) without excepting the cloud metadata address",
    ),
    (
        "rules-outside-policy-types",
        Severity::Warning,
        "rules in a direction that policyTypes leaves out: they have no effect",
    ),
    (
        "empty-egress-without-policy-types",
        Severity::Warning,
        "an empty `egress` (or a policy named for egress) with policyTypes omitted: it denies ingress and leaves egress open",
    ),
    (
        "ipblock-unusable-range",
        Severity::Error,
        "an ipBlock inside 0.0.0.0/8 (but not 0.0.0.0/0), 127.0.0.0/8, ::/8 (but not ::/0) or fe80::/10, or inside 169.254.0.0/16 without holding 169.254.169.254, 169.254.20.10 or 169.254.170.2 (metadata, NodeLocal DNSCache, ECS agent: deliberate): the peer admits nothing",
    ),
    (
        "ipblock-ipv4-mapped",
        Severity::Warning,
        "an IPv4-mapped IPv6 ipBlock CIDR (::ffff:10.0.0.5/128): the API server reads it as IPv4 (10.0.0.5/32); write that",
    ),
    (
        "ipblock-host-bits",
        Severity::Warning,
        "an ipBlock CIDR with bits set beyond its prefix (10.0.0.5/8): the API server reads it as the whole network",
    ),
    (
        "ipblock-cni-dependent",
        Severity::Info,
        "an ipBlock of every address (0.0.0.0/0) that holds pod IPs: whether it admits pods depends on the CNI",
    ),
    (
        "host-network-peer",
        Severity::Warning,
        "a rule meant for host-network pods, which pod selectors do not reach: allow their node addresses instead",
    ),
    (
        "policy-without-namespace",
        Severity::Warning,
        "a policy in a manifest without metadata.namespace: it lands in whatever namespace is current",
    ),
    (
        "invalid-policy",
        Severity::Error,
        "a policy the API server would reject (validation or strict decoding)",
    ),
    (
        "tier-pass-in-baseline",
        Severity::Warning,
        "a Pass rule in the Baseline tier: it skips the rest of the tier to the default (allowed), so it acts as Accept",
    ),
    (
        "tier-domain-names-deny",
        Severity::Warning,
        "domainNames in a Deny or Pass rule: implementations support them in Accept rules only",
    ),
    (
        "tier-equal-priority",
        Severity::Warning,
        "two cluster policies of one tier and one priority applying to the same pod: their order is left to the implementation",
    ),
    (
        "tier-baseline-never-applies",
        Severity::Warning,
        "a Baseline policy whose every subject pod a NetworkPolicy isolates in that direction: its rules never apply there",
    ),
    (
        "tier-shadowed-rule",
        Severity::Warning,
        "a cluster policy rule no connection reaches: an earlier rule (of the policy, or of a policy evaluated first for all its pods) matches every peer and port it matches",
    ),
    (
        "tier-unusable-selector",
        Severity::Warning,
        "a cluster policy label selector the API server accepts but no implementation can convert (a bad key, value or operator, In without values): what it selects is unknown",
    ),
    (
        "tier-reversed-port-range",
        Severity::Warning,
        "an AdminNetworkPolicy or BaselineAdminNetworkPolicy portRange whose start is above its end: the CRD accepts it, and what it matches is unknown",
    ),
];

/// The checks whose message depends on the CNI (see [`LintOptions::cni`]):
/// a command that shows their findings reads the CNI evidence only when
/// one is found, then lints again with it.
pub const CNI_DEPENDENT: [&str; 3] = [
    "ipblock-selects-pods",
    "ipblock-cni-dependent",
    "host-network-peer",
];

/// Whether some finding's message depends on the CNI.
pub fn depends_on_cni(findings: &[Finding]) -> bool {
    findings.iter().any(|f| {
        CNI_DEPENDENT.contains(&f.check)
            || (f.check == "named-port-missing" && f.message.contains(cni::INIT_ONLY))
    })
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    /// `namespace/name` of the policy.
    pub object: String,
    /// Field path inside the object, e.g. `spec.ingress[1].from[0]`.
    pub path: Option<String>,
    pub message: String,
    /// The corrected YAML fragment, where one exists.
    pub hint: Option<String>,
    /// Set when the check could not be made because what it needs could
    /// not be read (RBAC): what and why. Such a finding is `info`, says
    /// `not checked: ...`, and never counts toward `--fail-on`.
    #[serde(rename = "notChecked")]
    pub not_checked: Option<String>,
}

impl Finding {
    /// Whether this finding is a check that could not be made (see
    /// [`Finding::not_checked`]), not something found.
    pub fn is_not_checked(&self) -> bool {
        self.not_checked.is_some()
    }
}

/// Which checks run, and what is known of the cluster beyond the snapshot.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// When non-empty, only these checks run.
    pub enable: Vec<String>,
    pub disable: Vec<String>,
    /// The CNI `check` found (default: unknown), for the notes on what the
    /// API leaves to the implementation (ipBlock and pod or node IPs).
    pub cni: cni::CniFacts,
}

impl LintOptions {
    fn on(&self, check: &str) -> bool {
        (self.enable.is_empty() || self.enable.iter().any(|c| c == check))
            && !self.disable.iter().any(|c| c == check)
    }
}

fn severity_of(check: &str) -> Severity {
    CHECKS
        .iter()
        .find(|(id, _, _)| *id == check)
        .map_or(Severity::Warning, |(_, s, _)| *s)
}

struct Out<'o> {
    opts: &'o LintOptions,
    findings: Vec<Finding>,
}

impl Out<'_> {
    fn push(
        &mut self,
        check: &'static str,
        p: &Policy,
        path: Option<String>,
        message: String,
        hint: Option<String>,
    ) {
        if self.opts.on(check) {
            self.findings.push(Finding {
                check,
                severity: severity_of(check),
                object: p.key(),
                path,
                message,
                hint,
                not_checked: None,
            });
        }
    }

    /// Says that `check` could not be made for `p` because `what` (the
    /// objects it needs) could not be read, for the reason `why`: an info
    /// finding, `not checked: <what> is not readable (<why>)`. One per
    /// check, policy and path.
    fn not_checked(
        &mut self,
        check: &'static str,
        p: &Policy,
        path: Option<String>,
        what: &str,
        why: &str,
    ) {
        if !self.opts.on(check) {
            return;
        }
        let object = p.key();
        if self
            .findings
            .iter()
            .any(|f| f.check == check && f.object == object && f.path == path && f.is_not_checked())
        {
            return;
        }
        self.findings.push(Finding {
            check,
            severity: Severity::Info,
            object,
            path,
            message: format!("not checked: {what} is not readable ({why})"),
            hint: None,
            not_checked: Some(format!("{what}: {why}")),
        });
    }
}

/// Which cluster-scoped policies (ClusterNetworkPolicy and its
/// predecessors) a lint reports on. They have no namespace, so a
/// namespace's scope takes those that may apply to its pods.
#[derive(Debug, Clone, Copy)]
pub enum ClusterScope<'s> {
    /// None of them (a command about NetworkPolicies only).
    Nothing,
    /// Every one (`-A`, manifests linted whole).
    All,
    /// Those named `kind/name` (lowercase kind, as [`Finding::object`]).
    Named(&'s BTreeSet<String>),
    /// Those whose subject may select pods of this namespace (its labels
    /// unknown: may), with what the checks say about pods narrowed to
    /// this namespace's: the rest of the cluster cannot change them.
    Namespace(&'s str),
}

impl ClusterScope<'_> {
    /// Whether the cluster policy `reference` (`kind/name`) with this
    /// subject (`None`: unknown, an invalid object's) is in scope.
    pub fn includes(
        &self,
        model: &Model<'_>,
        reference: &str,
        subject: Option<&crate::engine::tier::Subject>,
    ) -> bool {
        match self {
            ClusterScope::Nothing => false,
            ClusterScope::All => true,
            ClusterScope::Named(names) => names.contains(reference),
            ClusterScope::Namespace(ns) => subject.is_none_or(|s| {
                crate::engine::tier::eval::subject_in_namespace(model, s, ns) != Some(false)
            }),
        }
    }

    /// Whether findings may be about `pod` (a namespace's scope: only its
    /// own pods).
    pub fn pod_in(&self, pod: &PodInfo) -> bool {
        match self {
            ClusterScope::Namespace(ns) => pod.namespace == *ns,
            _ => true,
        }
    }
}

/// Runs the enabled checks over the valid policies of `model` for which
/// `in_scope` holds (the others still count as context, e.g. for DNS),
/// reports the invalid ones for which `in_scope_key(namespace, key)`
/// holds, and checks the cluster policies `cluster` takes.
pub fn lint(
    model: &Model<'_>,
    opts: &LintOptions,
    in_scope: &dyn Fn(&Policy) -> bool,
    in_scope_key: &dyn Fn(&str, &str) -> bool,
    cluster: ClusterScope<'_>,
) -> Vec<Finding> {
    let mut out = Out {
        opts,
        findings: Vec::new(),
    };
    // The DNS pods, found once for every policy with egress.
    let dns_pods = std::cell::OnceCell::new();
    for (pi, p) in model.policies.iter().enumerate() {
        if !in_scope(p) {
            continue;
        }
        // Host-network pods are their node's address: no policy isolates
        // them, so no check counts or lists them (`selectors` says when a
        // policy selects only such pods).
        let selected = model.isolated_pods(p);
        selectors(model, p, &selected, &mut out);
        policy_types(model, pi, &mut out);
        types::rules_outside(model, pi, &mut out);
        types::empty_egress(model, pi, &mut out);
        split(model, pi, &mut out);
        named_ports(model, p, &selected, &mut out);
        service_ports(model, p, &selected, &mut out);
        ip_blocks(model, p, &mut out);
        ipblock::ranges(model, pi, &mut out);
        ipblock::everything_with_pods(model, pi, &mut out);
        hostnet::host_network_peers(model, pi, &mut out);
        dns::dns(model, p, &selected, &dns_pods, &mut out);
        if model.snapshot.namespaceless.contains(&p.key()) {
            out.push(
                "policy-without-namespace",
                p,
                Some("metadata.namespace".into()),
                format!(
                    "the manifest names no namespace: `kubectl apply` puts the policy in the current namespace (here read as {:?}), wherever that is",
                    p.namespace
                ),
                Some(format!("metadata:\n  name: {}\n  namespace: {}", p.name, p.namespace)),
            );
        }
    }
    redundancy(model, in_scope, &mut out);
    for bad in &model.invalid {
        if !in_scope_key(&bad.namespace, &bad.key) || !out.opts.on("invalid-policy") {
            continue;
        }
        out.findings
            .push(invalid_finding(bad.key.clone(), "policy", &bad.errors));
    }
    tiers::tiers(model, cluster, &mut out);
    // Cluster-scoped policies, known as `kind/name`.
    for bad in &model.cluster_invalid {
        let key = bad.reference();
        if !cluster.includes(model, &key, bad.subject.as_ref()) || !out.opts.on("invalid-policy") {
            continue;
        }
        out.findings
            .push(invalid_finding(key, &bad.kind, &bad.errors));
    }
    let mut findings = out.findings;
    findings.sort_by(|a, b| {
        (b.severity, &a.object, &a.path, a.check).cmp(&(a.severity, &b.object, &b.path, b.check))
    });
    findings
}

/// The `invalid-policy` finding of `object` (a `what`: `policy`, or a
/// cluster policy's kind): the API server's errors, the first one's path.
fn invalid_finding(
    object: String,
    what: &str,
    errors: &[crate::engine::validate::FieldError],
) -> Finding {
    Finding {
        check: "invalid-policy",
        severity: severity_of("invalid-policy"),
        object,
        path: errors.first().map(|e| e.path.clone()),
        message: format!(
            "the API server would reject this {what}: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        hint: None,
        not_checked: None,
    }
}

/// `spec.ingress[1].from[0]`.
fn peer_path(d: Direction, rule: usize, peer: usize) -> String {
    format!("spec.{}[{rule}].{}[{peer}]", d.field(), d.peer_field(),)
}

fn rules_of(p: &Policy) -> impl Iterator<Item = (Direction, usize, &Rule)> {
    Direction::BOTH.into_iter().flat_map(move |d| {
        p.rules(d)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(i, r)| (d, i, r))
    })
}

fn labels_yaml(labels: &[(&str, &str)], indent: usize) -> String {
    let pad = " ".repeat(indent);
    labels
        .iter()
        .map(|(k, v)| format!("{pad}{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn selectors(model: &Model<'_>, p: &Policy, selected: &[&PodInfo], out: &mut Out<'_>) {
    let gaps = &model.snapshot.gaps;
    // A namespace without a single pod in the input (a directory of
    // policies only) says nothing about what its selectors match.
    let has_pods = |ns: &str| !model.pods_in(ns).is_empty();
    if selected.is_empty()
        && let Some(why) = gaps.pods_refused_in(&p.namespace)
    {
        out.not_checked(
            "pod-selector-matches-nothing",
            p,
            Some("spec.podSelector".into()),
            &format!("the pod list of namespace {:?}", p.namespace),
            why,
        );
    }
    if selected.is_empty() && gaps.pods_unknown_in(&p.namespace).is_none() && has_pods(&p.namespace)
    {
        let host: Vec<String> = model
            .selected_pods(p)
            .iter()
            .filter(|pod| pod.on_host_network())
            .map(|pod| pod.key())
            .collect();
        let sel = selector_text(&p.pod_selector.render());
        let message = if host.is_empty() {
            format!(
                "podSelector {sel} selects no pod in namespace {:?}: the policy does nothing today",
                p.namespace
            )
        } else {
            format!(
                "podSelector {sel} selects only host-network pods in namespace {:?} ({}), which no NetworkPolicy isolates (each is its node's address): the policy does nothing today",
                p.namespace,
                host.join(", ")
            )
        };
        out.push(
            "pod-selector-matches-nothing",
            p,
            Some("spec.podSelector".into()),
            message,
            None,
        );
    }
    for (d, ri, rule) in rules_of(p) {
        for (pj, peer) in rule.peers.iter().flatten().enumerate() {
            let Peer::Pods { namespaces, pods } = peer else {
                continue;
            };
            let path = peer_path(d, ri, pj);
            let matched_ns: Vec<&str> = model
                .namespaces_in(namespaces)
                .map(|n| n.name.as_str())
                .collect();
            // Namespaces RBAC kept from being listed: what a selector
            // matches beyond the names known is unknown.
            if let (NamespaceScope::Selected(sel), Some(why)) = (namespaces, &gaps.namespaces)
                && sel.only_equals(NAMESPACE_NAME_LABEL).is_none()
            {
                let known_pod = matched_ns.iter().any(|ns| {
                    model
                        .pods_in(ns)
                        .iter()
                        .any(|pod| pods.as_ref().is_none_or(|s| s.matches(&pod.labels)))
                });
                // `name: X`, which would be namespace-selector-typo if no
                // namespace carried it while namespace X exists: unknown.
                let typo = matched_ns.is_empty()
                    && sel.requirements.iter().any(|r| {
                        matches!(&r.op, crate::engine::selector::Op::In(v)
                            if r.key == "name" && v.len() == 1 && crate::snapshot::is_namespace_name(&v[0]))
                    });
                if typo {
                    out.not_checked(
                        "namespace-selector-typo",
                        p,
                        Some(format!("{path}.namespaceSelector")),
                        "the namespace list",
                        why,
                    );
                } else if !known_pod {
                    out.not_checked(
                        if matched_ns.is_empty() {
                            "namespace-selector-matches-nothing"
                        } else {
                            "peer-matches-nothing"
                        },
                        p,
                        Some(if matched_ns.is_empty() {
                            format!("{path}.namespaceSelector")
                        } else {
                            path.clone()
                        }),
                        "the namespace list",
                        why,
                    );
                }
                continue;
            }
            if let NamespaceScope::Selected(sel) = namespaces
                && matched_ns.is_empty()
                && gaps.namespaces.is_none()
            {
                // The classic: `name: frontend` where the label the API
                // server sets is kubernetes.io/metadata.name.
                let typo = sel.requirements.iter().find_map(|r| match &r.op {
                    crate::engine::selector::Op::In(v)
                        if r.key == "name"
                            && v.len() == 1
                            && model.namespace(&v[0]).is_some_and(|n| !n.synthesized) =>
                    {
                        Some(v[0].clone())
                    }
                    _ => None,
                });
                if let Some(ns) = typo {
                    out.push(
                        "namespace-selector-typo",
                        p,
                        Some(format!("{path}.namespaceSelector")),
                        format!(
                            "no namespace has the label name={ns}, so this peer matches nothing; namespace {ns:?} exists and carries {NAMESPACE_NAME_LABEL}={ns}, set by the API server"
                        ),
                        Some(format!(
                            "namespaceSelector:\n  matchLabels:\n{}",
                            labels_yaml(&[(NAMESPACE_NAME_LABEL, &ns)], 4)
                        )),
                    );
                } else {
                    let guessed = model.snapshot.namespaces.iter().any(|n| n.synthesized);
                    let mut f_msg = format!(
                        "namespaceSelector {} matches no namespace: this peer admits nothing",
                        selector_text(&sel.render())
                    );
                    if guessed {
                        f_msg.push_str(if gaps.live {
                            " (some namespaces are not in the cluster, so their labels are unknown)"
                        } else {
                            " (some namespaces are not in the input, so their labels are unknown)"
                        });
                    }
                    out.push(
                        "namespace-selector-matches-nothing",
                        p,
                        Some(format!("{path}.namespaceSelector")),
                        f_msg,
                        None,
                    );
                }
                continue;
            }
            // A namespace named outright that the namespace list (which
            // could not be read) would tell about: its pods are unknown.
            if let (NamespaceScope::Selected(sel), true, Some(_)) =
                (namespaces, matched_ns.is_empty(), &gaps.namespaces)
                && let Some(name) = sel.only_equals(NAMESPACE_NAME_LABEL)
                && gaps.pods_unknown_in(name).is_some()
            {
                // Refused: say so; outside the scope: not read, quiet.
                if let Some(why) = gaps.pods_refused_in(name) {
                    out.not_checked(
                        "peer-matches-nothing",
                        p,
                        Some(path),
                        &format!("the pod list of namespace {name:?}"),
                        why,
                    );
                }
                continue;
            }
            if matched_ns.is_empty() {
                continue;
            }
            if matched_ns.iter().any(|n| gaps.pods_unknown_in(n).is_some()) {
                let refused = matched_ns
                    .iter()
                    .find_map(|n| gaps.pods_refused_in(n).map(|why| (n, why)));
                let known_pod = matched_ns.iter().any(|ns| {
                    model
                        .pods_in(ns)
                        .iter()
                        .any(|pod| pods.as_ref().is_none_or(|s| s.matches(&pod.labels)))
                });
                if !known_pod && let Some((ns, why)) = refused {
                    out.not_checked(
                        "peer-matches-nothing",
                        p,
                        Some(path),
                        &format!("the pod list of namespace {ns:?}"),
                        why,
                    );
                }
                continue;
            }
            if !matched_ns.iter().any(|n| has_pods(n)) {
                continue;
            }
            let any_pod = matched_ns.iter().any(|ns| {
                model
                    .pods_in(ns)
                    .iter()
                    .any(|pod| pods.as_ref().is_none_or(|s| s.matches(&pod.labels)))
            });
            // Host-network pods it selects: `host-network-peer` says why.
            if !any_pod && hostnet::host_network_pods(model, peer).is_empty() {
                out.push(
                    "peer-matches-nothing",
                    p,
                    Some(path),
                    format!(
                        "peer {} matches no pod today",
                        crate::engine::summary::peer_text(peer)
                    ),
                    None,
                );
            }
        }
    }
}

/// What RBAC kept from being read about the pods of `peers`, for a `not
/// checked` finding: the namespace list, or the first namespace whose pods
/// were refused, and why. `None` when nothing was refused (pods outside
/// the command's scope are simply not read).
pub(super) fn unread_peers(model: &Model<'_>, peers: Option<&[Peer]>) -> Option<(String, String)> {
    let gaps = &model.snapshot.gaps;
    for peer in peers.unwrap_or_default() {
        if let Peer::Pods { namespaces, .. } = peer {
            if let NamespaceScope::Selected(sel) = namespaces
                && let Some(name) = sel.only_equals(NAMESPACE_NAME_LABEL)
            {
                // A namespace named outright: its pods are what is needed.
                if let Some(why) = gaps.pods_refused_in(name) {
                    return Some((format!("the pod list of namespace {name:?}"), why.into()));
                }
                continue;
            }
            if let (NamespaceScope::Selected(_), Some(why)) = (namespaces, &gaps.namespaces) {
                return Some(("the namespace list".into(), why.clone()));
            }
            for n in model.namespaces_in(namespaces) {
                if let Some(why) = gaps.pods_refused_in(&n.name) {
                    return Some((
                        format!("the pod list of namespace {:?}", n.name),
                        why.into(),
                    ));
                }
            }
        }
    }
    None
}

fn selector_text(s: &str) -> String {
    if s.is_empty() {
        "{}".to_string()
    } else {
        format!("[{s}]")
    }
}

/// The policy as written (the compiled form forgets e.g. empty lists).
fn written<'s>(
    model: &Model<'s>,
    pi: usize,
) -> Option<&'s k8s_openapi::api::networking::v1::NetworkPolicySpec> {
    model.source(pi).spec.as_ref()
}

fn policy_types(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    let spec = written(model, pi);
    let ingress_rules = spec.and_then(|s| s.ingress.as_ref()).map_or(0, Vec::len);
    let egress_rules = spec.and_then(|s| s.egress.as_ref()).map_or(0, Vec::len);
    // Another policy already isolating every pod this one selects makes the
    // extra direction change nothing.
    let already = |d: Direction| {
        let pods = model.isolated_pods(p);
        !pods.is_empty()
            && pods
                .iter()
                .all(|pod| model.isolating(pod, d).iter().any(|&other| other != pi))
    };
    if !p.explicit_types && egress_rules > 0 && ingress_rules == 0 && !already(Direction::Ingress) {
        out.push(
            "egress-rules-without-policy-types",
            p,
            Some("spec.policyTypes".into()),
            "policyTypes is omitted and the policy has only egress rules, so it also isolates ingress: every incoming connection to the pods it selects is denied. If you meant to restrict egress only, say so".into(),
            Some("policyTypes:\n- Egress".into()),
        );
    }
    if p.explicit_types
        && p.egress.is_some()
        && egress_rules == 0
        && ingress_rules > 0
        && !already(Direction::Egress)
    {
        out.push(
            "egress-type-without-rules",
            p,
            Some("spec.policyTypes".into()),
            "Egress is in policyTypes but there are no egress rules: all egress of the pods it selects is denied, DNS included. If you meant to restrict ingress only, drop Egress".into(),
            Some("policyTypes:\n- Ingress".into()),
        );
    }
}

fn split(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    let spec = written(model, pi);
    type Parts = (
        Option<Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>>,
        Option<Vec<k8s_openapi::api::networking::v1::NetworkPolicyPort>>,
    );
    let ingress: Vec<Parts> = spec
        .and_then(|s| s.ingress.as_ref())
        .into_iter()
        .flatten()
        .map(|r| (r.from.clone(), r.ports.clone()))
        .collect();
    let egress: Vec<Parts> = spec
        .and_then(|s| s.egress.as_ref())
        .into_iter()
        .flatten()
        .map(|r| (r.to.clone(), r.ports.clone()))
        .collect();
    for (d, rules) in [(Direction::Ingress, ingress), (Direction::Egress, egress)] {
        for (ri, (peers, _)) in rules.iter().enumerate() {
            let peers = peers.as_deref().unwrap_or_default();
            for (j, pair) in peers.windows(2).enumerate() {
                let (a, b) = (&pair[0], &pair[1]);
                let ns_only = |x: &k8s_openapi::api::networking::v1::NetworkPolicyPeer| {
                    x.namespace_selector.is_some()
                        && x.pod_selector.is_none()
                        && x.ip_block.is_none()
                };
                let pod_only = |x: &k8s_openapi::api::networking::v1::NetworkPolicyPeer| {
                    x.pod_selector.is_some()
                        && x.namespace_selector.is_none()
                        && x.ip_block.is_none()
                };
                let (ns_peer, pod_peer, ns_at) = if ns_only(a) && pod_only(b) {
                    (a, b, j)
                } else if pod_only(a) && ns_only(b) {
                    (b, a, j + 1)
                } else {
                    continue;
                };
                let pod_at = if ns_at == j { j + 1 } else { j };
                let combined = k8s_openapi::api::networking::v1::NetworkPolicyPeer {
                    namespace_selector: ns_peer.namespace_selector.clone(),
                    pod_selector: pod_peer.pod_selector.clone(),
                    ip_block: None,
                };
                let mut list: Vec<_> = peers.to_vec();
                list.splice(j..j + 2, [combined]);
                let yaml = serde_yaml_ng::to_string(&list).unwrap_or_default();
                out.push(
                    "split-peer",
                    p,
                    Some(format!("spec.{}[{ri}].{}[{j}]", d.field(), d.peer_field())),
                    format!(
                        "items {j} and {} are two peers (OR): item {ns_at} (namespaceSelector alone) admits every pod of the selected namespaces, item {pod_at} (podSelector alone) the selected pods of namespace {:?}. If you meant \"these pods in those namespaces\", write one item",
                        j + 1,
                        p.namespace
                    ),
                    Some(format!("{}:\n{}", d.peer_field(), yaml.trim_end())),
                );
            }
        }
        for ri in 1..rules.len() {
            let (prev_peers, prev_ports) = &rules[ri - 1];
            let (peers, ports) = &rules[ri];
            // `{to: X}, {ports: [53]}` is the usual separate DNS rule.
            let dns_only = ports.iter().flatten().all(|port| {
                matches!(
                    &port.port,
                    Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(53))
                )
            });
            if has(prev_peers) && !has(prev_ports) && !has(peers) && has(ports) && !dns_only {
                out.push(
                    "split-rule",
                    p,
                    Some(format!("spec.{}[{}]", d.field(), ri)),
                    format!(
                        "rule {} has only ports and the rule before it only peers: as written, rule {} admits those peers on every port and rule {} admits those ports from anywhere. If you meant one rule, put `ports` in the same list item as `{}`",
                        ri + 1,
                        ri,
                        ri + 1,
                        d.peer_field()
                    ),
                    None,
                );
            }
        }
    }
}

fn has<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

fn declares(pod: &PodInfo, name: &str, protocol: Protocol) -> bool {
    pod.ports
        .iter()
        .any(|c| c.name.as_deref() == Some(name) && c.protocol == protocol)
}

fn named_ports(model: &Model<'_>, p: &Policy, selected: &[&PodInfo], out: &mut Out<'_>) {
    for (d, ri, rule) in rules_of(p) {
        let named = rule
            .ports
            .iter()
            .flatten()
            .any(|spec| matches!(spec.port, PortValue::Named(_)));
        if !named {
            continue;
        }
        let dests: Vec<&PodInfo> = match d {
            Direction::Ingress => selected.to_vec(),
            Direction::Egress => model.peers_pods(rule.peers.as_deref()),
        };
        if dests.is_empty() {
            continue;
        }
        // Destinations in namespaces that were not read could declare it.
        let gaps = &model.snapshot.gaps;
        if d == Direction::Egress
            && !gaps.is_empty()
            && !rule.peers.iter().flatten().all(|peer| {
                matches!(peer, Peer::Pods { namespaces: NamespaceScope::Own(ns), .. } if gaps.pods_unknown_in(ns).is_none())
            })
        {
            let missing = rule.ports.iter().flatten().any(|spec| {
                matches!(&spec.port, PortValue::Named(name)
                    if !dests.iter().any(|pod| declares(pod, name, spec.protocol)))
            });
            if missing && let Some((what, why)) = unread_peers(model, rule.peers.as_deref()) {
                out.not_checked(
                    "named-port-missing",
                    p,
                    Some(format!("spec.{}[{ri}]", d.field())),
                    &what,
                    &why,
                );
            }
            continue;
        }
        for (k, spec) in rule.ports.iter().flatten().enumerate() {
            let PortValue::Named(name) = &spec.port else {
                continue;
            };
            if dests.iter().any(|pod| declares(pod, name, spec.protocol)) {
                continue;
            }
            let other: Vec<Protocol> = dests
                .iter()
                .flat_map(|pod| pod.ports.iter())
                .filter(|c| c.name.as_deref() == Some(name.as_str()))
                .map(|c| c.protocol)
                .collect();
            let whose = match d {
                Direction::Ingress => "the pods this policy selects",
                Direction::Egress => "the pods this rule sends to",
            };
            let (message, hint) = match other.first() {
                Some(proto) => (
                    format!(
                        "named port {name:?} is declared as {proto} by {whose}, not {}: this port matches nothing",
                        spec.protocol
                    ),
                    Some(format!("- port: {name}\n  protocol: {proto}")),
                ),
                None => {
                    // Declared only by a plain init container: say so, and
                    // whether this cluster's CNI resolves it there (Calico).
                    let init_only = dests
                        .iter()
                        .find_map(|pod| {
                            cni::init_port_note(&out.opts.cni, pod, name, Some(spec.protocol))
                        })
                        .map(|note| format!("; {note}"))
                        .unwrap_or_default();
                    (
                        format!(
                            "no container port named {name:?} ({}) exists on {whose}: this port matches nothing{init_only}",
                            spec.protocol
                        ),
                        None,
                    )
                }
            };
            out.push(
                "named-port-missing",
                p,
                Some(format!("spec.{}[{ri}].ports[{k}]", d.field())),
                message,
                hint,
            );
        }
    }
}

/// `service-port-used`: a numeric port no destination pod declares that is
/// the `port` of a Service selecting them, with another targetPort. The
/// destinations are the selected pods for ingress rules and the pods the
/// peers match for egress rules (NetworkPolicy sees the connection after
/// the Service is translated, on the pod's port, in both directions).
fn service_ports(model: &Model<'_>, p: &Policy, selected: &[&PodInfo], out: &mut Out<'_>) {
    for (d, ri, rule) in rules_of(p) {
        let dests: Vec<&PodInfo> = match d {
            Direction::Ingress => selected.to_vec(),
            // A rule to anywhere is not about the pods behind a Service.
            Direction::Egress if rule.peers.is_none() => continue,
            Direction::Egress => model
                .peers_pods(rule.peers.as_deref())
                .into_iter()
                .filter(|pod| !pod.host_network)
                .collect(),
        };
        if dests.is_empty() {
            continue;
        }
        let services: Vec<_> = model
            .snapshot
            .services
            .iter()
            .filter(|s| {
                !s.selector.is_empty()
                    && dests.iter().any(|pod| {
                        pod.namespace == s.namespace
                            && s.selector.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
                    })
            })
            .collect();
        for (k, spec) in rule.ports.iter().flatten().enumerate() {
            let PortValue::Range(lo, hi) = spec.port else {
                continue;
            };
            if lo != hi {
                continue;
            }
            if dests.iter().any(|pod| {
                pod.ports
                    .iter()
                    .any(|c| c.port == lo && c.protocol == spec.protocol)
            }) {
                continue;
            }
            // The Services that would tell could not be read.
            if let Some((ns, why)) = dests.iter().find_map(|pod| {
                model
                    .snapshot
                    .gaps
                    .services_unknown_in(&pod.namespace)
                    .map(|why| (&pod.namespace, why))
            }) {
                out.not_checked(
                    "service-port-used",
                    p,
                    Some(format!("spec.{}[{ri}].ports[{k}]", d.field())),
                    &format!("the Service list of namespace {ns:?}"),
                    why,
                );
                continue;
            }
            for svc in &services {
                let backends: Vec<&&PodInfo> = dests
                    .iter()
                    .filter(|pod| {
                        pod.namespace == svc.namespace
                            && svc
                                .selector
                                .iter()
                                .all(|(k, v)| pod.labels.get(k) == Some(v))
                    })
                    .collect();
                for sp in &svc.ports {
                    if sp.port != lo || sp.protocol != spec.protocol {
                        continue;
                    }
                    let target = match &sp.target {
                        Ok(t) if *t != lo => t.to_string(),
                        Ok(_) => continue,
                        Err(name) => {
                            let resolved = backends.iter().find_map(|pod| {
                                pod.ports.iter().find(|c| {
                                    c.name.as_deref() == Some(name.as_str())
                                        && c.protocol == sp.protocol
                                })
                            });
                            match resolved {
                                Some(c) if c.port != lo => c.port.to_string(),
                                Some(_) => continue,
                                None => name.clone(),
                            }
                        }
                    };
                    let sends = match d {
                        Direction::Ingress => "this admits nothing the Service sends",
                        Direction::Egress => "this admits nothing sent to them through the Service",
                    };
                    out.push(
                        "service-port-used",
                        p,
                        Some(format!("spec.{}[{ri}].ports[{k}]", d.field())),
                        format!(
                            "{}/{lo} is the port of Service {}/{}, whose pods listen on {target} (its targetPort): NetworkPolicy sees the pod's port, so {sends}",
                            spec.protocol, svc.namespace, svc.name
                        ),
                        Some(format!("- port: {target}\n  protocol: {}", spec.protocol)),
                    );
                }
            }
        }
    }
}

fn ip_blocks(model: &Model<'_>, p: &Policy, out: &mut Out<'_>) {
    let metadata: std::net::IpAddr = std::net::IpAddr::from([169, 254, 169, 254]);
    for (d, ri, rule) in rules_of(p) {
        for (pj, peer) in rule.peers.iter().flatten().enumerate() {
            let Peer::IpBlock(b) = peer else { continue };
            let path = peer_path(d, ri, pj);
            if b.cidr.prefix_len() > 0 {
                let inside: Vec<&PodInfo> = model
                    .pods_in_block(b)
                    .into_iter()
                    .filter(|pod| !pod.host_network)
                    .collect();
                // No known pod inside, but pods RBAC refused: they may be.
                let gaps = &model.snapshot.gaps;
                let refused = gaps
                    .pods
                    .keys()
                    .find_map(|ns| gaps.pods_refused_in(ns).map(|why| (ns, why)));
                if inside.is_empty()
                    && let Some((ns, why)) = refused
                {
                    let what = if ns == "*" {
                        "the pods of other namespaces".to_string()
                    } else {
                        format!("the pod list of namespace {ns:?}")
                    };
                    out.not_checked(
                        "ipblock-selects-pods",
                        p,
                        Some(format!("{path}.ipBlock")),
                        &what,
                        why,
                    );
                }
                if !inside.is_empty() {
                    let shown: Vec<String> = inside.iter().take(3).map(|p| p.key()).collect();
                    out.push(
                        "ipblock-selects-pods",
                        p,
                        Some(format!("{path}.ipBlock")),
                        format!(
                            "{} holds the IPs of {} pod{} ({}{}): pod IPs change when pods restart, so select the pods with podSelector/namespaceSelector instead. Meanwhile {}",
                            b.render(),
                            inside.len(),
                            if inside.len() == 1 { "" } else { "s" },
                            shown.join(", "),
                            if inside.len() > 3 { ", ..." } else { "" },
                            cni::ipblock_pods_note(&out.opts.cni, &b.render())
                        ),
                        None,
                    );
                }
            }
            if d == Direction::Egress && b.contains(&metadata) && b.cidr.prefix_len() < 32 {
                let mut except: Vec<String> = b.except.iter().map(ToString::to_string).collect();
                except.push("169.254.169.254/32".into());
                out.push(
                    "egress-to-metadata",
                    p,
                    Some(format!("{path}.ipBlock")),
                    format!(
                        "{} includes the cloud metadata address 169.254.169.254, which hands out node credentials on most clouds",
                        b.render()
                    ),
                    Some(format!(
                        "ipBlock:\n  cidr: {}\n  except:\n{}",
                        b.cidr,
                        except.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
                    )),
                );
            }
        }
    }
}

/// Whether every port `a` admits, `b` admits too (on any destination).
fn ports_covered(a: &Option<Vec<PortSpec>>, b: &Option<Vec<PortSpec>>) -> bool {
    let Some(b) = b else { return true };
    let Some(a) = a else { return false };
    a.iter().all(|x| {
        b.iter().any(|y| {
            x.protocol == y.protocol
                && match (&x.port, &y.port) {
                    (_, PortValue::Any) => true,
                    (PortValue::Range(lo, hi), PortValue::Range(l2, h2)) => l2 <= lo && hi <= h2,
                    (PortValue::Named(n), PortValue::Named(m)) => n == m,
                    _ => false,
                }
        })
    })
}

fn peers_covered(a: &Option<Vec<Peer>>, b: &Option<Vec<Peer>>) -> bool {
    let Some(b) = b else { return true };
    let Some(a) = a else { return false };
    a.iter().all(|x| b.contains(x))
}

fn redundancy(model: &Model<'_>, in_scope: &dyn Fn(&Policy) -> bool, out: &mut Out<'_>) {
    // Group policies by (namespace, podSelector): rules of one group apply
    // to exactly the same pods.
    // Only the namespaces with a policy in scope matter.
    let namespaces: BTreeSet<&str> = model
        .policies
        .iter()
        .filter(|p| in_scope(p))
        .map(|p| p.namespace.as_str())
        .collect();
    let mut groups: BTreeMap<(&str, String), Vec<usize>> = BTreeMap::new();
    for ns in namespaces {
        for &i in model.policies_in(ns) {
            let p = &model.policies[i];
            groups
                .entry((ns, p.pod_selector.render()))
                .or_default()
                .push(i);
        }
    }
    for members in groups.values() {
        for (x, &i) in members.iter().enumerate() {
            let p = &model.policies[i];
            if !in_scope(p) {
                continue;
            }
            // Exact duplicates: report on the later one, once.
            if let Some(&j) = members[..x].iter().find(|&&j| {
                let q = &model.policies[j];
                q.ingress == p.ingress && q.egress == p.egress
            }) {
                out.push(
                    "duplicate-policy",
                    p,
                    None,
                    format!(
                        "this policy is exactly the same as {}: one of them can go",
                        model.policies[j].key()
                    ),
                    None,
                );
                continue;
            }
            for (d, ri, rule) in rules_of(p) {
                let cover = members.iter().find_map(|&j| {
                    let q = &model.policies[j];
                    q.rules(d)?.iter().enumerate().find_map(|(rj, other)| {
                        let same = i == j && ri == rj;
                        let covered = peers_covered(&rule.peers, &other.peers)
                            && ports_covered(&rule.ports, &other.ports);
                        let covers_back = peers_covered(&other.peers, &rule.peers)
                            && ports_covered(&other.ports, &rule.ports);
                        // Two equivalent rules: only the later one is redundant.
                        let redundant = covered && (!covers_back || (j, rj) < (i, ri));
                        (!same && redundant).then(|| format!("{} rule #{}", q.key(), rj + 1))
                    })
                });
                if let Some(by) = cover {
                    out.push(
                        "redundant-rule",
                        p,
                        Some(format!("spec.{}[{ri}]", d.field())),
                        format!(
                            "everything this rule admits, {by} admits already (for the same pods)"
                        ),
                        None,
                    );
                }
            }
        }
    }
}

//! Graph -> the NetworkPolicies it implies: least privilege, one policy
//! per service and direction, deterministic.
//!
//! For every service, in its namespace:
//! - `<graph>-<service>-ingress` (when the graph isolates ingress): the
//!   service's pods; one rule per service with an edge to it (sorted by
//!   that service's name; the ports of all its edges, in the order
//!   written, duplicates dropped), then one rule per `spec.ingress` entry
//!   for it (in the order written). No rule: all ingress denied.
//! - `<graph>-<service>-egress` (when the graph isolates egress): one rule
//!   per service it has an edge to (sorted by name), then one per
//!   `spec.egress` entry, then DNS (unless off for it). No rule: all
//!   egress denied.
//!
//! So every declared service is isolated, and what reaches it or leaves it
//! is exactly its edges (a service with no edge at all still gets both
//! policies: it may receive and send nothing but DNS). For every
//! namespace of `spec.namespaces` with `defaultDeny: true`,
//! `<graph>-default-deny` isolates every pod of it in the graph's
//! directions, admitting DNS egress when the graph's DNS is on (so no pod
//! it isolates is left unable to resolve names).
//!
//! A peer in the policy's own namespace is a plain `podSelector`; in
//! another, the namespace is picked by its `kubernetes.io/metadata.name`
//! label (every namespace carries it). Each policy carries the labels
//! [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY`] and [`GRAPH_LABEL`]`=<graph>`, and,
//! when the graph object has a `metadata.uid` (it was read from the
//! cluster), an ownerReference to it: deleting the graph deletes its
//! policies through the garbage collector.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::resolve::Resolved;
use super::{
    API_VERSION, ExternalPeer, GRAPH_LABEL, KIND, MANAGED_BY, MANAGED_BY_LABEL, ServiceGraph,
};
use crate::snapshot::NAMESPACE_NAME_LABEL;

/// What a generated policy is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The traffic into the named service.
    Ingress(String),
    /// The traffic out of the named service.
    Egress(String),
    /// The namespace's default deny.
    DefaultDeny,
}

/// One policy the graph implies.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPolicy {
    pub role: Role,
    /// Complete: `apiVersion`/`kind` are implied by the type, metadata
    /// holds name, namespace, labels (and the ownerReference).
    pub policy: NetworkPolicy,
}

impl DesiredPolicy {
    pub fn namespace(&self) -> &str {
        self.policy
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.policy.metadata.name.as_deref().unwrap_or_default()
    }

    /// `(namespace, name)`: what identifies the policy in a cluster.
    pub fn key(&self) -> (String, String) {
        (self.namespace().to_string(), self.name().to_string())
    }

    /// The one-line summary of the policy (`engine::summary`), e.g.
    /// `namespace/backend allows api from frontend/web on TCP/http`.
    pub fn summary(&self) -> String {
        match crate::engine::policy::Policy::compile(&self.policy, self.namespace()) {
            Ok(p) => crate::engine::summary::summary(&p),
            Err(e) => format!("namespace/{} (cannot be summarised: {e})", self.namespace()),
        }
    }
}

/// The name of the policy for `role` in graph `graph`:
/// `<graph>-<service>-ingress`, `<graph>-<service>-egress`,
/// `<graph>-default-deny`.
pub fn policy_name(graph: &str, role: &Role) -> String {
    match role {
        Role::Ingress(s) => format!("{graph}-{s}-ingress"),
        Role::Egress(s) => format!("{graph}-{s}-egress"),
        Role::DefaultDeny => format!("{graph}-default-deny"),
    }
}

/// The labels every policy of graph `graph` carries.
pub fn labels(graph: &str) -> BTreeMap<String, String> {
    [
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (GRAPH_LABEL.to_string(), graph.to_string()),
    ]
    .into()
}

fn namespace_selector(namespace: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some([(NAMESPACE_NAME_LABEL.to_string(), namespace.to_string())].into()),
        match_expressions: None,
    }
}

/// Pods `pods` (every pod when `None`) of `namespace`, seen from a policy
/// in `home`.
fn pods_peer(home: &str, namespace: &str, pods: Option<&LabelSelector>) -> NetworkPolicyPeer {
    if home == namespace {
        NetworkPolicyPeer {
            pod_selector: Some(pods.cloned().unwrap_or_default()),
            ..Default::default()
        }
    } else {
        NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(namespace)),
            pod_selector: pods.cloned(),
            ip_block: None,
        }
    }
}

fn external_peer(home: &str, p: &ExternalPeer) -> NetworkPolicyPeer {
    match (&p.cidr, &p.namespace) {
        (Some(cidr), _) => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: p.except.clone().filter(|e| !e.is_empty()),
            }),
            ..Default::default()
        },
        (None, Some(ns)) => pods_peer(home, ns, p.pod_selector.as_ref()),
        // Refused by validation.
        (None, None) => NetworkPolicyPeer::default(),
    }
}

/// Ports as a policy writes them: protocol always given, duplicates
/// dropped, the order kept.
fn ports<'a>(lists: impl IntoIterator<Item = &'a NetworkPolicyPort>) -> Vec<NetworkPolicyPort> {
    let mut out: Vec<NetworkPolicyPort> = Vec::new();
    for p in lists {
        let p = NetworkPolicyPort {
            protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
            port: p.port.clone(),
            end_port: p.end_port,
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The NetworkPolicies `graph` implies, sorted by namespace then name
/// (see the module's documentation). `graph` must be valid (see
/// [`super::parse`]) and `resolved` hold a selector for every service
/// (see [`super::resolve::resolve`]); a service without one is left out.
pub fn desired(graph: &ServiceGraph, resolved: &Resolved) -> Vec<DesiredPolicy> {
    let name = graph.name();
    let spec = &graph.spec;
    let owner = graph.metadata.uid.as_ref().map(|uid| OwnerReference {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        name: name.to_string(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    });
    let make = |role: Role, namespace: &str, spec: NetworkPolicySpec| DesiredPolicy {
        policy: NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(policy_name(name, &role)),
                namespace: Some(namespace.to_string()),
                labels: Some(labels(name)),
                owner_references: owner.clone().map(|o| vec![o]),
                ..Default::default()
            },
            spec: Some(spec),
        },
        role,
    };
    let dns_rule = |home: &str| NetworkPolicyEgressRule {
        to: Some(vec![pods_peer(
            home,
            &resolved.dns.namespace,
            Some(&resolved.dns.pod_selector),
        )]),
        ports: Some(resolved.dns.ports.clone()),
    };
    let mut out = Vec::new();
    for s in &spec.services {
        let Some(own) = resolved.selectors.get(&s.name) else {
            continue;
        };
        let home = s.namespace.as_str();
        let peer = |other: &str| -> Option<NetworkPolicyPeer> {
            let o = graph.service(other)?;
            let pods = resolved.selectors.get(other)?;
            Some(pods_peer(home, &o.namespace, Some(pods)))
        };
        if graph.isolates_ingress() {
            // Edges into the service, grouped by source, sorted by name.
            let mut by_source: BTreeMap<&str, Vec<&NetworkPolicyPort>> = BTreeMap::new();
            for e in spec.edges.iter().filter(|e| e.to == s.name) {
                by_source.entry(&e.from).or_default().extend(&e.ports);
            }
            let mut rules: Vec<NetworkPolicyIngressRule> = by_source
                .into_iter()
                .filter_map(|(from, list)| {
                    Some(NetworkPolicyIngressRule {
                        from: Some(vec![peer(from)?]),
                        ports: Some(ports(list)),
                    })
                })
                .collect();
            rules.extend(spec.ingress.iter().filter(|x| x.to == s.name).map(|x| {
                NetworkPolicyIngressRule {
                    from: Some(x.from.iter().map(|p| external_peer(home, p)).collect()),
                    ports: Some(ports(&x.ports)),
                }
            }));
            out.push(make(
                Role::Ingress(s.name.clone()),
                home,
                NetworkPolicySpec {
                    pod_selector: Some(own.clone()),
                    ingress: (!rules.is_empty()).then_some(rules),
                    egress: None,
                    policy_types: Some(vec!["Ingress".into()]),
                },
            ));
        }
        if graph.isolates_egress() {
            let mut by_dest: BTreeMap<&str, Vec<&NetworkPolicyPort>> = BTreeMap::new();
            for e in spec.edges.iter().filter(|e| e.from == s.name) {
                by_dest.entry(&e.to).or_default().extend(&e.ports);
            }
            let mut rules: Vec<NetworkPolicyEgressRule> = by_dest
                .into_iter()
                .filter_map(|(to, list)| {
                    Some(NetworkPolicyEgressRule {
                        to: Some(vec![peer(to)?]),
                        ports: Some(ports(list)),
                    })
                })
                .collect();
            rules.extend(spec.egress.iter().filter(|x| x.from == s.name).map(|x| {
                NetworkPolicyEgressRule {
                    to: Some(x.to.iter().map(|p| external_peer(home, p)).collect()),
                    ports: Some(ports(&x.ports)),
                }
            }));
            if graph.service_dns(s) {
                rules.push(dns_rule(home));
            }
            out.push(make(
                Role::Egress(s.name.clone()),
                home,
                NetworkPolicySpec {
                    pod_selector: Some(own.clone()),
                    ingress: None,
                    egress: (!rules.is_empty()).then_some(rules),
                    policy_types: Some(vec!["Egress".into()]),
                },
            ));
        }
    }
    for n in spec
        .namespaces
        .iter()
        .filter(|n| n.default_deny == Some(true))
    {
        let mut types = Vec::new();
        if graph.isolates_ingress() {
            types.push("Ingress".to_string());
        }
        let mut egress = None;
        if graph.isolates_egress() {
            types.push("Egress".to_string());
            if graph.dns_enabled() {
                egress = Some(vec![dns_rule(&n.name)]);
            }
        }
        out.push(make(
            Role::DefaultDeny,
            &n.name,
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                ingress: None,
                egress,
                policy_types: Some(types),
            },
        ));
    }
    out.sort_by_key(DesiredPolicy::key);
    out
}

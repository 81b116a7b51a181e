//! `host-network-peer`: a rule meant for host-network pods (a host-network
//! ingress controller as a source, a node-local daemon as a destination).
//! Such pods carry their node's address; pod selectors do not reach them on
//! most CNIs (the NetworkPolicy API leaves host-network pods undefined), so
//! the rule does not do what it says. The way that works: an ipBlock of the
//! node addresses (a host-network pod's IPs are its node's), or a rule with
//! ports only, with the CNI's caveats.
//!
//! The rule's *intent* counts, not only what it matches as written: the
//! peers are also read with the mistakes other checks report fixed (a
//! `name` label for `kubernetes.io/metadata.name`, a namespaceSelector item
//! and a podSelector item split in two), so the warning comes with them.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Out, written};
use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer, PortValue, Rule};
use crate::engine::selector::Selector;
use crate::snapshot::{NAMESPACE_NAME_LABEL, PodInfo};

/// `name: X` read as `kubernetes.io/metadata.name: X` when namespace X
/// exists and no namespace carries `name=X` (what `namespace-selector-typo`
/// reports).
fn fix_name_label(model: &Model<'_>, sel: &LabelSelector) -> Option<LabelSelector> {
    let labels = sel.match_labels.as_ref()?;
    let value = labels.get("name")?;
    let taken = model
        .snapshot
        .namespaces
        .iter()
        .any(|n| n.labels.get("name") == Some(value));
    if taken || model.namespace(value).is_none_or(|n| n.synthesized) {
        return None;
    }
    let mut fixed = sel.clone();
    let mut labels = labels.clone();
    labels.remove("name");
    labels.insert(NAMESPACE_NAME_LABEL.to_string(), value.clone());
    fixed.match_labels = Some(labels);
    Some(fixed)
}

/// The peers a written peer list means: each item, each adjacent
/// namespaceSelector-only / podSelector-only pair joined into one item, and
/// each of those with the `name` label fixed. Only items with a
/// podSelector: a rule on whole namespaces is not about particular pods.
fn intended(model: &Model<'_>, namespace: &str, peers: &[NetworkPolicyPeer]) -> Vec<Peer> {
    let mut items: Vec<NetworkPolicyPeer> = peers.to_vec();
    for pair in peers.windows(2) {
        let ns_only = |x: &NetworkPolicyPeer| {
            x.namespace_selector.is_some() && x.pod_selector.is_none() && x.ip_block.is_none()
        };
        let pod_only = |x: &NetworkPolicyPeer| {
            x.pod_selector.is_some() && x.namespace_selector.is_none() && x.ip_block.is_none()
        };
        let (ns, pod) = match (&pair[0], &pair[1]) {
            (a, b) if ns_only(a) && pod_only(b) => (a, b),
            (a, b) if pod_only(a) && ns_only(b) => (b, a),
            _ => continue,
        };
        items.push(NetworkPolicyPeer {
            namespace_selector: ns.namespace_selector.clone(),
            pod_selector: pod.pod_selector.clone(),
            ip_block: None,
        });
    }
    let fixed: Vec<NetworkPolicyPeer> = items
        .iter()
        .filter_map(|x| {
            let ns = fix_name_label(model, x.namespace_selector.as_ref()?)?;
            Some(NetworkPolicyPeer {
                namespace_selector: Some(ns),
                ..x.clone()
            })
        })
        .collect();
    items.extend(fixed);
    items
        .iter()
        .filter(|x| x.ip_block.is_none())
        .filter_map(|x| {
            let pods = Selector::compile(x.pod_selector.as_ref()?).ok()?;
            if pods.is_everything() {
                return None;
            }
            let namespaces = match &x.namespace_selector {
                Some(s) => NamespaceScope::Selected(Selector::compile(s).ok()?),
                None => NamespaceScope::Own(namespace.to_string()),
            };
            Some(Peer::Pods {
                namespaces,
                pods: Some(pods),
            })
        })
        .collect()
}

/// Whether a destination pod serves a port the rule admits (a rule without
/// ports admits every port).
fn serves(pod: &PodInfo, rule: &Rule) -> bool {
    let Some(ports) = &rule.ports else {
        return true;
    };
    ports.iter().any(|spec| {
        pod.ports.iter().any(|c| {
            c.protocol == spec.protocol
                && match &spec.port {
                    PortValue::Any => true,
                    PortValue::Range(lo, hi) => (*lo..=*hi).contains(&c.port),
                    PortValue::Named(n) => c.name.as_deref() == Some(n.as_str()),
                }
        })
    })
}

/// The host-network pods a selector peer's selectors match (the engine's
/// own matching leaves them out: they are their node's address).
pub(super) fn host_network_pods<'s>(model: &Model<'s>, peer: &Peer) -> Vec<&'s PodInfo> {
    let Peer::Pods { namespaces, pods } = peer else {
        return Vec::new();
    };
    model
        .namespaces_in(namespaces)
        .flat_map(|n| model.pods_in(&n.name))
        .filter(|p| p.host_network)
        .filter(|p| pods.as_ref().is_none_or(|s| s.matches(&p.labels)))
        .copied()
        .collect()
}

/// Whether a selector peer matches a pod that is not on the host network.
fn matches_known_pod(model: &Model<'_>, peer: &Peer) -> bool {
    let Peer::Pods { namespaces, pods } = peer else {
        return false;
    };
    model
        .namespaces_in(namespaces)
        .flat_map(|n| model.pods_in(&n.name))
        .any(|p| !p.host_network && pods.as_ref().is_none_or(|s| s.matches(&p.labels)))
}

pub(super) fn host_network_peers(model: &Model<'_>, pi: usize, out: &mut Out<'_>) {
    let p = &model.policies[pi];
    let Some(spec) = written(model, pi) else {
        return;
    };
    for d in Direction::BOTH {
        let Some(rules) = p.rules(d) else { continue };
        for (ri, rule) in rules.iter().enumerate() {
            let (peers, ports): (
                Option<&Vec<NetworkPolicyPeer>>,
                Option<&Vec<NetworkPolicyPort>>,
            ) = match d {
                Direction::Ingress => spec
                    .ingress
                    .as_ref()
                    .and_then(|r| r.get(ri))
                    .map_or((None, None), |r| (r.from.as_ref(), r.ports.as_ref())),
                Direction::Egress => spec
                    .egress
                    .as_ref()
                    .and_then(|r| r.get(ri))
                    .map_or((None, None), |r| (r.to.as_ref(), r.ports.as_ref())),
            };
            let Some(peers) = peers else { continue };
            let mut seen: BTreeSet<String> = BTreeSet::new();
            let mut hosts: Vec<&PodInfo> = Vec::new();
            let mut as_written = false;
            let written_peers: Vec<&Peer> = rule.peers.iter().flatten().collect();
            for peer in intended(model, &p.namespace, peers) {
                let direct = written_peers.contains(&&peer);
                for pod in host_network_pods(model, &peer) {
                    if !pod.host_network || (d == Direction::Egress && !serves(pod, rule)) {
                        continue;
                    }
                    as_written |= direct;
                    if seen.insert(pod.key()) {
                        hosts.push(pod);
                    }
                }
            }
            if hosts.is_empty() {
                // A peer meant for particular pods that matches no pod
                // known, where pods RBAC kept from being read may be
                // host-network ones: one line per rule (peer-matches-nothing
                // says it per peer).
                let unread = intended(model, &p.namespace, peers)
                    .into_iter()
                    .filter(|peer| !matches_known_pod(model, peer))
                    .find_map(|peer| super::unread_peers(model, Some(std::slice::from_ref(&peer))));
                // Said once: not again when peer-matches-nothing already
                // says a peer of this rule could not be checked.
                let rule_path = format!("spec.{}[{ri}].{}", d.field(), d.peer_field());
                let said = out.findings.iter().any(|f| {
                    f.check == "peer-matches-nothing"
                        && f.is_not_checked()
                        && f.object == p.key()
                        && f.path
                            .as_deref()
                            .is_some_and(|x| x.starts_with(&format!("{rule_path}[")))
                });
                if !said && let Some((what, why)) = unread {
                    out.not_checked("host-network-peer", p, Some(rule_path), &what, &why);
                }
                continue;
            }
            let mut addresses: Vec<String> = Vec::new();
            for pod in &hosts {
                for ip in &pod.ips {
                    let a = ip.to_string();
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
            }
            let names: Vec<String> = hosts.iter().take(3).map(|h| h.key()).collect();
            let names = format!(
                "{}{}",
                names.join(", "),
                if hosts.len() > 3 { ", ..." } else { "" }
            );
            let one = hosts.len() == 1;
            let their = if one { "its" } else { "their" };
            let nodes = if addresses.is_empty() {
                format!("{their} node's address")
            } else {
                format!("{their} node's address ({})", addresses.join(", "))
            };
            let meant = if as_written {
                format!("this rule selects {names}")
            } else {
                format!(
                    "this rule is evidently meant for {names} (reading its peers as the other findings fix them)"
                )
            };
            let instead = match d {
                Direction::Egress => {
                    "to reach them, allow the node addresses with an ipBlock (a host-network pod's IPs are its node's) or use a rule with ports only"
                }
                Direction::Ingress => {
                    "traffic from a pod's own node is always allowed; from the other nodes it needs an ipBlock of the node addresses (a host-network pod's IPs are its node's) or a rule with ports only"
                }
            };
            let cidrs: Vec<String> = if addresses.is_empty() {
                vec!["NODE-ADDRESS/32".to_string()]
            } else {
                addresses
                    .iter()
                    .map(|a| {
                        if a.contains(':') {
                            format!("{a}/128")
                        } else {
                            format!("{a}/32")
                        }
                    })
                    .collect()
            };
            let blocks = cidrs
                .iter()
                .map(|c| format!("  - ipBlock:\n      cidr: {c}"))
                .collect::<Vec<_>>()
                .join("\n");
            let mut hint = format!("{}:\n- {}:\n{blocks}", d.field(), d.peer_field());
            // A named port toward an ipBlock matches nothing: the hint
            // carries the number the host-network pods declare.
            let numbered: Option<Vec<NetworkPolicyPort>> = ports.map(|list| {
                list.iter()
                    .map(|port| match &port.port {
                        Some(IntOrString::String(name)) => {
                            let proto = port.protocol.as_deref().unwrap_or("TCP");
                            let found = hosts.iter().find_map(|h| {
                                h.ports.iter().find(|c| {
                                    c.name.as_deref() == Some(name.as_str())
                                        && c.protocol.as_str() == proto
                                })
                            });
                            NetworkPolicyPort {
                                port: Some(found.map_or(IntOrString::String(name.clone()), |c| {
                                    IntOrString::Int(i32::from(c.port))
                                })),
                                ..port.clone()
                            }
                        }
                        _ => port.clone(),
                    })
                    .collect()
            });
            if let Some(ports) = numbered.as_ref().filter(|p| !p.is_empty())
                && let Ok(y) = serde_yaml_ng::to_string(ports)
            {
                hint.push_str("\n  ports:");
                for line in y.lines() {
                    hint.push_str(&format!("\n  {line}"));
                }
            }
            out.push(
                "host-network-peer",
                p,
                Some(format!("spec.{}[{ri}].{}", d.field(), d.peer_field())),
                format!(
                    "{meant}, which {} with hostNetwork: true: {their} traffic carries {nodes}, and pod selectors do not match host-network pods on most CNIs (the NetworkPolicy API leaves it undefined), so the rule does not admit {}; {instead}. CNI: {}",
                    if one { "runs" } else { "run" },
                    if one { "it" } else { "them" },
                    super::cni::node_ipblock_note(&out.opts.cni)
                ),
                Some(hint),
            );
        }
    }
}

//! The NetworkPolicy engine: pure, synchronous, no I/O.
//!
//! [`Model`] compiles a [`Snapshot`]'s policies once (invalid ones are kept
//! aside with their validation errors and never evaluated) and answers the
//! questions the commands ask: which policies select a pod, whether it is
//! isolated, and which ports one endpoint may use to reach another.

pub mod coverage;
pub mod diff;
pub mod graph;
pub mod lint;
pub mod policy;
pub mod ports;
pub mod reach;
pub mod selector;
pub mod service;
pub mod summary;
pub mod tier;
pub mod validate;
pub mod verdict;

use foldhash::{HashMap, HashMapExt};
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::snapshot::{NamespaceInfo, PodInfo, Snapshot};
use policy::{Direction, IpBlock, NamespaceScope, Peer, Policy};
use validate::FieldError;

/// A policy the API server would reject, with its errors.
#[derive(Debug, Clone)]
pub struct InvalidPolicy {
    pub namespace: String,
    /// `namespace/name` (name may be empty when missing).
    pub key: String,
    pub errors: Vec<FieldError>,
}

/// A snapshot with its policies compiled and indexed.
#[derive(Debug)]
pub struct Model<'s> {
    pub snapshot: &'s Snapshot,
    /// The valid policies, in the snapshot's order.
    pub policies: Vec<Policy>,
    pub invalid: Vec<InvalidPolicy>,
    /// The valid cluster-scoped policies (ClusterNetworkPolicy,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy), in the snapshot's
    /// order.
    pub cluster_policies: Vec<tier::ClusterPolicy>,
    /// The cluster-scoped policies the API server would reject: never
    /// evaluated, but the answers they may change are undecided.
    pub cluster_invalid: Vec<tier::InvalidClusterPolicy>,
    namespaces: HashMap<&'s str, &'s NamespaceInfo>,
    by_namespace: HashMap<String, Vec<usize>>,
    /// For each valid policy, its index in `snapshot.policies`.
    sources: Vec<usize>,
    /// The pods of each namespace, in the snapshot's order.
    pods_by_namespace: HashMap<&'s str, Vec<&'s PodInfo>>,
    /// Every pod IP with its pod, sorted by IP: an ipBlock is a range query.
    pod_ips: Vec<(IpAddr, &'s PodInfo)>,
    /// For each namespace label `key=value`, the namespaces carrying it
    /// (indices into `snapshot.namespaces`, ascending).
    namespaces_by_label: HashMap<(&'s str, &'s str), Vec<usize>>,
    /// Every address known for each node name: the Node object's addresses
    /// and the host IPs of every pod scheduled there.
    node_addresses: HashMap<&'s str, Vec<IpAddr>>,
    /// The pod CIDRs of every node, when each node's are known (Node
    /// `spec.podCIDRs`, and no node left unread): a pod without IP yet
    /// gets one inside them. `None`: where its IP will be is unknown.
    pod_cidrs: Option<Vec<ipnet::IpNet>>,
}

impl<'s> Model<'s> {
    /// Validates and compiles every policy of the snapshot.
    /// `default_namespace` is where policies without a namespace land.
    pub fn new(snapshot: &'s Snapshot, default_namespace: &str) -> Model<'s> {
        let mut policies = Vec::new();
        let mut sources = Vec::new();
        let mut invalid = Vec::new();
        for (source, np) in snapshot.policies.iter().enumerate() {
            let namespace = np
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_string());
            let key = format!(
                "{namespace}/{}",
                np.metadata.name.as_deref().unwrap_or_default()
            );
            let decode = snapshot.decode_errors.get(&key);
            // A value of the wrong type stops the API server at decoding:
            // it never validates the object, so neither do we.
            let undecodable = decode.is_some_and(|errors| {
                errors
                    .iter()
                    .any(|e| matches!(e.kind, validate::ErrorKind::WrongType(_)))
            });
            let mut errors = if undecodable {
                Vec::new()
            } else {
                validate::network_policy(np)
            };
            if let Some(decode) = decode {
                errors.splice(0..0, decode.iter().cloned());
            }
            if !errors.is_empty() {
                invalid.push(InvalidPolicy {
                    namespace,
                    key,
                    errors,
                });
                continue;
            }
            match Policy::compile(np, default_namespace) {
                Ok(p) => {
                    policies.push(p);
                    sources.push(source);
                }
                Err(e) => invalid.push(InvalidPolicy {
                    namespace,
                    key,
                    errors: vec![FieldError {
                        path: "spec".into(),
                        kind: validate::ErrorKind::Invalid("...".into()),
                        detail: e,
                    }],
                }),
            }
        }
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in policies.iter().enumerate() {
            by_namespace.entry(p.namespace.clone()).or_default().push(i);
        }
        let mut pods_by_namespace: HashMap<&str, Vec<&PodInfo>> = HashMap::new();
        let mut pod_ips = Vec::new();
        for pod in &snapshot.pods {
            pods_by_namespace
                .entry(pod.namespace.as_str())
                .or_default()
                .push(pod);
            pod_ips.extend(pod.ips.iter().map(|ip| (*ip, pod)));
        }
        pod_ips.sort_by_key(|(ip, _)| *ip);
        let mut namespaces_by_label: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, n) in snapshot.namespaces.iter().enumerate() {
            for (k, v) in &n.labels {
                namespaces_by_label
                    .entry((k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        let mut node_addresses: HashMap<&str, Vec<IpAddr>> = HashMap::new();
        for n in &snapshot.nodes {
            node_addresses
                .entry(n.name.as_str())
                .or_default()
                .extend(&n.addresses);
        }
        for p in &snapshot.pods {
            if let Some(node) = &p.node {
                node_addresses
                    .entry(node.as_str())
                    .or_default()
                    .extend(&p.host_ips);
            }
        }
        for list in node_addresses.values_mut() {
            let mut seen = std::collections::HashSet::new();
            list.retain(|ip| seen.insert(*ip));
        }
        let (cluster_policies, cluster_invalid) = tier::compile_all(&snapshot.cluster_policies);
        Model {
            snapshot,
            policies,
            invalid,
            cluster_policies,
            cluster_invalid,
            namespaces: snapshot.namespace_index(),
            by_namespace,
            sources,
            pods_by_namespace,
            pod_ips,
            namespaces_by_label,
            node_addresses,
            pod_cidrs: (!snapshot.nodes.is_empty()
                && snapshot.gaps.nodes.is_none()
                && snapshot.nodes.iter().all(|n| !n.pod_cidrs.is_empty()))
            .then(|| {
                snapshot
                    .nodes
                    .iter()
                    .flat_map(|n| n.pod_cidrs.iter().copied())
                    .collect()
            }),
        }
    }

    /// Every address known for the node `pod` runs on: its own
    /// `status.hostIPs`, the Node object's InternalIP/ExternalIP addresses
    /// when it was read, and the host IPs of the other pods on the same
    /// `spec.nodeName`. Empty when the pod's node is unknown (workload
    /// manifests, unscheduled pods).
    pub fn node_addresses(&self, pod: &PodInfo) -> Vec<IpAddr> {
        let mut out = pod.host_ips.clone();
        if let Some(known) = pod.node.as_deref().and_then(|n| self.node_addresses.get(n)) {
            for ip in known {
                if !out.contains(ip) {
                    out.push(*ip);
                }
            }
        }
        out
    }

    /// The policy `self.policies[i]` as written in the input.
    pub fn source(&self, i: usize) -> &'s NetworkPolicy {
        &self.snapshot.policies[self.sources[i]]
    }

    /// The pods of a namespace, in the snapshot's order.
    pub fn pods_in(&self, namespace: &str) -> &[&'s PodInfo] {
        self.pods_by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Pods with an IP inside `block` (and outside its excepts), in the
    /// snapshot's order.
    pub fn pods_in_block(&self, block: &IpBlock) -> Vec<&'s PodInfo> {
        let (first, last) = (block.cidr.network(), block.cidr.broadcast());
        let start = self.pod_ips.partition_point(|(ip, _)| *ip < first);
        let mut pods: Vec<&'s PodInfo> = self.pod_ips[start..]
            .iter()
            .take_while(|(ip, _)| *ip <= last)
            .filter(|(ip, _)| block.contains(ip))
            .map(|(_, pod)| *pod)
            .collect();
        sort_pods(&mut pods);
        pods
    }

    /// The pods `peer` matches now, in the snapshot's order: the same as
    /// filtering every pod with [`verdict::peer_matches`], without looking
    /// at the pods of other namespaces.
    pub fn peer_pods(&self, peer: &Peer) -> Vec<&'s PodInfo> {
        match peer {
            Peer::IpBlock(block) => self.pods_in_block(block),
            Peer::Pods { namespaces, pods } => self
                .namespaces_in(namespaces)
                .flat_map(|n| self.pods_in(&n.name))
                .filter(|p| !p.on_host_network())
                .filter(|p| pods.as_ref().is_none_or(|s| s.matches(&p.labels)))
                .copied()
                .collect(),
        }
    }

    /// The pods any of `peers` matches (`None`: every pod), in the
    /// snapshot's order.
    pub fn peers_pods(&self, peers: Option<&[Peer]>) -> Vec<&'s PodInfo> {
        let Some(peers) = peers else {
            return self.snapshot.pods.iter().collect();
        };
        let mut out: Vec<&'s PodInfo> = peers.iter().flat_map(|p| self.peer_pods(p)).collect();
        if peers.len() > 1 {
            sort_pods(&mut out);
        }
        out
    }

    /// The labels of a namespace (synthesised namespaces carry only their
    /// name label).
    pub fn namespace(&self, name: &str) -> Option<&'s NamespaceInfo> {
        self.namespaces.get(name).copied()
    }

    /// Indices of the valid policies in `namespace`.
    pub fn policies_in(&self, namespace: &str) -> &[usize] {
        self.by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Policies that select `pod` (by spec.podSelector), any direction.
    pub fn selecting(&self, pod: &PodInfo) -> Vec<usize> {
        self.policies_in(&pod.namespace)
            .iter()
            .copied()
            .filter(|&i| self.policies[i].pod_selector.matches(&pod.labels))
            .collect()
    }

    /// Policies that select `pod` and isolate it in direction `d`. None for
    /// a host-network pod: it is its node's address, which NetworkPolicy
    /// does not isolate (see [`PodInfo::on_host_network`]).
    pub fn isolating(&self, pod: &PodInfo, d: Direction) -> Vec<usize> {
        let [ingress, egress] = self.isolating_both(pod);
        match d {
            Direction::Ingress => ingress,
            Direction::Egress => egress,
        }
    }

    /// [`Model::isolating`] in both directions (in [`Direction::BOTH`]'s
    /// order), selecting once.
    pub fn isolating_both(&self, pod: &PodInfo) -> [Vec<usize>; 2] {
        if pod.on_host_network() {
            return [Vec::new(), Vec::new()];
        }
        let selecting = self.selecting(pod);
        Direction::BOTH.map(|d| {
            selecting
                .iter()
                .copied()
                .filter(|&i| self.policies[i].rules(d).is_some())
                .collect()
        })
    }

    /// The namespaces a selector peer's scope covers now, in the
    /// snapshot's order (by name).
    pub fn namespaces_in(&self, scope: &NamespaceScope) -> std::vec::IntoIter<&'s NamespaceInfo> {
        let all = &self.snapshot.namespaces;
        let found: Vec<&'s NamespaceInfo> = match scope {
            NamespaceScope::Own(own) => self.namespace(own).into_iter().collect(),
            NamespaceScope::Selected(s) => {
                // An `In` requirement (matchLabels are `In` with one value)
                // narrows the candidates to the namespaces carrying one of
                // its labels; the fullest check still decides.
                let candidates = s
                    .requirements
                    .iter()
                    .filter_map(|r| match &r.op {
                        selector::Op::In(values) => {
                            let mut c: Vec<usize> = values
                                .iter()
                                .flat_map(|v| {
                                    self.namespaces_by_label
                                        .get(&(r.key.as_str(), v.as_str()))
                                        .into_iter()
                                        .flatten()
                                        .copied()
                                })
                                .collect();
                            if values.len() > 1 {
                                c.sort_unstable();
                                c.dedup();
                            }
                            Some(c)
                        }
                        _ => None,
                    })
                    .min_by_key(Vec::len);
                match candidates {
                    Some(c) => c
                        .into_iter()
                        .map(|i| &all[i])
                        .filter(|n| namespace_matches(s, n) == Some(true))
                        .collect(),
                    None => all
                        .iter()
                        .filter(|n| namespace_matches(s, n) == Some(true))
                        .collect(),
                }
            }
        };
        found.into_iter()
    }

    /// Pods a policy isolates now: those it selects, less host-network
    /// pods (their node's address, which no policy isolates: see
    /// [`Model::isolating`]). What lint counts and lists.
    pub fn isolated_pods(&self, policy: &Policy) -> Vec<&'s PodInfo> {
        let mut pods = self.selected_pods(policy);
        pods.retain(|p| !p.on_host_network());
        pods
    }

    /// Pods a policy's podSelector matches now, host-network pods included.
    pub fn selected_pods(&self, policy: &Policy) -> Vec<&'s PodInfo> {
        self.pods_in(&policy.namespace)
            .iter()
            .filter(|p| policy.pod_selector.matches(&p.labels))
            .copied()
            .collect()
    }
}

/// Whether namespaceSelector `sel` matches namespace `n`; `None` when that
/// is unknown: `n` was not read (not in the input, or RBAC refused it), so
/// only its `kubernetes.io/metadata.name` label is known, and `sel` has
/// requirements on other labels that its name requirements do not already
/// rule out.
pub fn namespace_matches(sel: &selector::Selector, n: &NamespaceInfo) -> Option<bool> {
    if !n.synthesized {
        return Some(sel.matches(&n.labels));
    }
    let (on_name, others) = sel.split_on_key(crate::snapshot::NAMESPACE_NAME_LABEL);
    if !on_name.matches(&n.labels) {
        Some(false)
    } else if others.is_everything() {
        Some(true)
    } else {
        None
    }
}

/// Sorts pods into the snapshot's order and drops repeats of the same pod.
/// Every pod a `Model` hands out lives in `snapshot.pods`, so that order is
/// the order of their addresses: no string is compared.
fn sort_pods(pods: &mut Vec<&PodInfo>) {
    pods.sort_unstable_by_key(|p| *p as *const PodInfo as usize);
    pods.dedup_by(|a, b| std::ptr::eq(*a, *b));
}

impl Model<'_> {
    /// Namespaces that were not in the input but that label-based
    /// namespaceSelectors (anything beyond `kubernetes.io/metadata.name`)
    /// are evaluated against: their other labels are unknown, so answers
    /// that depend on them are guesses. Empty when nothing is guessed.
    pub fn guessed_namespaces(&self) -> Vec<&str> {
        let label_based = self.policies.iter().any(Policy::uses_namespace_labels)
            || self
                .cluster_policies
                .iter()
                .any(tier::ClusterPolicy::uses_namespace_labels);
        if !label_based {
            return Vec::new();
        }
        self.snapshot
            .namespaces
            .iter()
            .filter(|n| n.synthesized)
            .map(|n| n.name.as_str())
            .collect()
    }

    /// Whether some valid policy has an ipBlock peer (what a pod without a
    /// known IP cannot be checked against).
    /// Whether `block` may hold the IP a pod without one yet will get:
    /// when every node's pod CIDRs are known, only if some of them overlap
    /// the block's addresses (its CIDR minus its excepts); otherwise it
    /// may. (Pods' own IPs prove no range: they are never used for this.)
    pub fn block_may_hold_pod_ips(&self, block: &policy::IpBlock) -> bool {
        let Some(cidrs) = &self.pod_cidrs else {
            return true;
        };
        let span = |n: &ipnet::IpNet| -> (bool, u128, u128) {
            let num = |ip: IpAddr| match ip {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            (n.addr().is_ipv6(), num(n.network()), num(n.broadcast()))
        };
        let (v6, lo, hi) = span(&block.cidr);
        let mut holes: Vec<(u128, u128)> = block
            .except
            .iter()
            .map(span)
            .filter(|s| s.0 == v6)
            .map(|s| (s.1, s.2))
            .collect();
        holes.sort_unstable();
        cidrs.iter().map(span).any(|(pv6, plo, phi)| {
            let (from, to) = (plo.max(lo), phi.min(hi));
            if pv6 != v6 || from > to {
                return false;
            }
            // Some address of from..=to outside every hole.
            let mut at = from;
            for &(a, b) in &holes {
                if b < at {
                    continue;
                }
                if a > at {
                    return true;
                }
                match b.checked_add(1) {
                    Some(next) if b < to => at = next,
                    _ => return false,
                }
            }
            at <= to
        })
    }

    /// Every rule of every valid cluster policy, ingress then egress, in
    /// the policies' order.
    pub fn cluster_rules(&self) -> impl Iterator<Item = &tier::TierRule> + '_ {
        self.cluster_policies
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
    }

    /// Every peer of [`Model::cluster_rules`], in order.
    pub fn cluster_peers(&self) -> impl Iterator<Item = &tier::TierPeer> + '_ {
        self.cluster_rules().flat_map(|r| &r.peers)
    }

    pub fn has_ip_blocks(&self) -> bool {
        self.policies
            .iter()
            .flat_map(Policy::peers)
            .any(|peer| matches!(peer, Peer::IpBlock(_)))
    }

    /// The note that goes with [`Model::guessed_namespaces`], if any.
    pub fn guessed_namespaces_note(&self) -> Option<String> {
        let guessed = self.guessed_namespaces();
        let one = guessed.len() == 1;
        (!guessed.is_empty()).then(|| {
            let why = match &self.snapshot.gaps.namespaces {
                // Live: RBAC kept the namespaces from being read.
                Some(why) if self.snapshot.gaps.live => format!(
                    "{} not readable as a namespace list ({why})",
                    if one { "is" } else { "are" }
                ),
                _ if self.snapshot.gaps.live => {
                    format!("{} not in the cluster", if one { "is" } else { "are" })
                }
                _ => format!("{} not in the input", if one { "is" } else { "are" }),
            };
            format!(
                "namespace{} {} {why}: only {} name label is known, so label-based namespaceSelectors may match {} differently in the cluster",
                if guessed.len() == 1 { "" } else { "s" },
                guessed.join(", "),
                if guessed.len() == 1 { "its" } else { "their" },
                if guessed.len() == 1 { "it" } else { "them" },
            )
        })
    }
}

#[cfg(test)]
mod pod_cidr_tests {
    use super::*;

    #[test]
    fn a_block_may_hold_pod_ips_only_where_it_overlaps_a_pod_cidr() {
        let nodes = "apiVersion: v1\nkind: Node\nmetadata: {name: a}\nspec: {podCIDRs: [10.244.0.0/24, 'fd00:1::/64']}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: b}\nspec: {podCIDRs: [10.244.1.0/24]}\n";
        let snap = crate::source::files::load_str("n.yaml", nodes, "default").unwrap();
        let m = Model::new(&snap, "default");
        let block = |cidr: &str, except: &[&str]| policy::IpBlock {
            cidr: cidr.parse().unwrap(),
            except: except.iter().map(|e| e.parse().unwrap()).collect(),
        };
        assert!(m.block_may_hold_pod_ips(&block("10.244.1.128/25", &[])));
        assert!(m.block_may_hold_pod_ips(&block("0.0.0.0/0", &[])));
        assert!(!m.block_may_hold_pod_ips(&block("10.245.0.0/16", &[])));
        // The excepts cover both pod CIDRs, in two pieces for one of them.
        assert!(!m.block_may_hold_pod_ips(&block(
            "10.0.0.0/8",
            &["10.244.0.0/25", "10.244.0.128/25", "10.244.1.0/24"]
        )));
        // One address left: it may.
        assert!(m.block_may_hold_pod_ips(&block(
            "10.0.0.0/8",
            &["10.244.0.0/25", "10.244.0.128/26", "10.244.1.0/24"]
        )));
        // Another family.
        assert!(!m.block_may_hold_pod_ips(&block("fd00:2::/64", &[])));
        assert!(m.block_may_hold_pod_ips(&block("fd00::/16", &[])));
        // A node without pod CIDRs: unknown, so it may.
        let partly = format!("{nodes}---\napiVersion: v1\nkind: Node\nmetadata: {{name: c}}\n");
        let snap = crate::source::files::load_str("n.yaml", &partly, "default").unwrap();
        let m = Model::new(&snap, "default");
        assert!(m.block_may_hold_pod_ips(&block("10.245.0.0/16", &[])));
    }
}

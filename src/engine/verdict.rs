//! One connection, decided: may endpoint A reach endpoint B, on which
//! ports, and which rules on each side decide it.
//!
//! A connection A→B is allowed on a port iff both sides allow it: A's egress
//! (not isolated, or some egress rule of a policy selecting A admits B on
//! that port) and B's ingress (likewise with A). Endpoints outside the
//! cluster (an IP address) have no policies of their own.

use std::net::IpAddr;

use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer};
use crate::engine::ports::PortSet;
use crate::snapshot::{ContainerPort, PodInfo};

/// One end of a connection.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    Pod(&'a PodInfo),
    /// An address outside the cluster's pods.
    External(IpAddr),
}

impl Endpoint<'_> {
    pub fn display(&self) -> String {
        match self {
            Endpoint::Pod(p) => p.key(),
            Endpoint::External(ip) => ip.to_string(),
        }
    }

    fn pod(&self) -> Option<&PodInfo> {
        match self {
            Endpoint::Pod(p) => Some(p),
            Endpoint::External(_) => None,
        }
    }
}

/// How one rule of an isolating policy treats the other endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    /// Index into `Model::policies`.
    pub policy: usize,
    /// 0-based index into `spec.ingress` / `spec.egress`.
    pub rule: usize,
    /// Whether some peer of the rule (or "all peers") matches the other
    /// endpoint.
    pub peer_matched: bool,
    /// The ports the rule admits towards the destination (empty when a
    /// named port does not resolve on it).
    pub ports: PortSet,
    /// The rule has ipBlock peers that could not be checked because the pod
    /// has no known IP.
    pub ip_unknown: bool,
}

impl RuleResult {
    /// The ports this rule contributes to the connection.
    pub fn admitted(&self) -> PortSet {
        if self.peer_matched {
            self.ports.clone()
        } else {
            PortSet::empty()
        }
    }
}

/// One side of a connection: A's egress or B's ingress.
#[derive(Debug, Clone)]
pub struct SideVerdict {
    pub direction: Direction,
    /// False when this side is outside the cluster (no policies apply).
    pub applies: bool,
    pub isolated: bool,
    /// Policies isolating the pod in this direction.
    pub policies: Vec<usize>,
    pub rules: Vec<RuleResult>,
    /// Ports this side lets through.
    pub allowed: PortSet,
}

/// The whole connection.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    /// Ports allowed by both sides.
    pub allowed: PortSet,
}

/// Whether `peer` of `policy` matches endpoint `ep`, and whether the answer
/// is a guess because `ep` is a pod without IP facing an ipBlock.
pub fn peer_matches(model: &Model<'_>, peer: &Peer, ep: &Endpoint<'_>) -> (bool, bool) {
    match (peer, ep) {
        (Peer::IpBlock(block), Endpoint::External(ip)) => (block.contains(ip), false),
        (Peer::IpBlock(block), Endpoint::Pod(p)) => {
            (p.ips.iter().any(|ip| block.contains(ip)), p.ips.is_empty())
        }
        (Peer::Pods { .. }, Endpoint::External(_)) => (false, false),
        (Peer::Pods { namespaces, pods }, Endpoint::Pod(p)) => {
            let ns_ok = match namespaces {
                NamespaceScope::Own(ns) => *ns == p.namespace,
                NamespaceScope::Selected(sel) => model
                    .namespace(&p.namespace)
                    .is_some_and(|n| sel.matches(&n.labels)),
            };
            let pods_ok = pods.as_ref().is_none_or(|s| s.matches(&p.labels));
            (ns_ok && pods_ok, false)
        }
    }
}

/// Evaluates one side: `subject` is the pod whose policies apply, `other`
/// the far end, `dest_ports` the destination's container ports.
pub fn side(
    model: &Model<'_>,
    direction: Direction,
    subject: &Endpoint<'_>,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
) -> SideVerdict {
    let Some(pod) = subject.pod() else {
        return SideVerdict {
            direction,
            applies: false,
            isolated: false,
            policies: Vec::new(),
            rules: Vec::new(),
            allowed: PortSet::all(),
        };
    };
    let policies = model.isolating(pod, direction);
    if policies.is_empty() {
        return SideVerdict {
            direction,
            applies: true,
            isolated: false,
            policies,
            rules: Vec::new(),
            allowed: PortSet::all(),
        };
    }
    let mut rules = Vec::new();
    let mut allowed = PortSet::empty();
    for &pi in &policies {
        for (ri, rule) in model.policies[pi]
            .rules(direction)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let (peer_matched, ip_unknown) = match &rule.peers {
                None => (true, false),
                Some(peers) => {
                    let mut matched = false;
                    let mut unknown = false;
                    for peer in peers {
                        let (m, u) = peer_matches(model, peer, other);
                        matched |= m;
                        unknown |= u;
                    }
                    (matched, unknown && !matched)
                }
            };
            let result = RuleResult {
                policy: pi,
                rule: ri,
                peer_matched,
                ports: rule.resolve_ports(dest_ports),
                ip_unknown,
            };
            allowed.union_with(&result.admitted());
            rules.push(result);
        }
    }
    SideVerdict {
        direction,
        applies: true,
        isolated: true,
        policies,
        rules,
        allowed,
    }
}

/// Decides the connection `from` → `to`.
pub fn connection(model: &Model<'_>, from: &Endpoint<'_>, to: &Endpoint<'_>) -> Verdict {
    let dest_ports = to.pod().map(|p| p.ports.as_slice());
    let egress = side(model, Direction::Egress, from, to, dest_ports);
    let ingress = side(model, Direction::Ingress, to, from, dest_ports);
    let allowed = egress.allowed.intersect(&ingress.allowed);
    Verdict {
        egress,
        ingress,
        allowed,
    }
}

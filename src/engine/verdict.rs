//! One connection, decided: may endpoint A reach endpoint B, on which
//! ports, and which rules on each side decide it.
//!
//! A connection A→B is allowed on a port iff both sides allow it: A's egress
//! (not isolated, or some egress rule of a policy selecting A admits B on
//! that port) and B's ingress (likewise with A). Endpoints outside the
//! cluster (an IP address) have no policies of their own.
//!
//! Two exceptions come from the API itself rather than from policies:
//! a pod connecting to itself, and traffic between a pod and the node it
//! runs on ("traffic to and from the node where a Pod is running is always
//! allowed", NetworkPolicy concepts, kubernetes.io). Host-network pods are
//! their node's address: no policy isolates them, no selector matches
//! them, ipBlocks match their (the node's) IPs, and named ports do not
//! resolve on them.

use std::net::IpAddr;

use crate::engine::Model;
use crate::engine::policy::{Direction, NamespaceScope, Peer};
use crate::engine::ports::PortSet;
use crate::engine::tier::eval::TierSide;
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
            Endpoint::Pod(p) => p.ref_key(),
            Endpoint::External(ip) => ip.to_string(),
        }
    }

    fn pod(&self) -> Option<&PodInfo> {
        match self {
            Endpoint::Pod(p) => Some(p),
            Endpoint::External(_) => None,
        }
    }

    /// The pod when it is on the pod network: the only kind of endpoint
    /// NetworkPolicy selects and isolates.
    pub fn pod_network(&self) -> Option<&PodInfo> {
        self.pod().filter(|p| !p.on_host_network())
    }
}

/// The container ports a named port resolves against when `pod` is the
/// destination: none for a host-network pod, which is its node's address
/// (as for any address outside the pod network).
pub fn destination_ports(pod: &PodInfo) -> Option<&[ContainerPort]> {
    (!pod.on_host_network()).then_some(pod.ports.as_slice())
}

/// Why a connection is allowed whatever the policies say: it is between a
/// pod and the node it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTraffic {
    /// The node's name when known, else its address.
    pub node: String,
    /// The node's address on the node's side of the connection.
    pub address: IpAddr,
    /// `namespace/name` of the pod-network pod that runs on that node.
    pub pod: String,
}

/// Whether `from` -> `to` is traffic between a pod-network pod and its own
/// node (the node's address, or a host-network pod on that node), which
/// NetworkPolicy always allows, in both directions.
pub fn node_traffic(
    model: &Model<'_>,
    from: &Endpoint<'_>,
    to: &Endpoint<'_>,
) -> Option<NodeTraffic> {
    let (node_side, pod) = match (from.pod_network(), to.pod_network()) {
        (None, Some(p)) => (from, p),
        (Some(p), None) => (to, p),
        _ => return None,
    };
    let snapshot = model.snapshot;
    let addresses = model.node_addresses(pod);
    let address = match node_side {
        Endpoint::External(ip) => addresses.contains(ip).then_some(*ip)?,
        Endpoint::Pod(host) => {
            if host.same_node(pod) {
                host.ips.first().or(host.host_ips.first()).copied()?
            } else {
                host.ips.iter().find(|ip| addresses.contains(ip)).copied()?
            }
        }
    };
    let node = pod
        .node
        .clone()
        .or_else(|| snapshot.node_of(&address).map(str::to_string))
        .unwrap_or_else(|| address.to_string());
    Some(NodeTraffic {
        node,
        address,
        pod: pod.key(),
    })
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
    /// The rule has a namespaceSelector on labels other than
    /// `kubernetes.io/metadata.name`, and the other endpoint's namespace was
    /// not read (not in the input, or RBAC refused it): only its name label
    /// is known, so whether the peer matches is unknown.
    pub labels_unknown: bool,
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

    /// The ports this rule may contribute, beyond [`RuleResult::admitted`],
    /// if the peer it could not check does match: empty unless the rule's
    /// match is unknown (`ip_unknown` or `labels_unknown`).
    pub fn maybe(&self) -> PortSet {
        if !self.peer_matched && (self.ip_unknown || self.labels_unknown) {
            self.ports.clone()
        } else {
            PortSet::empty()
        }
    }

    /// Whether the rule's peer match could not be decided.
    pub fn undecided(&self) -> bool {
        !self.peer_matched && (self.ip_unknown || self.labels_unknown)
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
    /// Ports this side may also let through: those of rules whose peer
    /// match is unknown (see [`RuleResult::maybe`]). Empty when everything
    /// was decided.
    pub maybe: PortSet,
    /// The cluster policy tiers around NetworkPolicy, when some cluster
    /// policy exists and this side is a pod on the pod network; `allowed`
    /// and `maybe` are then the tiers' (NetworkPolicy's own answer is
    /// `rules`).
    pub tiers: Option<TierSide>,
}

impl SideVerdict {
    /// Whether some of `ports` is decided by policies of equal priority in
    /// conflict (the API leaves the outcome to the implementation).
    pub fn undefined_on(&self, ports: &PortSet) -> bool {
        self.tiers.as_ref().is_some_and(|t| t.undefined_on(ports))
    }

    /// The ports cluster policies in no defined order decide differently
    /// on this side (see [`TierSide::undefined_ports`]); empty without
    /// cluster policies.
    pub fn undefined_ports(&self) -> PortSet {
        self.tiers
            .as_ref()
            .map(TierSide::undefined_ports)
            .unwrap_or_default()
    }
}

/// The whole connection.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    /// Ports allowed: by both sides, or every port for node traffic.
    pub allowed: PortSet,
    /// Ports that may be allowed: `allowed` plus those that depend on a
    /// peer match that could not be decided (a pod without known IP facing
    /// an ipBlock, a namespace whose labels were not read facing a
    /// label-based namespaceSelector). Equal to `allowed` when the answer
    /// is certain.
    pub possible: PortSet,
    /// Set when the connection is between a pod and its own node: allowed
    /// whatever the policies say (the sides still show what they would do).
    pub node: Option<NodeTraffic>,
    /// Set when the ends were decided per address family (dual-stack):
    /// each shared family with the ports allowed over it; empty when the
    /// ends share no family (they cannot connect). `allowed` is the union.
    pub families: Option<Vec<(Family, PortSet)>>,
}

impl Verdict {
    /// The ports whose answer is undefined: not allowed for certain, and
    /// decided differently by cluster policies in no defined order (equal
    /// priorities, or the BaselineAdminNetworkPolicy against Baseline
    /// ClusterNetworkPolicies) on either side.
    pub fn undefined(&self) -> PortSet {
        let mut conflicts = self.egress.undefined_ports();
        conflicts.union_with(&self.ingress.undefined_ports());
        self.possible.subtract(&self.allowed).intersect(&conflicts)
    }
}

/// Whether `peer` of `policy` matches endpoint `ep`, and whether that is
/// unknown: `ep` is a pod without IP facing an ipBlock, or a pod whose
/// namespace was not read (only its name label is known) facing a
/// namespaceSelector on other labels. An unknown match is reported as
/// `(false, true)`.
pub fn peer_matches(model: &Model<'_>, peer: &Peer, ep: &Endpoint<'_>) -> (bool, bool) {
    match (peer, ep) {
        (Peer::IpBlock(block), Endpoint::External(ip)) => (block.contains(ip), false),
        (Peer::IpBlock(block), Endpoint::Pod(p)) => {
            // A pod without IP yet: unknown, unless its IP is known to
            // come from pod CIDRs the block does not reach.
            (
                p.ips.iter().any(|ip| block.contains(ip)),
                p.ips.is_empty() && (p.host_network || model.block_may_hold_pod_ips(block)),
            )
        }
        (Peer::Pods { .. }, Endpoint::External(_)) => (false, false),
        // Selectors reach pods on the pod network only.
        (Peer::Pods { .. }, Endpoint::Pod(p)) if p.on_host_network() => (false, false),
        (Peer::Pods { namespaces, pods }, Endpoint::Pod(p)) => {
            if !pods.as_ref().is_none_or(|s| s.matches(&p.labels)) {
                return (false, false);
            }
            match namespaces {
                NamespaceScope::Own(ns) => (*ns == p.namespace, false),
                NamespaceScope::Selected(sel) => {
                    // A namespace nothing else referred to (the assumed
                    // DNS pods' kube-system, say): only its name is known.
                    let unknown;
                    let n = match model.namespace(&p.namespace) {
                        Some(n) => n,
                        None => {
                            unknown = crate::snapshot::NamespaceInfo::new(
                                &p.namespace,
                                Default::default(),
                                true,
                            );
                            &unknown
                        }
                    };
                    match crate::engine::namespace_matches(sel, n) {
                        Some(m) => (m, false),
                        None => (false, true),
                    }
                }
            }
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
    // An address, or a host-network pod: no NetworkPolicy isolates it.
    let Some(pod) = subject.pod_network() else {
        return SideVerdict {
            direction,
            applies: false,
            isolated: false,
            policies: Vec::new(),
            rules: Vec::new(),
            allowed: PortSet::all(),
            maybe: PortSet::empty(),
            tiers: None,
        };
    };
    let policies = model.isolating(pod, direction);
    let side = np_side(model, direction, other, dest_ports, policies);
    with_tiers(model, pod, other, dest_ports, side)
}

/// The cluster policy tiers around NetworkPolicy's answer for one side
/// (see [`crate::engine::tier::eval`]): unchanged when there is no
/// cluster policy.
fn with_tiers(
    model: &Model<'_>,
    pod: &PodInfo,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
    mut side: SideVerdict,
) -> SideVerdict {
    if !crate::engine::tier::eval::any(model) {
        return side;
    }
    let (tiers, allowed, maybe) = crate::engine::tier::eval::side(
        model,
        side.direction,
        pod,
        other,
        dest_ports,
        crate::engine::tier::eval::NetworkPolicyAnswer {
            isolated: side.isolated,
            allowed: &side.allowed,
            maybe: &side.maybe,
        },
    );
    side.allowed = allowed;
    side.maybe = maybe;
    side.tiers = Some(tiers);
    side
}

/// NetworkPolicy's answer for one side of a pod on the pod network.
fn np_side(
    model: &Model<'_>,
    direction: Direction,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
    policies: Vec<usize>,
) -> SideVerdict {
    if policies.is_empty() {
        return SideVerdict {
            direction,
            applies: true,
            isolated: false,
            policies,
            rules: Vec::new(),
            allowed: PortSet::all(),
            maybe: PortSet::empty(),
            tiers: None,
        };
    }
    let mut rules = Vec::new();
    let mut allowed = PortSet::empty();
    let mut maybe = PortSet::empty();
    for &pi in &policies {
        for (ri, rule) in model.policies[pi]
            .rules(direction)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let (peer_matched, ip_unknown, labels_unknown) = match &rule.peers {
                None => (true, false, false),
                Some(peers) => {
                    let mut matched = false;
                    let mut ip = false;
                    let mut labels = false;
                    for peer in peers {
                        let (m, u) = peer_matches(model, peer, other);
                        matched |= m;
                        match peer {
                            Peer::IpBlock(_) => ip |= u,
                            Peer::Pods { .. } => labels |= u,
                        }
                    }
                    (matched, ip && !matched, labels && !matched)
                }
            };
            let result = RuleResult {
                policy: pi,
                rule: ri,
                peer_matched,
                ports: rule.resolve_ports(dest_ports),
                ip_unknown,
                labels_unknown,
            };
            allowed.union_with(&result.admitted());
            maybe.union_with(&result.maybe());
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
        maybe,
        tiers: None,
    }
}

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// `IPv4` / `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The address families of an endpoint's known addresses; `None` when a
/// pod's addresses are unknown (a workload manifest), so that any family
/// may be used.
fn families(ep: &Endpoint<'_>) -> Option<Vec<Family>> {
    let mut out: Vec<Family> = match ep {
        Endpoint::External(ip) => vec![Family::of(ip)],
        Endpoint::Pod(p) if p.ips.is_empty() => return None,
        Endpoint::Pod(p) => p.ips.iter().map(Family::of).collect(),
    };
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// `pod` with only its addresses of `family`.
pub fn narrowed(pod: &PodInfo, family: Family) -> PodInfo {
    let mut p = pod.clone();
    p.ips.retain(|ip| Family::of(ip) == family);
    p
}

/// Decides the connection `from` → `to`.
///
/// A packet carries addresses of one family: between dual-stack pods the
/// connection is made over IPv4 or over IPv6, and each side's ipBlocks see
/// the other end's address of that family only. So when the two ends'
/// families differ from a single shared one, the connection is decided
/// per shared family (each end narrowed to its addresses of that family)
/// and the ports allowed are the union; two pods that share no family
/// cannot connect at all. Towards or from an address, a dual-stack pod
/// uses its address of the same family. The sides shown are those of the first family that
/// allows something (or the first family). Traffic between a pod and its
/// own node is allowed whatever the families.
pub fn connection(model: &Model<'_>, from: &Endpoint<'_>, to: &Endpoint<'_>) -> Verdict {
    // Node traffic is allowed whatever the addresses' families.
    if node_traffic(model, from, to).is_some() {
        return connection_once(model, from, to);
    }
    // An address has one family: the pod at the other end uses its
    // address of that family, if it has one (else it is taken as is: its
    // addresses may be incompletely known).
    if let (Endpoint::External(ip), Endpoint::Pod(p)) | (Endpoint::Pod(p), Endpoint::External(ip)) =
        (from, to)
    {
        let f = Family::of(ip);
        if p.ips.iter().any(|a| Family::of(a) != f) && p.ips.iter().any(|a| Family::of(a) == f) {
            let n = narrowed(p, f);
            let np = Endpoint::Pod(&n);
            return match from {
                Endpoint::External(_) => connection_once(model, from, &np),
                Endpoint::Pod(_) => connection_once(model, &np, to),
            };
        }
        return connection_once(model, from, to);
    }
    let (Some(a), Some(b)) = (families(from), families(to)) else {
        return connection_once(model, from, to);
    };
    let shared: Vec<Family> = a.iter().filter(|f| b.contains(f)).copied().collect();
    if a.len() == 1 && a == b {
        return connection_once(model, from, to);
    }
    let narrow = |ep: &Endpoint<'_>, f: Family| -> Option<PodInfo> {
        match ep {
            Endpoint::Pod(p) => Some(narrowed(p, f)),
            Endpoint::External(_) => None,
        }
    };
    let mut per_family: Vec<(Family, Verdict)> = Vec::new();
    for &f in &shared {
        let (na, nb) = (narrow(from, f), narrow(to, f));
        let ea = na.as_ref().map_or(*from, Endpoint::Pod);
        let eb = nb.as_ref().map_or(*to, Endpoint::Pod);
        per_family.push((f, connection_once(model, &ea, &eb)));
    }
    let mut allowed = PortSet::empty();
    let mut possible = PortSet::empty();
    for (_, v) in &per_family {
        allowed.union_with(&v.allowed);
        possible.union_with(&v.possible);
    }
    let families: Vec<(Family, PortSet)> = per_family
        .iter()
        .map(|(f, v)| (*f, v.allowed.clone()))
        .collect();
    let shown = per_family
        .iter()
        .position(|(_, v)| !v.allowed.is_empty())
        .unwrap_or(0);
    let mut verdict = if per_family.is_empty() {
        // No family in common: decided on nothing; the sides as written.
        let mut v = connection_once(model, from, to);
        v.node = None;
        v
    } else {
        per_family.swap_remove(shown).1
    };
    verdict.allowed = allowed;
    verdict.possible = possible;
    verdict.families = Some(families);
    verdict
}

/// One connection over one address family (or with unknown addresses).
fn connection_once(model: &Model<'_>, from: &Endpoint<'_>, to: &Endpoint<'_>) -> Verdict {
    let dest_ports = to.pod().and_then(destination_ports);
    let egress = side(model, Direction::Egress, from, to, dest_ports);
    let ingress = side(model, Direction::Ingress, to, from, dest_ports);
    let node = node_traffic(model, from, to);
    let (allowed, possible) = if node.is_some() {
        (PortSet::all(), PortSet::all())
    } else {
        let widen = |s: &SideVerdict| {
            let mut w = s.allowed.clone();
            w.union_with(&s.maybe);
            w
        };
        (
            egress.allowed.intersect(&ingress.allowed),
            widen(&egress).intersect(&widen(&ingress)),
        )
    };
    Verdict {
        egress,
        ingress,
        allowed,
        possible,
        node,
        families: None,
    }
}

//! One side of a connection through the tiers, per port: the Admin tier
//! (policies whose subject selects the pod, ascending priority, rules in
//! written order, the first rule whose peer and port match decides:
//! Accept and Deny are final, Pass leaves the port to NetworkPolicy),
//! then NetworkPolicy (if one isolates the pod in that direction it
//! decides every port still open, its implicit deny included), then the
//! Baseline tier (only when no NetworkPolicy isolates the pod in that
//! direction; Pass there is the default), then the default: allowed.
//!
//! What cannot be decided is never guessed: a peer or subject whose match
//! is unknown (a namespace whose labels were not read, a pod without IP
//! facing `networks`, `domainNames`, a node not read), policies of equal
//! priority that both match a port with different actions (the API leaves
//! the result to the implementation), and invalid cluster policies that
//! may apply: those ports are undecided (in `maybe`, never in `allowed`).

use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::engine::ports::PortSet;
use crate::engine::tier::{Action, Subject, Tier, TierPeer, TierRule};
use crate::engine::verdict::Endpoint;
use crate::snapshot::{ContainerPort, NamespaceInfo, PodInfo};

/// One rule of a cluster policy that matched the other end on some of
/// the ports still open when it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStep {
    pub tier: Tier,
    /// Index into `Model::cluster_policies`.
    pub policy: usize,
    /// 0-based index into the direction's rules.
    pub rule: usize,
    pub action: Action,
    /// The ports this rule decided (the open ports it matched).
    pub ports: PortSet,
    /// The match could not be decided (peer or subject unknown): these
    /// ports are undecided rather than decided by this rule.
    pub undecided: bool,
}

/// Policies of one tier and one priority whose rules match the same
/// ports with different actions: the result is left to the
/// implementation, so those ports are undecided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub tier: Tier,
    pub priority: Option<u32>,
    pub ports: PortSet,
    /// Indices into [`TierSide::steps`] of the rules in conflict.
    pub steps: Vec<usize>,
}

/// What one tier did with the ports that reached it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierOutcome {
    pub accept: PortSet,
    pub deny: PortSet,
    pub pass: PortSet,
    /// Ports no rule of the tier matched.
    pub unmatched: PortSet,
    /// Ports whose outcome is unknown.
    pub undecided: PortSet,
}

/// The tiers' part of one side of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSide {
    /// The rules that matched, in evaluation order (Admin, then Baseline).
    pub steps: Vec<TierStep>,
    pub conflicts: Vec<Conflict>,
    /// Indices into `Model::cluster_invalid` of the invalid cluster
    /// policies that may apply to this side.
    pub invalid: Vec<usize>,
    pub admin: TierOutcome,
    /// Ports NetworkPolicy decided (Admin passed or did not match them, and
    /// NetworkPolicy isolates the pod in this direction); empty otherwise.
    pub network_policy: PortSet,
    /// The Baseline tier's outcome; `None` when NetworkPolicy isolates the
    /// pod in this direction (Baseline is not reached).
    pub baseline: Option<TierOutcome>,
    /// Ports allowed by default: no tier decided them.
    pub default: PortSet,
}

impl TierSide {
    /// Whether some port of `ports` is in a conflict of equal priorities.
    pub fn undefined_on(&self, ports: &PortSet) -> bool {
        self.conflicts
            .iter()
            .any(|c| !c.ports.intersect(ports).is_empty())
    }

    /// The ports in a conflict of equal priorities (or of the
    /// BaselineAdminNetworkPolicy against Baseline ClusterNetworkPolicies):
    /// undefined by the API.
    pub fn undefined_ports(&self) -> PortSet {
        let mut out = PortSet::empty();
        for c in &self.conflicts {
            out.union_with(&c.ports);
        }
        out
    }

    /// The first step deciding `(protocol, port)`, if a cluster rule did.
    pub fn step_for(
        &self,
        protocol: crate::engine::ports::Protocol,
        port: u16,
    ) -> Option<&TierStep> {
        self.steps.iter().find(|s| s.ports.contains(protocol, port))
    }
}

/// The namespace named `name` as known (a namespace nothing else referred
/// to: its name only).
fn namespace_matches(
    model: &Model<'_>,
    sel: &crate::engine::selector::Selector,
    name: &str,
) -> Option<bool> {
    match model.namespace(name) {
        Some(n) => crate::engine::namespace_matches(sel, n),
        None => crate::engine::namespace_matches(
            sel,
            &NamespaceInfo::new(name, Default::default(), true),
        ),
    }
}

/// Whether `subject` selects `pod` (`None`: unknown). Host-network pods
/// are never selected.
pub fn subject_matches(model: &Model<'_>, subject: &Subject, pod: &PodInfo) -> Option<bool> {
    if pod.on_host_network() {
        return Some(false);
    }
    match subject {
        Subject::Namespaces(sel) => namespace_matches(model, sel, &pod.namespace),
        Subject::Pods { namespaces, pods } => {
            if !pods.matches(&pod.labels) {
                return Some(false);
            }
            match namespaces {
                None => Some(true),
                Some(sel) => namespace_matches(model, sel, &pod.namespace),
            }
        }
        // A selector no implementation can convert: unknown, never guessed.
        Subject::Unusable(_) => None,
    }
}

/// Whether `subject` may select pods of namespace `ns`, whatever their
/// labels (`None`: unknown, the namespace's labels were not read).
pub fn subject_in_namespace(model: &Model<'_>, subject: &Subject, ns: &str) -> Option<bool> {
    match subject {
        Subject::Namespaces(sel)
        | Subject::Pods {
            namespaces: Some(sel),
            ..
        } => namespace_matches(model, sel, ns),
        Subject::Pods {
            namespaces: None, ..
        } => Some(true),
        Subject::Unusable(_) => None,
    }
}

/// Whether `peer` matches endpoint `ep`: `(matched, unknown)`.
pub fn peer_matches(model: &Model<'_>, peer: &TierPeer, ep: &Endpoint<'_>) -> (bool, bool) {
    let decided = |m: Option<bool>| match m {
        Some(m) => (m, false),
        None => (false, true),
    };
    match peer {
        TierPeer::Namespaces(sel) => match ep.pod_network() {
            Some(p) => decided(namespace_matches(model, sel, &p.namespace)),
            None => (false, false),
        },
        TierPeer::Pods { namespaces, pods } => match ep.pod_network() {
            Some(p) if pods.matches(&p.labels) => match namespaces {
                None => (true, false),
                Some(sel) => decided(namespace_matches(model, sel, &p.namespace)),
            },
            _ => (false, false),
        },
        TierPeer::Networks(nets) => match ep {
            Endpoint::External(ip) => (nets.iter().any(|n| n.contains(ip)), false),
            Endpoint::Pod(p) => (
                p.ips.iter().any(|ip| nets.iter().any(|n| n.contains(ip))),
                p.ips.is_empty(),
            ),
        },
        TierPeer::Nodes(sel) => decided(node_matches(model, sel, ep)),
        // Resolved by the data plane from DNS: not known here.
        TierPeer::DomainNames(_) => (false, true),
        // A selector no implementation can convert: unknown among what
        // such a peer can match (pods on the pod network; node addresses
        // and host-network pods for a nodes peer).
        TierPeer::Unusable { nodes: false, .. } => (false, ep.pod_network().is_some()),
        TierPeer::Unusable { nodes: true, .. } => (false, ep.pod_network().is_none()),
    }
}

/// Whether a `nodes` peer matches `ep`: a node's address (an address of a
/// Node read, or a host-network pod, which has its node's address).
fn node_matches(
    model: &Model<'_>,
    sel: &crate::engine::selector::Selector,
    ep: &Endpoint<'_>,
) -> Option<bool> {
    let snapshot = model.snapshot;
    let node_name: Option<String> = match ep {
        Endpoint::External(ip) => match snapshot.nodes.iter().find(|n| n.addresses.contains(ip)) {
            Some(n) => return Some(sel.matches(&n.labels)),
            None => snapshot.node_of(ip).map(str::to_string),
        },
        Endpoint::Pod(p) if p.on_host_network() || p.is_node() => p.node.clone().or_else(|| {
            p.ips
                .iter()
                .find_map(|ip| snapshot.node_of(ip).map(str::to_string))
        }),
        Endpoint::Pod(_) => return Some(false),
    };
    let is_host = matches!(ep, Endpoint::Pod(_));
    match node_name.as_deref().and_then(|n| snapshot.node(n)) {
        Some(node) => Some(sel.matches(&node.labels)),
        // A node known by name or address only: its labels are unknown.
        None if is_host || node_name.is_some() => {
            if sel.is_everything() {
                Some(true)
            } else {
                None
            }
        }
        None => Some(false),
    }
}

/// `(matched, unknown)` over a rule's peers.
fn rule_matches(model: &Model<'_>, rule: &TierRule, other: &Endpoint<'_>) -> (bool, bool) {
    let mut unknown = false;
    for peer in &rule.peers {
        let (m, u) = peer_matches(model, peer, other);
        if m {
            return (true, false);
        }
        unknown |= u;
    }
    (false, unknown)
}

/// Whether some cluster policy (valid or not) exists: without any, the
/// tiers change nothing and are not evaluated.
pub fn any(model: &Model<'_>) -> bool {
    !model.cluster_policies.is_empty() || !model.cluster_invalid.is_empty()
}

/// Whether some cluster policy may apply to `pod` as its subject (a valid
/// one whose subject selects it or may, an invalid one whose subject is
/// unknown or may select it). A connection none of whose ends is such a
/// pod is NetworkPolicy's alone: what the class-based matrix computes.
pub fn may_apply(model: &Model<'_>, pod: &PodInfo) -> bool {
    if pod.on_host_network() {
        return false;
    }
    model
        .cluster_policies
        .iter()
        .any(|p| subject_matches(model, &p.subject, pod) != Some(false))
        || model.cluster_invalid.iter().any(|p| {
            p.subject
                .as_ref()
                .is_none_or(|s| subject_matches(model, s, pod) != Some(false))
        })
}

/// The cluster policies that may apply to one pod in one direction, per
/// tier: what [`side_planned`] evaluates. Depends on the pod alone (its
/// namespace, labels and network), so one plan serves every connection of
/// the pod in that direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Plan {
    /// Per tier ([`Tier::Admin`], [`Tier::Baseline`]): the valid policies
    /// with rules in the direction whose subject selects the pod or may,
    /// as (priority, `u32::MAX` for none; index into
    /// `Model::cluster_policies`; whether the subject match is unknown),
    /// by priority then index.
    applying: [Vec<(u32, usize, bool)>; 2],
    /// Per tier: indices into `Model::cluster_invalid` of the invalid
    /// policies that may be of the tier and apply (they make whatever
    /// reaches the tier undecided).
    invalid: [Vec<usize>; 2],
}

impl Plan {
    /// Whether no cluster policy may apply: the side is NetworkPolicy's
    /// alone (or the default).
    pub fn is_empty(&self) -> bool {
        self.applying.iter().all(Vec::is_empty) && self.invalid.iter().all(Vec::is_empty)
    }
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Admin => 0,
        Tier::Baseline => 1,
    }
}

/// The cluster policies that may apply to `pod` in `direction` (none for
/// a host-network pod, which no policy isolates).
pub fn plan(model: &Model<'_>, direction: Direction, pod: &PodInfo) -> Plan {
    let mut plan = Plan::default();
    if pod.on_host_network() {
        return plan;
    }
    for (i, p) in model.cluster_policies.iter().enumerate() {
        if p.rules(direction).is_empty() {
            continue;
        }
        match subject_matches(model, &p.subject, pod) {
            Some(false) => {}
            m => plan.applying[tier_index(p.tier)].push((
                p.priority.unwrap_or(u32::MAX),
                i,
                m.is_none(),
            )),
        }
    }
    for list in &mut plan.applying {
        list.sort_by_key(|&(prio, i, _)| (prio, i));
    }
    let d = match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    };
    for (i, bad) in model.cluster_invalid.iter().enumerate() {
        let subject = bad
            .subject
            .as_ref()
            .and_then(|s| subject_matches(model, s, pod));
        if bad.directions[d] && subject != Some(false) {
            for tier in [Tier::Admin, Tier::Baseline] {
                if bad.tier.is_none_or(|t| t == tier) {
                    plan.invalid[tier_index(tier)].push(i);
                }
            }
        }
    }
    plan
}

/// Evaluates one tier for the ports `entering` it.
#[allow(clippy::too_many_arguments)]
fn tier(
    model: &Model<'_>,
    tier: Tier,
    plan: &Plan,
    direction: Direction,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
    entering: &PortSet,
    side: &mut TierSide,
) -> TierOutcome {
    let mut out = TierOutcome::default();
    if entering.is_empty() {
        return out;
    }
    // The policies of this tier selecting the pod, by priority.
    let applying = &plan.applying[tier_index(tier)];
    let mut open = entering.clone();
    let mut start = 0;
    while start < applying.len() && !open.is_empty() {
        let prio = applying[start].0;
        let end = start + applying[start..].iter().take_while(|a| a.0 == prio).count();
        let mut by_action = [PortSet::empty(), PortSet::empty(), PortSet::empty()];
        let mut undecided = PortSet::empty();
        let first_step = side.steps.len();
        for &(_, pi, subject_unknown) in &applying[start..end] {
            let mut policy_open = open.clone();
            for (ri, rule) in model.cluster_policies[pi]
                .rules(direction)
                .iter()
                .enumerate()
            {
                if policy_open.is_empty() {
                    break;
                }
                let ports = rule.resolve_ports(dest_ports).intersect(&policy_open);
                // Ports the rule may or may not match (a reversed range).
                let unsure = rule
                    .undecided_ports()
                    .intersect(&policy_open)
                    .subtract(&ports);
                if ports.is_empty() && unsure.is_empty() {
                    continue;
                }
                let (matched, unknown) = rule_matches(model, rule, other);
                if !matched && !unknown {
                    continue;
                }
                let und = !matched || subject_unknown;
                if !ports.is_empty() {
                    policy_open = policy_open.subtract(&ports);
                    if und {
                        undecided.union_with(&ports);
                    } else {
                        by_action[rule.action.index()].union_with(&ports);
                    }
                    side.steps.push(TierStep {
                        tier,
                        policy: pi,
                        rule: ri,
                        action: rule.action,
                        ports,
                        undecided: und,
                    });
                }
                if !unsure.is_empty() {
                    policy_open = policy_open.subtract(&unsure);
                    undecided.union_with(&unsure);
                    side.steps.push(TierStep {
                        tier,
                        policy: pi,
                        rule: ri,
                        action: rule.action,
                        ports: unsure,
                        undecided: true,
                    });
                }
            }
        }
        // Equal priorities matching one port with different actions.
        let mut conflict = PortSet::empty();
        for a in 0..3 {
            for b in a + 1..3 {
                conflict.union_with(&by_action[a].intersect(&by_action[b]));
            }
        }
        if !conflict.is_empty() {
            let steps = (first_step..side.steps.len())
                .filter(|&s| {
                    !side.steps[s].undecided && !side.steps[s].ports.intersect(&conflict).is_empty()
                })
                .collect();
            side.conflicts.push(Conflict {
                tier,
                priority: model.cluster_policies[applying[start].1].priority,
                ports: conflict.clone(),
                steps,
            });
            undecided.union_with(&conflict);
        }
        for action in Action::ALL {
            let decided = by_action[action.index()].subtract(&undecided);
            open = open.subtract(&by_action[action.index()]);
            match action {
                Action::Accept => out.accept.union_with(&decided),
                Action::Deny => out.deny.union_with(&decided),
                Action::Pass => out.pass.union_with(&decided),
            }
        }
        open = open.subtract(&undecided);
        out.undecided.union_with(&undecided);
        start = end;
    }
    // The BaselineAdminNetworkPolicy has no priority against the Baseline
    // ClusterNetworkPolicies (the API orders neither before the other):
    // a port both decide, one allowing and the other denying, is
    // undefined, as a tie of equal priorities is.
    if tier == Tier::Baseline {
        let banp = |i: usize| model.cluster_policies[i].api == crate::engine::tier::Api::Baseline;
        let known = |a: &&(u32, usize, bool)| !a.2;
        let olds: Vec<usize> = applying
            .iter()
            .filter(known)
            .filter(|a| banp(a.1))
            .map(|a| a.1)
            .collect();
        let cnps: Vec<usize> = applying
            .iter()
            .filter(known)
            .filter(|a| !banp(a.1))
            .map(|a| a.1)
            .collect();
        if !olds.is_empty() && !cnps.is_empty() {
            // First match per port over `list` in order: (allowed,
            // denied, steps); in the Baseline tier Pass goes to the
            // default, which allows. Unknown matches decide nothing here
            // (they are undecided already).
            let first = |list: &[usize]| {
                let mut left = entering.clone();
                let (mut allow, mut deny) = (PortSet::empty(), PortSet::empty());
                let mut steps = Vec::new();
                for &pi in list {
                    for (ri, rule) in model.cluster_policies[pi]
                        .rules(direction)
                        .iter()
                        .enumerate()
                    {
                        let ports = rule.resolve_ports(dest_ports).intersect(&left);
                        let unsure = rule.undecided_ports().intersect(&left).subtract(&ports);
                        if ports.is_empty() && unsure.is_empty() {
                            continue;
                        }
                        let (matched, unknown) = rule_matches(model, rule, other);
                        if matched || unknown {
                            // Undecided already, deciding nothing here.
                            left = left.subtract(&unsure);
                        }
                        if ports.is_empty() {
                            continue;
                        }
                        if unknown {
                            left = left.subtract(&ports);
                        }
                        if !matched || unknown {
                            continue;
                        }
                        left = left.subtract(&ports);
                        match rule.action {
                            Action::Deny => deny.union_with(&ports),
                            Action::Accept | Action::Pass => allow.union_with(&ports),
                        }
                        steps.push((pi, ri, rule.action, ports));
                    }
                }
                (allow, deny, steps)
            };
            let (ba, bd, bsteps) = first(&olds);
            let (ca, cd, csteps) = first(&cnps);
            let mut conflict = ba.intersect(&cd);
            conflict.union_with(&bd.intersect(&ca));
            if !conflict.is_empty() {
                out.accept = out.accept.subtract(&conflict);
                out.deny = out.deny.subtract(&conflict);
                out.pass = out.pass.subtract(&conflict);
                out.undecided.union_with(&conflict);
                let mut steps = Vec::new();
                for (pi, ri, action, ports) in csteps.into_iter().chain(bsteps) {
                    let ports = ports.intersect(&conflict);
                    if ports.is_empty() {
                        continue;
                    }
                    side.steps.push(TierStep {
                        tier,
                        policy: pi,
                        rule: ri,
                        action,
                        ports,
                        undecided: false,
                    });
                    steps.push(side.steps.len() - 1);
                }
                side.conflicts.push(Conflict {
                    tier,
                    priority: None,
                    ports: conflict,
                    steps,
                });
            }
        }
    }
    out.unmatched = open;
    // An invalid policy that may be of this tier and select the pod in
    // this direction could decide any port that reached the tier.
    let invalid = &plan.invalid[tier_index(tier)];
    for &i in invalid {
        if !side.invalid.contains(&i) {
            side.invalid.push(i);
        }
    }
    if !invalid.is_empty() {
        return TierOutcome {
            undecided: entering.clone(),
            ..TierOutcome::default()
        };
    }
    out
}

/// What NetworkPolicy alone says of one side.
#[derive(Debug, Clone, Copy)]
pub struct NetworkPolicyAnswer<'a> {
    /// Some NetworkPolicy isolates the pod in this direction.
    pub isolated: bool,
    /// The ports it allows.
    pub allowed: &'a PortSet,
    /// The ports it may also allow (undecided peers).
    pub maybe: &'a PortSet,
}

/// The tiers around a NetworkPolicy side. Returns the tiers' part and the
/// side's ports allowed and possibly allowed.
pub fn side(
    model: &Model<'_>,
    direction: Direction,
    pod: &PodInfo,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
    np: NetworkPolicyAnswer<'_>,
) -> (TierSide, PortSet, PortSet) {
    side_planned(
        model,
        &plan(model, direction, pod),
        direction,
        other,
        dest_ports,
        np,
    )
}

/// [`side`] with the pod's [`plan`] made beforehand (the class matrix
/// makes it once per class and direction).
pub fn side_planned(
    model: &Model<'_>,
    plan: &Plan,
    direction: Direction,
    other: &Endpoint<'_>,
    dest_ports: Option<&[ContainerPort]>,
    np: NetworkPolicyAnswer<'_>,
) -> (TierSide, PortSet, PortSet) {
    let mut side = TierSide {
        steps: Vec::new(),
        conflicts: Vec::new(),
        invalid: Vec::new(),
        admin: TierOutcome::default(),
        network_policy: PortSet::empty(),
        baseline: None,
        default: PortSet::empty(),
    };
    let admin = tier(
        model,
        Tier::Admin,
        plan,
        direction,
        other,
        dest_ports,
        &PortSet::all(),
        &mut side,
    );
    let mut open = admin.pass.clone();
    open.union_with(&admin.unmatched);
    let mut allowed = admin.accept.clone();
    let mut maybe = admin.undecided.clone();
    if np.isolated {
        allowed.union_with(&np.allowed.intersect(&open));
        maybe.union_with(&np.maybe.intersect(&open));
        side.network_policy = open;
    } else {
        let base = tier(
            model,
            Tier::Baseline,
            plan,
            direction,
            other,
            dest_ports,
            &open,
            &mut side,
        );
        let mut default = base.pass.clone();
        default.union_with(&base.unmatched);
        allowed.union_with(&base.accept);
        allowed.union_with(&default);
        maybe.union_with(&base.undecided);
        side.default = default;
        side.baseline = Some(base);
    }
    side.admin = admin;
    let maybe = maybe.subtract(&allowed);
    (side, allowed, maybe)
}

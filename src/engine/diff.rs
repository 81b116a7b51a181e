//! What a change to the cluster does to connectivity: two snapshots (old
//! and new) in, the connections that open, close or change ports out,
//! with the policies and rules responsible on each side.
//!
//! [`diff`] is the one implementation (`kubectl netpol diff`, and later
//! the wizard's review). It reuses the matrix's pod classes
//! ([`crate::engine::reach`]): pods that no policy can tell apart on either
//! side form one *joint* class (their old class, their new class), and
//! only the class pairs a change can reach are evaluated:
//!
//! - a policy that differs (added, deleted, changed) touches the pods it
//!   selects, on either side: their rows for egress, their columns for
//!   ingress;
//! - a pod that differs (new, deleted, other labels, ports or IPs, its
//!   namespace's labels changed) touches its row and its column.
//!
//! Every other pair keeps its answer: a connection depends only on the
//! policies selecting its two ends and on the two ends themselves. Traffic
//! between a pod and its own node is compared pod by pod. When the pods
//! have more than one address family the comparison is made on whole rows
//! of both matrices instead ([`crate::cmd::matrix::compute`]), which decides
//! each pair per family, and each family is also compared on its own: a
//! connection that moves from IPv4 to IPv6 is a change, told family by
//! family ([`Diff::per_family`]).
//!
//! Pods of a namespace holding an invalid policy (on either side) are left
//! out of the comparison: nothing is claimed about their connections.
//!
//! [`applied`] builds the new snapshot the way `kubectl apply -f` would
//! change the cluster.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::engine::Model;
use crate::engine::policy::{Direction, Peer, Policy};
use crate::engine::ports::PortSet;
use crate::engine::reach::{ClassRows, Classes, NodeTraffic, PortSets};
use crate::engine::selector::Selector;
use crate::engine::verdict::{Endpoint, Family, SideVerdict, Verdict, connection};
use crate::snapshot::{Labels, PodInfo, Snapshot};

/// A pod of either snapshot (matched by namespace and name).
#[derive(Debug, Clone, Copy)]
pub struct DiffPod<'s> {
    pub old: Option<&'s PodInfo>,
    pub new: Option<&'s PodInfo>,
}

impl<'s> DiffPod<'s> {
    /// The pod as it is after the change, or before when it is deleted.
    pub fn pod(&self) -> &'s PodInfo {
        match (self.new, self.old) {
            (Some(p), _) | (None, Some(p)) => p,
            (None, None) => unreachable!("a diff pod is on at least one side"),
        }
    }
}

/// One ordered pair of pods whose allowed ports differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Index into [`Diff::pods`].
    pub from: u32,
    pub to: u32,
    /// Port set ids in [`Diff::sets`]: [`PortSets::EMPTY`] when nothing
    /// was (is) allowed.
    pub before: u32,
    pub after: u32,
    /// Index into [`Diff::reasons`].
    pub reasons: u32,
}

/// Addresses outside the pods whose access to or from a pod changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalChange {
    /// Index into [`Diff::pods`].
    pub pod: u32,
    /// Egress: the pod towards the addresses; ingress: the addresses
    /// towards the pod.
    pub direction: Direction,
    /// The addresses, as CIDR ranges (`10.0.0.0/8 except 10.1.0.0/16`).
    pub addresses: String,
    pub before: u32,
    pub after: u32,
    pub reasons: u32,
}

/// How a policy differs between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyChange {
    Added,
    Deleted,
    Changed,
}

impl PolicyChange {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyChange::Added => "added",
            PolicyChange::Deleted => "deleted",
            PolicyChange::Changed => "changed",
        }
    }
}

/// A policy that differs but selects no pod on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unselecting {
    pub key: String,
    pub change: PolicyChange,
    /// The one-line summary on each side, when valid there.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The connectivity difference between two snapshots.
#[derive(Debug)]
pub struct Diff<'s> {
    /// Every pod of either side, by namespace and name.
    pub pods: Vec<DiffPod<'s>>,
    /// Pod pairs whose ports differ, by source then destination.
    pub changes: Vec<Change>,
    /// Address ranges whose access differs, by pod.
    pub external: Vec<ExternalChange>,
    /// The port sets `changes` and `external` refer to.
    pub sets: PortSets,
    /// The reasons `changes` and `external` refer to: one line each.
    pub reasons: Vec<Vec<String>>,
    /// Policies (`namespace/name`) that differ, valid or not.
    pub policies: BTreeMap<String, PolicyChange>,
    /// Namespaces whose pods were not compared, with why.
    pub undecided: BTreeMap<String, Vec<String>>,
    /// Pods of `undecided` namespaces, on either side.
    pub undecided_pods: usize,
    /// Pod pairs whose answer depends, on either side, on a peer match
    /// that cannot be decided (a namespace whose labels were not read
    /// facing a namespaceSelector on other labels, a pod without IP facing
    /// an ipBlock) and may differ: neither claimed changed nor unchanged
    /// (not in `changes`). By source then destination.
    pub maybe: Vec<Change>,
    /// Policies that differ but select no pod of either side: nothing
    /// could be compared for them. (key, change, summary before, after).
    pub unselecting: Vec<Unselecting>,
    /// The address families external ranges are shown for: those of the
    /// pods' IPs and the ipBlocks on either side (IPv4 when none).
    pub families: BTreeSet<Family>,
    /// Pairs of `changes` whose ports differ between the address families
    /// they may use (dual-stack ends), by (source, destination): each
    /// family whose ports change, with its port set ids before and after.
    /// `before`/`after` of the change are then the union over families.
    pub per_family: BTreeMap<(u32, u32), Vec<FamilyPorts>>,
    /// Address ranges outside the pods (per pod and direction) whose
    /// access differs but is undecided on a side (a cluster policy rule
    /// by `domainNames`, an invalid cluster policy): not in `external`.
    pub external_undecided: usize,
}

/// One address family's ports of a pair, before and after (port set ids
/// in [`Diff::sets`]).
pub type FamilyPorts = (Family, u32, u32);

/// Compares the connectivity of `old` and `new` (see the module doc).
pub fn diff<'s>(old: &Model<'s>, new: &Model<'s>) -> Diff<'s> {
    let pods = union_pods(old.snapshot, new.snapshot);
    let policies = policy_changes(old, new);
    let undecided = undecided_namespaces(old, new);
    let skip: Vec<bool> = pods
        .iter()
        .map(|p| undecided.contains_key(&p.pod().namespace))
        .collect();
    let mut d = Diff {
        undecided_pods: skip.iter().filter(|s| **s).count(),
        pods,
        changes: Vec::new(),
        external: Vec::new(),
        sets: PortSets::new(),
        reasons: Vec::new(),
        policies,
        undecided,
        maybe: Vec::new(),
        unselecting: Vec::new(),
        families: BTreeSet::new(),
        per_family: BTreeMap::new(),
        external_undecided: 0,
    };
    let families: BTreeSet<Family> = d
        .pods
        .iter()
        .flat_map(|p| p.old.into_iter().chain(p.new))
        .flat_map(|p| p.ips.iter().map(Family::of))
        .collect();
    d.families = families.clone();
    for m in [old, new] {
        for peer in m.policies.iter().flat_map(Policy::peers) {
            if let Peer::IpBlock(b) = peer {
                d.families.insert(Family::of(&b.cidr.network()));
            }
        }
        // And the cluster policies' `networks`.
        for peer in m.cluster_peers() {
            if let crate::engine::tier::TierPeer::Networks(nets) = peer {
                d.families
                    .extend(nets.iter().map(|n| Family::of(&n.network())));
            }
        }
    }
    if d.families.is_empty() {
        d.families.insert(Family::V4);
    }
    let touched = Touched::new(old, new, &d);
    if families.len() > 1 {
        by_rows(old, new, &mut d, &skip);
    } else {
        by_classes(old, new, &mut d, &skip, &touched);
    }
    keep_own_families(&mut d);
    without_own_node(old, new, &mut d);
    mark_undecided(old, new, &mut d, &skip, &touched);
    d.unselecting = unselecting(old, new, &d.policies);
    d.changes
        .sort_unstable_by_key(|c| (u64::from(c.from) << 32) | u64::from(c.to));
    d.external.sort_by_key(|e| (e.pod, e.direction));
    d
}

/// Drops the external ranges of a family a pod has no address of: a pod
/// with IPv4 addresses only is reached over IPv4 only (a pod whose
/// addresses are unknown keeps every family).
fn keep_own_families(d: &mut Diff<'_>) {
    let pods = &d.pods;
    d.external.retain(|e| {
        let p = pods[e.pod as usize];
        let own: BTreeSet<Family> = p
            .old
            .into_iter()
            .chain(p.new)
            .flat_map(|q| q.ips.iter().map(Family::of))
            .collect();
        // One family per range text (see render_spans).
        let family = if e.addresses.contains(':') {
            Family::V6
        } else {
            Family::V4
        };
        own.is_empty() || own.contains(&family)
    });
}

/// Takes a pod's own node's addresses out of its external ranges: traffic
/// between a pod and its node is always allowed, whatever the policies
/// (`0.0.0.0/0 except 192.168.0.10/32`); a range of its node's addresses
/// only is dropped.
fn without_own_node(old: &Model<'_>, new: &Model<'_>, d: &mut Diff<'_>) {
    let pods = &d.pods;
    let mut nodes: HashMap<u32, Vec<(bool, u128)>> = HashMap::new();
    let mut out = Vec::with_capacity(d.external.len());
    for mut e in std::mem::take(&mut d.external) {
        let holes = nodes.entry(e.pod).or_insert_with(|| {
            let p = pods[e.pod as usize];
            let mut ips: Vec<(bool, u128)> = p
                .old
                .map(|q| old.node_addresses(q))
                .into_iter()
                .chain(p.new.map(|q| new.node_addresses(q)))
                .flatten()
                .map(to_num)
                .collect();
            ips.sort_unstable();
            ips.dedup();
            ips
        });
        if holes.is_empty() {
            out.push(e);
            continue;
        }
        let Some(spans) = parse_spans(&e.addresses) else {
            out.push(e);
            continue;
        };
        let mut left: Vec<Span> = Vec::new();
        let mut cut = false;
        for s in spans {
            let mut lo = s.lo;
            let mut done = false;
            for &(v6, at) in holes.iter().filter(|h| h.0 == s.v6) {
                if at < lo || at > s.hi {
                    continue;
                }
                cut = true;
                if at > lo {
                    left.push(Span { v6, lo, hi: at - 1 });
                }
                match at.checked_add(1) {
                    Some(next) if at < s.hi => lo = next,
                    _ => {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                left.push(Span { lo, ..s });
            }
        }
        if !cut {
            out.push(e);
            continue;
        }
        if let Some(text) = render_spans(&left).into_iter().next() {
            e.addresses = text;
            out.push(e);
        }
    }
    d.external = out;
}

/// The spans of a range text of [`render_spans`] (`C except X, Y` or
/// `A, B`), ascending and disjoint.
fn parse_spans(text: &str) -> Option<Vec<Span>> {
    let nets = |t: &str| -> Option<Vec<Span>> {
        let mut v: Vec<Span> = t
            .split(", ")
            .map(|c| c.trim().parse::<ipnet::IpNet>().ok().map(|n| net_span(&n)))
            .collect::<Option<_>>()?;
        v.sort();
        Some(v)
    };
    match text.split_once(" except ") {
        None => nets(text),
        Some((base, holes)) => {
            let base = net_span(&base.trim().parse::<ipnet::IpNet>().ok()?);
            let mut out = Vec::new();
            let mut lo = base.lo;
            for h in nets(holes)? {
                if h.lo > lo {
                    out.push(Span {
                        lo,
                        hi: h.lo - 1,
                        ..base
                    });
                }
                match h.hi.checked_add(1) {
                    Some(n) => lo = lo.max(n),
                    None => return Some(out),
                }
            }
            if lo <= base.hi {
                out.push(Span { lo, ..base });
            }
            Some(out)
        }
    }
}

/// Whether some peer of `m`'s policies cannot decide whether it matches
/// `p` (see [`crate::engine::verdict::peer_matches`]); an
/// over-approximation is fine: the pairs it lets through are decided by
/// [`connection`].
struct Unknowns<'m, 's> {
    model: &'m Model<'s>,
    ip_blocks: bool,
    namespace_selectors: Vec<&'m Selector>,
    by_namespace: HashMap<String, bool>,
}

impl<'m, 's> Unknowns<'m, 's> {
    fn new(model: &'m Model<'s>) -> Self {
        let mut ip_blocks = false;
        let mut namespace_selectors = Vec::new();
        for peer in model.policies.iter().flat_map(Policy::peers) {
            match peer {
                Peer::IpBlock(_) => ip_blocks = true,
                Peer::Pods {
                    namespaces: crate::engine::policy::NamespaceScope::Selected(sel),
                    ..
                } => namespace_selectors.push(sel),
                Peer::Pods { .. } => {}
            }
        }
        Unknowns {
            model,
            ip_blocks,
            namespace_selectors,
            by_namespace: HashMap::new(),
        }
    }

    /// Whether a cluster policy may leave an answer about `p` undecided:
    /// it may select `p` (as its subject) with a `domainNames` or `nodes`
    /// peer, or its subject's match on `p` is unknown, or it is invalid
    /// and may apply to `p`; or `p` has no IP facing `networks`, or is a
    /// host-network pod facing `nodes` (whose labels may be unknown); or
    /// `p`'s namespace labels were not read under a selector by labels.
    fn tier_unknown(&self, p: &PodInfo) -> bool {
        use crate::engine::tier::TierPeer;
        use crate::engine::tier::eval::subject_matches;
        let m = self.model;
        if !crate::engine::tier::eval::any(m) {
            return false;
        }
        let peers = || m.cluster_peers();
        if p.ips.is_empty() && peers().any(|x| matches!(x, TierPeer::Networks(_))) {
            return true;
        }
        if (p.on_host_network() || p.is_node()) && peers().any(|x| matches!(x, TierPeer::Nodes(_)))
        {
            return true;
        }
        let unread = m.namespace(&p.namespace).is_none_or(|n| n.synthesized);
        if unread && m.cluster_policies.iter().any(|c| c.uses_namespace_labels()) {
            return true;
        }
        // Policies whose order the API leaves undefined, both applying:
        // two of one tier and one priority, or the
        // BaselineAdminNetworkPolicy beside a Baseline ClusterNetworkPolicy.
        let applying: Vec<&crate::engine::tier::ClusterPolicy> = m
            .cluster_policies
            .iter()
            .filter(|c| subject_matches(m, &c.subject, p) != Some(false))
            .collect();
        let undefined_order = applying.iter().enumerate().any(|(i, a)| {
            applying[i + 1..].iter().any(|b| {
                a.tier == b.tier
                    && (a.priority == b.priority
                        || (a.tier == crate::engine::tier::Tier::Baseline
                            && (a.priority.is_none() || b.priority.is_none())))
            })
        });
        if undefined_order {
            return true;
        }
        m.cluster_invalid.iter().any(|c| {
            c.subject
                .as_ref()
                .is_none_or(|s| subject_matches(m, s, p) != Some(false))
        }) || m.cluster_policies.iter().any(|c| {
            let subject = subject_matches(m, &c.subject, p);
            // A rule whose match or ports are unknown whatever the other
            // end: domain names, nodes (labels may be unread), a selector
            // no implementation can use, a reversed v1alpha1 port range.
            let unknown_rule = |r: &crate::engine::tier::TierRule| {
                r.peers.iter().any(|x| {
                    matches!(
                        x,
                        TierPeer::DomainNames(_) | TierPeer::Nodes(_) | TierPeer::Unusable { .. }
                    )
                }) || r
                    .ports
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, crate::engine::tier::TierPort::Reversed(..)))
            };
            subject.is_none()
                || (subject == Some(true) && c.ingress.iter().chain(&c.egress).any(unknown_rule))
        })
    }

    fn of(&mut self, p: &PodInfo) -> bool {
        if self.ip_blocks && p.ips.is_empty() {
            return true;
        }
        if self.tier_unknown(p) {
            return true;
        }
        if self.namespace_selectors.is_empty() {
            return false;
        }
        if let Some(&u) = self.by_namespace.get(&p.namespace) {
            return u;
        }
        let u = match self.model.namespace(&p.namespace) {
            None => true,
            // A namespace that was read: every selector decides
            // (`namespace_matches` is `Some`), no selector is evaluated.
            Some(n) if !n.synthesized => false,
            Some(n) => self
                .namespace_selectors
                .iter()
                .any(|s| crate::engine::namespace_matches(s, n).is_none()),
        };
        self.by_namespace.insert(p.namespace.clone(), u);
        u
    }
}

/// The rules of a verdict whose peer match is undecided: (policy key,
/// direction, rule index, ports), sorted.
fn undecided_rules(m: &Model<'_>, v: &Verdict) -> Vec<(String, Direction, usize, PortSet)> {
    let mut out: Vec<_> = [&v.egress, &v.ingress]
        .into_iter()
        .flat_map(|s| {
            s.rules.iter().filter(|r| r.undecided()).map(move |r| {
                (
                    m.policies[r.policy].key(),
                    s.direction,
                    r.rule,
                    r.ports.clone(),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    out
}

/// Moves the pairs whose answer cannot be decided on a side, and may
/// differ, out of `changes` into `maybe` (see [`Diff::maybe`]). Only pairs
/// a change can reach are looked at (as in [`by_classes`]), and only those
/// with an end some peer cannot decide; each is evaluated from the
/// definition ([`connection`]) on both sides. A pair undecided alike on
/// both sides (same certain ports, the same undecided rules of unchanged
/// policies, the same unknown) keeps its answer and is left alone.
fn mark_undecided<'s>(
    old: &Model<'s>,
    new: &Model<'s>,
    d: &mut Diff<'s>,
    skip: &[bool],
    touched: &Touched,
) {
    let n = d.pods.len();
    let (mut uo, mut un) = (Unknowns::new(old), Unknowns::new(new));
    let unknown: Vec<bool> = d
        .pods
        .iter()
        .map(|p| p.old.is_some_and(|q| uo.of(q)) | p.new.is_some_and(|q| un.of(q)))
        .collect();
    if !unknown.iter().any(|u| *u) {
        return;
    }
    let (row, col) = (&touched.row, &touched.col);
    let verdict = |m: &Model<'_>, a: Option<&PodInfo>, b: Option<&PodInfo>| match (a, b) {
        (Some(a), Some(b)) => Some(connection(m, &Endpoint::Pod(a), &Endpoint::Pod(b))),
        _ => None,
    };
    let undecided = |v: &Option<Verdict>| {
        v.as_ref()
            .is_some_and(|v| v.node.is_none() && v.possible != v.allowed)
    };
    let mut sets = std::mem::take(&mut d.sets);
    let mut maybe = Vec::new();
    let mut texts: HashMap<Vec<String>, u32> = HashMap::new();
    for a in 0..n {
        if skip[a] {
            continue;
        }
        for b in 0..n {
            if a == b || skip[b] || !(unknown[a] || unknown[b]) || !(row[a] || col[b]) {
                continue;
            }
            let (pa, pb) = (d.pods[a], d.pods[b]);
            let before = verdict(old, pa.old, pb.old);
            let after = verdict(new, pa.new, pb.new);
            if !undecided(&before) && !undecided(&after) {
                continue;
            }
            if let (Some(x), Some(y)) = (&before, &after) {
                let (rx, ry) = (undecided_rules(old, x), undecided_rules(new, y));
                // The same certain ports, the same possible ones and the
                // same undecided rules of unchanged policies on both sides:
                // the same unknown, whatever else changed about the pods
                // (a changed container port under an ipBlock rule on all
                // ports, say) — no change to report.
                if x.allowed == y.allowed
                    && x.possible == y.possible
                    && rx == ry
                    && rx.iter().all(|r| !d.policies.contains_key(&r.0))
                {
                    continue;
                }
            }
            let mut lines = Vec::new();
            for (word, m, v) in [("old", old, &before), ("new", new, &after)] {
                let Some(v) = v else { continue };
                // What the cluster policy tiers leave undecided.
                for side in [&v.egress, &v.ingress] {
                    let Some(t) = side.tiers.as_ref().filter(|_| !side.maybe.is_empty()) else {
                        continue;
                    };
                    let dir = side.direction.as_str();
                    // Why its match is unknown: the other end's (or the
                    // subject's) namespace labels, the other end's IP, or
                    // what the rule matches by (domain names, nodes).
                    let (subject, other, end) = if side.direction == Direction::Egress {
                        (pa.pod(), pb.pod(), "destination")
                    } else {
                        (pb.pod(), pa.pod(), "source")
                    };
                    let unread =
                        |p: &PodInfo| m.namespace(&p.namespace).is_none_or(|n| n.synthesized);
                    let why = if unread(other) || unread(subject) {
                        let ns = if unread(other) { other } else { subject };
                        format!("the labels of namespace {} were not read", ns.namespace)
                    } else if other.ips.is_empty() {
                        format!("the {end} has no IP yet")
                    } else {
                        String::new()
                    };
                    for st in t.steps.iter().filter(|st| st.undecided) {
                        let p = &m.cluster_policies[st.policy];
                        // What of the rule itself is unknown, when the ends
                        // are known.
                        let why = if why.is_empty() {
                            use crate::engine::tier::{TierPeer, TierPort};
                            let rule = &p.rules(side.direction)[st.rule];
                            let mut what: Vec<String> = Vec::new();
                            if let crate::engine::tier::Subject::Unusable(why) = &p.subject {
                                what.push(format!(
                                    "its subject: {why}, so which pods it applies to is unknown"
                                ));
                            }
                            for peer in &rule.peers {
                                match peer {
                                    TierPeer::DomainNames(_) => what.push(
                                        "it matches by domain names, which only the data plane resolves".into(),
                                    ),
                                    TierPeer::Nodes(_) => what.push(
                                        "it matches nodes whose labels or addresses were not all read".into(),
                                    ),
                                    TierPeer::Unusable { why, .. } => {
                                        what.push(format!("{why}, so what it selects is unknown"))
                                    }
                                    _ => {}
                                }
                            }
                            if rule
                                .ports
                                .iter()
                                .flatten()
                                .any(|p| matches!(p, TierPort::Reversed(..)))
                            {
                                what.push("its port range is reversed (start above end)".into());
                            }
                            if what.is_empty() {
                                "whether it matches is unknown".to_string()
                            } else {
                                what.join("; ")
                            }
                        } else {
                            why.clone()
                        };
                        lines.push(format!(
                            "{word}: {} {dir} rule #{} ({}) may decide it ({}): {why}",
                            policy_name(&p.reference(), &d.policies),
                            st.rule + 1,
                            st.action.as_str(),
                            st.ports.describe()
                        ));
                    }
                    for c in &t.conflicts {
                        lines.push(format!(
                            "{word}: {dir} undefined on {}: {} tier policies of equal standing decide differently (the API leaves it to the implementation)",
                            c.ports.describe(),
                            c.tier.as_str()
                        ));
                    }
                    for &i in &t.invalid {
                        lines.push(format!(
                            "{word}: {dir}: {} is invalid (the API server would reject it) and may apply",
                            m.cluster_invalid[i].reference()
                        ));
                    }
                }
                for side in [&v.egress, &v.ingress] {
                    for r in side.rules.iter().filter(|r| r.undecided()) {
                        let (other, why) = if side.direction == Direction::Egress {
                            (pb.pod(), "destination")
                        } else {
                            (pa.pod(), "source")
                        };
                        let unknown = if r.ip_unknown && other.ips.is_empty() {
                            format!("the {why} has no IP yet, and the rule has an ipBlock")
                        } else {
                            format!(
                                "the labels of namespace {} were not read, and the rule selects namespaces by other labels",
                                other.namespace
                            )
                        };
                        lines.push(format!(
                            "{word}: {} {}[{}] may admit it ({}): {unknown}",
                            policy_name(&m.policies[r.policy].key(), &d.policies),
                            side.direction.as_str(),
                            r.rule,
                            if r.ports.is_all() {
                                "all ports".to_string()
                            } else {
                                r.ports.to_strings().join(", ")
                            }
                        ));
                    }
                }
            }
            let id = match texts.get(&lines) {
                Some(&id) => id,
                None => {
                    d.reasons.push(lines.clone());
                    let id = (d.reasons.len() - 1) as u32;
                    texts.insert(lines, id);
                    id
                }
            };
            let certain = |sets: &mut PortSets, v: &Option<Verdict>| match v {
                Some(v) => sets.intern(v.allowed.clone()),
                None => PortSets::EMPTY,
            };
            maybe.push(Change {
                from: a as u32,
                to: b as u32,
                before: certain(&mut sets, &before),
                after: certain(&mut sets, &after),
                reasons: id,
            });
        }
    }
    d.sets = sets;
    let out: HashSet<(u32, u32)> = maybe.iter().map(|c| (c.from, c.to)).collect();
    d.changes.retain(|c| !out.contains(&(c.from, c.to)));
    d.maybe = maybe;
}

/// The valid policies that differ and select no pod on either side.
fn unselecting(
    old: &Model<'_>,
    new: &Model<'_>,
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<Unselecting> {
    // A key is `NAMESPACE/NAME` (a namespace holds no `/`): looked up
    // among its namespace's policies, not by formatting every key.
    let find = |m: &Model<'_>, key: &str| -> Option<(bool, String)> {
        let (namespace, name) = key.split_once('/')?;
        m.policies_in(namespace)
            .iter()
            .map(|&i| &m.policies[i])
            .find(|p| p.name == name)
            .map(|p| {
                let selects = m
                    .pods_in(&p.namespace)
                    .iter()
                    .any(|q| p.pod_selector.matches(&q.labels));
                (selects, crate::engine::summary::summary(p))
            })
    };
    // A cluster policy (`kind/name`): whether its subject may select a pod.
    let find_cluster = |m: &Model<'_>, key: &str| -> Option<(bool, String)> {
        m.cluster_policies
            .iter()
            .find(|p| p.reference() == key)
            .map(|p| {
                let selects = m.snapshot.pods.iter().any(|q| {
                    crate::engine::tier::eval::subject_matches(m, &p.subject, q) != Some(false)
                });
                (selects, crate::cmd::tiers::summary(p))
            })
    };
    let cluster = |m: &Model<'_>, key: &str| {
        m.cluster_policies.iter().any(|p| p.reference() == key)
            || m.cluster_invalid.iter().any(|p| p.reference() == key)
    };
    let invalid = |m: &Model<'_>, key: &str| {
        m.invalid.iter().any(|p| p.key == key)
            || m.cluster_invalid.iter().any(|p| p.reference() == key)
    };
    let mut out = Vec::new();
    for (key, &change) in changed {
        if invalid(old, key) || invalid(new, key) {
            continue;
        }
        let (b, a) = if cluster(old, key) || cluster(new, key) {
            (find_cluster(old, key), find_cluster(new, key))
        } else {
            (find(old, key), find(new, key))
        };
        if b.as_ref().is_some_and(|x| x.0) || a.as_ref().is_some_and(|x| x.0) {
            continue;
        }
        out.push(Unselecting {
            key: key.clone(),
            change,
            before: b.map(|x| x.1),
            after: a.map(|x| x.1),
        });
    }
    out
}

/// Both sides' pods, matched by namespace, name and, for a representative
/// pod, its workload's kind (both lists are sorted that way).
fn union_pods<'s>(old: &'s Snapshot, new: &'s Snapshot) -> Vec<DiffPod<'s>> {
    let key = |p: &'s PodInfo| {
        (
            p.namespace.as_str(),
            p.name.as_str(),
            p.representative_kind(),
        )
    };
    let mut out = Vec::with_capacity(old.pods.len().max(new.pods.len()));
    let (mut a, mut b) = (old.pods.iter().peekable(), new.pods.iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => DiffPod {
                old: a.next(),
                new: None,
            },
            (None, Some(_)) => DiffPod {
                old: None,
                new: b.next(),
            },
            (Some(x), Some(y)) => match key(x).cmp(&key(y)) {
                std::cmp::Ordering::Less => DiffPod {
                    old: a.next(),
                    new: None,
                },
                std::cmp::Ordering::Greater => DiffPod {
                    old: None,
                    new: b.next(),
                },
                std::cmp::Ordering::Equal => DiffPod {
                    old: a.next(),
                    new: b.next(),
                },
            },
        };
        out.push(next);
    }
    out
}

/// Policies that differ between the sides: compared compiled (a reordered
/// list of labels is the same policy), invalid ones by their errors.
fn policy_changes(old: &Model<'_>, new: &Model<'_>) -> BTreeMap<String, PolicyChange> {
    let index = |m: &Model<'_>| -> BTreeMap<String, Result<usize, String>> {
        let mut out: BTreeMap<String, Result<usize, String>> = m
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key(), Ok(i)))
            .collect();
        for p in &m.invalid {
            let errors: Vec<String> = p.errors.iter().map(ToString::to_string).collect();
            out.insert(p.key.clone(), Err(errors.join("\n")));
        }
        out
    };
    let (a, b) = (index(old), index(new));
    // Cluster policies, by `kind/name` (no namespace holds a `/`, so no
    // key is also a NetworkPolicy's): compared on what they do.
    let (ca, cb) = (cluster_index(old), cluster_index(new));
    let mut out = BTreeMap::new();
    for (k, va) in &ca {
        match cb.get(k) {
            None => {
                out.insert(k.clone(), PolicyChange::Deleted);
            }
            Some(vb) if va != vb => {
                out.insert(k.clone(), PolicyChange::Changed);
            }
            Some(_) => {}
        }
    }
    for k in cb.keys() {
        if !ca.contains_key(k) {
            out.insert(k.clone(), PolicyChange::Added);
        }
    }
    for (k, va) in &a {
        match b.get(k) {
            None => {
                out.insert(k.clone(), PolicyChange::Deleted);
            }
            Some(vb) => {
                let same = match (va, vb) {
                    // What the policy does, not how it was written: the
                    // API server fills in policyTypes, so a manifest
                    // without them equals its applied self.
                    (Ok(i), Ok(j)) => {
                        let (p, q) = (&old.policies[*i], &new.policies[*j]);
                        (&p.pod_selector, &p.ingress, &p.egress)
                            == (&q.pod_selector, &q.ingress, &q.egress)
                    }
                    (Err(x), Err(y)) => x == y,
                    _ => false,
                };
                if !same {
                    out.insert(k.clone(), PolicyChange::Changed);
                }
            }
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            out.insert(k.clone(), PolicyChange::Added);
        }
    }
    out
}

/// Whether a key of [`Diff::policies`] names a cluster policy
/// (`clusternetworkpolicy/NAME`, `adminnetworkpolicy/NAME`,
/// `baselineadminnetworkpolicy/NAME`) rather than a NetworkPolicy
/// (`NAMESPACE/NAME`).
pub fn is_cluster_key(key: &str) -> bool {
    [
        "clusternetworkpolicy/",
        "adminnetworkpolicy/",
        "baselineadminnetworkpolicy/",
    ]
    .iter()
    .any(|k| key.starts_with(k))
}

/// A cluster policy as compared by [`policy_changes`]: what it does when
/// valid (tier, priority, subject, rules), its errors when not.
#[derive(PartialEq)]
enum ClusterEntry<'m> {
    Valid(ClusterParts<'m>),
    Invalid(Vec<String>),
}

/// A valid cluster policy's tier, priority, subject and rules.
type ClusterParts<'m> = (
    crate::engine::tier::Tier,
    Option<u32>,
    &'m crate::engine::tier::Subject,
    &'m [crate::engine::tier::TierRule],
    &'m [crate::engine::tier::TierRule],
);

fn cluster_index<'m>(m: &'m Model<'_>) -> BTreeMap<String, ClusterEntry<'m>> {
    let mut out: BTreeMap<String, ClusterEntry<'m>> = BTreeMap::new();
    for p in &m.cluster_policies {
        out.insert(
            p.reference(),
            ClusterEntry::Valid((p.tier, p.priority, &p.subject, &p.ingress, &p.egress)),
        );
    }
    for p in &m.cluster_invalid {
        let errors = p.errors.iter().map(ToString::to_string).collect();
        out.insert(p.reference(), ClusterEntry::Invalid(errors));
    }
    out
}

/// Namespaces holding an invalid policy on either side, with the side.
fn undecided_namespaces(old: &Model<'_>, new: &Model<'_>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (side, m) in [("old", old), ("new", new)] {
        for p in &m.invalid {
            out.entry(p.namespace.clone()).or_default().push(format!(
                "NetworkPolicy {:?} is invalid on the {side} side",
                p.key
            ));
        }
    }
    out
}

/// What a change can reach, per union pod (indices into [`Diff::pods`]):
/// the pods that differ themselves, and the rows (as a source) and
/// columns (as a destination) of the pods a changed policy selects on
/// either side, for the direction it has rules for. Only pairs with a
/// touched row or column can change.
struct Touched {
    /// The pod is on both sides with the same labels, container ports and
    /// host network (what its class depends on besides its IPs).
    alike: Vec<bool>,
    row: Vec<bool>,
    col: Vec<bool>,
}

impl Touched {
    fn new(old: &Model<'_>, new: &Model<'_>, d: &Diff<'_>) -> Touched {
        // Union pods come sorted by namespace: its labels are compared once.
        let mut last: Option<(&str, bool)> = None;
        let alike: Vec<bool> = d
            .pods
            .iter()
            .map(|p| match (p.old, p.new) {
                (Some(a), Some(b)) => {
                    a.labels == b.labels
                        && a.ports == b.ports
                        && a.on_host_network() == b.on_host_network()
                }
                _ => false,
            })
            .collect();
        // The pod differs in anything a connection depends on: it is on one
        // side only, or its labels, container ports, IPs, host network,
        // node, host IPs or its namespace's labels differ.
        let differs: Vec<bool> = d
            .pods
            .iter()
            .zip(&alike)
            .map(|(p, &alike)| {
                let (Some(a), Some(b)) = (p.old, p.new) else {
                    return true;
                };
                let ns = a.namespace.as_str();
                let ns_differs = match last {
                    Some((name, differs)) if name == ns => differs,
                    _ => {
                        let differs = old.namespace(ns).map(|n| &n.labels)
                            != new.namespace(ns).map(|n| &n.labels);
                        last = Some((ns, differs));
                        differs
                    }
                };
                ns_differs
                    || !alike
                    || a.ips != b.ips
                    || a.host_network != b.host_network
                    || a.node != b.node
                    || a.host_ips != b.host_ips
            })
            .collect();
        let (mut row, mut col) = (differs.clone(), differs.clone());
        let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
        for (u, p) in d.pods.iter().enumerate() {
            by_ns.entry(p.pod().namespace.as_str()).or_default().push(u);
        }
        for (side, m) in [(0, old), (1, new)] {
            for policy in changed_policies(m, &d.policies) {
                for &u in by_ns.get(policy.namespace.as_str()).into_iter().flatten() {
                    let p = if side == 0 {
                        d.pods[u].old
                    } else {
                        d.pods[u].new
                    };
                    if p.is_some_and(|p| policy.pod_selector.matches(&p.labels)) {
                        row[u] |= policy.egress.is_some();
                        col[u] |= policy.ingress.is_some();
                    }
                }
            }
        }
        // Changed cluster policies: the pods their subject may select on
        // either side, rows for egress rules, columns for ingress ones.
        for m in [old, new] {
            for p in &m.cluster_policies {
                if !d.policies.contains_key(&p.reference()) {
                    continue;
                }
                let (e, i) = (!p.egress.is_empty(), !p.ingress.is_empty());
                for (u, q) in d.pods.iter().enumerate() {
                    let pod = if std::ptr::eq(m, old) { q.old } else { q.new };
                    if pod.is_some_and(|pod| {
                        crate::engine::tier::eval::subject_matches(m, &p.subject, pod)
                            != Some(false)
                    }) {
                        row[u] |= e;
                        col[u] |= i;
                    }
                }
            }
            for p in &m.cluster_invalid {
                if !d.policies.contains_key(&p.reference()) {
                    continue;
                }
                let [i, e] = p.directions;
                for (u, q) in d.pods.iter().enumerate() {
                    let pod = if std::ptr::eq(m, old) { q.old } else { q.new };
                    if pod.is_some_and(|pod| {
                        p.subject.as_ref().is_none_or(|s| {
                            crate::engine::tier::eval::subject_matches(m, s, pod) != Some(false)
                        })
                    }) {
                        row[u] |= e;
                        col[u] |= i;
                    }
                }
            }
        }
        // A node whose labels changed, under a cluster policy's `nodes`
        // peer: the host-network pods on it match otherwise.
        let nodes_peer = |m: &Model<'_>| {
            m.cluster_peers()
                .any(|peer| matches!(peer, crate::engine::tier::TierPeer::Nodes(_)))
        };
        if nodes_peer(old) || nodes_peer(new) {
            fn labels<'a>(m: &Model<'a>, name: &str) -> Option<&'a Labels> {
                m.snapshot.node(name).map(|n| &n.labels)
            }
            for (u, q) in d.pods.iter().enumerate() {
                let p = q.pod();
                if !(p.on_host_network() || p.is_node()) {
                    continue;
                }
                if p.node
                    .as_deref()
                    .is_none_or(|n| labels(old, n) != labels(new, n))
                {
                    row[u] = true;
                    col[u] = true;
                }
            }
        }
        Touched { alike, row, col }
    }
}

/// The valid policies that differ, by side: (policy index, whether it
/// isolates ingress, egress).
fn changed_policies<'m>(
    m: &'m Model<'_>,
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<&'m Policy> {
    // Looked up by key (`NAMESPACE/NAME`, a namespace holds no `/`) in
    // their namespaces, not by formatting every policy's key.
    changed
        .keys()
        .filter(|key| !is_cluster_key(key))
        .filter_map(|key| key.split_once('/'))
        .flat_map(|(namespace, name)| {
            m.policies_in(namespace)
                .iter()
                .map(|&i| &m.policies[i])
                .filter(move |p| p.name == name)
        })
        .collect()
}

/// For each side, the union index (into [`Diff::pods`]) of each of its
/// pods, in the side's snapshot order.
fn union_indices(d: &Diff<'_>) -> (Vec<u32>, Vec<u32>) {
    let (mut old_u, mut new_u) = (Vec::new(), Vec::new());
    for (u, p) in d.pods.iter().enumerate() {
        if p.old.is_some() {
            old_u.push(u as u32);
        }
        if p.new.is_some() {
            new_u.push(u as u32);
        }
    }
    (old_u, new_u)
}

/// The fast path: per joint class, only the touched rows and columns.
///
/// Joint classes group the union pods that are alike on both sides (see
/// [`Classes`]): the same namespace, and on each side the same labels,
/// container ports, host network and ipBlocks holding their IPs (a pod
/// that is the same on both sides is hashed once). Each side's classes
/// are the joint classes merged by that side's part, and each side's
/// class rows are matched for the touched classes only
/// ([`ClassRows::focused`]).
fn by_classes<'s>(
    old: &Model<'s>,
    new: &Model<'s>,
    d: &mut Diff<'s>,
    skip: &[bool],
    touched: &Touched,
) {
    use crate::engine::reach::{block_signature, ip_blocks};
    use crate::snapshot::ContainerPort;
    /// One side's part of a class key.
    type Part<'s> = (&'s Labels, &'s [ContainerPort], bool, Vec<usize>);
    /// The new side's part: the old one's (with its own ipBlocks) when
    /// the pod is alike, compared rather than hashed again.
    #[derive(PartialEq, Eq, Hash)]
    enum NewPart<'s> {
        Absent,
        Same(Vec<usize>),
        Other(Part<'s>),
    }
    use crate::engine::reach::tier_signature;
    let old_pods: Vec<&'s PodInfo> = old.snapshot.pods.iter().collect();
    let new_pods: Vec<&'s PodInfo> = new.snapshot.pods.iter().collect();
    let (old_blocks, new_blocks) = (ip_blocks(old), ip_blocks(new));
    // The ipBlocks holding the pod's IPs, then (with cluster policies)
    // what their `networks` and `nodes` peers say of it.
    let signature = |m: &Model<'_>, blocks: &[&crate::engine::policy::IpBlock], p: &PodInfo| {
        let mut sig = block_signature(blocks, p);
        if crate::engine::tier::eval::any(m) {
            sig.push(usize::MAX);
            sig.extend(tier_signature(m, p).into_iter().map(usize::from));
        }
        sig
    };
    let part =
        |m: &Model<'_>, p: &'s PodInfo, blocks: &[&crate::engine::policy::IpBlock]| -> Part<'s> {
            (
                &p.labels,
                p.ports.as_slice(),
                p.on_host_network(),
                signature(m, blocks, p),
            )
        };
    // Joint classes, numbered in the order of their first union pod.
    let mut index: HashMap<(&'s str, Option<Part<'s>>, NewPart<'s>), usize> = HashMap::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut joint_of = vec![0usize; d.pods.len()];
    for (u, p) in d.pods.iter().enumerate() {
        let o = p.old.map(|q| part(old, q, &old_blocks));
        let nw = match p.new {
            None => NewPart::Absent,
            Some(b) if touched.alike[u] => NewPart::Same(signature(new, &new_blocks, b)),
            Some(b) => NewPart::Other(part(new, b, &new_blocks)),
        };
        let next = index.len();
        let k = *index
            .entry((p.pod().namespace.as_str(), o, nw))
            .or_insert(next);
        if k == members.len() {
            members.push(Vec::new());
        }
        members[k].push(u as u32);
        joint_of[u] = k;
    }
    let n = members.len();
    // Each side's class of each joint class: the joint classes merged by
    // that side's part, numbered in the order of their first pod (as
    // `Classes::build` numbers them).
    let mut joint_keys: Vec<Option<&(&'s str, Option<Part<'s>>, NewPart<'s>)>> = vec![None; n];
    for (key, &k) in &index {
        joint_keys[k] = Some(key);
    }
    let mut keys: Vec<(Option<usize>, Option<usize>)> = Vec::with_capacity(n);
    {
        type Side<'a, 's> = (&'s str, &'s Labels, &'a [ContainerPort], bool, &'a [usize]);
        let mut old_ids: HashMap<Side<'_, 's>, usize> = HashMap::new();
        let mut new_ids: HashMap<Side<'_, 's>, usize> = HashMap::new();
        for (k, key) in joint_keys.iter().enumerate() {
            let (ns, o, nw) = key.expect("every joint class has a key");
            let first = d.pods[members[k][0] as usize];
            let a = o.as_ref().map(|(labels, ports, host, sig)| {
                let next = old_ids.len();
                *old_ids
                    .entry((ns, labels, ports, *host, sig.as_slice()))
                    .or_insert(next)
            });
            let side = match nw {
                NewPart::Absent => None,
                NewPart::Same(sig) => first.new.map(|b| {
                    (
                        *ns,
                        &b.labels,
                        b.ports.as_slice(),
                        b.on_host_network(),
                        sig.as_slice(),
                    )
                }),
                NewPart::Other((labels, ports, host, sig)) => {
                    Some((*ns, *labels, *ports, *host, sig.as_slice()))
                }
            };
            let b = side.map(|side| {
                let next = new_ids.len();
                *new_ids.entry(side).or_insert(next)
            });
            keys.push((a, b));
        }
    }
    // One side's classes (`new_side`: the new one's) over its own pods.
    let side_classes = |pods: &[&'s PodInfo], new_side: bool| {
        let class_of: Vec<usize> = d
            .pods
            .iter()
            .zip(&joint_of)
            .filter_map(|(p, &k)| {
                let (present, class) = if new_side {
                    (p.new.is_some(), keys[k].1)
                } else {
                    (p.old.is_some(), keys[k].0)
                };
                present.then(|| class.expect("a pod on a side has a class there"))
            })
            .collect();
        Classes::from_class_of(pods, class_of)
    };
    let oc = side_classes(&old_pods, false);
    let nc = side_classes(&new_pods, true);
    let mut rows_touched = vec![false; n];
    let mut cols_touched = vec![false; n];
    for (u, &k) in joint_of.iter().enumerate() {
        rows_touched[k] |= touched.row[u];
        cols_touched[k] |= touched.col[u];
    }
    // Traffic between a pod and its own node, pod by pod: union pairs.
    let (old_u, new_u) = union_indices(d);
    let mut node_pairs: HashSet<(u32, u32)> = HashSet::new();
    let old_nodes = NodeTraffic::new(old, &old_pods);
    let new_nodes = NodeTraffic::new(new, &new_pods);
    let mut near = Vec::new();
    let mut old_node_pairs: HashSet<(u32, u32)> = HashSet::new();
    let mut new_node_pairs: HashSet<(u32, u32)> = HashSet::new();
    for (m, nodes, pods, to_u, set) in [
        (old, &old_nodes, &old_pods, &old_u, &mut old_node_pairs),
        (new, &new_nodes, &new_pods, &new_u, &mut new_node_pairs),
    ] {
        for i in 0..pods.len() {
            nodes.of(m, i, &mut near);
            for &j in &near {
                let (u, v) = (to_u[i], to_u[j]);
                set.insert((u, v));
                set.insert((v, u));
                node_pairs.insert((u, v));
                node_pairs.insert((v, u));
            }
        }
    }
    // The classes whose rows or columns are asked for below: the touched
    // ones, and both ends of node pairs (whose other cells are read).
    let mut old_focus = vec![false; oc.len()];
    let mut new_focus = vec![false; nc.len()];
    let mut focus = |k: usize| {
        if let Some(a) = keys[k].0 {
            old_focus[a] = true;
        }
        if let Some(b) = keys[k].1 {
            new_focus[b] = true;
        }
    };
    for k in (0..n).filter(|&k| rows_touched[k] || cols_touched[k]) {
        focus(k);
    }
    for &(u, v) in &node_pairs {
        focus(joint_of[u as usize]);
        focus(joint_of[v as usize]);
    }
    let mut sets = std::mem::take(&mut d.sets);
    let mut old_rows = ClassRows::focused(old, &oc, &mut sets, Some(&old_focus));
    let mut new_rows = ClassRows::focused(new, &nc, &mut sets, Some(&new_focus));
    // Changed class cells: (from joint, to joint, before, after).
    let mut cells: Vec<(usize, usize, u32, u32)> = Vec::new();
    let (mut ro, mut rn) = (Vec::new(), Vec::new());
    for a in (0..n).filter(|&a| rows_touched[a]) {
        let (oa, na) = keys[a];
        if let Some(oa) = oa {
            old_rows.row(oa, &mut sets, &mut ro);
        }
        if let Some(na) = na {
            new_rows.row(na, &mut sets, &mut rn);
        }
        for (b, &(ob, nb)) in keys.iter().enumerate() {
            let before = match (oa, ob) {
                (Some(_), Some(ob)) => ro[ob],
                _ => PortSets::EMPTY,
            };
            let after = match (na, nb) {
                (Some(_), Some(nb)) => rn[nb],
                _ => PortSets::EMPTY,
            };
            if before != after {
                cells.push((a, b, before, after));
            }
        }
    }
    for b in (0..n).filter(|&b| cols_touched[b]) {
        let (ob, nb) = keys[b];
        for (a, &(oa, na)) in keys.iter().enumerate() {
            if rows_touched[a] {
                continue;
            }
            let before = match (oa, ob) {
                (Some(oa), Some(ob)) => old_rows.cell(oa, ob, &mut sets),
                _ => PortSets::EMPTY,
            };
            let after = match (na, nb) {
                (Some(na), Some(nb)) => new_rows.cell(na, nb, &mut sets),
                _ => PortSets::EMPTY,
            };
            if before != after {
                cells.push((a, b, before, after));
            }
        }
    }
    // Reasons, once per changed class cell, from the rules the class rows
    // matched (no connection is evaluated again); equal texts are kept
    // once.
    let mut why = ClassReasons::new(n);
    // With cluster policies, a cell's reasons come from the definition
    // ([`pair_reasons`], which tells the tiers' chains) on one pair of
    // its pods: the class rows know the rules NetworkPolicy matched only.
    let tiers = crate::engine::tier::eval::any(old) || crate::engine::tier::eval::any(new);
    let mut tier_reasons: HashMap<(usize, usize), u32> = HashMap::new();
    for (a, b, before, after) in cells {
        let reason = if tiers {
            // A pair of the cell that is not traffic with its own node
            // (those are told pod by pod below).
            let Some((u, v)) = members[a]
                .iter()
                .flat_map(|&u| members[b].iter().map(move |&v| (u, v)))
                .find(|&(u, v)| u != v && !node_pairs.contains(&(u, v)))
            else {
                continue;
            };
            *tier_reasons.entry((a, b)).or_insert_with(|| {
                let (pu, pv) = (d.pods[u as usize], d.pods[v as usize]);
                d.reasons.push(pair_reasons(
                    old,
                    new,
                    (pu.old, pu.new),
                    (pv.old, pv.new),
                    &d.policies,
                ));
                (d.reasons.len() - 1) as u32
            })
        } else {
            why.cell(
                (old, &oc, &mut old_rows),
                (new, &nc, &mut new_rows),
                (keys[a], a),
                (keys[b], b),
                &mut sets,
                d,
            )
        };
        for &u in &members[a] {
            if skip[u as usize] {
                continue;
            }
            for &v in &members[b] {
                if u == v
                    || skip[v as usize]
                    || (!node_pairs.is_empty() && node_pairs.contains(&(u, v)))
                {
                    continue;
                }
                d.changes.push(Change {
                    from: u,
                    to: v,
                    before,
                    after,
                    reasons: reason,
                });
            }
        }
    }
    let mut pairs: Vec<(u32, u32)> = node_pairs.into_iter().collect();
    pairs.sort_unstable();
    for (u, v) in pairs {
        if u == v || skip[u as usize] || skip[v as usize] {
            continue;
        }
        let (pu, pv) = (d.pods[u as usize], d.pods[v as usize]);
        let (ju, jv) = (keys[joint_of[u as usize]], keys[joint_of[v as usize]]);
        let before = if old_node_pairs.contains(&(u, v)) {
            PortSets::ALL
        } else {
            match (ju.0, jv.0) {
                (Some(a), Some(b)) => old_rows.cell(a, b, &mut sets),
                _ => PortSets::EMPTY,
            }
        };
        let after = if new_node_pairs.contains(&(u, v)) {
            PortSets::ALL
        } else {
            match (ju.1, jv.1) {
                (Some(a), Some(b)) => new_rows.cell(a, b, &mut sets),
                _ => PortSets::EMPTY,
            }
        };
        if before != after {
            let reason = d.reasons.len() as u32;
            d.reasons.push(pair_reasons(
                old,
                new,
                (pu.old, pu.new),
                (pv.old, pv.new),
                &d.policies,
            ));
            d.changes.push(Change {
                from: u,
                to: v,
                before,
                after,
                reasons: reason,
            });
        }
    }
    // Addresses outside the pods: the touched classes, per direction.
    let mut seen: HashMap<(usize, Direction), Vec<Range>> = HashMap::new();
    for k in 0..n {
        let (oa, na) = keys[k];
        let o = oa.map(|c| oc.representative(c));
        let nw = na.map(|c| nc.representative(c));
        for (dir, touched) in [
            (Direction::Egress, rows_touched[k]),
            (Direction::Ingress, cols_touched[k]),
        ] {
            if !touched {
                continue;
            }
            let found = external_ranges(old, new, o, nw, dir, &mut sets, d);
            if !found.is_empty() {
                seen.insert((k, dir), found);
            }
        }
    }
    let mut keys_seen: Vec<&(usize, Direction)> = seen.keys().collect();
    keys_seen.sort();
    let mut external = Vec::new();
    for key in keys_seen {
        for (addresses, before, after, reasons) in &seen[key] {
            for &u in &members[key.0] {
                if skip[u as usize] {
                    continue;
                }
                external.push(ExternalChange {
                    pod: u,
                    direction: key.1,
                    addresses: addresses.clone(),
                    before: *before,
                    after: *after,
                    reasons: *reasons,
                });
            }
        }
    }
    d.external = external;
    d.sets = sets;
}

/// The pairs whose ports differ between two matrices, as (source,
/// destination, before, after) in union indices: `old_pods[k]` is the
/// union pod `old_map[k]` (and so for new).
#[allow(clippy::too_many_arguments)]
fn matrix_changes<'s>(
    old: &Model<'s>,
    old_pods: &[&PodInfo],
    old_map: &[u32],
    new: &Model<'s>,
    new_pods: &[&PodInfo],
    new_map: &[u32],
    skip: &[bool],
    sets: &mut PortSets,
) -> Vec<(u32, u32, u32, u32)> {
    use crate::cmd::matrix::compute;
    let n = skip.len();
    let mut old_i = vec![None; n];
    let mut new_i = vec![None; n];
    for (k, &u) in old_map.iter().enumerate() {
        old_i[u as usize] = Some(k);
    }
    for (k, &u) in new_map.iter().enumerate() {
        new_i[u as usize] = Some(k);
    }
    let mut found: Vec<(u32, u32, u32, u32)> = Vec::new();
    compute(old, old_pods, |mo| {
        compute(new, new_pods, |mn| {
            let mut before: Vec<(u32, u32)> = Vec::new();
            let mut after: Vec<(u32, u32)> = Vec::new();
            for u in 0..n {
                if skip[u] {
                    continue;
                }
                before.clear();
                after.clear();
                if let Some(i) = old_i[u] {
                    for (j, ports) in mo.row(i).iter() {
                        before.push((old_map[j], sets.intern(ports.clone())));
                    }
                }
                if let Some(i) = new_i[u] {
                    for (j, ports) in mn.row(i).iter() {
                        after.push((new_map[j], sets.intern(ports.clone())));
                    }
                }
                before.sort_unstable();
                after.sort_unstable();
                let (mut x, mut y) = (0, 0);
                while x < before.len() || y < after.len() {
                    let (v, b, a) = match (before.get(x), after.get(y)) {
                        (Some(&(v, b)), Some(&(w, _))) if v < w => {
                            x += 1;
                            (v, b, PortSets::EMPTY)
                        }
                        (Some(&(v, _)), Some(&(w, a))) if w < v => {
                            y += 1;
                            (w, PortSets::EMPTY, a)
                        }
                        (Some(&(v, b)), Some(&(_, a))) => {
                            x += 1;
                            y += 1;
                            (v, b, a)
                        }
                        (Some(&(v, b)), None) => {
                            x += 1;
                            (v, b, PortSets::EMPTY)
                        }
                        (None, Some(&(w, a))) => {
                            y += 1;
                            (w, PortSets::EMPTY, a)
                        }
                        (None, None) => break,
                    };
                    if b != a && !skip[v as usize] {
                        found.push((u as u32, v, b, a));
                    }
                }
            }
        })
    });
    found
}

/// The slow twin: whole rows of both matrices, pod by pod (used when the
/// pods have several address families, where the matrix decides a pair
/// per family). A pair whose ports are the same over the families taken
/// together but differ over one of them (a connection that moves from
/// IPv4 to IPv6) is a change too: each family is also compared on its own
/// (the pods with an address of it, or none known, narrowed to it), and
/// a pair whose answers differ between the families gets them one by one
/// in [`Diff::per_family`].
fn by_rows<'s>(old: &Model<'s>, new: &Model<'s>, d: &mut Diff<'s>, skip: &[bool]) {
    use crate::engine::verdict::narrowed;
    let old_pods: Vec<&'s PodInfo> = old.snapshot.pods.iter().collect();
    let new_pods: Vec<&'s PodInfo> = new.snapshot.pods.iter().collect();
    let (old_u, new_u) = union_indices(d);
    let mut sets = std::mem::take(&mut d.sets);
    let found = matrix_changes(
        old, &old_pods, &old_u, new, &new_pods, &new_u, skip, &mut sets,
    );
    let mut pairs: BTreeMap<(u32, u32), (u32, u32)> = found
        .into_iter()
        .map(|(u, v, b, a)| ((u, v), (b, a)))
        .collect();
    let present: BTreeSet<Family> = old_pods
        .iter()
        .chain(&new_pods)
        .flat_map(|p| p.ips.iter().map(Family::of))
        .collect();
    for &family in &present {
        let keep = |pods: &[&'s PodInfo], map: &[u32]| -> (Vec<PodInfo>, Vec<u32>) {
            pods.iter()
                .zip(map)
                .filter(|(p, _)| {
                    p.ips.is_empty() || p.ips.iter().any(|ip| Family::of(ip) == family)
                })
                .map(|(p, &u)| (narrowed(p, family), u))
                .unzip()
        };
        let (op, om) = keep(&old_pods, &old_u);
        let (np, nm) = keep(&new_pods, &new_u);
        let (ov, nv): (Vec<&PodInfo>, Vec<&PodInfo>) = (op.iter().collect(), np.iter().collect());
        for (u, v, _, _) in matrix_changes(old, &ov, &om, new, &nv, &nm, skip, &mut sets) {
            if let std::collections::btree_map::Entry::Vacant(e) = pairs.entry((u, v)) {
                // The same ports over the families together: the union
                // from the definition.
                let (pu, pv) = (d.pods[u as usize], d.pods[v as usize]);
                let allowed = |m: &Model<'_>,
                               a: Option<&PodInfo>,
                               b: Option<&PodInfo>,
                               sets: &mut PortSets| match (a, b) {
                    (Some(a), Some(b)) => {
                        sets.intern(connection(m, &Endpoint::Pod(a), &Endpoint::Pod(b)).allowed)
                    }
                    _ => PortSets::EMPTY,
                };
                let b = allowed(old, pu.old, pv.old, &mut sets);
                let a = allowed(new, pu.new, pv.new, &mut sets);
                e.insert((b, a));
            }
        }
    }
    for ((u, v), (before, after)) in pairs {
        let (pu, pv) = (d.pods[u as usize], d.pods[v as usize]);
        let split = family_split(
            old,
            new,
            (pu.old, pu.new),
            (pv.old, pv.new),
            &d.policies,
            &mut sets,
        );
        let lines = match &split {
            Some((families, lines)) => {
                d.per_family.insert((u, v), families.clone());
                lines.clone()
            }
            None => pair_reasons(old, new, (pu.old, pu.new), (pv.old, pv.new), &d.policies),
        };
        if split.is_none() && before == after {
            continue;
        }
        let reason = d.reasons.len() as u32;
        d.reasons.push(lines);
        d.changes.push(Change {
            from: u,
            to: v,
            before,
            after,
            reasons: reason,
        });
    }
    for (u, &skipped) in skip.iter().enumerate() {
        if skipped {
            continue;
        }
        let p = d.pods[u];
        for dir in Direction::BOTH {
            for (addresses, before, after, reasons) in
                external_ranges(old, new, p.old, p.new, dir, &mut sets, d)
            {
                d.external.push(ExternalChange {
                    pod: u as u32,
                    direction: dir,
                    addresses,
                    before,
                    after,
                    reasons,
                });
            }
        }
    }
    d.sets = sets;
}

/// A pair's ports family by family, when they differ between the
/// families on a side (dual-stack ends): the families whose ports
/// change, as (family, before, after) port set ids, and the reasons
/// (what changed about the pods, then each such family's reasons, led by
/// its name). `None` when the pair's answer is the same over every family
/// it may use, on both sides.
fn family_split(
    old: &Model<'_>,
    new: &Model<'_>,
    from: (Option<&PodInfo>, Option<&PodInfo>),
    to: (Option<&PodInfo>, Option<&PodInfo>),
    changed: &BTreeMap<String, PolicyChange>,
    sets: &mut PortSets,
) -> Option<(Vec<FamilyPorts>, Vec<String>)> {
    use crate::engine::verdict::narrowed;
    let fams = |p: &PodInfo| -> BTreeSet<Family> { p.ips.iter().map(Family::of).collect() };
    let side = |m: &Model<'_>,
                a: Option<&PodInfo>,
                b: Option<&PodInfo>|
     -> Option<BTreeMap<Family, PortSet>> {
        let (Some(a), Some(b)) = (a, b) else {
            return Some(BTreeMap::new());
        };
        let v = connection(m, &Endpoint::Pod(a), &Endpoint::Pod(b));
        if let Some(list) = &v.families {
            return Some(list.iter().cloned().collect());
        }
        let shared: BTreeSet<Family> = match (a.ips.is_empty(), b.ips.is_empty()) {
            (true, true) => return None,
            (true, false) => fams(b),
            (false, true) => fams(a),
            (false, false) => fams(a).intersection(&fams(b)).copied().collect(),
        };
        Some(shared.into_iter().map(|f| (f, v.allowed.clone())).collect())
    };
    let before = side(old, from.0, to.0)?;
    let after = side(new, from.1, to.1)?;
    let all: BTreeSet<Family> = before.keys().chain(after.keys()).copied().collect();
    if all.len() < 2 {
        return None;
    }
    let none = PortSet::empty();
    let at = |m: &BTreeMap<Family, PortSet>, f: &Family| {
        m.get(f).cloned().unwrap_or_else(|| none.clone())
    };
    let values: Vec<(Family, PortSet, PortSet)> = all
        .iter()
        .map(|f| (*f, at(&before, f), at(&after, f)))
        .collect();
    let uniform = values
        .iter()
        .all(|(_, b, a)| *b == values[0].1 && *a == values[0].2);
    if uniform {
        return None;
    }
    let mut lines = Vec::new();
    let (mut egress, mut ingress) = (false, false);
    let mut out = Vec::new();
    for (f, b, a) in values {
        if b == a {
            continue;
        }
        if let (Some(fo), Some(fn_), Some(to_), Some(tn)) = (from.0, from.1, to.0, to.1) {
            let verdict = |m: &Model<'_>, x: &PodInfo, y: &PodInfo| {
                let (x, y) = (narrowed(x, f), narrowed(y, f));
                connection(m, &Endpoint::Pod(&x), &Endpoint::Pod(&y))
            };
            let (vb, va) = (verdict(old, fo, to_), verdict(new, fn_, tn));
            egress |= vb.egress.allowed != va.egress.allowed;
            ingress |= vb.ingress.allowed != va.ingress.allowed;
            lines.extend(
                verdict_reasons(old, new, Some(&vb), Some(&va), changed)
                    .into_iter()
                    .map(|l| format!("{}: {l}", f.as_str())),
            );
        }
        out.push((f, sets.intern(b), sets.intern(a)));
    }
    let [sl, dl, dp] = own_changes(old, new, from, to);
    let ends = (
        pod_lines(old, new, from.0, from.1, "source", [sl, false]),
        pod_lines(old, new, to.0, to.1, "destination", [dl, dp]),
    );
    let one_sided = [
        from.0.is_none() || from.1.is_none(),
        to.0.is_none() || to.1.is_none(),
    ];
    let mut all = end_lines(ends, one_sided, egress, ingress);
    all.extend(lines);
    Some((out, all))
}

/// The reasons a pair's ports differ, from the definition (one
/// `verdict::connection` per side): what changed about each pod, and for
/// each side whose answer differs, the isolating policies and the rules
/// that admit it before and after. `from` and `to` are (old pod, new pod);
/// `changed` is [`Diff::policies`]. The class path of [`diff`] gives the
/// same lines (checked by tests/random_clusters.rs).
pub fn pair_reasons(
    old: &Model<'_>,
    new: &Model<'_>,
    from: (Option<&PodInfo>, Option<&PodInfo>),
    to: (Option<&PodInfo>, Option<&PodInfo>),
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<String> {
    let [sl, dl, dp] = own_changes(old, new, from, to);
    let ends = (
        pod_lines(old, new, from.0, from.1, "source", [sl, false]),
        pod_lines(old, new, to.0, to.1, "destination", [dl, dp]),
    );
    let one_sided = [
        from.0.is_none() || from.1.is_none(),
        to.0.is_none() || to.1.is_none(),
    ];
    let verdict = |m: &Model<'_>, a: Option<&PodInfo>, b: Option<&PodInfo>| match (a, b) {
        (Some(a), Some(b)) => Some(connection(m, &Endpoint::Pod(a), &Endpoint::Pod(b))),
        _ => None,
    };
    let before = verdict(old, from.0, to.0);
    let after = verdict(new, from.1, to.1);
    // A pod on one side only: what it is says it all.
    let (Some(x), Some(y)) = (&before, &after) else {
        return end_lines(ends, one_sided, false, false);
    };
    let mut out = end_lines(
        ends,
        one_sided,
        x.egress.allowed != y.egress.allowed,
        x.ingress.allowed != y.ingress.allowed,
    );
    out.extend(verdict_reasons(
        old,
        new,
        before.as_ref(),
        after.as_ref(),
        changed,
    ));
    out
}

fn labels_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The side-by-side account of two verdicts of one connection.
fn verdict_reasons(
    old: &Model<'_>,
    new: &Model<'_>,
    before: Option<&Verdict>,
    after: Option<&Verdict>,
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<String> {
    let mut out = Vec::new();
    let node = |v: Option<&Verdict>| v.and_then(|v| v.node.as_ref()).is_some();
    match (node(before), node(after)) {
        (false, true) => {
            out.push("now traffic between a pod and its own node: always allowed".to_string())
        }
        (true, false) => out.push(
            "no longer traffic between a pod and its own node (which is always allowed)"
                .to_string(),
        ),
        _ => {}
    }
    for (name, pick) in [
        (
            "egress",
            (|v: &Verdict| &v.egress) as fn(&Verdict) -> &SideVerdict,
        ),
        ("ingress", |v: &Verdict| &v.ingress),
    ] {
        let b = before.map(pick);
        let a = after.map(pick);
        if let (Some(x), Some(y)) = (b, a)
            && x.allowed == y.allowed
        {
            continue;
        }
        // What the other side admits: a rule's ports beyond it do not
        // reach the pair.
        fn other<'v>(v: Option<&'v Verdict>, name: &str) -> Option<&'v PortSet> {
            v.map(|v| {
                if name == "egress" {
                    &v.ingress.allowed
                } else {
                    &v.egress.allowed
                }
            })
        }
        // Only the ports whose answer for the pair changed.
        let moved = match (before, after) {
            (Some(x), Some(y)) => {
                let mut m = x.allowed.subtract(&y.allowed);
                m.union_with(&y.allowed.subtract(&x.allowed));
                Some(m)
            }
            _ => None,
        };
        let masked = |o: Option<&PortSet>| match (o, &moved) {
            (Some(o), Some(m)) => Some(o.intersect(m)),
            (o, _) => o.cloned(),
        };
        let (ob, oa) = (masked(other(before, name)), masked(other(after, name)));
        out.extend(side_reasons(
            name,
            old,
            b,
            new,
            a,
            (ob.as_ref(), oa.as_ref()),
            changed,
        ));
        // The cluster policy tiers' chain on the ports that changed, when
        // it differs (as `can` tells it).
        let chain = |m: &Model<'_>, s: Option<&SideVerdict>| {
            s.and_then(|s| crate::cmd::tiers::side_tiers(m, s, moved.as_ref()))
                .map(|t| t.chain)
                .unwrap_or_default()
        };
        let (cb, ca) = (chain(old, b), chain(new, a));
        if cb != ca {
            if !cb.is_empty() {
                out.push(format!("{name}: cluster tiers before: {}", cb.join("; ")));
            }
            if !ca.is_empty() {
                out.push(format!("{name}: cluster tiers now: {}", ca.join("; ")));
            }
        }
    }
    out
}

/// `backend/allow-web` with its change, if any: `backend/allow-web (added)`.
fn policy_name(key: &str, changed: &BTreeMap<String, PolicyChange>) -> String {
    match changed.get(key) {
        Some(c) => format!("{key} ({})", c.as_str()),
        None => key.to_string(),
    }
}

/// One side (egress of the source, ingress of the destination) before
/// and after.
fn side_reasons(
    name: &str,
    old: &Model<'_>,
    before: Option<&SideVerdict>,
    new: &Model<'_>,
    after: Option<&SideVerdict>,
    others: (Option<&PortSet>, Option<&PortSet>),
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<String> {
    let isolating = |m: &Model<'_>, s: Option<&SideVerdict>| -> Vec<String> {
        s.filter(|s| s.isolated)
            .map(|s| s.policies.iter().map(|&i| m.policies[i].key()).collect())
            .unwrap_or_default()
    };
    // Rule -> the ports it admits (non-empty only).
    let admitting = |m: &Model<'_>, s: Option<&SideVerdict>| -> Admitted {
        let mut out = BTreeMap::new();
        for r in s.map(|s| s.rules.as_slice()).unwrap_or_default() {
            let ports = r.admitted();
            if !ports.is_empty() {
                out.insert((m.policies[r.policy].key(), r.rule), ports);
            }
        }
        out
    };
    side_lines(
        name,
        (&isolating(old, before), &admitting(old, before)),
        (&isolating(new, after), &admitting(new, after)),
        before.is_some() && after.is_some(),
        others,
        changed,
    )
}

/// The rules admitting a connection on one side: (policy key, rule index)
/// -> the ports.
type Admitted = BTreeMap<(String, usize), PortSet>;

/// The lines for one side, from the policies isolating it and the rules
/// admitting the connection, before and after; `present`: the pod is on
/// both sides. `others`: what the other side admits before and after
/// (`None`: anything): a rule is named with the ports of it that reach
/// the pair only, and not at all when none does.
fn side_lines(
    name: &str,
    (ib, rb): (&[String], &Admitted),
    (ia, ra): (&[String], &Admitted),
    present: bool,
    others: (Option<&PortSet>, Option<&PortSet>),
    changed: &BTreeMap<String, PolicyChange>,
) -> Vec<String> {
    let narrow = |rules: &Admitted, other: Option<&PortSet>| -> Admitted {
        match other {
            None => rules.clone(),
            Some(o) => rules
                .iter()
                .map(|(k, p)| (k.clone(), p.intersect(o)))
                .filter(|(_, p)| !p.is_empty())
                .collect(),
        }
    };
    // A rule is a reason when what it admits itself changed (its own
    // ports, before against after); it is shown with the ports of that
    // change the other side admits (on the side where they were
    // admitted), and not at all when none reaches the pair. A rule that
    // still admits the same ports is no reason, whatever the other side
    // now does.
    let (nb, na) = (narrow(rb, others.0), narrow(ra, others.1));
    let mut out = Vec::new();
    let list = |keys: &[String]| {
        keys.iter()
            .map(|k| policy_name(k, changed))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Isolated on both sides, the policies that start or stop isolating
    // the pod change nothing by themselves (policies are a union of
    // allows): their rules that admit it or no longer do say it. No
    // longer isolated, the rules it had matter no more.
    if present && ib.is_empty() && !ia.is_empty() {
        out.push(format!("{name}: newly isolated by {}", list(ia)));
    } else if present && !ib.is_empty() && ia.is_empty() {
        out.push(format!("{name}: no longer isolated (was by {})", list(ib)));
        return out;
    }
    let rule = |(key, i): &(String, usize)| format!("{} {name}[{i}]", policy_name(key, changed));
    let shown = |ports: &PortSet, other: Option<&PortSet>| match other {
        Some(o) => ports.intersect(o),
        None => ports.clone(),
    };
    for (k, p) in rb {
        match ra.get(k) {
            None => {
                let lost = shown(p, others.0);
                if !lost.is_empty() {
                    out.push(format!(
                        "{name}: {} no longer admits it ({})",
                        rule(k),
                        lost.to_strings().join(", ")
                    ));
                }
            }
            // Named when the change reaches the pair; said with the
            // rule's own ports, before and after.
            Some(q) if q != p && nb.get(k) != na.get(k) => out.push(format!(
                "{name}: {} admits {} => {}",
                rule(k),
                p.to_strings().join(", "),
                q.to_strings().join(", ")
            )),
            _ => {}
        }
    }
    for (k, q) in ra {
        if !rb.contains_key(k) {
            let gained = shown(q, others.1);
            if !gained.is_empty() {
                out.push(format!(
                    "{name}: {} now admits it ({})",
                    rule(k),
                    gained.to_strings().join(", ")
                ));
            }
        }
    }
    if present && out.is_empty() && !ia.is_empty() && na.is_empty() {
        out.push(format!("{name}: no rule of {} admits it", list(ia)));
    }
    out
}

/// One side of a class cell as the class rows see it: the policies
/// isolating the subject (indices into the model's policies; empty: not
/// isolated) and the rules admitting the connection (policy, rule, ports).
type SideKey = (Vec<u32>, Vec<(u32, u32, u32)>);

/// Reasons for class cells, made from the rules the class rows match and
/// kept once per distinct text (see [`ClassReasons::cell`]).
struct ClassReasons {
    /// Per joint class and end (source 0, destination 1): the lines about
    /// the pods themselves (new, deleted, relabelled) and apart the line
    /// about their namespace's labels (see [`pod_lines`]).
    /// By what matters of the end's own change ([`own_changes`]).
    pods: HashMap<(usize, usize, [bool; 2]), (u32, u32)>,
    /// Per side (old 0, new 1), direction and class: the isolating policies.
    isolating: [[HashMap<usize, Vec<u32>>; 2]; 2],
    /// Side lines by (direction, before, after, what the other side
    /// admits before and after).
    sides: HashMap<(Direction, SideKey, SideKey, (u32, u32)), u32>,
    /// Texts, interned: every list of lines made so far.
    texts: Vec<Vec<String>>,
    /// Reason ids in [`Diff::reasons`] by the ids of their parts.
    cells: HashMap<[u32; 6], u32>,
    scratch: Vec<(u32, u32, u32)>,
}

const NO_LINES: u32 = u32::MAX;

impl ClassReasons {
    fn new(n: usize) -> ClassReasons {
        ClassReasons {
            pods: HashMap::with_capacity(n),
            isolating: Default::default(),
            sides: HashMap::new(),
            texts: Vec::new(),
            cells: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    fn text(&mut self, lines: Vec<String>) -> u32 {
        if lines.is_empty() {
            return NO_LINES;
        }
        self.texts.push(lines);
        (self.texts.len() - 1) as u32
    }

    /// The reason id (into `d.reasons`) of the changed cell from joint
    /// class `a` to `b`, each given as ((old class, new class), joint id).
    #[allow(clippy::type_complexity)]
    fn cell<'m, 's>(
        &mut self,
        old: (&Model<'s>, &Classes<'m>, &mut ClassRows<'m, 's>),
        new: (&Model<'s>, &Classes<'m>, &mut ClassRows<'m, 's>),
        ((oa, na), a): ((Option<usize>, Option<usize>), usize),
        ((ob, nb), b): ((Option<usize>, Option<usize>), usize),
        sets: &mut PortSets,
        d: &mut Diff<'_>,
    ) -> u32 {
        // Parts: source's lines, its namespace's, destination's lines,
        // its namespace's, egress, ingress (the order of pair_reasons).
        let mut parts = [NO_LINES; 6];
        let mut ends = [(NO_LINES, NO_LINES); 2];
        let rep = |(o, n): (Option<usize>, Option<usize>)| {
            (
                o.map(|c| old.1.representative(c)),
                n.map(|c| new.1.representative(c)),
            )
        };
        // Pods of a class share labels and ports: what matters to the
        // pair is the same for all of them.
        let [sl, dl, dp] = own_changes(old.0, new.0, rep((oa, na)), rep((ob, nb)));
        for (k, (o, n, joint, word, matters)) in [
            (oa, na, a, "source", [sl, false]),
            (ob, nb, b, "destination", [dl, dp]),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(&ids) = self.pods.get(&(joint, k, matters)) {
                ends[k] = ids;
                continue;
            }
            let (o, n) = rep((o, n));
            let (lines, namespace) = pod_lines(old.0, new.0, o, n, word, matters);
            let ids = (self.text(lines), self.text(namespace));
            self.pods.insert((joint, k, matters), ids);
            ends[k] = ids;
        }
        let one_sided = [oa.is_none() || na.is_none(), ob.is_none() || nb.is_none()];
        if one_sided[0] || one_sided[1] {
            // A pod on one side only explains the pair alone.
            if one_sided[0] {
                parts[0] = ends[0].0;
            }
            if one_sided[1] {
                parts[2] = ends[1].0;
            }
        } else {
            parts[0] = ends[0].0;
            parts[2] = ends[1].0;
        }
        if let (Some(oa), Some(na), Some(ob), Some(nb)) = (oa, na, ob, nb) {
            let allowed = |sets: &mut PortSets, (iso, rules): &SideKey| {
                if iso.is_empty() {
                    return PortSets::ALL;
                }
                rules
                    .iter()
                    .fold(PortSets::EMPTY, |acc, r| sets.union(acc, r.2))
            };
            // Both sides first: each side's rules are named with the ports
            // the other side admits only.
            let mut keys: Vec<(SideKey, SideKey)> = Vec::with_capacity(2);
            for dir in [Direction::Egress, Direction::Ingress] {
                let (os, ns) = if dir == Direction::Egress {
                    (oa, na)
                } else {
                    (ob, nb)
                };
                let before = self.side(0, old.0, old.1, old.2, (oa, ob), os, dir, sets);
                let after = self.side(1, new.0, new.1, new.2, (na, nb), ns, dir, sets);
                keys.push((before, after));
            }
            let admits: Vec<(u32, u32)> = keys
                .iter()
                .map(|(b, a)| (allowed(sets, b), allowed(sets, a)))
                .collect();
            for (i, ((k, dir), (before, after))) in
                [(4, Direction::Egress), (5, Direction::Ingress)]
                    .into_iter()
                    .zip(keys)
                    .enumerate()
            {
                if admits[i].0 == admits[i].1 {
                    continue;
                }
                let other = admits[1 - i];
                // The other end's namespace labels matter to this side.
                if dir == Direction::Egress {
                    parts[3] = ends[1].1;
                } else {
                    parts[1] = ends[0].1;
                }
                let key = (dir, before, after, other);
                if let Some(&id) = self.sides.get(&key) {
                    parts[k] = id;
                    continue;
                }
                let admitted = |m: &Model<'_>, rules: &[(u32, u32, u32)], sets: &PortSets| {
                    rules
                        .iter()
                        .map(|&(p, r, ports)| {
                            (
                                (m.policies[p as usize].key(), r as usize),
                                sets.get(ports).clone(),
                            )
                        })
                        .collect::<Admitted>()
                };
                let keys = |m: &Model<'_>, iso: &[u32]| -> Vec<String> {
                    iso.iter().map(|&p| m.policies[p as usize].key()).collect()
                };
                // Only the ports whose answer for the pair changed, and of
                // them those the other side admits.
                let this = admits[i];
                let (pb, pa) = (
                    sets.intersect(this.0, other.0),
                    sets.intersect(this.1, other.1),
                );
                let moved = {
                    let (b, a) = (sets.get(pb), sets.get(pa));
                    let mut m = b.subtract(a);
                    m.union_with(&a.subtract(b));
                    m
                };
                let mask = |id: u32| Some(sets.get(id).intersect(&moved));
                let (ob_mask, oa_mask) = (mask(other.0), mask(other.1));
                let lines = side_lines(
                    dir.as_str(),
                    (&keys(old.0, &key.1.0), &admitted(old.0, &key.1.1, sets)),
                    (&keys(new.0, &key.2.0), &admitted(new.0, &key.2.1, sets)),
                    true,
                    (ob_mask.as_ref(), oa_mask.as_ref()),
                    &d.policies,
                );
                let id = self.text(lines);
                self.sides.insert(key, id);
                parts[k] = id;
            }
        }
        if let Some(&id) = self.cells.get(&parts) {
            return id;
        }
        let lines: Vec<String> = parts
            .iter()
            .filter(|&&p| p != NO_LINES)
            .flat_map(|&p| self.texts[p as usize].iter().cloned())
            .collect();
        let id = d.reasons.len() as u32;
        d.reasons.push(lines);
        self.cells.insert(parts, id);
        id
    }

    /// One side of the cell (`cell` = (source class, destination class)
    /// on that side; `subject` = the class whose policies apply).
    #[allow(clippy::too_many_arguments)]
    fn side<'m, 's>(
        &mut self,
        which: usize,
        m: &Model<'s>,
        classes: &Classes<'m>,
        rows: &mut ClassRows<'m, 's>,
        (a, b): (usize, usize),
        subject: usize,
        dir: Direction,
        sets: &mut PortSets,
    ) -> SideKey {
        let di = usize::from(dir == Direction::Egress);
        let iso = self.isolating[which][di]
            .entry(subject)
            .or_insert_with(|| {
                m.isolating(classes.representative(subject), dir)
                    .into_iter()
                    .map(|p| p as u32)
                    .collect()
            })
            .clone();
        rows.admitting(a, b, dir, sets, &mut self.scratch);
        (iso, self.scratch.clone())
    }
}

/// Whether the ends' own changes bear on a pair's answer, on either side:
/// `[source labels, destination labels, destination ports]`. A label
/// change matters when a selector that decides the pair tells the old
/// labels from the new: the podSelector of a policy of the end's namespace
/// for its direction (the source's egress, the destination's ingress), or
/// a peer's podSelector in a rule of a policy selecting the other end (its
/// egress rules for the destination, its ingress rules for the source)
/// whose namespaces may hold the end. A container port change (the
/// destination's only: ports resolve there) matters when a rule of those
/// policies resolves to other ports on the old and the new ports (a named
/// port). `from`, `to`: (old pod, new pod); an end on one side only
/// explains the pair alone (all true).
fn own_changes(
    old: &Model<'_>,
    new: &Model<'_>,
    from: (Option<&PodInfo>, Option<&PodInfo>),
    to: (Option<&PodInfo>, Option<&PodInfo>),
) -> [bool; 3] {
    use crate::engine::verdict::destination_ports;
    let (Some(so), Some(sn), Some(dob), Some(dnw)) = (from.0, from.1, to.0, to.1) else {
        return [true; 3];
    };
    let want = [
        so.labels != sn.labels,
        dob.labels != dnw.labels,
        dob.ports != dnw.ports,
    ];
    if want == [false; 3] {
        return want;
    }
    let tells = |sel: &Selector, a: &Labels, b: &Labels| sel.matches(a) != sel.matches(b);
    // A peer of `rule` tells `a` from `b` for a pod of namespace `ns`.
    let peers_tell =
        |m: &Model<'_>, rule: &crate::engine::policy::Rule, ns: &str, a: &Labels, b: &Labels| {
            rule.peers.iter().flatten().any(|peer| match peer {
                Peer::Pods {
                    namespaces,
                    pods: Some(sel),
                } if tells(sel, a, b) => match namespaces {
                    crate::engine::policy::NamespaceScope::Own(own) => own == ns,
                    crate::engine::policy::NamespaceScope::Selected(nsel) => {
                        m.namespace(ns)
                            .and_then(|n| crate::engine::namespace_matches(nsel, n))
                            != Some(false)
                    }
                },
                _ => false,
            })
        };
    let ports_tell = |rule: &crate::engine::policy::Rule| {
        rule.resolve_ports(destination_ports(dob)) != rule.resolve_ports(destination_ports(dnw))
    };
    let mut out = [false; 3];
    for (m, s, d) in [(old, so, dob), (new, sn, dnw)] {
        for &i in m.policies_in(&s.namespace) {
            let p = &m.policies[i];
            let Some(rules) = &p.egress else { continue };
            out[0] |= want[0] && tells(&p.pod_selector, &so.labels, &sn.labels);
            if p.pod_selector.matches(&s.labels) {
                for r in rules {
                    out[1] |= want[1] && peers_tell(m, r, &d.namespace, &dob.labels, &dnw.labels);
                    out[2] |= want[2] && ports_tell(r);
                }
            }
        }
        for &i in m.policies_in(&d.namespace) {
            let p = &m.policies[i];
            let Some(rules) = &p.ingress else { continue };
            out[1] |= want[1] && tells(&p.pod_selector, &dob.labels, &dnw.labels);
            if p.pod_selector.matches(&d.labels) {
                for r in rules {
                    out[0] |= want[0] && peers_tell(m, r, &s.namespace, &so.labels, &sn.labels);
                    out[2] |= want[2] && ports_tell(r);
                }
            }
        }
    }
    out
}

/// The lines about one end of a pair itself: new, deleted, relabelled,
/// other ports, the last two only when they matter to the pair (`[labels,
/// ports]`, see [`own_changes`]) (what every pod of a class shares; a new IP shows through
/// the ipBlock rules that now match it or not), then apart the line
/// saying its namespace's labels change, which only matters to the other
/// end's policies (a destination's namespace to the source's egress, a
/// source's to the destination's ingress).
fn pod_lines(
    old: &Model<'_>,
    new: &Model<'_>,
    o: Option<&PodInfo>,
    n: Option<&PodInfo>,
    word: &str,
    [labels, ports]: [bool; 2],
) -> EndLines {
    let mut out = Vec::new();
    let mut namespace = Vec::new();
    match (o, n) {
        (None, Some(_)) => out.push(format!("the {word} pod is new")),
        (Some(_), None) => out.push(format!("the {word} pod is deleted")),
        (Some(a), Some(b)) => {
            if labels && a.labels != b.labels {
                // The revision labels a rollout's new pods get anew (their
                // values unknown here, kept from the live pod in the
                // model): not said to be carried over.
                let shown = |l: &Labels| -> Labels {
                    l.iter()
                        .filter(|(k, v)| {
                            !(ROLLOUT_LABELS.contains(&k.as_str())
                                && a.labels.get(*k) == Some(*v)
                                && b.labels.get(*k) == Some(*v))
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                out.push(format!(
                    "the {word} pod's labels change: {} => {}",
                    labels_text(&shown(&a.labels)),
                    labels_text(&shown(&b.labels))
                ));
            }
            if ports && a.ports != b.ports {
                out.push(format!("the {word} pod's container ports change"));
            }
            if old.namespace(&a.namespace).map(|n| &n.labels)
                != new.namespace(&b.namespace).map(|n| &n.labels)
            {
                namespace.push(format!(
                    "the {word} pod's namespace {} changes labels",
                    b.namespace
                ));
            }
        }
        (None, None) => {}
    }
    (out, namespace)
}

/// One end's lines of [`pod_lines`]: about the pod, about its namespace.
type EndLines = (Vec<String>, Vec<String>);

/// The lines about a pair's two ends that changed its answer: a pod on
/// one side only explains it alone (the other end's changes do not
/// matter); else each end's lines, and its namespace's when the other
/// end's side differs (`egress`, `ingress`: whether the source's egress,
/// the destination's ingress answer differs).
fn end_lines(
    (source, destination): (EndLines, EndLines),
    one_sided: [bool; 2],
    egress: bool,
    ingress: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if one_sided[0] || one_sided[1] {
        if one_sided[0] {
            out.extend(source.0);
        }
        if one_sided[1] {
            out.extend(destination.0);
        }
        return out;
    }
    out.extend(source.0);
    if ingress {
        out.extend(source.1);
    }
    out.extend(destination.0);
    if egress {
        out.extend(destination.1);
    }
    out
}

/// One address family's range of addresses, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    v6: bool,
    lo: u128,
    hi: u128,
}

fn to_num(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn family_max(v6: bool) -> u128 {
    if v6 { u128::MAX } else { u128::from(u32::MAX) }
}

fn net_span(net: &ipnet::IpNet) -> Span {
    let (v6, lo) = to_num(net.network());
    let (_, hi) = to_num(net.broadcast());
    Span { v6, lo, hi }
}

/// What a pod's policies let through to (egress) or from (ingress)
/// addresses outside the pods: `None` for every address on every port
/// (not isolated), else each rule's addresses (`None`: every address) and
/// ports. Named ports resolve to nothing towards an address (egress); on
/// ingress they resolve on the pod itself.
type Access<'m> = Option<Vec<(Option<&'m crate::engine::policy::IpBlock>, PortSet)>>;

fn external_access<'m>(m: &'m Model<'_>, pod: &PodInfo, d: Direction) -> Access<'m> {
    let isolating = m.isolating(pod, d);
    if isolating.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for pi in isolating {
        for rule in m.policies[pi].rules(d).unwrap_or_default() {
            let ports = match d {
                Direction::Egress => rule.resolve_ports(None),
                Direction::Ingress => {
                    rule.resolve_ports(crate::engine::verdict::destination_ports(pod))
                }
            };
            if ports.is_empty() {
                continue;
            }
            match &rule.peers {
                None => out.push((None, ports)),
                Some(peers) => {
                    for peer in peers {
                        if let Peer::IpBlock(b) = peer {
                            out.push((Some(b), ports.clone()));
                        }
                    }
                }
            }
        }
    }
    Some(out)
}

fn access_at(access: &Access<'_>, v6: bool, at: u128) -> PortSet {
    let Some(list) = access else {
        return PortSet::all();
    };
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::from(at))
    } else {
        IpAddr::V4(Ipv4Addr::from(at as u32))
    };
    let mut out = PortSet::empty();
    for (block, ports) in list {
        if block.is_none_or(|b| b.contains(&ip)) {
            out.union_with(ports);
        }
    }
    out
}

/// An address range whose access differs: (CIDR text, before, after,
/// reasons index).
type Range = (String, u32, u32, u32);

/// The address ranges whose access differs for one pod (old, new) in one
/// direction, reasons added to `d.reasons`.
fn external_ranges(
    old: &Model<'_>,
    new: &Model<'_>,
    o: Option<&PodInfo>,
    n: Option<&PodInfo>,
    dir: Direction,
    sets: &mut PortSets,
    d: &mut Diff<'_>,
) -> Vec<Range> {
    let none: Access<'_> = Some(Vec::new());
    let before = match o {
        Some(p) => external_access(old, p, dir),
        None => none.clone(),
    };
    let after = match n {
        Some(p) => external_access(new, p, dir),
        None => none,
    };
    // With cluster policies, each range's access is the definition's
    // (verdict::side, the tiers around NetworkPolicy) at its first
    // address; the ranges are also cut at the tiers' `networks` and at
    // every node address (`nodes` peers).
    let tiered = |m: &Model<'_>| crate::engine::tier::eval::any(m);
    let (tiers_before, tiers_after) = (o.is_some() && tiered(old), n.is_some() && tiered(new));
    if before.is_none() && after.is_none() && !tiers_before && !tiers_after {
        return Vec::new();
    }
    // Elementary ranges: cut at every block's edges, per family.
    let mut cuts: BTreeSet<(bool, u128)> = BTreeSet::new();
    for v6 in [false, true] {
        cuts.insert((v6, 0));
    }
    let mut cut = |s: Span| {
        cuts.insert((s.v6, s.lo));
        if s.hi < family_max(s.v6) {
            cuts.insert((s.v6, s.hi + 1));
        }
    };
    for (m, on) in [(old, tiers_before), (new, tiers_after)] {
        if !on {
            continue;
        }
        for peer in m.cluster_peers() {
            match peer {
                crate::engine::tier::TierPeer::Networks(nets) => {
                    nets.iter().for_each(|net| cut(net_span(net)))
                }
                crate::engine::tier::TierPeer::Nodes(_) => {
                    let host = m.snapshot.pods.iter().flat_map(|p| {
                        p.host_ips
                            .iter()
                            .chain(p.on_host_network().then_some(&p.ips).into_iter().flatten())
                    });
                    for ip in m
                        .snapshot
                        .nodes
                        .iter()
                        .flat_map(|n| &n.addresses)
                        .chain(host)
                    {
                        let (v6, at) = to_num(*ip);
                        cut(Span { v6, lo: at, hi: at });
                    }
                }
                _ => {}
            }
        }
    }
    for access in [&before, &after] {
        for (block, _) in access.iter().flatten() {
            let Some(b) = block else { continue };
            for net in std::iter::once(&b.cidr).chain(&b.except) {
                cut(net_span(net));
            }
        }
    }
    let cuts: Vec<(bool, u128)> = cuts.into_iter().collect();
    // The side's ports at one address: (allowed, undecided).
    let at = |m: &Model<'_>,
              p: Option<&PodInfo>,
              access: &Access<'_>,
              on: bool,
              v6: bool,
              lo: u128| {
        let (Some(p), true) = (p, on) else {
            return (access_at(access, v6, lo), PortSet::empty());
        };
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(lo))
        } else {
            IpAddr::V4(Ipv4Addr::from(lo as u32))
        };
        let dest = match dir {
            Direction::Egress => None,
            Direction::Ingress => crate::engine::verdict::destination_ports(p),
        };
        let s =
            crate::engine::verdict::side(m, dir, &Endpoint::Pod(p), &Endpoint::External(ip), dest);
        (s.allowed, s.maybe)
    };
    // (before, after) -> its spans, merged when adjacent.
    let mut groups: BTreeMap<(u32, u32), Vec<Span>> = BTreeMap::new();
    for (k, &(v6, lo)) in cuts.iter().enumerate() {
        let hi = match cuts.get(k + 1) {
            Some(&(v, next)) if v == v6 => next - 1,
            _ => family_max(v6),
        };
        let (b, ub) = at(old, o, &before, tiers_before, v6, lo);
        let (a, ua) = at(new, n, &after, tiers_after, v6, lo);
        if a == b && ua == ub {
            continue;
        }
        let (b, a) = (sets.intern(b), sets.intern(a));
        if !ub.is_empty() || !ua.is_empty() {
            // Undecided on a side (a cluster policy's domainNames, say):
            // neither changed nor unchanged.
            d.external_undecided += 1;
            continue;
        }
        let spans = groups.entry((b, a)).or_default();
        match spans.last_mut() {
            Some(last) if last.v6 == v6 && last.hi.checked_add(1) == Some(lo) => last.hi = hi,
            _ => spans.push(Span { v6, lo, hi }),
        }
    }
    let mut out = Vec::new();
    for ((b, a), spans) in groups {
        let shown: Vec<Span> = spans
            .iter()
            .filter(|s| {
                d.families
                    .contains(if s.v6 { &Family::V6 } else { &Family::V4 })
            })
            .copied()
            .collect();
        let Some(&sample) = shown.first() else {
            continue;
        };
        let ip = if sample.v6 {
            IpAddr::V6(Ipv6Addr::from(sample.lo))
        } else {
            IpAddr::V4(Ipv4Addr::from(sample.lo as u32))
        };
        let verdict = |m: &Model<'_>, p: Option<&PodInfo>| {
            p.map(|p| match dir {
                Direction::Egress => connection(m, &Endpoint::Pod(p), &Endpoint::External(ip)),
                Direction::Ingress => connection(m, &Endpoint::External(ip), &Endpoint::Pod(p)),
            })
        };
        let (vb, va) = (verdict(old, o), verdict(new, n));
        let mut reasons = Vec::new();
        match (o, n) {
            (None, Some(_)) => reasons.push("the pod is new".to_string()),
            (Some(_), None) => reasons.push("the pod is deleted".to_string()),
            _ => {}
        }
        reasons.extend(verdict_reasons(
            old,
            new,
            vb.as_ref(),
            va.as_ref(),
            &d.policies,
        ));
        let r = d.reasons.len() as u32;
        d.reasons.push(reasons);
        for text in render_spans(&shown) {
            out.push((text, b, a, r));
        }
    }
    out
}

/// The fewest CIDRs that cover `lo..=hi` exactly: (first address, prefix).
fn cidrs(v6: bool, lo: u128, hi: u128) -> Vec<(u128, u8)> {
    let bits: u32 = if v6 { 128 } else { 32 };
    // The last address of the block of 2^size addresses starting at `at`.
    let last = |at: u128, size: u32| {
        if size >= 128 {
            Some(u128::MAX)
        } else {
            at.checked_add((1u128 << size) - 1)
        }
    };
    let mut out = Vec::new();
    let mut at = lo;
    loop {
        // The largest aligned block starting at `at` that fits.
        let mut size = if at == 0 {
            bits
        } else {
            at.trailing_zeros().min(bits)
        };
        while size > 0 && last(at, size).is_none_or(|l| l > hi) {
            size -= 1;
        }
        out.push((at, (bits - size) as u8));
        match last(at, size) {
            Some(l) if l < hi => at = l + 1,
            _ => break,
        }
    }
    out
}

fn cidr_text(v6: bool, (at, prefix): (u128, u8)) -> String {
    if v6 {
        format!("{}/{prefix}", Ipv6Addr::from(at))
    } else {
        format!("{}/{prefix}", Ipv4Addr::from(at as u32))
    }
}

/// Spans (one family or both, ascending) as short CIDR texts: one per
/// family, `C except X, Y` when the smallest CIDR around them minus its
/// holes is shorter than listing them.
fn render_spans(spans: &[Span]) -> Vec<String> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        let fam: Vec<&Span> = spans.iter().filter(|s| s.v6 == v6).collect();
        let (Some(first), Some(last)) = (fam.first(), fam.last()) else {
            continue;
        };
        let direct: Vec<(u128, u8)> = fam.iter().flat_map(|s| cidrs(v6, s.lo, s.hi)).collect();
        // The smallest CIDR holding them all.
        let bits: u32 = if v6 { 128 } else { 32 };
        let differ = first.lo ^ last.hi;
        let host_bits = if differ == 0 {
            0
        } else {
            128 - differ.leading_zeros()
        };
        let prefix = (bits - host_bits.min(bits)) as u8;
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        let base = first.lo & mask;
        let top = if host_bits >= 128 {
            u128::MAX
        } else {
            base | ((1u128 << host_bits) - 1)
        };
        let mut holes = Vec::new();
        let mut at = base;
        for s in &fam {
            if s.lo > at {
                holes.extend(cidrs(v6, at, s.lo - 1));
            }
            at = s.hi.saturating_add(1);
        }
        if last.hi < top {
            holes.extend(cidrs(v6, last.hi + 1, top));
        }
        if !holes.is_empty() && 1 + holes.len() < direct.len() {
            out.push(format!(
                "{} except {}",
                cidr_text(v6, (base, prefix)),
                holes
                    .iter()
                    .map(|c| cidr_text(v6, *c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            out.push(
                direct
                    .iter()
                    .map(|c| cidr_text(v6, *c))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }
    out
}

/// The controller labels a rollout gives new values (a Deployment's new
/// ReplicaSet, a StatefulSet's or DaemonSet's new revision).
const ROLLOUT_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
];

/// Labels a controller sets on the pods it makes (kept when a workload's
/// template replaces a live pod's labels).
const CONTROLLER_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "pod-template-generation",
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
];

/// The annotation `kubectl apply` leaves on what it applied; `--prune`
/// only deletes objects that carry it.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `live` with `manifests` applied as `kubectl apply -f` would:
/// NetworkPolicies replace the same-named ones or are added; Namespaces
/// take the manifest's labels; Pods replace the same-named ones (keeping
/// their addresses when the manifest has none); a workload's template
/// replaces the labels and ports of its live pods (controller labels
/// kept), or adds its representative pod when it has none. With `prune`,
/// live policies of the namespaces the manifests touch, labelled to match
/// it, applied by `kubectl apply` (annotation [`LAST_APPLIED`]) and absent
/// from the manifests are deleted. Returns the snapshot and the keys of
/// the pruned policies.
pub fn applied(
    live: &Snapshot,
    manifests: &Snapshot,
    prune: Option<&Selector>,
) -> (Snapshot, Vec<String>) {
    let key = |ns: &str, name: &str| (ns.to_string(), name.to_string());
    // Namespaces.
    let mut namespaces: BTreeMap<String, crate::snapshot::NamespaceInfo> = live
        .namespaces
        .iter()
        .filter(|n| !n.synthesized)
        .map(|n| (n.name.clone(), n.clone()))
        .collect();
    for n in &manifests.namespaces {
        if !n.synthesized || !namespaces.contains_key(&n.name) {
            namespaces.insert(n.name.clone(), n.clone());
        }
    }
    // Pods.
    let mut pods: BTreeMap<(String, String), PodInfo> = live
        .pods
        .iter()
        .map(|p| (key(&p.namespace, &p.name), p.clone()))
        .collect();
    for p in &manifests.pods {
        if p.representative
            && let Some(w) = &p.workload
        {
            let mut matched = false;
            for live_pod in pods.values_mut() {
                if live_pod.namespace == p.namespace
                    && !live_pod.representative
                    && live_pod.workload.as_ref() == Some(w)
                {
                    *live_pod = rolled_out(live_pod, p);
                    matched = true;
                }
            }
            if matched {
                continue;
            }
        }
        let k = key(&p.namespace, &p.name);
        let mut next = p.clone();
        if let Some(was) = pods.get(&k) {
            if next.ips.is_empty() {
                next.ips = was.ips.clone();
                next.host_ips = was.host_ips.clone();
            }
            if next.node.is_none() {
                next.node = was.node.clone();
            }
            if next.workload.is_none() {
                next.workload = was.workload.clone();
            }
        }
        pods.insert(k, next);
    }
    // Policies.
    let mut policies: BTreeMap<(String, String), _> = live
        .policies
        .iter()
        .map(|p| {
            (
                key(
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                    p.metadata.name.as_deref().unwrap_or_default(),
                ),
                p.clone(),
            )
        })
        .collect();
    let mut decode_errors = live.decode_errors.clone();
    for p in &manifests.policies {
        let k = key(
            p.metadata.namespace.as_deref().unwrap_or_default(),
            p.metadata.name.as_deref().unwrap_or_default(),
        );
        decode_errors.remove(&format!("{}/{}", k.0, k.1));
        policies.insert(k, p.clone());
    }
    for (k, e) in &manifests.decode_errors {
        decode_errors.insert(k.clone(), e.clone());
    }
    let mut pruned = Vec::new();
    if let Some(selector) = prune {
        let visited: BTreeSet<&str> = manifests
            .policies
            .iter()
            .filter_map(|p| p.metadata.namespace.as_deref())
            .chain(manifests.pods.iter().map(|p| p.namespace.as_str()))
            .chain(
                manifests
                    .namespaces
                    .iter()
                    .filter(|n| !n.synthesized)
                    .map(|n| n.name.as_str()),
            )
            .collect();
        let in_manifests: BTreeSet<(String, String)> = manifests
            .policies
            .iter()
            .map(|p| {
                key(
                    p.metadata.namespace.as_deref().unwrap_or_default(),
                    p.metadata.name.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        for p in &live.policies {
            let k = key(
                p.metadata.namespace.as_deref().unwrap_or_default(),
                p.metadata.name.as_deref().unwrap_or_default(),
            );
            let labels = p.metadata.labels.clone().unwrap_or_default();
            let applied_by_kubectl = p
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(LAST_APPLIED));
            if visited.contains(k.0.as_str())
                && !in_manifests.contains(&k)
                && selector.matches(&labels)
                && applied_by_kubectl
            {
                pruned.push(format!("{}/{}", k.0, k.1));
                policies.remove(&k);
            }
        }
    }
    let mut out = Snapshot::new(
        namespaces.into_values().collect(),
        pods.into_values().collect(),
        policies.into_values().collect(),
    );
    // Cluster policies: NEW's (as the server's dry run stores them)
    // replace the live ones of the same kind and name; kubectl does not
    // prune them by default.
    let mut cluster: BTreeMap<(String, String), crate::snapshot::ClusterPolicyObject> = live
        .cluster_policies
        .iter()
        .map(|c| ((c.kind.clone(), c.name.clone()), c.clone()))
        .collect();
    for c in &manifests.cluster_policies {
        cluster.insert((c.kind.clone(), c.name.clone()), c.clone());
    }
    out.cluster_policies = cluster.into_values().collect();
    out.decode_errors = decode_errors;
    out.gaps = live.gaps.clone();
    out.services = live.services.clone();
    out.nodes = live.nodes.clone();
    out.namespaceless = manifests.namespaceless.clone();
    out.null_egress = manifests.null_egress.clone();
    (out, pruned)
}

/// The patch `kubectl apply` (client-side, the default) sends for an
/// object that exists: `modified` (NEW) with `null` for every field that
/// the last apply set (`original`, from [`LAST_APPLIED`]) and NEW no
/// longer has, map by map. Fields set by other means (`kubectl create`,
/// `kubectl label`, controllers) are neither in `original` nor in the
/// patch, so they stay. Lists without a patch merge key (all those of a
/// NetworkPolicy's spec) are replaced whole. Lists of a pod spec that
/// have one ([`merge_key`]: containers by name, their ports by
/// containerPort, ...) merge entry by entry, as the strategic merge patch
/// kubectl sends for Pods and workloads: an entry the last apply set and
/// NEW drops is sent as `{KEY: value, $patch: delete}`, and the list's
/// order as `$setElementOrder/FIELD` (kubectl's three-way patch); entries
/// added by other means stay. Without `original` (an object never
/// applied) nothing is deleted, as kubectl does.
pub fn apply_patch(
    original: Option<&serde_json::Value>,
    modified: &serde_json::Value,
) -> serde_json::Value {
    three_way(original, modified, &mut Vec::new())
}

fn three_way(
    original: Option<&serde_json::Value>,
    modified: &serde_json::Value,
    path: &mut Vec<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match (original, modified) {
        (Some(Value::Object(o)), Value::Object(m)) => {
            let mut patch = serde_json::Map::new();
            for (k, v) in m {
                path.push(k.clone());
                let key = merge_key(path);
                let value = match (key, o.get(k), v) {
                    (Some(key), Some(Value::Array(old)), Value::Array(new)) => {
                        let order: Vec<Value> = new
                            .iter()
                            .filter_map(|item| item.get(key))
                            .map(|id| serde_json::json!({ key: id }))
                            .collect();
                        patch.insert(format!("$setElementOrder/{k}"), Value::Array(order));
                        let mut items: Vec<Value> = new
                            .iter()
                            .map(|item| {
                                let before = item
                                    .get(key)
                                    .and_then(|id| old.iter().find(|x| x.get(key) == Some(id)));
                                three_way(before, item, path)
                            })
                            .collect();
                        for gone in old.iter().filter_map(|x| x.get(key)) {
                            if !new.iter().any(|item| item.get(key) == Some(gone)) {
                                items.push(serde_json::json!({ key: gone, "$patch": "delete" }));
                            }
                        }
                        Value::Array(items)
                    }
                    _ => three_way(o.get(k), v, path),
                };
                path.pop();
                patch.insert(k.clone(), value);
            }
            for k in o.keys() {
                if !m.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(patch)
        }
        (_, m) => m.clone(),
    }
}

/// The patch merge key of the list at `path` (field names from the
/// object's root, list indices left out), for the lists of a pod spec
/// that have one in Kubernetes' types (`patchStrategy: merge`), wherever
/// the pod spec sits (a Pod's `spec`, a workload's `spec.template.spec`,
/// a CronJob's `spec.jobTemplate.spec.template.spec`); `None`: the list is
/// replaced whole.
pub fn merge_key(path: &[String]) -> Option<&'static str> {
    let n = path.len();
    let at = |back: usize| -> &str {
        if back <= n {
            path[n - back].as_str()
        } else {
            ""
        }
    };
    let container = |s: &str| matches!(s, "containers" | "initContainers" | "ephemeralContainers");
    // A Pod's `spec`, or a template's.
    let pod_spec = at(2) == "spec" && (n == 2 || at(3) == "template");
    let container = |s: &str| container(s) && at(3) == "spec";
    match at(1) {
        "containers" | "initContainers" | "ephemeralContainers" if pod_spec => Some("name"),
        "ports" if container(at(2)) => Some("containerPort"),
        "env" if container(at(2)) => Some("name"),
        "volumeMounts" if container(at(2)) => Some("mountPath"),
        "volumeDevices" if container(at(2)) => Some("devicePath"),
        "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" if pod_spec => {
            Some("name")
        }
        "hostAliases" if pod_spec => Some("ip"),
        "topologySpreadConstraints" if pod_spec => Some("topologyKey"),
        "ownerReferences" if n == 2 && at(2) == "metadata" => Some("uid"),
        _ => None,
    }
}

/// A patch applied to `current` as the API server applies kubectl's
/// patches: maps merge key by key, `null` deletes; lists with a patch
/// merge key ([`merge_key`]) merge entry by entry (`$patch: delete`
/// removes one, `$setElementOrder/FIELD` orders them); other lists
/// replace (a JSON merge patch, RFC 7386, for everything else).
pub fn merge_patch(current: &serde_json::Value, patch: &serde_json::Value) -> serde_json::Value {
    merge_at(current, patch, &mut Vec::new())
}

fn merge_at(
    current: &serde_json::Value,
    patch: &serde_json::Value,
    path: &mut Vec<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            let mut out = match current {
                Value::Object(c) => c.clone(),
                _ => serde_json::Map::new(),
            };
            for (k, v) in p {
                if k.starts_with("$setElementOrder/") {
                    continue;
                }
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                path.push(k.clone());
                let merged = match (merge_key(path), out.get(k), v) {
                    (Some(key), live, Value::Array(items)) => {
                        let mut list = match live {
                            Some(Value::Array(live)) => live.clone(),
                            _ => Vec::new(),
                        };
                        for item in items {
                            let id = item.get(key);
                            let at = list.iter().position(|x| id.is_some() && x.get(key) == id);
                            if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                                if let Some(i) = at {
                                    list.remove(i);
                                }
                                continue;
                            }
                            match at {
                                Some(i) => list[i] = merge_at(&list[i], item, path),
                                None => list.push(merge_at(&Value::Null, item, path)),
                            }
                        }
                        if let Some(Value::Array(order)) = p.get(&format!("$setElementOrder/{k}")) {
                            let rank = |x: &Value| {
                                order
                                    .iter()
                                    .position(|o| o.get(key).is_some() && o.get(key) == x.get(key))
                                    .unwrap_or(usize::MAX)
                            };
                            list.sort_by_key(rank);
                        }
                        Value::Array(list)
                    }
                    _ => merge_at(out.get(k).unwrap_or(&Value::Null), v, path),
                };
                path.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The last-applied configuration of a live object, if it has a readable
/// one.
pub fn last_applied(annotations: Option<&BTreeMap<String, String>>) -> Option<serde_json::Value> {
    let text = annotations?.get(LAST_APPLIED)?;
    serde_json::from_str(text).ok()
}

/// A live pod of a workload as the rollout of `template` (NEW's
/// representative pod) replaces it: the template's labels (and the
/// labels controllers add, such as `pod-template-hash`, kept from the live
/// pod), ports and host network; labels added by hand are gone.
pub fn rolled_out(live: &PodInfo, template: &PodInfo) -> PodInfo {
    let mut labels = template.labels.clone();
    for l in CONTROLLER_LABELS {
        if let Some(v) = live.labels.get(*l) {
            labels.insert((*l).to_string(), v.clone());
        }
    }
    PodInfo {
        labels,
        ports: template.ports.clone(),
        init_ports: template.init_ports.clone(),
        host_network: template.host_network,
        ..live.clone()
    }
}

/// Pairs whose answer differs between two possible new sides: `d` and
/// `alt` compare the same old side with two new sides that hold the same
/// pods (in the same order) and differ only in the pods marked `unsure`
/// (a workload whose apply may or may not roll its pods out). A pair of
/// an unsure pod whose ports after differ between the two is moved from
/// `d.changes` into `d.maybe` (ports for certain: those of both), with
/// `why` (the pair, its ports either way) as its reason; a pair whose
/// answer is the same either way stays as `d` has it. External ranges of
/// an unsure pod that differ between the two are dropped; the pods are
/// returned.
pub fn undecided_between(
    d: &mut Diff<'_>,
    alt: &Diff<'_>,
    unsure: &[bool],
    why: &dyn Fn(u32, u32, &str, &str) -> String,
) -> Vec<u32> {
    let ports = |sets: &PortSets, id: u32| sets.get(id).clone();
    let text = |p: &PortSet| {
        if p.is_empty() {
            "nothing".to_string()
        } else if p.is_all() {
            "all ports".to_string()
        } else {
            p.to_strings().join(", ")
        }
    };
    let a: HashMap<(u32, u32), &Change> = alt.changes.iter().map(|c| ((c.from, c.to), c)).collect();
    let b: HashMap<(u32, u32), &Change> = d.changes.iter().map(|c| ((c.from, c.to), c)).collect();
    let mut pairs: BTreeSet<(u32, u32)> = a.keys().chain(b.keys()).copied().collect();
    pairs.retain(|(u, v)| unsure[*u as usize] || unsure[*v as usize]);
    let mut maybe = Vec::new();
    for (u, v) in pairs {
        // Before is the same old side in both; after is before when the
        // pair is not a change.
        let (before, after_d, after_alt) = match (b.get(&(u, v)), a.get(&(u, v))) {
            (Some(x), Some(y)) => (
                ports(&d.sets, x.before),
                ports(&d.sets, x.after),
                ports(&alt.sets, y.after),
            ),
            (Some(x), None) => (
                ports(&d.sets, x.before),
                ports(&d.sets, x.after),
                ports(&d.sets, x.before),
            ),
            (None, Some(y)) => (
                ports(&alt.sets, y.before),
                ports(&alt.sets, y.before),
                ports(&alt.sets, y.after),
            ),
            (None, None) => continue,
        };
        if after_d == after_alt {
            continue;
        }
        let certain = after_d.intersect(&after_alt);
        let reason = d.reasons.len() as u32;
        d.reasons
            .push(vec![why(u, v, &text(&after_d), &text(&after_alt))]);
        maybe.push(Change {
            from: u,
            to: v,
            before: d.sets.intern(before),
            after: d.sets.intern(certain),
            reasons: reason,
        });
    }
    let out: HashSet<(u32, u32)> = maybe.iter().map(|c| (c.from, c.to)).collect();
    d.changes.retain(|c| !out.contains(&(c.from, c.to)));
    d.maybe.retain(|c| !out.contains(&(c.from, c.to)));
    d.maybe.extend(maybe);
    d.maybe.sort_unstable_by_key(|c| (c.from, c.to));
    // Addresses: an unsure pod's ranges, compared as texts and ports.
    let ranges = |x: &Diff<'_>, u: u32| -> HashSet<(Direction, String, PortSet, PortSet)> {
        x.external
            .iter()
            .filter(|e| e.pod == u)
            .map(|e| {
                (
                    e.direction,
                    e.addresses.clone(),
                    ports(&x.sets, e.before),
                    ports(&x.sets, e.after),
                )
            })
            .collect()
    };
    let mut dropped = Vec::new();
    for (u, _) in unsure.iter().enumerate().filter(|(_, s)| **s) {
        let u = u as u32;
        if ranges(d, u) != ranges(alt, u) {
            d.external.retain(|e| e.pod != u);
            dropped.push(u);
        }
    }
    dropped
}

/// True when a workload of NEW leaves its live pods as they are: its pod
/// template says what the live one says about them (labels, ports, host
/// network). A template that differs rolls the pods out: the new pods have
/// the template's labels only.
pub fn same_template(live: &PodInfo, new: &PodInfo) -> bool {
    live.labels == new.labels
        && live.ports == new.ports
        && live.init_ports == new.init_ports
        && live.host_network == new.host_network
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::files::load_str;

    #[test]
    fn cidrs_cover_ranges_exactly() {
        assert_eq!(cidrs(false, 0, u128::from(u32::MAX)), vec![(0, 0)]);
        let ten = u128::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(cidrs(false, ten, ten + 255), vec![(ten, 24)]);
        assert_eq!(cidrs(false, ten, ten + 2), vec![(ten, 31), (ten + 2, 32)]);
        assert_eq!(cidrs(true, 0, u128::MAX), vec![(0, 0)]);
    }

    #[test]
    fn spans_render_as_a_cidr_with_its_holes() {
        let n = |a, b, c, d| u128::from(u32::from(Ipv4Addr::new(a, b, c, d)));
        let spans = [
            Span {
                v6: false,
                lo: 0,
                hi: n(9, 255, 255, 255),
            },
            Span {
                v6: false,
                lo: n(11, 0, 0, 0),
                hi: u128::from(u32::MAX),
            },
        ];
        assert_eq!(render_spans(&spans), vec!["0.0.0.0/0 except 10.0.0.0/8"]);
        let one = [Span {
            v6: false,
            lo: n(10, 0, 0, 0),
            hi: n(10, 255, 255, 255),
        }];
        assert_eq!(render_spans(&one), vec!["10.0.0.0/8"]);
    }

    const PODS: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: front, labels: {app: web}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: back, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: prom, namespace: mon, labels: {app: prom}}
status: {podIP: 10.0.2.1}
";

    fn snap(extra: &str) -> Snapshot {
        load_str("t.yaml", &format!("{PODS}\n---\n{extra}"), "default").unwrap()
    }

    fn texts(d: &Diff<'_>) -> Vec<String> {
        d.changes
            .iter()
            .map(|c| {
                format!(
                    "{} -> {}: {} => {}",
                    d.pods[c.from as usize].pod().key(),
                    d.pods[c.to as usize].pod().key(),
                    d.sets.get(c.before).describe(),
                    d.sets.get(c.after).describe()
                )
            })
            .collect()
    }

    const ALLOW_WEB: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: back}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]
    ports: [{port: http}]
";

    #[test]
    fn a_new_isolating_policy_closes_and_keeps_what_it_admits() {
        let (a, b) = (snap(""), snap(ALLOW_WEB));
        let (ma, mb) = (Model::new(&a, "default"), Model::new(&b, "default"));
        let d = diff(&ma, &mb);
        assert_eq!(
            texts(&d),
            vec![
                "front/web -> back/api: all ports => TCP/8080",
                "mon/prom -> back/api: all ports => no port",
            ]
        );
        let reasons = &d.reasons[d.changes[1].reasons as usize];
        assert!(
            reasons
                .iter()
                .any(|r| r == "ingress: newly isolated by back/allow-web (added)"),
            "{reasons:?}"
        );
        // And back: everything opens again, the same pairs.
        let d = diff(&mb, &ma);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.policies["back/allow-web"], PolicyChange::Deleted);
    }

    #[test]
    fn a_rename_changes_no_connection() {
        let renamed = ALLOW_WEB.replace("name: allow-web", "name: web-to-api");
        let (a, b) = (snap(ALLOW_WEB), snap(&renamed));
        let (ma, mb) = (Model::new(&a, "default"), Model::new(&b, "default"));
        let d = diff(&ma, &mb);
        assert!(d.changes.is_empty() && d.external.is_empty());
        assert_eq!(d.policies.len(), 2);
    }

    #[test]
    fn external_ranges_are_cidrs_with_excepts() {
        let egress = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: front}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
    ports: [{port: 443}]
";
        let (a, b) = (snap(""), snap(egress));
        let (ma, mb) = (Model::new(&a, "default"), Model::new(&b, "default"));
        let d = diff(&ma, &mb);
        let ext: Vec<String> = d
            .external
            .iter()
            .map(|e| {
                format!(
                    "{} {:?} {}: {} => {}",
                    d.pods[e.pod as usize].pod().key(),
                    e.direction,
                    e.addresses,
                    d.sets.get(e.before).describe(),
                    d.sets.get(e.after).describe()
                )
            })
            .collect();
        assert_eq!(
            ext,
            vec![
                "front/web Egress 10.0.0.0/8: all ports => no port",
                "front/web Egress 0.0.0.0/0 except 10.0.0.0/8: all ports => TCP/443",
            ]
        );
        // Pods lost egress too (none of them is outside 10/8).
        assert_eq!(d.changes.len(), 2);
    }

    #[test]
    fn client_side_apply_keeps_what_it_never_set_and_removes_what_it_did() {
        use serde_json::json;
        let live = json!({"spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}], "policyTypes": ["Ingress"]}});
        let new = json!({"spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}});
        // Created, never applied: ingress stays.
        assert_eq!(merge_patch(&live, &apply_patch(None, &new)), live);
        // Applied with ingress before: ingress goes.
        let last =
            json!({"spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}});
        assert_eq!(merge_patch(&live, &apply_patch(Some(&last), &new)), new);
        // Maps merge: a label set by hand stays, one the last apply set goes.
        let live = json!({"metadata": {"labels": {"team": "ops", "old": "x", "kubernetes.io/metadata.name": "legacy"}}});
        let last = json!({"metadata": {"labels": {"old": "x"}}});
        let new = json!({"metadata": {"labels": {"owner": "platform"}}});
        assert_eq!(
            merge_patch(&live, &apply_patch(Some(&last), &new)),
            json!({"metadata": {"labels": {"team": "ops", "owner": "platform", "kubernetes.io/metadata.name": "legacy"}}})
        );
        // Lists are replaced whole.
        let live = json!({"spec": {"ingress": [{"ports": [{"port": 80}]}, {}]}});
        let new = json!({"spec": {"ingress": [{"ports": [{"port": 443}]}]}});
        assert_eq!(merge_patch(&live, &apply_patch(Some(&new), &new)), new);
    }

    /// A pod template's keyed lists merge as kubectl's strategic merge
    /// patch does: a container port the last apply set and NEW changes is
    /// deleted (`$patch: delete`), not kept beside the new one; an entry
    /// added by other means stays; a NetworkPolicy's `ports` (no merge
    /// key) is replaced whole.
    #[test]
    fn client_side_apply_merges_keyed_lists_of_a_pod_template() {
        use serde_json::json;
        let template = |ports: serde_json::Value| json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x", "ports": ports}]}}}});
        let last = template(json!([{"name": "http", "containerPort": 7000}]));
        let new = template(json!([{"name": "http", "containerPort": 8080}]));
        let live = template(
            json!([{"name": "http", "containerPort": 7000, "protocol": "TCP"}, {"containerPort": 9090, "protocol": "TCP"}]),
        );
        let patch = apply_patch(Some(&last), &new);
        assert_eq!(
            patch.pointer("/spec/template/spec/containers/0/ports"),
            Some(
                &json!([{"name": "http", "containerPort": 8080}, {"containerPort": 7000, "$patch": "delete"}])
            )
        );
        assert_eq!(
            patch.pointer("/spec/template/spec/$setElementOrder~1containers"),
            Some(&json!([{"name": "c"}]))
        );
        assert_eq!(
            merge_patch(&live, &patch),
            template(
                json!([{"name": "http", "containerPort": 8080}, {"containerPort": 9090, "protocol": "TCP"}])
            )
        );
        // A Pod's own spec too.
        let pod = |ports: serde_json::Value| json!({"spec": {"containers": [{"name": "c", "ports": ports}]}});
        let patch = apply_patch(
            Some(&pod(json!([{"containerPort": 7000}]))),
            &pod(json!([{"containerPort": 8080}])),
        );
        assert_eq!(
            patch.pointer("/spec/containers/0/ports"),
            Some(&json!([{"containerPort": 8080}, {"containerPort": 7000, "$patch": "delete"}]))
        );
        // A NetworkPolicy's ports have no merge key.
        let np = |port: u16| json!({"spec": {"ingress": [{"ports": [{"port": port}]}]}});
        assert_eq!(apply_patch(Some(&np(80)), &np(443)), np(443));
    }
}

//! Reachability between many pods at once.
//!
//! Pods that no policy can tell apart — same namespace, same labels, same
//! container ports, IPs inside the same set of ipBlocks — form one class.
//! Each rule's peers are matched against each class once; a pair of classes
//! is then decided from those precomputed matches, so the cost grows with
//! the number of classes squared, not pods squared times policies.
//! Traffic between a pod and its own node (host-network pods on that node)
//! depends on the pair, not the classes: [`NodeTraffic`] finds those pairs,
//! one pod at a time.

use foldhash::{HashMap, HashMapExt};

use crate::engine::Model;
use crate::engine::policy::{Direction, IpBlock, Peer};
use crate::engine::ports::PortSet;
use crate::engine::tier;
use crate::engine::verdict::{Endpoint, destination_ports, peer_matches};
use crate::snapshot::{ContainerPort, Labels, PodInfo};

/// Pods grouped into equivalence classes.
#[derive(Debug)]
pub struct Classes<'s> {
    /// For each class, its pods (indices into the `pods` given to `build`).
    pub members: Vec<Vec<usize>>,
    /// The class of each pod.
    pub class_of: Vec<usize>,
    representatives: Vec<&'s PodInfo>,
}

type ClassKey<'a> = (
    &'a str,
    &'a Labels,
    &'a [ContainerPort],
    bool,
    Vec<usize>,
    Vec<u8>,
);

/// Every distinct ipBlock of the model's valid policies, in the order
/// first met (the same block recurs in many policies): a pod's class
/// records which of them hold its IPs (see [`block_signature`]).
pub fn ip_blocks<'m>(model: &'m Model<'_>) -> Vec<&'m IpBlock> {
    let mut seen = foldhash::HashSet::default();
    model
        .policies
        .iter()
        .flat_map(|p| p.peers())
        .filter_map(|peer| match peer {
            Peer::IpBlock(b) => Some(b),
            Peer::Pods { .. } => None,
        })
        .filter(|b| seen.insert(*b))
        .collect()
}

/// What tells pods of one namespace, labels and network apart for the
/// cluster policies of `model`: the outcome of each of their `networks`
/// and `nodes` peers on the pod (its IPs; for a host-network pod, its
/// node), two bits each (matched, unknown), in the policies' order.
/// Empty without cluster policies. Every other cluster policy peer and
/// subject reads only the namespace and labels.
pub fn tier_signature(model: &Model<'_>, pod: &PodInfo) -> Vec<u8> {
    use crate::engine::tier::TierPeer;
    model
        .cluster_peers()
        .filter(|peer| matches!(peer, TierPeer::Networks(_) | TierPeer::Nodes(_)))
        .map(|peer| {
            let (m, u) = crate::engine::tier::eval::peer_matches(model, peer, &Endpoint::Pod(pod));
            u8::from(m) | (u8::from(u) << 1)
        })
        .collect()
}

/// The indices into `blocks` of the ipBlocks holding one of `pod`'s IPs
/// (ascending): pods that agree on it are told apart by no ipBlock.
pub fn block_signature(blocks: &[&IpBlock], pod: &PodInfo) -> Vec<usize> {
    if pod.ips.is_empty() {
        return Vec::new();
    }
    blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| pod.ips.iter().any(|ip| b.contains(ip)))
        .map(|(j, _)| j)
        .collect()
}

impl<'s> Classes<'s> {
    /// Groups `pods` (indices into it) into classes, numbered in the order
    /// of their first pod, which is their representative.
    pub fn build(model: &Model<'s>, pods: &[&'s PodInfo]) -> Classes<'s> {
        let blocks = ip_blocks(model);
        let mut index: HashMap<ClassKey<'s>, usize> = HashMap::new();
        let mut class_of = Vec::with_capacity(pods.len());
        for pod in pods {
            let key: ClassKey<'s> = (
                pod.namespace.as_str(),
                &pod.labels,
                pod.ports.as_slice(),
                pod.on_host_network(),
                block_signature(&blocks, pod),
                tier_signature(model, pod),
            );
            let next = index.len();
            class_of.push(*index.entry(key).or_insert(next));
        }
        Classes::from_class_of(pods, class_of)
    }

    /// Classes from each pod's class id (`class_of[i]` for `pods[i]`; ids
    /// dense from 0, numbered in the order of their first pod) when the
    /// grouping was made elsewhere (`diff` groups both sides' pods at
    /// once). The caller vouches that pods of one class agree on
    /// namespace, labels, container ports, host network,
    /// [`block_signature`] and [`tier_signature`].
    pub fn from_class_of(pods: &[&'s PodInfo], class_of: Vec<usize>) -> Classes<'s> {
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut representatives = Vec::new();
        for (i, &c) in class_of.iter().enumerate() {
            if c == members.len() {
                members.push(Vec::new());
                representatives.push(pods[i]);
            }
            members[c].push(i);
        }
        Classes {
            members,
            class_of,
            representatives,
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The pod that stands for class `c` (its first member).
    pub fn representative(&self, c: usize) -> &'s PodInfo {
        self.representatives[c]
    }
}

/// Port sets interned as small ids, so that the matrix stores 4 bytes per
/// pair and unions and intersections of the same sets are computed once.
/// A clone keeps every id; what each copy interns afterwards is its own.
#[derive(Debug, Clone)]
pub struct PortSets {
    sets: Vec<PortSet>,
    ids: HashMap<PortSet, u32>,
    unions: HashMap<(u32, u32), u32>,
    intersections: HashMap<(u32, u32), u32>,
}

impl Default for PortSets {
    fn default() -> PortSets {
        PortSets::new()
    }
}

impl PortSets {
    /// The id of the empty set.
    pub const EMPTY: u32 = 0;
    /// The id of every port of every protocol.
    pub const ALL: u32 = 1;

    /// The empty set and the set of every port, and nothing else.
    pub fn new() -> PortSets {
        let mut s = PortSets {
            sets: Vec::new(),
            ids: HashMap::new(),
            unions: HashMap::new(),
            intersections: HashMap::new(),
        };
        s.intern(PortSet::empty());
        s.intern(PortSet::all());
        s
    }

    pub(crate) fn intern(&mut self, set: PortSet) -> u32 {
        if let Some(&id) = self.ids.get(&set) {
            return id;
        }
        let id = u32::try_from(self.sets.len()).expect("fewer than 2^32 distinct port sets");
        self.sets.push(set.clone());
        self.ids.insert(set, id);
        id
    }

    pub fn get(&self, id: u32) -> &PortSet {
        &self.sets[id as usize]
    }

    /// Every set interned, indexed by its id.
    pub fn as_slice(&self) -> &[PortSet] {
        &self.sets
    }

    pub(crate) fn union(&mut self, a: u32, b: u32) -> u32 {
        match (a, b) {
            (Self::EMPTY, x) | (x, Self::EMPTY) => x,
            (Self::ALL, _) | (_, Self::ALL) => Self::ALL,
            (x, y) if x == y => x,
            (x, y) => {
                let key = (x.min(y), x.max(y));
                if let Some(&id) = self.unions.get(&key) {
                    return id;
                }
                let mut set = self.sets[x as usize].clone();
                set.union_with(&self.sets[y as usize]);
                let id = self.intern(set);
                self.unions.insert(key, id);
                id
            }
        }
    }

    pub(crate) fn intersect(&mut self, a: u32, b: u32) -> u32 {
        match (a, b) {
            (Self::EMPTY, _) | (_, Self::EMPTY) => Self::EMPTY,
            (Self::ALL, x) | (x, Self::ALL) => x,
            (x, y) if x == y => x,
            (x, y) => {
                let key = (x.min(y), x.max(y));
                if let Some(&id) = self.intersections.get(&key) {
                    return id;
                }
                let set = self.sets[x as usize].intersect(&self.sets[y as usize]);
                let id = self.intern(set);
                self.intersections.insert(key, id);
                id
            }
        }
    }
}

/// A set of class indices as a bitset.
#[derive(Debug)]
struct ClassSet {
    bits: Vec<u64>,
    /// The members, ascending.
    list: Vec<u32>,
}

impl ClassSet {
    fn new(n: usize, list: Vec<u32>) -> ClassSet {
        let mut bits = vec![0u64; n.div_ceil(64)];
        for &c in &list {
            bits[c as usize / 64] |= 1 << (c % 64);
        }
        ClassSet { bits, list }
    }

    fn contains(&self, c: usize) -> bool {
        self.bits[c / 64] & (1 << (c % 64)) != 0
    }
}

/// A rule flattened for the matrix: which classes its peers match, and
/// its ports when they do not depend on the destination.
#[derive(Debug)]
struct FlatRule {
    matches: ClassSet,
    policy: usize,
    direction: Direction,
    rule: usize,
    /// `None` when the rule has named ports (resolved on the destination).
    fixed_ports: Option<u32>,
}

/// The rules isolating a class in one direction: (flat rule id, ports
/// towards the class itself; for egress, ports are resolved per destination).
type RuleList = Vec<(u32, u32)>;

/// The allowed ports between every ordered pair of classes.
pub struct ClassMatrix {
    n: usize,
    allowed: Vec<u32>,
    sets: PortSets,
}

impl ClassMatrix {
    pub fn get(&self, from: usize, to: usize) -> &PortSet {
        self.sets.get(self.allowed[from * self.n + to])
    }
}

/// Computes the allowed ports between all class pairs.
pub fn class_matrix(model: &Model<'_>, classes: &Classes<'_>) -> ClassMatrix {
    let n = classes.len();
    let mut allowed = Vec::with_capacity(n * n);
    let sets = class_rows(model, classes, |_, row, _| allowed.extend_from_slice(row));
    ClassMatrix { n, allowed, sets }
}

/// Computes the matrix one source class at a time: `row(a, ports, sets)`
/// gets, for class `a`, the id of the allowed port set towards each class
/// (an index into the returned [`PortSets`], readable through `sets`).
/// Memory stays linear in the number of classes (plus the distinct rules
/// times the classes, as bits).
pub fn class_rows(
    model: &Model<'_>,
    classes: &Classes<'_>,
    mut row: impl FnMut(usize, &[u32], &PortSets),
) -> PortSets {
    let mut sets = PortSets::new();
    let mut rows = ClassRows::new(model, classes, &mut sets);
    let mut out = Vec::new();
    for a in 0..classes.len() {
        rows.row(a, &mut sets, &mut out);
        row(a, &out, &sets);
    }
    sets
}

/// The rows of the class matrix, computed on demand in any order, on one
/// thread: [`ClassRules`] and the [`RowMemo`] of its answers.
pub struct ClassRows<'m, 's> {
    rules: ClassRules<'m, 's>,
    memo: RowMemo,
}

/// What the rows of the class matrix are computed from, read only (so one
/// `ClassRules` may serve several threads, each with its own [`RowMemo`]
/// and [`PortSets`]): each rule's peers are matched against the classes
/// once, when this is built; [`ClassRules::row`] then costs the classes
/// plus the rules involved.
pub struct ClassRules<'m, 's> {
    model: &'m Model<'s>,
    reps: Vec<&'m PodInfo>,
    flat: Vec<FlatRule>,
    /// Per class: None when not isolated for ingress, else its rules with
    /// their ports (the destination is the class itself).
    ingress: Vec<Option<RuleList>>,
    /// Per class: None when not isolated for egress, else its rules (ports
    /// resolved per destination).
    egress: Vec<Option<RuleList>>,
    /// The cluster policy tiers around NetworkPolicy; `None` when the
    /// model has no cluster policy.
    tiers: Option<TierRows>,
}

/// What computing rows of one [`ClassRules`] remembers, as port set ids
/// of the [`PortSets`] it is used with, and its scratch space: a memo
/// belongs to one `ClassRules` and one `PortSets` (each thread computing
/// rows has its own).
#[derive(Default)]
pub struct RowMemo {
    /// Egress rules with named ports, resolved on a destination class:
    /// (flat rule, class) -> ports.
    named: HashMap<(u32, u32), u32>,
    /// Egress effects of the tiers: (source variant, destination
    /// `dest_sig`) -> effect.
    tier_egress: HashMap<(u32, u32), Effect>,
    /// Ingress effects of the tiers: per source `peer_sig`, per
    /// destination variant ([`UNSET`] until computed).
    tier_ingress: HashMap<u32, Vec<Effect>>,
    /// The egress effects of the row being computed, by `dest_sig`, with
    /// each effect's answer when NetworkPolicy allows every port.
    tier_row: Vec<(u32, u32, u32)>,
}

/// What the cluster policy tiers do to one side of a connection, given
/// NetworkPolicy's answer `np` for that side: the side allows
/// `fixed ∪ (np ∩ open)` (port set ids). `fixed` is what the tiers allow
/// whatever NetworkPolicy says (Admin Accepts; for a side no NetworkPolicy
/// isolates, also the Baseline tier's and the default's), `open` the ports
/// the Admin tier leaves to NetworkPolicy (empty when none isolates).
type Effect = (u32, u32);

/// No cluster policy applies: the side is NetworkPolicy's alone.
const NO_EFFECT: Effect = (PortSets::EMPTY, PortSets::ALL);

/// Not computed yet.
const UNSET: Effect = (u32::MAX, u32::MAX);
const UNSET_ROW: (u32, u32, u32) = (u32::MAX, u32::MAX, u32::MAX);

/// The class matrix's view of the cluster policy tiers. A side's tier
/// outcome depends on its pod's class only through which policies apply
/// (a [`tier::eval::Plan`] per class and direction), whether NetworkPolicy
/// isolates it, and (ingress) its named ports; and on the other end only
/// through which cluster policy peers match it (and, egress, the
/// destination's named ports). Classes are grouped by both, and each
/// (variant, signature) is evaluated once with
/// [`tier::eval::side_planned`], the evaluator `can` uses (memoised in
/// [`RowMemo`]).
struct TierRows {
    /// Per class, the id of what every cluster policy peer says of it.
    peer_sig: Vec<u32>,
    /// Per class, `peer_sig` and its container ports when some rule has
    /// named ports (an egress destination); else equal to `peer_sig`.
    dest_sig: Vec<u32>,
    /// Per `peer_sig` / `dest_sig` id, a class that has it.
    peer_class: Vec<u32>,
    dest_class: Vec<u32>,
    /// Per direction ([`Direction::BOTH`]'s order) and class: its variant
    /// (an index into `variants`), [`NO_VARIANT`] when no cluster policy
    /// may apply.
    variant: [Vec<u32>; 2],
    /// Per direction: each distinct (plan, NetworkPolicy isolates, named
    /// ports when they matter), with a class that has it.
    variants: [Vec<(tier::eval::Plan, bool, u32)>; 2],
}

const NO_VARIANT: u32 = u32::MAX;

impl TierRows {
    /// `isolated[d][c]`: whether NetworkPolicy isolates class `c` in
    /// direction `d` ([`Direction::BOTH`]'s order).
    fn new(model: &Model<'_>, reps: &[&PodInfo], isolated: [Vec<bool>; 2]) -> Option<TierRows> {
        if !tier::eval::any(model) {
            return None;
        }
        let peers: Vec<&tier::TierPeer> = model.cluster_peers().collect();
        let named = model
            .cluster_rules()
            .flat_map(|r| r.ports.iter().flatten())
            .any(|p| matches!(p, tier::TierPort::Named(_)));
        let mut peer_ids: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut dest_ids: HashMap<(u32, Option<&[ContainerPort]>), u32> = HashMap::new();
        let (mut peer_sig, mut dest_sig) = (Vec::new(), Vec::new());
        let (mut peer_class, mut dest_class) = (Vec::new(), Vec::new());
        for (c, rep) in reps.iter().enumerate() {
            let bits: Vec<u8> = peers
                .iter()
                .map(|peer| {
                    let (m, u) = tier::eval::peer_matches(model, peer, &Endpoint::Pod(rep));
                    u8::from(m) | (u8::from(u) << 1)
                })
                .collect();
            let next = peer_ids.len() as u32;
            let p = *peer_ids.entry(bits).or_insert_with(|| {
                peer_class.push(c as u32);
                next
            });
            peer_sig.push(p);
            let ports = if named { destination_ports(rep) } else { None };
            let next = dest_ids.len() as u32;
            let d = *dest_ids.entry((p, ports)).or_insert_with(|| {
                dest_class.push(c as u32);
                next
            });
            dest_sig.push(d);
        }
        let mut variant: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let mut variants: [Vec<(tier::eval::Plan, bool, u32)>; 2] = [Vec::new(), Vec::new()];
        for (di, d) in Direction::BOTH.into_iter().enumerate() {
            type Key<'p> = (tier::eval::Plan, bool, Option<&'p [ContainerPort]>);
            let mut ids: HashMap<Key<'_>, u32> = HashMap::new();
            for (c, rep) in reps.iter().enumerate() {
                let plan = tier::eval::plan(model, d, rep);
                if plan.is_empty() {
                    variant[di].push(NO_VARIANT);
                    continue;
                }
                let iso = isolated[di][c];
                // Ingress: the destination is the class itself.
                let ports = if named && d == Direction::Ingress {
                    destination_ports(rep)
                } else {
                    None
                };
                let next = ids.len() as u32;
                let id = *ids.entry((plan.clone(), iso, ports)).or_insert_with(|| {
                    variants[di].push((plan, iso, c as u32));
                    next
                });
                variant[di].push(id);
            }
        }
        Some(TierRows {
            peer_sig,
            dest_sig,
            peer_class,
            dest_class,
            variant,
            variants,
        })
    }
}

/// The effect of the tiers on the side of class `subject` in direction
/// `d`, the other end being class `other`, the destination's ports being
/// `dest`'s; `isolated`: whether NetworkPolicy isolates `subject` there.
#[allow(clippy::too_many_arguments)]
fn tier_effect(
    model: &Model<'_>,
    plan: &tier::eval::Plan,
    d: Direction,
    other: &PodInfo,
    dest: &PodInfo,
    isolated: bool,
    sets: &mut PortSets,
) -> Effect {
    let nothing = PortSet::empty();
    let (side, allowed, _) = tier::eval::side_planned(
        model,
        plan,
        d,
        &Endpoint::Pod(other),
        destination_ports(dest),
        tier::eval::NetworkPolicyAnswer {
            isolated,
            allowed: &nothing,
            maybe: &nothing,
        },
    );
    let open = if isolated {
        sets.intern(side.network_policy)
    } else {
        PortSets::EMPTY
    };
    (sets.intern(allowed), open)
}

impl<'m, 's> ClassRows<'m, 's> {
    /// Matches every isolating rule's peers against `classes`; port sets
    /// are interned in `sets`, which every later [`ClassRows::row`] must be
    /// given.
    pub fn new(model: &'m Model<'s>, classes: &Classes<'m>, sets: &mut PortSets) -> Self {
        Self::focused(model, classes, sets, None)
    }

    /// As [`ClassRows::new`], for the focused classes only (see
    /// [`ClassRules::focused`]).
    pub fn focused(
        model: &'m Model<'s>,
        classes: &Classes<'m>,
        sets: &mut PortSets,
        focus: Option<&[bool]>,
    ) -> Self {
        ClassRows {
            rules: ClassRules::focused(model, classes, sets, focus),
            memo: RowMemo::default(),
        }
    }

    /// Writes into `out` (resized to the number of classes) the id of the
    /// allowed port set from class `a` towards each class, interned in
    /// `sets` (the one given to [`ClassRows::new`]).
    pub fn row(&mut self, a: usize, sets: &mut PortSets, out: &mut Vec<u32>) {
        self.rules.row(a, &mut self.memo, sets, out);
    }

    /// See [`ClassRules::admitting`].
    pub fn admitting(
        &mut self,
        a: usize,
        b: usize,
        d: Direction,
        sets: &mut PortSets,
        out: &mut Vec<(u32, u32, u32)>,
    ) {
        self.rules.admitting(a, b, d, &mut self.memo, sets, out);
    }

    /// See [`ClassRules::cell`].
    pub fn cell(&mut self, a: usize, b: usize, sets: &mut PortSets) -> u32 {
        self.rules.cell(a, b, &mut self.memo, sets)
    }
}

impl<'m, 's> ClassRules<'m, 's> {
    /// Matches every isolating rule's peers against `classes`; port sets
    /// are interned in `sets`, from which the [`PortSets`] of every later
    /// [`ClassRules::row`] must be (`sets` itself or a clone of it).
    pub fn new(model: &'m Model<'s>, classes: &Classes<'m>, sets: &mut PortSets) -> Self {
        Self::focused(model, classes, sets, None)
    }

    /// As [`ClassRules::new`], but when `focus` is given (one flag per
    /// class) only the rows and the columns of the focused classes are
    /// asked for: [`ClassRules::row`] of a focused class, and
    /// [`ClassRules::cell`] and [`ClassRules::admitting`] of pairs with a
    /// focused end. The rules of the other classes are then matched against
    /// the focused classes only (what those answers read of them), which
    /// is what makes `diff`, whose changes lie in a few rows and columns,
    /// cheaper than a whole matrix. Any other answer is undefined.
    pub fn focused(
        model: &'m Model<'s>,
        classes: &Classes<'m>,
        sets: &mut PortSets,
        focus: Option<&[bool]>,
    ) -> Self {
        let n = classes.len();
        let reps = &classes.representatives;
        let focused = |c: u32| focus.is_none_or(|f| f[c as usize]);
        // The classes of each namespace (focused ones only when focusing),
        // so that a peer only looks at the namespaces it can match.
        let mut by_namespace: [HashMap<&str, Vec<u32>>; 2] = [HashMap::new(), HashMap::new()];
        for (c, rep) in reps.iter().enumerate() {
            for (k, index) in by_namespace.iter_mut().enumerate() {
                if k == 0 || focused(c as u32) {
                    index
                        .entry(rep.namespace.as_str())
                        .or_default()
                        .push(c as u32);
                }
            }
        }
        let focus_list: Vec<u32> = (0..n as u32).filter(|&c| focused(c)).collect();
        // `all`: match against every class, else the focused ones only.
        let peer_classes = |peer: &Peer, all: bool, out: &mut Vec<u32>| match peer {
            Peer::Pods { namespaces, .. } => {
                let index = &by_namespace[usize::from(!all)];
                for ns in model.namespaces_in(namespaces) {
                    for &c in index.get(ns.name.as_str()).into_iter().flatten() {
                        if peer_matches(model, peer, &Endpoint::Pod(reps[c as usize])).0 {
                            out.push(c);
                        }
                    }
                }
            }
            Peer::IpBlock(_) => {
                let candidates: &mut dyn Iterator<Item = u32> = if all {
                    &mut (0..n as u32)
                } else {
                    &mut focus_list.iter().copied()
                };
                out.extend(
                    candidates
                        .filter(|&c| peer_matches(model, peer, &Endpoint::Pod(reps[c as usize])).0),
                )
            }
        };
        // Per class and direction, the isolating policies; and which
        // (policy, direction) isolates a focused class (its rules are then
        // matched against every class).
        let isolating: Vec<[Vec<usize>; 2]> =
            reps.iter().map(|rep| model.isolating_both(rep)).collect();
        let mut full: foldhash::HashSet<(usize, Direction)> = foldhash::HashSet::default();
        for (c, iso) in isolating.iter().enumerate() {
            if focused(c as u32) {
                for (di, d) in Direction::BOTH.into_iter().enumerate() {
                    full.extend(iso[di].iter().map(|&pi| (pi, d)));
                }
            }
        }
        let mut rule_ids: HashMap<(usize, Direction, usize), u32> = HashMap::new();
        let mut flat: Vec<FlatRule> = Vec::new();
        // Per class and direction: None when not isolated, else its rules with,
        // for ingress (whose destination is the class itself), their ports.
        let mut per_class: [Vec<Option<RuleList>>; 2] =
            [Vec::with_capacity(n), Vec::with_capacity(n)];
        for (rep, iso) in reps.iter().zip(isolating) {
            for (di, (d, isolating)) in Direction::BOTH.into_iter().zip(iso).enumerate() {
                if isolating.is_empty() {
                    per_class[di].push(None);
                    continue;
                }
                let mut ids = Vec::new();
                for pi in isolating {
                    let policy = &model.policies[pi];
                    let all = full.contains(&(pi, d));
                    for (ri, rule) in policy.rules(d).unwrap_or_default().iter().enumerate() {
                        let id = *rule_ids.entry((pi, d, ri)).or_insert_with(|| {
                            let list = match &rule.peers {
                                None if all => (0..n as u32).collect(),
                                None => focus_list.clone(),
                                Some(peers) => {
                                    let mut list = Vec::new();
                                    for peer in peers {
                                        peer_classes(peer, all, &mut list);
                                    }
                                    list.sort_unstable();
                                    list.dedup();
                                    list
                                }
                            };
                            let named = rule.ports.iter().flatten().any(|p| {
                                matches!(p.port, crate::engine::policy::PortValue::Named(_))
                            });
                            flat.push(FlatRule {
                                matches: ClassSet::new(n, list),
                                policy: pi,
                                direction: d,
                                rule: ri,
                                fixed_ports: (!named)
                                    .then(|| sets.intern(rule.resolve_ports(None))),
                            });
                            (flat.len() - 1) as u32
                        });
                        let ports = match (d, flat[id as usize].fixed_ports) {
                            (_, Some(p)) => p,
                            (Direction::Ingress, None) => {
                                sets.intern(rule.resolve_ports(Some(&rep.ports)))
                            }
                            // Egress: resolved per destination in `row`.
                            (Direction::Egress, None) => PortSets::EMPTY,
                        };
                        ids.push((id, ports));
                    }
                }
                per_class[di].push(Some(ids));
            }
        }
        let [ingress, egress] = per_class;
        let isolated = [
            ingress.iter().map(Option::is_some).collect(),
            egress.iter().map(Option::is_some).collect(),
        ];
        ClassRules {
            model,
            reps: reps.clone(),
            flat,
            ingress,
            egress,
            tiers: TierRows::new(model, reps, isolated),
        }
    }

    /// Writes into `out` (resized to the number of classes) the id of the
    /// allowed port set from class `a` towards each class, interned in
    /// `sets` (the one given to [`ClassRules::new`], or a clone of it);
    /// `memo` remembers what later rows reuse, as ids of `sets`.
    pub fn row(&self, a: usize, memo: &mut RowMemo, sets: &mut PortSets, out: &mut Vec<u32>) {
        let n = self.reps.len();
        out.clear();
        // What a's egress lets through towards each class.
        match &self.egress[a] {
            None => out.resize(n, PortSets::ALL),
            Some(rules) => {
                out.resize(n, PortSets::EMPTY);
                for &(r, _) in rules {
                    let f = &self.flat[r as usize];
                    for &b in &f.matches.list {
                        let p = self.egress_ports(&mut memo.named, r, b as usize, sets);
                        out[b as usize] = sets.union(out[b as usize], p);
                    }
                }
            }
        }
        // The tiers around a's egress, per destination signature.
        if let Some(t) = &self.tiers
            && t.variant[EGRESS][a] != NO_VARIANT
        {
            let mut row = std::mem::take(&mut memo.tier_row);
            row.clear();
            row.resize(t.dest_class.len(), UNSET_ROW);
            // Per signature: (effect, its answer when NetworkPolicy allows
            // everything): most cells are all or nothing, which then
            // costs no port set lookup.
            for (b, cell) in out.iter_mut().enumerate() {
                let s = t.dest_sig[b] as usize;
                if row[s] == UNSET_ROW {
                    let e = t.egress_effect(self.model, &self.reps, memo, a, s as u32, sets);
                    row[s] = (e.0, e.1, apply(sets, e, PortSets::ALL));
                }
                let (fixed, open, all) = row[s];
                *cell = match *cell {
                    PortSets::EMPTY => fixed,
                    PortSets::ALL => all,
                    np => apply(sets, (fixed, open), np),
                };
            }
            memo.tier_row = row;
        }
        // The tiers' ingress effects towards each destination variant,
        // for a's peer signature (taken out of the memo for this row).
        let mut effects = self
            .tiers
            .as_ref()
            .map(|t| (t.peer_sig[a], t.take_ingress(memo, t.peer_sig[a])));
        // Narrowed by what each destination's ingress admits from a.
        for (b, cell) in out.iter_mut().enumerate() {
            if *cell == PortSets::EMPTY {
                continue;
            }
            let mut admitted = match &self.ingress[b] {
                None => PortSets::ALL,
                Some(rules) => {
                    let mut admitted = PortSets::EMPTY;
                    for &(r, ports) in rules {
                        if self.flat[r as usize].matches.contains(a) {
                            admitted = sets.union(admitted, ports);
                        }
                    }
                    admitted
                }
            };
            if let (Some(t), Some((s, effects))) = (&self.tiers, &mut effects) {
                let e = t.ingress_effect(self.model, &self.reps, effects, *s, b, sets);
                admitted = apply(sets, e, admitted);
            }
            if admitted != PortSets::ALL {
                *cell = sets.intersect(*cell, admitted);
            }
        }
        if let Some((s, effects)) = effects {
            memo.tier_ingress.insert(s, effects);
        }
    }
}

/// The index of egress / ingress in [`Direction::BOTH`]'s order.
const INGRESS: usize = 0;
const EGRESS: usize = 1;

/// One side's ports given NetworkPolicy's (`np`) and the tiers' [`Effect`].
fn apply(sets: &mut PortSets, e: Effect, np: u32) -> u32 {
    if e == NO_EFFECT {
        return np;
    }
    let kept = sets.intersect(np, e.1);
    sets.union(e.0, kept)
}

impl TierRows {
    /// The effect of the tiers on class `a`'s egress towards the classes
    /// of destination signature `s` (memoised per variant in `memo`).
    fn egress_effect(
        &self,
        model: &Model<'_>,
        reps: &[&PodInfo],
        memo: &mut RowMemo,
        a: usize,
        s: u32,
        sets: &mut PortSets,
    ) -> Effect {
        let v = self.variant[EGRESS][a];
        if v == NO_VARIANT {
            return NO_EFFECT;
        }
        let (plan, isolated, _) = &self.variants[EGRESS][v as usize];
        let dest = reps[self.dest_class[s as usize] as usize];
        *memo.tier_egress.entry((v, s)).or_insert_with(|| {
            tier_effect(model, plan, Direction::Egress, dest, dest, *isolated, sets)
        })
    }

    /// The effects of the tiers on each ingress variant from a source
    /// whose peer signature is `s`, by variant (filled on demand by
    /// [`TierRows::ingress_effect`]); taken out of `memo` for a row.
    fn take_ingress(&self, memo: &mut RowMemo, s: u32) -> Vec<Effect> {
        memo.tier_ingress
            .remove(&s)
            .unwrap_or_else(|| vec![UNSET; self.variants[INGRESS].len()])
    }

    /// The effect of the tiers on class `b`'s ingress from a source of
    /// peer signature `s`, memoised in `memo` (see [`TierRows::take_ingress`]).
    fn ingress_effect(
        &self,
        model: &Model<'_>,
        reps: &[&PodInfo],
        memo: &mut [Effect],
        s: u32,
        b: usize,
        sets: &mut PortSets,
    ) -> Effect {
        let v = self.variant[INGRESS][b];
        if v == NO_VARIANT {
            return NO_EFFECT;
        }
        if memo[v as usize] == UNSET {
            let (plan, isolated, c) = &self.variants[INGRESS][v as usize];
            let other = reps[self.peer_class[s as usize] as usize];
            memo[v as usize] = tier_effect(
                model,
                plan,
                Direction::Ingress,
                other,
                reps[*c as usize],
                *isolated,
                sets,
            );
        }
        memo[v as usize]
    }
}

impl ClassRules<'_, '_> {
    /// The ports egress rule `r` (an index into `flat`) admits toward class
    /// `b`: fixed, or its named ports resolved on `b`'s container ports
    /// once and remembered in `named` ([`RowMemo::named`]).
    fn egress_ports(
        &self,
        named: &mut HashMap<(u32, u32), u32>,
        r: u32,
        b: usize,
        sets: &mut PortSets,
    ) -> u32 {
        let f = &self.flat[r as usize];
        match f.fixed_ports {
            Some(p) => p,
            None => *named.entry((r, b as u32)).or_insert_with(|| {
                let rule = &self.model.policies[f.policy]
                    .rules(f.direction)
                    .unwrap_or_default()[f.rule];
                sets.intern(rule.resolve_ports(destination_ports(self.reps[b])))
            }),
        }
    }

    /// The rules that admit `a` -> `b` on one side (`Egress`: `a`'s
    /// policies; `Ingress`: `b`'s), written into `out` as (policy index,
    /// rule index, port set id); rules whose ports resolve to nothing are
    /// left out. Whether that side is isolated is
    /// [`Model::isolating`]'s answer for the class's pods.
    pub fn admitting(
        &self,
        a: usize,
        b: usize,
        d: Direction,
        memo: &mut RowMemo,
        sets: &mut PortSets,
        out: &mut Vec<(u32, u32, u32)>,
    ) {
        out.clear();
        match d {
            Direction::Egress => {
                let Some(rules) = &self.egress[a] else {
                    return;
                };
                for &(r, _) in rules {
                    let f = &self.flat[r as usize];
                    if !f.matches.contains(b) {
                        continue;
                    }
                    let p = self.egress_ports(&mut memo.named, r, b, sets);
                    if p != PortSets::EMPTY {
                        out.push((f.policy as u32, f.rule as u32, p));
                    }
                }
            }
            Direction::Ingress => {
                let Some(rules) = &self.ingress[b] else {
                    return;
                };
                for &(r, ports) in rules {
                    let f = &self.flat[r as usize];
                    if ports != PortSets::EMPTY && f.matches.contains(a) {
                        out.push((f.policy as u32, f.rule as u32, ports));
                    }
                }
            }
        }
    }

    /// The id of the allowed port set from class `a` to class `b` alone
    /// (what [`ClassRules::row`] gives at `b`), at the cost of `a`'s egress
    /// rules and `b`'s ingress rules: for a column of the matrix, or a few
    /// cells, without whole rows.
    pub fn cell(&self, a: usize, b: usize, memo: &mut RowMemo, sets: &mut PortSets) -> u32 {
        let mut out = match &self.egress[a] {
            None => PortSets::ALL,
            Some(rules) => {
                let mut acc = PortSets::EMPTY;
                for &(r, _) in rules {
                    if self.flat[r as usize].matches.contains(b) {
                        let p = self.egress_ports(&mut memo.named, r, b, sets);
                        acc = sets.union(acc, p);
                    }
                }
                acc
            }
        };
        if let Some(t) = &self.tiers {
            let s = t.dest_sig[b];
            let e = t.egress_effect(self.model, &self.reps, memo, a, s, sets);
            out = apply(sets, e, out);
        }
        if out == PortSets::EMPTY {
            return out;
        }
        let mut admitted = match &self.ingress[b] {
            None => PortSets::ALL,
            Some(rules) => {
                let mut admitted = PortSets::EMPTY;
                for &(r, ports) in rules {
                    if self.flat[r as usize].matches.contains(a) {
                        admitted = sets.union(admitted, ports);
                    }
                }
                admitted
            }
        };
        if let Some(t) = &self.tiers {
            let s = t.peer_sig[a];
            let mut effects = t.take_ingress(memo, s);
            let e = t.ingress_effect(self.model, &self.reps, &mut effects, s, b, sets);
            memo.tier_ingress.insert(s, effects);
            admitted = apply(sets, e, admitted);
        }
        if admitted != PortSets::ALL {
            out = sets.intersect(out, admitted);
        }
        out
    }
}

/// Traffic between a pod-network pod and a host-network pod on the same
/// node: always allowed, in both directions (see
/// [`crate::engine::verdict::node_traffic`]). Indexes the pods once (linear
/// in the pods) and answers one pod at a time, so that the pairs are never
/// held all at once.
pub struct NodeTraffic<'p> {
    pods: &'p [&'p PodInfo],
    /// Pod-network pods by each address of their node.
    pods_by_address: HashMap<std::net::IpAddr, Vec<usize>>,
    /// Pod-network pods by node name.
    pods_by_node: HashMap<&'p str, Vec<usize>>,
    /// Host-network pods by each of their addresses (pod and host IPs).
    hosts_by_address: HashMap<std::net::IpAddr, Vec<usize>>,
    /// Host-network pods by node name.
    hosts_by_node: HashMap<&'p str, Vec<usize>>,
}

impl<'p> NodeTraffic<'p> {
    pub fn new(model: &Model<'_>, pods: &'p [&'p PodInfo]) -> NodeTraffic<'p> {
        let mut index = NodeTraffic {
            pods,
            pods_by_address: HashMap::new(),
            pods_by_node: HashMap::new(),
            hosts_by_address: HashMap::new(),
            hosts_by_node: HashMap::new(),
        };
        if !pods.iter().any(|p| p.on_host_network()) {
            return index;
        }
        for (i, p) in pods.iter().enumerate() {
            if p.on_host_network() {
                let mut ips: Vec<std::net::IpAddr> =
                    p.ips.iter().chain(&p.host_ips).copied().collect();
                ips.sort_unstable();
                ips.dedup();
                for ip in ips {
                    index.hosts_by_address.entry(ip).or_default().push(i);
                }
                if let Some(n) = &p.node {
                    index.hosts_by_node.entry(n.as_str()).or_default().push(i);
                }
            } else {
                for ip in model.node_addresses(p) {
                    index.pods_by_address.entry(ip).or_default().push(i);
                }
                if let Some(n) = &p.node {
                    index.pods_by_node.entry(n.as_str()).or_default().push(i);
                }
            }
        }
        index
    }

    /// The pods `j` (indices, ascending) such that `i -> j` (and `j -> i`)
    /// is traffic between a pod and its own node, written into `out`.
    pub fn of(&self, model: &Model<'_>, i: usize, out: &mut Vec<usize>) {
        use crate::engine::verdict::node_traffic;
        out.clear();
        if self.hosts_by_address.is_empty() && self.hosts_by_node.is_empty() {
            return;
        }
        let pod = self.pods[i];
        let (addresses, by_address, by_node) = if pod.on_host_network() {
            let ips: Vec<std::net::IpAddr> = pod.ips.iter().chain(&pod.host_ips).copied().collect();
            (ips, &self.pods_by_address, &self.pods_by_node)
        } else {
            (
                model.node_addresses(pod),
                &self.hosts_by_address,
                &self.hosts_by_node,
            )
        };
        out.extend(
            addresses
                .iter()
                .flat_map(|ip| by_address.get(ip).into_iter().flatten().copied())
                .chain(
                    pod.node
                        .as_deref()
                        .and_then(|n| by_node.get(n))
                        .into_iter()
                        .flatten()
                        .copied(),
                ),
        );
        out.sort_unstable();
        out.dedup();
        out.retain(|&j| {
            // Always asked host first, as the pairs were found before.
            let (host, other) = if pod.on_host_network() {
                (pod, self.pods[j])
            } else {
                (self.pods[j], pod)
            };
            node_traffic(model, &Endpoint::Pod(host), &Endpoint::Pod(other)).is_some()
        });
    }
}

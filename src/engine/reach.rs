//! Reachability between many pods at once.
//!
//! Pods that no policy can tell apart — same namespace, same labels, same
//! container ports, IPs inside the same set of ipBlocks — form one class.
//! Each rule's peers are matched against each class once; a pair of classes
//! is then decided from those precomputed matches, so the cost grows with
//! the number of classes squared, not pods squared times policies.

use std::collections::HashMap;

use crate::engine::Model;
use crate::engine::policy::{Direction, Peer};
use crate::engine::ports::PortSet;
use crate::engine::verdict::{Endpoint, peer_matches};
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

type ClassKey<'a> = (&'a str, &'a Labels, &'a [ContainerPort], Vec<usize>);

impl<'s> Classes<'s> {
    pub fn build(model: &Model<'s>, pods: &[&'s PodInfo]) -> Classes<'s> {
        // Every ipBlock in the model, so that IPs are reduced to which
        // blocks contain them.
        let blocks: Vec<&crate::engine::policy::IpBlock> = model
            .policies
            .iter()
            .flat_map(|p| p.peers())
            .filter_map(|peer| match peer {
                Peer::IpBlock(b) => Some(b),
                Peer::Pods { .. } => None,
            })
            .collect();
        let mut index: HashMap<ClassKey<'s>, usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut representatives = Vec::new();
        let mut class_of = Vec::with_capacity(pods.len());
        for (i, pod) in pods.iter().enumerate() {
            let sig: Vec<usize> = blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| pod.ips.iter().any(|ip| b.contains(ip)))
                .map(|(j, _)| j)
                .collect();
            let key: ClassKey<'s> = (
                pod.namespace.as_str(),
                &pod.labels,
                pod.ports.as_slice(),
                sig,
            );
            let c = *index.entry(key).or_insert_with(|| {
                members.push(Vec::new());
                representatives.push(*pod);
                members.len() - 1
            });
            members[c].push(i);
            class_of.push(c);
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
}

/// A rule flattened for the matrix: which classes its peers match, and
/// its ports when they do not depend on the destination.
struct FlatRule {
    /// Indexed by class.
    matches: Vec<bool>,
    policy: usize,
    rule: usize,
    fixed_ports: Option<PortSet>,
}

/// The allowed ports between every ordered pair of classes.
pub struct ClassMatrix {
    n: usize,
    allowed: Vec<PortSet>,
}

impl ClassMatrix {
    pub fn get(&self, from: usize, to: usize) -> &PortSet {
        &self.allowed[from * self.n + to]
    }
}

/// Computes the allowed ports between all class pairs.
pub fn class_matrix(model: &Model<'_>, classes: &Classes<'_>) -> ClassMatrix {
    let n = classes.len();
    let reps = &classes.representatives;
    let mut rule_ids: HashMap<(usize, Direction, usize), usize> = HashMap::new();
    let mut flat: Vec<FlatRule> = Vec::new();
    // Per class and direction: None when not isolated, else its rules.
    let mut per_class: [Vec<Option<Vec<usize>>>; 2] =
        [Vec::with_capacity(n), Vec::with_capacity(n)];
    for rep in reps {
        for (di, d) in Direction::BOTH.into_iter().enumerate() {
            let isolating = model.isolating(rep, d);
            if isolating.is_empty() {
                per_class[di].push(None);
                continue;
            }
            let mut ids = Vec::new();
            for pi in isolating {
                let policy = &model.policies[pi];
                for (ri, rule) in policy.rules(d).unwrap_or_default().iter().enumerate() {
                    let id = *rule_ids.entry((pi, d, ri)).or_insert_with(|| {
                        let matches = reps
                            .iter()
                            .map(|other| match &rule.peers {
                                None => true,
                                Some(peers) => peers
                                    .iter()
                                    .any(|peer| peer_matches(model, peer, &Endpoint::Pod(other)).0),
                            })
                            .collect();
                        let named =
                            rule.ports.iter().flatten().any(|p| {
                                matches!(p.port, crate::engine::policy::PortValue::Named(_))
                            });
                        flat.push(FlatRule {
                            matches,
                            policy: pi,
                            rule: ri,
                            fixed_ports: (!named).then(|| rule.resolve_ports(None)),
                        });
                        flat.len() - 1
                    });
                    ids.push(id);
                }
            }
            per_class[di].push(Some(ids));
        }
    }
    let resolve = |r: &FlatRule, d: Direction, dest: usize| -> PortSet {
        match &r.fixed_ports {
            Some(p) => p.clone(),
            None => model.policies[r.policy].rules(d).unwrap_or_default()[r.rule]
                .resolve_ports(Some(&reps[dest].ports)),
        }
    };
    // The ports one side lets through: `rules` of the subject class
    // (None: not isolated), matched against class `peer`, towards `dest`.
    let side = |rules: &Option<Vec<usize>>, d: Direction, peer: usize, dest: usize| -> PortSet {
        let Some(ids) = rules else {
            return PortSet::all();
        };
        let mut s = PortSet::empty();
        for r in ids.iter().map(|&id| &flat[id]).filter(|r| r.matches[peer]) {
            s.union_with(&resolve(r, d, dest));
        }
        s
    };
    let mut allowed = Vec::with_capacity(n * n);
    for a in 0..n {
        for (b, ingress_rules) in per_class[0].iter().enumerate() {
            let egress = side(&per_class[1][a], Direction::Egress, b, b);
            let result = if egress.is_empty() {
                egress
            } else {
                egress.intersect(&side(ingress_rules, Direction::Ingress, a, b))
            };
            allowed.push(result);
        }
    }
    ClassMatrix { n, allowed }
}

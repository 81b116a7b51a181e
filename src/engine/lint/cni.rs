//! What the cluster's CNI changes in an answer the NetworkPolicy API leaves
//! to the implementation: whether an ipBlock matches pod IPs, and whether
//! node addresses (the IPs of host-network pods) can be allowed by ipBlock.
//!
//! Also: whether a named port declared only by a plain init container
//! resolves ([`init_port_note`]; Calico's own reading of pods).
//!
//! Pure: the CNI names come from `kubectl netpol check`'s assessment
//! ([`crate::cni::assess`]); `lint`, `can` and `explain` print the notes.
//!
//! Sources: the NetworkPolicy API reference (ipBlock is "intended for
//! cluster-external IPs"; pod selection of host-network pods is undefined);
//! Cilium's policy language documentation (CIDR rules describe peers that
//! are not Cilium endpoints; nodes are the `host` / `remote-node` entities);
//! Calico, which matches `nets` (ipBlock) against every address, pods and
//! hosts included.

use crate::engine::Model;
use crate::engine::policy::{Direction, Peer};
use crate::engine::ports::Protocol;
use crate::engine::verdict::{Endpoint, Verdict, peer_matches};
use crate::snapshot::PodInfo;

/// The CNIs `check` found, as far as notes need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniFacts {
    /// Components found that enforce NetworkPolicy or may (`check`'s
    /// component names: "Calico", "Cilium", ...). Empty: unknown.
    pub names: Vec<String>,
}

impl CniFacts {
    /// The components of an assessment that enforce policies or may;
    /// those known not to (flannel alone) say nothing about ipBlock.
    pub fn from_assessment(a: &crate::cni::Assessment) -> CniFacts {
        CniFacts {
            names: a
                .found
                .iter()
                .filter(|c| c.enforces != Some(false))
                .map(|c| c.name.clone())
                .collect(),
        }
    }

    /// Known CNI names, for `CniFacts { names }` built by hand.
    pub fn of(names: &[&str]) -> CniFacts {
        CniFacts {
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// How a CNI treats an ipBlock that holds pod or node addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpBlockMatching {
    /// Matches by address: pods and nodes inside the range are matched
    /// (Calico, Canal).
    ByAddress,
    /// Matches only addresses outside the cluster: pods and nodes are
    /// matched by identity, never by ipBlock (Cilium, GKE Dataplane V2).
    ExternalOnly,
    /// Not known (no CNI found, or one kubectl-netpol has no fact about).
    Unknown,
}

/// What the found CNIs do with an ipBlock holding pod or node addresses.
/// Several components that disagree (or one unknown) give `Unknown`.
pub fn ipblock_matching(cni: &CniFacts) -> IpBlockMatching {
    let mut seen: Option<IpBlockMatching> = None;
    for name in &cni.names {
        let m = match name.as_str() {
            "Calico" | "Canal" => IpBlockMatching::ByAddress,
            "Cilium" | "GKE Dataplane V2" => IpBlockMatching::ExternalOnly,
            _ => IpBlockMatching::Unknown,
        };
        match seen {
            None => seen = Some(m),
            Some(s) if s == m => {}
            Some(_) => return IpBlockMatching::Unknown,
        }
    }
    seen.unwrap_or(IpBlockMatching::Unknown)
}

fn found(cni: &CniFacts) -> String {
    cni.names.join(" + ")
}

/// One sentence: whether an ipBlock admits the pods whose IPs it holds on
/// this cluster. `what` names the block, e.g. `10.0.0.0/8`.
pub fn ipblock_pods_note(cni: &CniFacts, what: &str) -> String {
    match ipblock_matching(cni) {
        IpBlockMatching::ByAddress => format!(
            "this cluster runs {}, which matches ipBlock against pod IPs too: {what} does admit the pods inside it",
            found(cni)
        ),
        IpBlockMatching::ExternalOnly => format!(
            "this cluster runs {}, which matches ipBlock only against addresses outside the cluster (pods are matched by identity): {what} admits none of the pods inside it",
            found(cni)
        ),
        IpBlockMatching::Unknown if cni.names.is_empty() => format!(
            "whether {what} admits the pods inside it depends on the CNI (Calico: yes; Cilium and GKE Dataplane V2: no, ipBlock matches only addresses outside the cluster), and the CNI is not known here (see kubectl netpol check)"
        ),
        IpBlockMatching::Unknown => format!(
            "whether {what} admits the pods inside it depends on the CNI (Calico: yes; Cilium: no, ipBlock matches only addresses outside the cluster); kubectl-netpol does not know what {} does",
            found(cni)
        ),
    }
}

/// One sentence: whether an ipBlock of node addresses reaches host-network
/// pods on this cluster.
pub fn node_ipblock_note(cni: &CniFacts) -> String {
    match ipblock_matching(cni) {
        IpBlockMatching::ByAddress => format!(
            "this cluster runs {}, which matches ipBlock against node addresses: the ipBlock works",
            found(cni)
        ),
        IpBlockMatching::ExternalOnly => format!(
            "this cluster runs {}, where node addresses are the `host`/`remote-node` entities and no ipBlock matches them: allow them with a rule without peers (ports only) or Cilium's own policy (toEntities: host, remote-node)",
            found(cni)
        ),
        IpBlockMatching::Unknown => "whether an ipBlock matches node addresses depends on the CNI (Calico: yes; Cilium: no, nodes are its `host`/`remote-node` entities; a rule with ports only works everywhere)".to_string(),
    }
}

/// The words [`init_port_note`] describes a named port with: a finding
/// holding them depends on the CNI.
pub const INIT_ONLY: &str = "declared only by a plain init container";

/// One sentence, when a named port does not resolve on `pod` because only a
/// plain init container declares it: the API (and the kubelet) count only
/// the containers that serve traffic, Calico also reads plain init
/// containers. Says which applies on this cluster: Calico found, that the
/// port is resolved there anyway; another CNI found, that it does not
/// (Calico would); nothing known, that it depends on the CNI. `None` when
/// `name` resolves, or no plain init container declares it.
pub fn init_port_note(
    cni: &CniFacts,
    pod: &PodInfo,
    name: &str,
    protocol: Option<Protocol>,
) -> Option<String> {
    let ports = crate::snapshot::init_only_named_port(pod, name, protocol)?.join(", ");
    let head = format!(
        "named port {name:?} is {INIT_ONLY} of {}, which has exited before the pod serves traffic",
        pod.key()
    );
    let calico = |n: &String| n == "Calico" || n == "Canal";
    let (with, without): (Vec<&String>, Vec<&String>) = cni.names.iter().partition(|n| calico(n));
    let join = |names: &[&String]| {
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    Some(if cni.names.is_empty() {
        format!(
            "{head}; whether it resolves depends on the CNI (Calico resolves it there anyway, to {ports}), and the CNI is not known here (see kubectl netpol check)"
        )
    } else if without.is_empty() {
        format!(
            "{head}; but this cluster runs {}, which resolves it there anyway, to {ports}: here the rule does open {ports}",
            found(cni)
        )
    } else if with.is_empty() {
        format!(
            "{head}; this cluster runs {}, which resolves it to nothing (Calico would resolve it there, to {ports})",
            found(cni)
        )
    } else {
        format!(
            "{head}; this cluster runs {}: {} resolves it there anyway, to {ports}, {} resolves it to nothing",
            found(cni),
            join(&with),
            join(&without)
        )
    })
}

/// An ipBlock rule on which an answer about a pod depends, for the CNI
/// note `can` and `explain` print beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpBlockRule {
    pub direction: Direction,
    /// `namespace/name` of the policy.
    pub policy: String,
    /// 1-based, as `can` and `explain` number rules.
    pub rule: usize,
    /// The ipBlock(s) holding the pod IPs, e.g. `10.0.0.0/8 except 10.1.0.0/16`.
    pub blocks: Vec<String>,
    /// `namespace/name` of the pods (on the pod network) whose IPs they hold:
    /// for `can`, the far end; for `explain`, up to three of them.
    pub pods: Vec<String>,
    /// How many pods in all.
    pub count: usize,
}

impl IpBlockRule {
    /// `egress rule #1 of shop/web-out admits shop/api only through ipBlock
    /// 10.0.0.0/8: ...`
    pub fn note(&self, cni: &CniFacts) -> String {
        let blocks = self.blocks.join(", ");
        let pods = if self.count > self.pods.len() {
            format!(
                "{} and {} more",
                self.pods.join(", "),
                self.count - self.pods.len()
            )
        } else {
            self.pods.join(", ")
        };
        format!(
            "{} rule #{} of {} reaches {pods} through ipBlock {blocks}, which holds pod IPs: {}",
            self.direction.as_str(),
            self.rule,
            self.policy,
            ipblock_pods_note(cni, &blocks)
        )
    }
}

/// For `can` (and `diff`'s notes): the ipBlock rules of `verdict` that
/// alone admit some port towards a pod on the pod network: a rule whose
/// peer matching the far end is an ipBlock holding its IP, for the ports
/// no rule matching it by a selector also admits (a selector rule on
/// UDP/53 does not make an ipBlock rule on TCP/443 safe). Whether such a
/// rule admits pods is the CNI's choice; the engine says it does.
/// `wanted`: the ports asked about (`can --port`), `None` for all.
pub fn ipblock_decisions(
    model: &Model<'_>,
    verdict: &Verdict,
    from: &Endpoint<'_>,
    to: &Endpoint<'_>,
    wanted: Option<&crate::engine::ports::PortSet>,
) -> Vec<IpBlockRule> {
    let mut out = Vec::new();
    for (side, other) in [(&verdict.egress, to), (&verdict.ingress, from)] {
        let Some(pod) = other.pod_network() else {
            continue;
        };
        if !side.isolated {
            continue;
        }
        // (rule, the ports it admits) for rules matching by ipBlock only.
        let mut by_block = Vec::new();
        // What rules matching the far end by a selector admit.
        let mut by_selector = crate::engine::ports::PortSet::empty();
        for r in side
            .rules
            .iter()
            .filter(|r| r.peer_matched && !r.admitted().is_empty())
        {
            let policy = &model.policies[r.policy];
            let rule = &policy.rules(side.direction).unwrap_or_default()[r.rule];
            let matched: Vec<&Peer> = match &rule.peers {
                None => {
                    by_selector.union_with(&r.admitted());
                    continue;
                }
                Some(list) => list
                    .iter()
                    .filter(|peer| peer_matches(model, peer, other).0)
                    .collect(),
            };
            if matched.iter().any(|peer| !matches!(peer, Peer::IpBlock(_))) {
                by_selector.union_with(&r.admitted());
                continue;
            }
            let blocks: Vec<String> = matched
                .iter()
                .filter_map(|peer| match peer {
                    Peer::IpBlock(b) => Some(b.render()),
                    Peer::Pods { .. } => None,
                })
                .collect();
            if !blocks.is_empty() {
                by_block.push((
                    IpBlockRule {
                        direction: side.direction,
                        policy: policy.key(),
                        rule: r.rule + 1,
                        blocks,
                        pods: vec![pod.key()],
                        count: 1,
                    },
                    r.admitted(),
                ));
            }
        }
        out.extend(
            by_block
                .into_iter()
                .filter(|(_, ports)| {
                    let alone = ports.subtract(&by_selector);
                    match wanted {
                        Some(w) => !alone.intersect(w).is_empty(),
                        None => !alone.is_empty(),
                    }
                })
                .map(|(rule, _)| rule),
        );
    }
    out
}

/// For `explain`: the rules of the policies selecting `pod` with an
/// ipBlock holding the IPs of pods on the pod network (other than `pod`).
pub fn ipblock_rules_of(model: &Model<'_>, pod: &PodInfo) -> Vec<IpBlockRule> {
    let mut out = Vec::new();
    for pi in model.selecting(pod) {
        let policy = &model.policies[pi];
        for d in Direction::BOTH {
            for (ri, rule) in policy.rules(d).unwrap_or_default().iter().enumerate() {
                let mut blocks = Vec::new();
                let mut inside: Vec<String> = Vec::new();
                for peer in rule.peers.iter().flatten() {
                    let Peer::IpBlock(b) = peer else { continue };
                    let pods: Vec<String> = model
                        .pods_in_block(b)
                        .into_iter()
                        .filter(|p| !p.host_network && p.key() != pod.key())
                        .map(|p| p.key())
                        .collect();
                    if pods.is_empty() {
                        continue;
                    }
                    blocks.push(b.render());
                    for k in pods {
                        if !inside.contains(&k) {
                            inside.push(k);
                        }
                    }
                }
                if blocks.is_empty() {
                    continue;
                }
                let count = inside.len();
                inside.truncate(3);
                out.push(IpBlockRule {
                    direction: d,
                    policy: policy.key(),
                    rule: ri + 1,
                    blocks,
                    pods: inside,
                    count,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_the_cni_and_unknown_when_unsure() {
        use IpBlockMatching::*;
        assert_eq!(ipblock_matching(&CniFacts::of(&["Calico"])), ByAddress);
        assert_eq!(ipblock_matching(&CniFacts::of(&["Canal"])), ByAddress);
        assert_eq!(ipblock_matching(&CniFacts::of(&["Cilium"])), ExternalOnly);
        assert_eq!(
            ipblock_matching(&CniFacts::of(&["GKE Dataplane V2"])),
            ExternalOnly
        );
        assert_eq!(ipblock_matching(&CniFacts::default()), Unknown);
        assert_eq!(ipblock_matching(&CniFacts::of(&["Antrea"])), Unknown);
        assert_eq!(
            ipblock_matching(&CniFacts::of(&["Calico", "Cilium"])),
            Unknown
        );
        assert!(ipblock_pods_note(&CniFacts::of(&["Cilium"]), "0.0.0.0/0").contains("admits none"));
        assert!(
            ipblock_pods_note(&CniFacts::default(), "0.0.0.0/0").contains("depends on the CNI")
        );
    }
}

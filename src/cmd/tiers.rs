//! The cluster policy tiers as the commands show them: the chain of
//! decisions on one side of a connection (`can`), the policies applying to
//! a pod (`explain`), and the rows of `list`. One view, next to the
//! renderers that use it.

use serde::Serialize;

use crate::cmd::can::PortsJson;
use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::engine::ports::PortSet;
use crate::engine::tier::eval::TierSide;
use crate::engine::tier::{Action, ClusterPolicy, Tier};
use crate::engine::verdict::SideVerdict;

/// One cluster policy rule that matched on this side, in evaluation order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepJson {
    /// `Admin` or `Baseline`.
    pub tier: &'static str,
    /// `ClusterNetworkPolicy`, `AdminNetworkPolicy` or
    /// `BaselineAdminNetworkPolicy`.
    pub kind: String,
    pub policy: String,
    /// Null for a BaselineAdminNetworkPolicy.
    pub priority: Option<u32>,
    /// 1-based index into the direction's rules.
    pub rule: usize,
    /// The rule's `name`, if it has one.
    pub rule_name: Option<String>,
    /// `Accept`, `Deny` or `Pass` (v1alpha1's `Allow` is `Accept`).
    pub action: &'static str,
    /// The ports this rule decided (among those asked about).
    pub ports: PortsJson,
    /// True when whether the rule matches could not be decided.
    pub undecided: bool,
}

/// Policies of equal priority matching the same ports with different
/// actions: the API leaves the outcome to the implementation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UndefinedJson {
    pub tier: &'static str,
    pub priority: Option<u32>,
    pub ports: PortsJson,
    /// `NAME rule #N: ACTION` for each rule in conflict.
    pub rules: Vec<String>,
}

/// The tiers' part of one side of `can`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TiersJson {
    /// The decisions, one line per path through the tiers, with their
    /// ports: `Admin NAME (priority 10) rule #1: Pass on TCP/8080 ->
    /// NetworkPolicy NS/NAME rule #1: allows TCP/8080`.
    pub chain: Vec<String>,
    pub steps: Vec<StepJson>,
    pub undefined: Vec<UndefinedJson>,
    /// Invalid cluster policies (`kind/name`) that may apply to this side:
    /// the ports they may decide are undecided.
    pub invalid: Vec<String>,
}

fn rule_label(p: &ClusterPolicy, direction: Direction, rule: usize) -> String {
    let name = p.rules(direction)[rule]
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    format!("{} rule #{}{name}", p.label(), rule + 1)
}

fn narrowed(set: &PortSet, wanted: Option<&PortSet>) -> PortSet {
    match wanted {
        Some(w) => set.intersect(w),
        None => set.clone(),
    }
}

/// The tiers' part of a side for `can`, restricted to the ports `wanted`
/// (all when `None`); `None` when no cluster policy exists.
pub fn side_tiers(
    model: &Model<'_>,
    side: &SideVerdict,
    wanted: Option<&PortSet>,
) -> Option<TiersJson> {
    let tiers = side.tiers.as_ref()?;
    let d = side.direction;
    let mut chain = Vec::new();
    let mut steps = Vec::new();
    for step in &tiers.steps {
        let ports = narrowed(&step.ports, wanted);
        if ports.is_empty() {
            continue;
        }
        let p = &model.cluster_policies[step.policy];
        steps.push(StepJson {
            tier: step.tier.as_str(),
            kind: p.kind.clone(),
            policy: p.name.clone(),
            priority: p.priority,
            rule: step.rule + 1,
            rule_name: p.rules(d)[step.rule].name.clone(),
            action: step.action.as_str(),
            ports: PortsJson::of(&ports),
            undecided: step.undecided,
        });
        if step.tier != Tier::Admin {
            continue;
        }
        let head = format!("{}: {}", rule_label(p, d, step.rule), step.action.as_str());
        chain.push(if step.undecided {
            format!(
                "{head} on {} if it matches {}",
                ports.describe(),
                unknown_why(p, d, step.rule, &ports)
            )
        } else if step.action == Action::Pass {
            format!(
                "{head} on {} -> {}",
                ports.describe(),
                after_admin(model, side, tiers, &ports)
            )
        } else {
            format!("{head} on {}", ports.describe())
        });
    }
    let unmatched = narrowed(&tiers.admin.unmatched, wanted);
    if !unmatched.is_empty() {
        chain.push(format!(
            "no Admin rule matches {} -> {}",
            unmatched.describe(),
            after_admin(model, side, tiers, &unmatched)
        ));
    }
    let mut undefined = Vec::new();
    for c in &tiers.conflicts {
        let ports = narrowed(&c.ports, wanted);
        if ports.is_empty() {
            continue;
        }
        let rules: Vec<String> = c
            .steps
            .iter()
            .map(|&s| {
                let step = &tiers.steps[s];
                let p = &model.cluster_policies[step.policy];
                format!("{}: {}", rule_label(p, d, step.rule), step.action.as_str())
            })
            .collect();
        chain.push(match c.priority {
            Some(_) => format!(
                "undefined on {}: {} match at equal priority with different actions (the API leaves the outcome to the implementation)",
                ports.describe(),
                rules.join(" and ")
            ),
            None => format!(
                "undefined on {}: {} decide differently, and the API puts the BaselineAdminNetworkPolicy in no order against Baseline ClusterNetworkPolicies (the outcome is the implementation's)",
                ports.describe(),
                rules.join(" and ")
            ),
        });
        undefined.push(UndefinedJson {
            tier: c.tier.as_str(),
            priority: c.priority,
            ports: PortsJson::of(&ports),
            rules,
        });
    }
    let invalid: Vec<String> = tiers
        .invalid
        .iter()
        .map(|&i| model.cluster_invalid[i].reference())
        .collect();
    for r in &invalid {
        chain.push(format!(
            "{r} is invalid (the API server would reject it) and may apply here: what it could decide is unknown"
        ));
    }
    Some(TiersJson {
        chain,
        steps,
        undefined,
        invalid,
    })
}

/// What decides `ports` once the Admin tier passed them on (or matched
/// none of them): NetworkPolicy if it isolates the pod, else Baseline,
/// then the default.
fn after_admin(model: &Model<'_>, side: &SideVerdict, tiers: &TierSide, ports: &PortSet) -> String {
    let d = side.direction;
    let mut parts = Vec::new();
    if side.isolated {
        let mut left = ports.clone();
        for r in &side.rules {
            let admitted = r.admitted().intersect(&left);
            if admitted.is_empty() {
                continue;
            }
            left = left.subtract(&admitted);
            parts.push(format!(
                "NetworkPolicy {} rule #{}: allows {}",
                model.policies[r.policy].key(),
                r.rule + 1,
                admitted.describe()
            ));
        }
        if !left.is_empty() {
            let names: Vec<String> = side
                .policies
                .iter()
                .map(|&i| model.policies[i].key())
                .collect();
            parts.push(format!(
                "NetworkPolicy {}: nothing admits {}",
                names.join(", "),
                left.describe()
            ));
        }
        return parts.join("; ");
    }
    let mut left = ports.clone();
    for step in tiers.steps.iter().filter(|s| s.tier == Tier::Baseline) {
        let here = step.ports.intersect(&left);
        if here.is_empty() {
            continue;
        }
        left = left.subtract(&here);
        let p = &model.cluster_policies[step.policy];
        let head = format!("{}: {}", rule_label(p, d, step.rule), step.action.as_str());
        parts.push(if step.undecided {
            format!(
                "{head} on {} if it matches {}",
                here.describe(),
                unknown_why(p, d, step.rule, &here)
            )
        } else if step.action == Action::Pass {
            format!("{head} on {} -> default: allowed", here.describe())
        } else {
            format!("{head} on {}", here.describe())
        });
    }
    if !left.is_empty() {
        let undecided = tiers
            .baseline
            .as_ref()
            .map(|b| b.undecided.intersect(&left))
            .unwrap_or_default();
        let allowed = left.subtract(&undecided);
        if !allowed.is_empty() {
            parts.push(format!(
                "no Baseline rule matches: allowed by default on {}",
                allowed.describe()
            ));
        }
        if !undecided.is_empty() {
            parts.push(format!("Baseline: unknown on {}", undecided.describe()));
        }
    }
    parts.join("; ")
}

/// `Admin`/`Baseline` in the lower case a sentence uses.
fn tier_words(p: &ClusterPolicy) -> String {
    let tier = match p.tier {
        Tier::Admin => "admin tier",
        Tier::Baseline => "baseline tier",
    };
    match p.priority {
        Some(n) => format!("{tier}, priority {n}"),
        None => tier.to_string(),
    }
}

fn selector_words(sel: &crate::engine::selector::Selector) -> String {
    format!("[{}]", sel.render())
}

/// `pods [app=web] in namespaces [env=prod]`: a subject's or a peer's pods
/// (no namespace selector: every namespace).
fn pods_words(
    namespaces: Option<&crate::engine::selector::Selector>,
    pods: &crate::engine::selector::Selector,
) -> String {
    let who = if pods.is_everything() {
        "all pods".to_string()
    } else {
        format!("pods {}", selector_words(pods))
    };
    match namespaces {
        Some(ns) if !ns.is_everything() => format!("{who} in namespaces {}", selector_words(ns)),
        _ => format!("{who} in all namespaces"),
    }
}

fn subject_words(s: &crate::engine::tier::Subject) -> String {
    use crate::engine::tier::Subject;
    match s {
        Subject::Namespaces(sel) if sel.is_everything() => "all pods".to_string(),
        Subject::Namespaces(sel) => format!("all pods in namespaces {}", selector_words(sel)),
        Subject::Pods { namespaces, pods } => pods_words(namespaces.as_ref(), pods),
        Subject::Unusable(_) => {
            "pods its selector cannot tell (no implementation can convert it)".to_string()
        }
    }
}

fn peer_words(peer: &crate::engine::tier::TierPeer) -> String {
    use crate::engine::tier::TierPeer;
    match peer {
        TierPeer::Namespaces(sel) if sel.is_everything() => "all namespaces".to_string(),
        TierPeer::Namespaces(sel) => format!("namespaces {}", selector_words(sel)),
        TierPeer::Pods { namespaces, pods } => pods_words(namespaces.as_ref(), pods),
        TierPeer::Networks(nets) => format!(
            "networks [{}]",
            nets.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TierPeer::Nodes(sel) if sel.is_everything() => "all nodes".to_string(),
        TierPeer::Nodes(sel) => format!("nodes {}", selector_words(sel)),
        TierPeer::DomainNames(names) => format!("domains [{}]", names.join(", ")),
        TierPeer::Unusable { nodes: true, .. } => {
            "nodes a selector no implementation can convert picks".to_string()
        }
        TierPeer::Unusable { nodes: false, .. } => {
            "pods a selector no implementation can convert picks".to_string()
        }
    }
}

fn rule_words(rule: &crate::engine::tier::TierRule, direction: Direction) -> String {
    let verb = match rule.action {
        Action::Accept => "accepts",
        Action::Deny => "denies",
        Action::Pass => "passes",
    };
    let word = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let peers: Vec<String> = rule.peers.iter().map(peer_words).collect();
    let ports = match &rule.ports {
        None => String::new(),
        Some(list) => format!(
            " on {}",
            list.iter()
                .map(|p| p.render())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("{verb} {word} {}{ports}", peers.join(" or "))
}

/// Why a step of `p`'s rule `rule` is undecided on `ports`, when the
/// policy itself says why (a selector no implementation can convert, a
/// reversed port range), else `(unknown)` (a namespace's labels not read,
/// domainNames, ...: the answer's notes say which).
fn unknown_why(
    p: &crate::engine::tier::ClusterPolicy,
    d: Direction,
    rule: usize,
    ports: &PortSet,
) -> &'static str {
    use crate::engine::tier::{Subject, TierPeer};
    let r = &p.rules(d)[rule];
    if matches!(p.subject, Subject::Unusable(_)) {
        "(unknown: its subject's selector is accepted by the API server but no implementation can convert it)"
    } else if !r.undecided_ports().intersect(ports).is_empty() {
        "(unknown: its portRange's start is above its end, which the API server accepts and implementations read differently)"
    } else if r
        .peers
        .iter()
        .any(|x| matches!(x, TierPeer::Unusable { .. }))
    {
        "(unknown: a peer's selector is accepted by the API server but no implementation can convert it)"
    } else {
        "(unknown)"
    }
}

/// The one-sentence summary of a cluster policy: `admin tier, priority
/// 10: denies all pods in namespaces [env=prod] from namespaces [env=dev]`
/// (later rules follow with `, then ...`).
pub fn summary(p: &ClusterPolicy) -> String {
    let subject = subject_words(&p.subject);
    // Per direction, the rules in order (`, then`); directions apart (`;`).
    let mut parts: Vec<String> = Vec::new();
    for d in Direction::BOTH {
        let clauses: Vec<String> = p.rules(d).iter().map(|r| rule_words(r, d)).collect();
        if clauses.is_empty() {
            continue;
        }
        let mut text = if parts.is_empty() {
            // The first clause names the subject after its verb.
            let (verb, rest) = clauses[0].split_once(' ').unwrap_or((&clauses[0], ""));
            format!("{verb} {subject} {rest}")
        } else {
            clauses[0].clone()
        };
        for c in &clauses[1..] {
            text.push_str(&format!(", then {c}"));
        }
        parts.push(text);
    }
    if parts.is_empty() {
        return format!(
            "{}: selects {subject} but has no rule (does nothing)",
            tier_words(p)
        );
    }
    format!("{}: {}", tier_words(p), parts.join("; "))
}

/// A cluster policy applying to a pod in one direction (`explain`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPolicyView {
    pub kind: String,
    pub name: String,
    pub tier: &'static str,
    /// Null for a BaselineAdminNetworkPolicy.
    pub priority: Option<u32>,
    pub summary: String,
    /// True when whether its subject selects the pod is unknown (the
    /// labels of the pod's namespace were not read).
    pub maybe: bool,
}

/// The cluster policies applying to `pod` in direction `d`, in evaluation
/// order: (Admin, Baseline, invalid ones that may apply as `kind/name`).
pub fn applying(
    model: &Model<'_>,
    pod: &crate::snapshot::PodInfo,
    d: Direction,
) -> (Vec<ClusterPolicyView>, Vec<ClusterPolicyView>, Vec<String>) {
    use crate::engine::tier::eval::subject_matches;
    let mut admin = Vec::new();
    let mut baseline = Vec::new();
    let mut order: Vec<&ClusterPolicy> = model
        .cluster_policies
        .iter()
        .filter(|p| !p.rules(d).is_empty())
        .collect();
    order.sort_by_key(|p| (p.tier, p.priority.unwrap_or(u32::MAX)));
    for p in order {
        let m = subject_matches(model, &p.subject, pod);
        if m == Some(false) {
            continue;
        }
        let view = ClusterPolicyView {
            kind: p.kind.clone(),
            name: p.name.clone(),
            tier: p.tier.as_str(),
            priority: p.priority,
            summary: summary(p),
            maybe: m.is_none(),
        };
        match p.tier {
            Tier::Admin => admin.push(view),
            Tier::Baseline => baseline.push(view),
        }
    }
    let di = match d {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    };
    let invalid = if pod.on_host_network() {
        Vec::new()
    } else {
        model
            .cluster_invalid
            .iter()
            .filter(|b| {
                b.directions[di]
                    && b.subject
                        .as_ref()
                        .is_none_or(|s| subject_matches(model, s, pod) != Some(false))
            })
            .map(|b| b.reference())
            .collect()
    };
    (admin, baseline, invalid)
}

/// `Admin deny-dev (priority 20)` for a list of views.
pub fn view_names(views: &[ClusterPolicyView]) -> String {
    views
        .iter()
        .map(|v| match v.priority {
            Some(p) => format!("{} (priority {p})", v.name),
            None => v.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What matches a node's address (and so a host-network pod) as a peer:
/// ipBlocks, and, when the input has cluster policies, their egress
/// `networks` and `nodes` peers too. Plural, for "only ... match it".
pub fn address_peers(snapshot: &crate::snapshot::Snapshot) -> &'static str {
    if snapshot.cluster_policies.is_empty() {
        "ipBlocks"
    } else {
        "ipBlocks and cluster policies' egress networks and nodes peers"
    }
}

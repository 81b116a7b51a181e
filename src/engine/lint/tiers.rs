//! Checks of the cluster policy tiers (ClusterNetworkPolicy,
//! AdminNetworkPolicy, BaselineAdminNetworkPolicy): what the API accepts
//! but does nothing, or leaves to the implementation. Findings are about
//! cluster-scoped objects, named `kind/name` (no namespace).

use super::{Finding, Out, severity_of};
use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::engine::tier::eval::subject_matches;
use crate::engine::tier::{Action, ClusterPolicy, Tier, TierPeer};

/// `spec.ingress[2]` of a cluster policy rule.
fn rule_path(d: Direction, rule: usize) -> String {
    format!("spec.{}[{rule}]", d.field())
}

fn push(out: &mut Out<'_>, check: &'static str, p: &ClusterPolicy, path: String, message: String) {
    if out.opts.on(check) {
        out.findings.push(Finding {
            check,
            severity: severity_of(check),
            object: p.reference(),
            path: Some(path),
            message,
            hint: None,
            not_checked: None,
        });
    }
}

/// Every tier check; `in_scope` says which cluster policies (by
/// `kind/name`) to report on.
pub fn tiers(model: &Model<'_>, in_scope: &dyn Fn(&str) -> bool, out: &mut Out<'_>) {
    let policies: Vec<&ClusterPolicy> = model
        .cluster_policies
        .iter()
        .filter(|p| in_scope(&p.reference()))
        .collect();
    // The pods (on the pod network) each policy's subject selects for
    // certain, by index into the snapshot's pods.
    let pods = &model.snapshot.pods;
    let selected = |p: &ClusterPolicy| -> Vec<usize> {
        pods.iter()
            .enumerate()
            .filter(|(_, pod)| subject_matches(model, &p.subject, pod) == Some(true))
            .map(|(i, _)| i)
            .collect()
    };
    for p in &policies {
        for d in Direction::BOTH {
            for (i, rule) in p.rules(d).iter().enumerate() {
                if p.tier == Tier::Baseline && rule.action == Action::Pass {
                    push(
                        out,
                        "tier-pass-in-baseline",
                        p,
                        format!("{}.action", rule_path(d, i)),
                        "Pass in the Baseline tier skips the rest of the Baseline tier to the default, which allows: it acts as Accept (lower Baseline rules never see the connection); write Accept if that is meant, or Deny".into(),
                    );
                }
                if rule.action != Action::Accept {
                    for (j, peer) in rule.peers.iter().enumerate() {
                        if matches!(peer, TierPeer::DomainNames(_)) {
                            push(
                                out,
                                "tier-domain-names-deny",
                                p,
                                format!("{}.{}[{j}].domainNames", rule_path(d, i), d.peer_field()),
                                format!(
                                    "domainNames in a {} rule: the API accepts it, but implementations support domainNames in Accept rules only (names resolve to addresses that change), so it may do nothing",
                                    rule.action.as_str()
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    // Equal priorities in one tier whose subjects share a pod and whose
    // rules share a direction: the API leaves their order undefined.
    for (a_i, a) in policies.iter().enumerate() {
        for b in &policies[a_i + 1..] {
            if a.tier != b.tier || a.priority.is_none() || a.priority != b.priority {
                continue;
            }
            let shared_direction = Direction::BOTH
                .into_iter()
                .find(|&d| !a.rules(d).is_empty() && !b.rules(d).is_empty());
            let Some(d) = shared_direction else { continue };
            let (sa, sb) = (selected(a), selected(b));
            let Some(&both) = sa.iter().find(|i| sb.contains(i)) else {
                continue;
            };
            push(
                out,
                "tier-equal-priority",
                a,
                "spec.priority".into(),
                format!(
                    "{} and {} are both {} tier, priority {}, and both apply to {} ({}): the API leaves which goes first to the implementation; give them different priorities",
                    a.reference(),
                    b.reference(),
                    a.tier.as_str(),
                    a.priority.unwrap_or_default(),
                    pods[both].key(),
                    d.as_str()
                ),
            );
        }
    }
    // A Baseline policy every pod of whose subject a NetworkPolicy isolates
    // in that direction never applies there.
    for p in policies.iter().filter(|p| p.tier == Tier::Baseline) {
        let sel = selected(p);
        if sel.is_empty() {
            continue;
        }
        for d in Direction::BOTH {
            if p.rules(d).is_empty() {
                continue;
            }
            if sel
                .iter()
                .all(|&i| !model.isolating(&pods[i], d).is_empty())
            {
                push(
                    out,
                    "tier-baseline-never-applies",
                    p,
                    format!("spec.{}", d.field()),
                    format!(
                        "every pod this Baseline policy selects ({}) is isolated for {} by a NetworkPolicy, which decides before the Baseline tier: its {} rules never apply",
                        sel.len(),
                        d.as_str(),
                        d.as_str()
                    ),
                );
            }
        }
    }
}

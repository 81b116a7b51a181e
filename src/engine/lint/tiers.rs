//! Checks of the cluster policy tiers (ClusterNetworkPolicy,
//! AdminNetworkPolicy, BaselineAdminNetworkPolicy): what the API accepts
//! but does nothing, or leaves to the implementation. Findings are about
//! cluster-scoped objects, named `kind/name` (no namespace).

use super::{ClusterScope, Finding, Out, severity_of};
use crate::engine::Model;
use crate::engine::policy::Direction;
use crate::engine::tier::cover::{self, Cover};
use crate::engine::tier::eval::subject_matches;
use crate::engine::tier::{Action, ClusterPolicy, Tier, TierPeer, TierRule};

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

/// Every tier check, on the cluster policies `scope` takes (the others
/// are context: a policy out of scope may still shadow one in scope).
pub fn tiers(model: &Model<'_>, scope: ClusterScope<'_>, out: &mut Out<'_>) {
    let policies: Vec<&ClusterPolicy> = model
        .cluster_policies
        .iter()
        .filter(|p| scope.includes(model, &p.reference(), Some(&p.subject)))
        .collect();
    // The pods (on the pod network) each policy's subject selects for
    // certain, by index into the snapshot's pods; in a namespace's scope,
    // that namespace's pods only.
    let pods = &model.snapshot.pods;
    let selected = |p: &ClusterPolicy| -> Vec<usize> {
        pods.iter()
            .enumerate()
            .filter(|(_, pod)| {
                scope.pod_in(pod) && subject_matches(model, &p.subject, pod) == Some(true)
            })
            .map(|(i, _)| i)
            .collect()
    };
    let in_namespace = match scope {
        ClusterScope::Namespace(ns) => format!(" in namespace {ns:?}"),
        _ => String::new(),
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
                        "every pod this Baseline policy selects{in_namespace} ({}) is isolated for {} by a NetworkPolicy, which decides before the Baseline tier: its {} rules never apply",
                        sel.len(),
                        d.as_str(),
                        d.as_str()
                    ),
                );
            }
        }
    }
    for p in &policies {
        shadowed(model, p, out);
    }
    for p in &policies {
        unusable(model, p, out);
    }
}

/// `tier-unusable-selector` and `tier-reversed-port-range`: what the API
/// server accepts in `p` but no implementation can use as written (see
/// [`crate::engine::tier::validate::unusable`]).
fn unusable(model: &Model<'_>, p: &ClusterPolicy, out: &mut Out<'_>) {
    let Some(object) = model
        .snapshot
        .cluster_policies
        .iter()
        .find(|o| o.kind == p.kind && o.name == p.name)
    else {
        return;
    };
    for e in crate::engine::tier::validate::unusable(p.api, &object.value) {
        let text = e.to_string();
        let problem = text
            .strip_prefix(&format!("{}: ", e.path))
            .unwrap_or(&text)
            .to_string();
        if e.path.ends_with("portRange") {
            push(
                out,
                "tier-reversed-port-range",
                p,
                e.path.clone(),
                format!(
                    "{problem}: the API server accepts it, but what an implementation matches is unknown (nothing, the ports between, or an error), so kubectl-netpol leaves the rule's answer on those ports undecided; write start below end"
                ),
            );
        } else {
            push(
                out,
                "tier-unusable-selector",
                p,
                e.path.clone(),
                format!(
                    "{problem}: the API server accepts this selector (the CRD does not check selector contents), but no implementation can convert it to a label selector, so what it selects is unknown and kubectl-netpol leaves the answers it may change undecided"
                ),
            );
        }
    }
}

/// `rule #2` (`rule #2 "allow-dns"` when it has a name).
fn rule_name(i: usize, rule: &TierRule) -> String {
    match &rule.name {
        Some(n) => format!("rule #{} {n:?}", i + 1),
        None => format!("rule #{}", i + 1),
    }
}

/// Whether rule `earlier`, reached first, certainly matches every
/// connection `later` matches. `domainNames` cover only in Accept rules
/// (implementations support them there only).
fn covers(earlier: &TierRule, later: &TierRule) -> bool {
    let names = |r: &TierRule| {
        r.peers
            .iter()
            .any(|p| matches!(p, TierPeer::DomainNames(_)))
    };
    cover::rule(earlier, later) == Cover::Yes && (earlier.action == Action::Accept || !names(later))
}

/// `tier-shadowed-rule`: each rule of `p` that an earlier rule decides
/// for every connection it matches. Earlier means: a rule before it in
/// `p`; a rule of a policy of the same tier with a lower priority number
/// whose subject holds `p`'s (any action: Pass too skips the rest of the
/// tier); an Accept or Deny rule of the Admin tier for a Baseline policy,
/// when no Admin Pass rule in that direction comes before it. Equal
/// priorities are `tier-equal-priority`'s; the BaselineAdminNetworkPolicy
/// and the Baseline ClusterNetworkPolicies are in no order.
fn shadowed(model: &Model<'_>, p: &ClusterPolicy, out: &mut Out<'_>) {
    let before = |q: &ClusterPolicy| match (q.priority, p.priority) {
        (Some(a), Some(b)) => q.tier == p.tier && a < b,
        _ => false,
    };
    let holds_subject = |q: &ClusterPolicy| cover::subject(&q.subject, &p.subject) == Cover::Yes;
    // The other policies evaluated first for every pod of `p`, in
    // evaluation order: Admin (for a Baseline policy), then its own tier.
    let mut first: Vec<&ClusterPolicy> = model
        .cluster_policies
        .iter()
        .filter(|q| !std::ptr::eq(*q, p))
        .filter(|q| (q.tier == Tier::Admin && p.tier == Tier::Baseline) || before(q))
        .filter(|q| holds_subject(q))
        .collect();
    first.sort_by_key(|q| (q.tier, q.priority));
    for d in Direction::BOTH {
        // An Admin Pass rule (any subject) at or before this priority
        // may hand connections on to the Baseline tier.
        let passes_by = |prio: Option<u32>| {
            model.cluster_policies.iter().any(|r| {
                r.tier == Tier::Admin
                    && r.priority <= prio
                    && r.rules(d).iter().any(|x| x.action == Action::Pass)
            })
        };
        let rules = p.rules(d);
        for (j, rule) in rules.iter().enumerate() {
            let across = first.iter().find_map(|q| {
                let cross = q.tier != p.tier;
                if cross && passes_by(q.priority) {
                    return None;
                }
                q.rules(d)
                    .iter()
                    .enumerate()
                    .find(|(_, e)| (!cross || e.action != Action::Pass) && covers(e, rule))
                    .map(|(i, e)| (*q, i, e))
            });
            let message = if let Some((q, i, e)) = across {
                let tier = match q.priority {
                    Some(prio) => format!("{} tier, priority {prio}", q.tier.as_str()),
                    None => format!("{} tier", q.tier.as_str()),
                };
                let why = if q.tier != p.tier {
                    format!(
                        "its {} is final: the Baseline tier never sees those connections",
                        e.action.as_str()
                    )
                } else if e.action == Action::Pass {
                    format!(
                        "its Pass skips the rest of the {} tier, this policy included",
                        q.tier.as_str()
                    )
                } else {
                    format!("its {} is final", e.action.as_str())
                };
                let fix = if q.tier != p.tier {
                    format!(
                        "if it is meant to decide some of them, it belongs in an Admin policy evaluated before {}; otherwise remove it",
                        q.reference()
                    )
                } else {
                    format!(
                        "if it is meant to decide some of them, narrow that rule or give this policy a priority number below {}; otherwise remove it",
                        q.priority.unwrap_or_default()
                    )
                };
                format!(
                    "{} {} {} is never reached: {} {} {} ({}), {tier}, is evaluated first for every pod this policy selects and already matches every peer and port it matches ({why}); {fix}",
                    p.reference(),
                    d.as_str(),
                    rule_name(j, rule),
                    q.reference(),
                    d.as_str(),
                    rule_name(i, e),
                    e.action.as_str(),
                )
            } else if let Some((i, e)) =
                rules[..j].iter().enumerate().find(|(_, e)| covers(e, rule))
            {
                let why = match e.action {
                    Action::Pass => {
                        format!(" (its Pass skips the rest of the {} tier)", p.tier.as_str())
                    }
                    _ => String::new(),
                };
                format!(
                    "{} {} {} is never reached: {} ({}) comes before it and already matches every peer and port it matches{why}; if it is meant to decide some of them, put it before {}; otherwise remove it",
                    p.reference(),
                    d.as_str(),
                    rule_name(j, rule),
                    rule_name(i, e),
                    e.action.as_str(),
                    rule_name(i, e),
                )
            } else {
                continue;
            };
            push(out, "tier-shadowed-rule", p, rule_path(d, j), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::engine::Model;
    use crate::engine::lint::{ClusterScope, LintOptions, lint};
    use crate::source::files::load_str;

    /// prod/web and dev/tool, elsewhere/ghost in a namespace not read;
    /// cluster policies for dev only, for every namespace, for prod web
    /// pods only, and an invalid one for dev.
    const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec: {containers: [{name: web, image: nginx}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: dev, labels: {app: tool}}
spec: {containers: [{name: tool, image: busybox}]}
status: {podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: ghost, namespace: elsewhere, labels: {app: ghost}}
spec: {containers: [{name: ghost, image: busybox}]}
status: {podIP: 10.0.3.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-np, namespace: prod}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: bl-dev}
spec:
  tier: Baseline
  priority: 5
  subject: {namespaces: {matchLabels: {env: dev}}}
  egress: [{action: Pass, to: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: eq-a}
spec:
  tier: Admin
  priority: 40
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{networks: [192.0.2.0/24]}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: eq-b}
spec:
  tier: Admin
  priority: 40
  subject: {pods: {podSelector: {}}}
  egress: [{action: Accept, to: [{networks: [198.51.100.0/24]}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: bl-all}
spec:
  tier: Baseline
  priority: 9
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: web-only}
spec:
  tier: Admin
  priority: 50
  subject: {pods: {namespaceSelector: {matchLabels: {env: prod}}, podSelector: {matchLabels: {app: web}}}}
  ingress:
  - {action: Deny, from: [{namespaces: {}}]}
  - {action: Accept, from: [{namespaces: {matchLabels: {env: dev}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: bad-dev}
spec:
  tier: Admin
  priority: 2000
  subject: {namespaces: {matchLabels: {env: dev}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
"#;

    fn findings(scope: ClusterScope<'_>) -> BTreeSet<(String, String)> {
        let snapshot = load_str("cluster.yaml", CLUSTER, "default").unwrap();
        let model = Model::new(&snapshot, "default");
        lint(
            &model,
            &LintOptions::default(),
            &|_| false,
            &|_, _| false,
            scope,
        )
        .into_iter()
        .map(|f| (f.check.to_string(), f.message))
        .collect()
    }

    /// `(check, object)` pairs, with the message's words `words` found in
    /// the finding of that check.
    fn has(found: &BTreeSet<(String, String)>, check: &str, words: &[&str]) -> bool {
        found
            .iter()
            .any(|(c, m)| c == check && words.iter().all(|w| m.contains(w)))
    }

    #[test]
    fn a_namespace_takes_the_cluster_policies_that_may_select_its_pods() {
        let all = findings(ClusterScope::All);
        let prod = findings(ClusterScope::Namespace("prod"));
        let dev = findings(ClusterScope::Namespace("dev"));
        let elsewhere = findings(ClusterScope::Namespace("elsewhere"));
        assert!(findings(ClusterScope::Nothing).is_empty());

        // bl-dev's Pass: dev's (and a namespace whose labels are unknown).
        let pass = |f: &BTreeSet<(String, String)>| has(f, "tier-pass-in-baseline", &[]);
        assert!(pass(&all) && pass(&dev) && pass(&elsewhere));
        assert!(!pass(&prod), "{prod:#?}");

        // eq-a and eq-b select every pod: their tie is about a pod of the
        // namespace in scope.
        let tie = "tier-equal-priority";
        assert!(has(&prod, tie, &["prod/web"]), "{prod:#?}");
        assert!(has(&dev, tie, &["dev/tool"]), "{dev:#?}");
        assert!(!has(&prod, tie, &["dev/tool"]), "{prod:#?}");

        // bl-all's ingress never applies to prod's pods (web-np isolates
        // them all), though it does to dev's: said for prod alone.
        let never = "tier-baseline-never-applies";
        assert!(!has(&all, never, &[]), "{all:#?}");
        assert!(
            has(&prod, never, &["in namespace \"prod\" (1)"]),
            "{prod:#?}"
        );
        assert!(!has(&dev, never, &[]), "{dev:#?}");

        // web-only selects prod's web pods: its shadowed rule is prod's.
        let shadow = "tier-shadowed-rule";
        assert!(has(&all, shadow, &["web-only ingress rule #2"]));
        assert!(has(&prod, shadow, &["web-only ingress rule #2"]));
        assert!(!has(&dev, shadow, &[]), "{dev:#?}");

        // The invalid policy for dev.
        let invalid = |f: &BTreeSet<(String, String)>| has(f, "invalid-policy", &[]);
        assert!(invalid(&all) && invalid(&dev) && invalid(&elsewhere));
        assert!(!invalid(&prod), "{prod:#?}");
    }
}

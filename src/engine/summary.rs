//! One English sentence per policy, e.g.
//! `namespace/backend allows api from frontend/web on TCP/8080`.
//!
//! The sentence must never claim more or less than the policy does, so
//! anything that does not read as a single name is printed in kubectl's
//! selector syntax instead of being simplified.

use crate::engine::policy::{Direction, NamespaceScope, Peer, Policy, PortSpec, PortValue, Rule};
use crate::engine::selector::Selector;

/// Label keys whose value names the pods (`app=api` reads as `api`): the
/// Kubernetes recommended labels, the conventional `app`/`name`/`component`,
/// `k8s-app` of the add-ons, and `run` set by `kubectl run`. Any other key
/// (`enabled=true`, `tier=db`) is shown as a selector, never as a name.
pub const NAME_KEYS: &[&str] = &[
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "k8s-app",
    "name",
    "component",
    "run",
];

/// The name a selector gives its pods: the value of its only requirement
/// when that is `KEY=VALUE` with `KEY` in [`NAME_KEYS`] and a non-empty
/// value; `None` otherwise.
pub fn selector_name(sel: &Selector) -> Option<&str> {
    sel.single_label()
        .filter(|(k, v)| !v.is_empty() && NAME_KEYS.contains(k))
        .map(|(_, v)| v)
}

/// How a pod selector reads: `api` for `app=api`, `all pods` for `{}`,
/// `pods [tier=db,app in (a,b)]` otherwise (also `pods [enabled=true]`:
/// only a name-like key gives a name, see [`NAME_KEYS`]).
pub fn pods_text(sel: &Selector) -> String {
    if sel.is_everything() {
        "all pods".to_string()
    } else if let Some(v) = selector_name(sel) {
        v.to_string()
    } else {
        format!("pods [{}]", sel.render())
    }
}

/// How one peer reads.
pub fn peer_text(peer: &Peer) -> String {
    match peer {
        Peer::IpBlock(b) => b.render(),
        Peer::Pods { namespaces, pods } => {
            let pods = pods.as_ref().filter(|s| !s.is_everything());
            if let Some(ns) = namespaces.single_name() {
                return match pods {
                    None => format!("all pods in {ns}"),
                    Some(s) => match selector_name(s) {
                        Some(v) => format!("{ns}/{v}"),
                        None => format!("{ns} pods [{}]", s.render()),
                    },
                };
            }
            let where_ = match namespaces {
                NamespaceScope::Selected(s) if s.is_everything() => "any namespace".to_string(),
                NamespaceScope::Selected(s) => format!("namespaces [{}]", s.render()),
                NamespaceScope::Own(ns) => ns.clone(),
            };
            match pods {
                None if where_ == "any namespace" => where_,
                None => format!("all pods in {where_}"),
                Some(s) => format!("{} in {where_}", pods_text(s)),
            }
        }
    }
}

/// `TCP/8080`, `TCP/8000-8100`, `TCP/http`, `all UDP ports`.
pub fn port_text(p: &PortSpec) -> String {
    match p.port {
        PortValue::Any => format!("all {} ports", p.protocol),
        _ => p.render(),
    }
}

/// `from frontend/web or 10.0.0.0/8 on TCP/8080`. `any_port` spells out
/// "on any port" for a rule without ports (needed when other rules follow,
/// so their ports do not seem to apply to this one).
pub fn rule_text(d: Direction, rule: &Rule, any_port: bool) -> String {
    let word = match d {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let peers = match &rule.peers {
        None => "anywhere".to_string(),
        Some(list) => join_or(&list.iter().map(peer_text).collect::<Vec<_>>()),
    };
    match &rule.ports {
        None if any_port => format!("{word} {peers} on any port"),
        None => format!("{word} {peers}"),
        Some(ports) => format!(
            "{word} {peers} on {}",
            ports.iter().map(port_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn join_or(items: &[String]) -> String {
    items.join(" or ")
}

/// The one-line summary of a policy.
pub fn summary(p: &Policy) -> String {
    let target = pods_text(&p.pod_selector);
    let deny_in = p.ingress.as_ref().is_some_and(Vec::is_empty);
    let deny_out = p.egress.as_ref().is_some_and(Vec::is_empty);
    let mut clauses = Vec::new();
    if deny_in && deny_out {
        clauses.push(format!("denies all ingress and egress for {target}"));
    } else {
        for d in Direction::BOTH {
            let Some(rules) = p.rules(d) else { continue };
            if rules.is_empty() {
                clauses.push(match d {
                    Direction::Ingress => format!("denies all ingress to {target}"),
                    Direction::Egress => format!("denies all egress from {target}"),
                });
            } else {
                let many = rules.len() > 1;
                let parts: Vec<String> = rules.iter().map(|r| rule_text(d, r, many)).collect();
                clauses.push(format!("allows {target} {}", parts.join(" and ")));
            }
        }
    }
    format!("namespace/{} {}", p.namespace, clauses.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::NetworkPolicy;

    fn summarize(spec: &str) -> String {
        let yaml = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: backend}}\nspec:\n{spec}"
        );
        let np: NetworkPolicy = serde_yaml_ng::from_str(&yaml).unwrap();
        summary(&Policy::compile(&np, "default").unwrap())
    }

    #[test]
    fn sentences_say_exactly_what_the_policy_does() {
        let cases = [
            (
                "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}\n      podSelector: {matchLabels: {app: web}}\n    ports: [{port: 8080}]\n",
                "namespace/backend allows api from frontend/web on TCP/8080",
            ),
            (
                "  podSelector: {}\n  policyTypes: [Ingress]\n",
                "namespace/backend denies all ingress to all pods",
            ),
            (
                "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
                "namespace/backend denies all ingress and egress for all pods",
            ),
            (
                "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n      podSelector: {matchLabels: {k8s-app: kube-dns}}\n    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n",
                "namespace/backend allows api to kube-system/kube-dns on UDP/53, TCP/53",
            ),
            (
                "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n",
                "namespace/backend allows api from 10.0.0.0/8 except 10.1.0.0/16",
            ),
            (
                "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n",
                "namespace/backend allows api from any namespace",
            ),
            // Egress rules without policyTypes also isolate ingress: the
            // sentence must say so.
            (
                "  podSelector: {matchLabels: {app: api}}\n  egress:\n  - to:\n    - podSelector: {matchLabels: {app: db}}\n",
                "namespace/backend denies all ingress to api; allows api to backend/db",
            ),
            // Two peers in one rule are OR; a selector with two labels is not
            // shortened to a single name.
            (
                "  podSelector: {matchLabels: {app: api, tier: x}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {app: web}}\n    - namespaceSelector: {matchLabels: {team: a}}\n    ports: [{port: 8000, endPort: 8100}, {protocol: UDP}]\n",
                "namespace/backend allows pods [app=api,tier=x] from backend/web or all pods in namespaces [team=a] on TCP/8000-8100, all UDP ports",
            ),
            (
                "  podSelector: {}\n  ingress:\n  - {}\n",
                "namespace/backend allows all pods from anywhere",
            ),
            // Only a name-like key gives a name: `enabled=true` is not a pod
            // called "true", in the target or in a peer.
            (
                "  podSelector: {matchLabels: {enabled: \"true\"}}\n  policyTypes: [Ingress]\n",
                "namespace/backend denies all ingress to pods [enabled=true]",
            ),
            (
                "  podSelector: {matchLabels: {tier: db}}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {role: \"1\"}}\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}\n      podSelector: {matchLabels: {scrape: \"yes\"}}\n",
                "namespace/backend allows pods [tier=db] from backend pods [role=1] or ops pods [scrape=yes]",
            ),
            (
                "  podSelector: {matchLabels: {app.kubernetes.io/name: shop}}\n  egress:\n  - to:\n    - podSelector: {matchLabels: {k8s-app: kube-dns}}\n      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n    - podSelector: {matchLabels: {run: probe}}\n  policyTypes: [Egress]\n",
                "namespace/backend allows shop to kube-system/kube-dns or backend/probe",
            ),
            (
                "  podSelector: {matchExpressions: [{key: app, operator: In, values: [b, a]}]}\n  ingress:\n  - from:\n    - podSelector: {matchExpressions: [{key: track, operator: Exists}]}\n    ports: [{port: http}]\n",
                "namespace/backend allows pods [app in (a,b)] from backend pods [track] on TCP/http",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(summarize(spec), want, "spec:\n{spec}");
        }
    }
}

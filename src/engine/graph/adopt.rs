//! The reverse of [`super::generate`]: the service graph today's
//! NetworkPolicies imply, as a starting point for adopting `sync`. Pure.
//!
//! - Every distinct (namespace, podSelector) a policy selects is a
//!   service, named after its `app`-like label (unique in the graph).
//!   A policy that selects every pod of its namespace and admits nothing
//!   is that namespace's default deny instead.
//! - A rule's peer that is a service of the graph (the same namespace and
//!   pod selector) is an edge with the rule's ports; any other pods of a
//!   namespace named by `kubernetes.io/metadata.name` are an external
//!   peer (`spec.ingress` / `spec.egress` with `namespace`), an ipBlock a
//!   `cidr` peer (with its `except`).
//! - Egress to the DNS pods on port 53 is the graph's DNS, not an edge.
//!
//! What a graph cannot say is left out and named in a warning: peers
//! chosen by namespace labels other than the name (or every namespace),
//! rules admitting every peer, named ports toward address ranges,
//! services isolated in a direction the graph's policyTypes do not
//! isolate (or the reverse), services that select no pod, edges one side
//! admits and the other side's isolation would still refuse.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    EdgeSpec, EgressSpec, ExternalPeer, GraphSpec, IngressSpec, NamespaceSpec, ServiceGraph,
    ServiceSpec,
};
use crate::engine::selector::Selector;
use crate::snapshot::{NAMESPACE_NAME_LABEL, Snapshot};

/// The labels a service is named after, in this order.
const NAME_KEYS: [&str; 4] = ["app", "app.kubernetes.io/name", "k8s-app", "name"];

fn key(np: &NetworkPolicy) -> String {
    format!(
        "{}/{}",
        np.metadata.namespace.as_deref().unwrap_or_default(),
        np.metadata.name.as_deref().unwrap_or_default()
    )
}

fn selector_json(s: &LabelSelector) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn is_empty_selector(s: &LabelSelector) -> bool {
    s.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && s.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}

/// A DNS label from `text`: lowercase alphanumerics and `-`, at most 40
/// characters, never empty.
fn label(text: &str) -> String {
    let mut s: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s = s.trim_matches('-').to_string();
    s.truncate(40);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "pods".to_string() } else { s }
}

fn service_name(s: &LabelSelector) -> String {
    let labels = s.match_labels.clone().unwrap_or_default();
    for k in NAME_KEYS {
        if let Some(v) = labels.get(k) {
            return label(v);
        }
    }
    match labels.values().next() {
        Some(v) => label(v),
        None if is_empty_selector(s) => "all".to_string(),
        None => "pods".to_string(),
    }
}

/// The namespace a peer's namespaceSelector names by
/// `kubernetes.io/metadata.name` alone; `Err` with why when it selects
/// namespaces some other way.
fn named_namespace(sel: &LabelSelector) -> Result<String, String> {
    let labels = sel.match_labels.clone().unwrap_or_default();
    let exprs = sel.match_expressions.clone().unwrap_or_default();
    if exprs.is_empty()
        && labels.len() == 1
        && let Some(ns) = labels.get(NAMESPACE_NAME_LABEL)
    {
        return Ok(ns.clone());
    }
    if exprs.len() == 1 && labels.is_empty() {
        let e = &exprs[0];
        if e.key == NAMESPACE_NAME_LABEL
            && e.operator == "In"
            && e.values.as_ref().is_some_and(|v| v.len() == 1)
        {
            return Ok(e.values.as_ref().unwrap()[0].clone());
        }
    }
    if is_empty_selector(sel) {
        Err("selects every namespace".into())
    } else {
        Err(format!(
            "selects namespaces by {} (a graph names each namespace)",
            Selector::compile(sel)
                .map(|s| s.render())
                .unwrap_or_else(|_| selector_json(sel))
        ))
    }
}

/// Ports as a graph writes them: no ports is every port of every
/// protocol.
fn graph_ports(ports: Option<&Vec<NetworkPolicyPort>>) -> Vec<NetworkPolicyPort> {
    match ports {
        Some(p) if !p.is_empty() => p.clone(),
        _ => ["TCP", "UDP", "SCTP"]
            .into_iter()
            .map(|proto| NetworkPolicyPort {
                protocol: Some(proto.into()),
                port: None,
                end_port: None,
            })
            .collect(),
    }
}

fn is_dns_rule(ports: Option<&Vec<NetworkPolicyPort>>) -> bool {
    ports.is_some_and(|p| {
        !p.is_empty()
            && p.iter().all(|p| {
                matches!(p.port, Some(IntOrString::Int(53)))
                    || matches!(&p.port, Some(IntOrString::String(s)) if s.starts_with("dns"))
            })
    })
}

/// One end of a rule, seen from the policy's namespace.
enum End {
    Service(String),
    External(ExternalPeer),
}

/// The graph of `snapshot`'s policies, named `name`, and the warnings
/// naming what it could not say. `None` when no policy is valid.
pub fn adopt(snapshot: &Snapshot, name: &str) -> (Option<ServiceGraph>, Vec<String>) {
    let mut warnings = Vec::new();
    let policies: Vec<&NetworkPolicy> = snapshot
        .policies
        .iter()
        .filter(|p| {
            let errors = crate::engine::validate::network_policy(p);
            if !errors.is_empty() {
                warnings.push(format!(
                    "NetworkPolicy {} is invalid and left out: {}",
                    key(p),
                    errors[0]
                ));
            }
            errors.is_empty()
        })
        .collect();
    // Directions per policy (effective policyTypes).
    let types = |np: &NetworkPolicy| -> (bool, bool) {
        let spec = np.spec.clone().unwrap_or_default();
        match &spec.policy_types {
            Some(t) => (
                t.iter().any(|t| t == "Ingress"),
                t.iter().any(|t| t == "Egress"),
            ),
            None => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
        }
    };
    // Default denies, then services.
    let mut deny: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut services: BTreeMap<(String, String), (String, LabelSelector, bool, bool)> =
        BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for np in &policies {
        let ns = np.metadata.namespace.clone().unwrap_or_default();
        let spec = np.spec.clone().unwrap_or_default();
        let sel = spec.pod_selector.clone().unwrap_or_default();
        let (ing, eg) = types(np);
        let no_rules = spec.ingress.as_ref().is_none_or(|r| r.is_empty())
            && spec
                .egress
                .as_ref()
                .is_none_or(|r| r.is_empty() || r.iter().all(|r| is_dns_rule(r.ports.as_ref())));
        if is_empty_selector(&sel) && no_rules {
            let d = deny.entry(ns).or_default();
            d.0 |= ing;
            d.1 |= eg;
            continue;
        }
        let k = (ns.clone(), selector_json(&sel));
        let entry = services.entry(k).or_insert_with(|| {
            let base = service_name(&sel);
            let mut n = base.clone();
            let mut i = 2;
            while used.contains(&n) {
                n = format!("{base}-{i}");
                i += 1;
            }
            used.insert(n.clone());
            (n, sel.clone(), false, false)
        });
        entry.2 |= ing;
        entry.3 |= eg;
    }
    if services.is_empty() && deny.is_empty() {
        return (None, warnings);
    }
    let any_egress = services.values().any(|s| s.3) || deny.values().any(|d| d.1);
    let any_ingress = services.values().any(|s| s.2) || deny.values().any(|d| d.0);
    let find = |ns: &str, sel: &LabelSelector| -> Option<String> {
        services
            .get(&(ns.to_string(), selector_json(sel)))
            .map(|s| s.0.clone())
    };
    // Each peer, from the policy's namespace `home`.
    let end = |home: &str, peer: &NetworkPolicyPeer| -> Result<End, String> {
        if let Some(b) = &peer.ip_block {
            return Ok(End::External(ExternalPeer {
                cidr: Some(b.cidr.clone()),
                except: b.except.clone().filter(|e| !e.is_empty()),
                ..Default::default()
            }));
        }
        let ns = match &peer.namespace_selector {
            None => home.to_string(),
            Some(sel) => named_namespace(sel)?,
        };
        let pods = peer.pod_selector.clone().unwrap_or_default();
        match find(&ns, &pods) {
            Some(s) => Ok(End::Service(s)),
            None => Ok(End::External(ExternalPeer {
                namespace: Some(ns),
                pod_selector: (!is_empty_selector(&pods)).then_some(pods),
                ..Default::default()
            })),
        }
    };
    let mut edges: BTreeMap<(String, String), Vec<NetworkPolicyPort>> = BTreeMap::new();
    // Which side admitted each edge: (by ingress, by egress).
    let mut sides: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
    let mut ingress: Vec<IngressSpec> = Vec::new();
    let mut egress: Vec<EgressSpec> = Vec::new();
    let mut dns_of: BTreeSet<String> = BTreeSet::new();
    let add = |list: &mut Vec<NetworkPolicyPort>, ports: Vec<NetworkPolicyPort>| {
        for p in ports {
            if !list.contains(&p) {
                list.push(p);
            }
        }
    };
    for np in &policies {
        let ns = np.metadata.namespace.clone().unwrap_or_default();
        let spec = np.spec.clone().unwrap_or_default();
        let sel = spec.pod_selector.clone().unwrap_or_default();
        let Some(me) = find(&ns, &sel) else { continue };
        let (ing, eg) = types(np);
        for (i, rule) in spec.ingress.iter().flatten().enumerate() {
            if !ing {
                break;
            }
            let at = format!("NetworkPolicy {} spec.ingress[{i}]", key(np));
            let Some(from) = rule.from.as_ref().filter(|f| !f.is_empty()) else {
                warnings.push(format!(
                    "{at} admits every source: a graph names its peers; left out"
                ));
                continue;
            };
            let ports = graph_ports(rule.ports.as_ref());
            let mut outside = Vec::new();
            for (j, peer) in from.iter().enumerate() {
                match end(&ns, peer) {
                    Ok(End::Service(s)) => {
                        add(
                            edges.entry((s.clone(), me.clone())).or_default(),
                            ports.clone(),
                        );
                        sides.entry((s, me.clone())).or_default().0 = true;
                    }
                    Ok(End::External(p)) => outside.push(p),
                    Err(why) => warnings.push(format!("{at}.from[{j}] {why}; left out")),
                }
            }
            if !outside.is_empty() {
                ingress.push(IngressSpec {
                    to: me.clone(),
                    from: outside,
                    ports,
                });
            }
        }
        for (i, rule) in spec.egress.iter().flatten().enumerate() {
            if !eg {
                break;
            }
            let at = format!("NetworkPolicy {} spec.egress[{i}]", key(np));
            if is_dns_rule(rule.ports.as_ref()) {
                dns_of.insert(me.clone());
                continue;
            }
            let Some(to) = rule.to.as_ref().filter(|t| !t.is_empty()) else {
                warnings.push(format!(
                    "{at} admits every destination: a graph names its peers; left out"
                ));
                continue;
            };
            let ports = graph_ports(rule.ports.as_ref());
            let mut outside = Vec::new();
            for (j, peer) in to.iter().enumerate() {
                match end(&ns, peer) {
                    Ok(End::Service(s)) => {
                        add(
                            edges.entry((me.clone(), s.clone())).or_default(),
                            ports.clone(),
                        );
                        sides.entry((me.clone(), s)).or_default().1 = true;
                    }
                    Ok(End::External(p)) => {
                        let named = ports
                            .iter()
                            .any(|p| matches!(p.port, Some(IntOrString::String(_))));
                        if p.cidr.is_some() && named {
                            warnings.push(format!(
                                "{at}.to[{j}]: a named port toward an address range matches nothing (no pod to resolve it on); left out"
                            ));
                        } else {
                            outside.push(p);
                        }
                    }
                    Err(why) => warnings.push(format!("{at}.to[{j}] {why}; left out")),
                }
            }
            if !outside.is_empty() {
                egress.push(EgressSpec {
                    from: me.clone(),
                    to: outside,
                    ports,
                });
            }
        }
    }
    // Directions: the graph isolates the same ones for every service.
    let mut policy_types = Vec::new();
    if any_ingress {
        policy_types.push("Ingress".to_string());
    }
    if any_egress {
        policy_types.push("Egress".to_string());
    }
    let mut out_services = Vec::new();
    let mut by_name: BTreeMap<String, (bool, bool, String)> = BTreeMap::new();
    for ((ns, _), (n, sel, ing, eg)) in &services {
        if any_ingress && !ing && !deny.get(ns).is_some_and(|d| d.0) {
            warnings.push(format!(
                "service {n} ({ns}, pods {}): no policy isolates its ingress today; the graph isolates it (only its edges reach it)",
                Selector::compile(sel).map(|s| s.render()).unwrap_or_default()
            ));
        }
        if any_egress && !eg && !deny.get(ns).is_some_and(|d| d.1) {
            warnings.push(format!(
                "service {n} ({ns}): no policy isolates its egress today; the graph isolates it (only its edges and DNS leave it)"
            ));
        }
        if !snapshot.pods.is_empty()
            && snapshot.gaps.pods_refused_in(ns).is_none()
            && let Ok(compiled) = Selector::compile(sel)
            && !snapshot
                .pods
                .iter()
                .any(|p| &p.namespace == ns && compiled.matches(&p.labels))
        {
            warnings.push(format!(
                "service {n} ({ns}) selects no pod today: check its podSelector"
            ));
        }
        by_name.insert(n.clone(), (*ing, *eg, ns.clone()));
        out_services.push(ServiceSpec {
            name: n.clone(),
            namespace: ns.clone(),
            pod_selector: Some(sel.clone()),
            workload: None,
            // A managed default deny admits DNS to every pod of its
            // namespace: a service there cannot go without.
            dns: (any_egress && *eg && !dns_of.contains(n) && !deny.get(ns).is_some_and(|d| d.1))
                .then_some(false),
        });
    }
    out_services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    // An edge one side admits while the other side is isolated and does
    // not: today's connection is refused; the graph opens it.
    for ((from, to), (by_ingress, by_egress)) in &sides {
        let to_isolated = by_name.get(to).is_some_and(|s| s.0);
        let from_isolated = by_name.get(from).is_some_and(|s| s.1);
        if *by_egress && !by_ingress && to_isolated {
            warnings.push(format!(
                "edge {from} -> {to}: {from}'s egress admits it, {to}'s ingress does not today; the graph admits it on both sides"
            ));
        }
        if *by_ingress && !by_egress && from_isolated {
            warnings.push(format!(
                "edge {from} -> {to}: {to}'s ingress admits it, {from}'s egress does not today; the graph admits it on both sides"
            ));
        }
    }
    let namespaces: Vec<NamespaceSpec> = deny
        .iter()
        .map(|(ns, (i, e))| {
            if (*i, *e) != (any_ingress, any_egress) {
                warnings.push(format!(
                    "namespace {ns}: its default deny isolates {}; the graph's isolates {}",
                    [(*i, "ingress"), (*e, "egress")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, w)| *w)
                        .collect::<Vec<_>>()
                        .join(" and "),
                    policy_types.join(" and ").to_lowercase()
                ));
            }
            NamespaceSpec {
                name: ns.clone(),
                default_deny: Some(true),
            }
        })
        .collect();
    let graph = ServiceGraph {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        spec: GraphSpec {
            policy_types: (policy_types.len() == 1).then_some(policy_types),
            dns: None,
            namespaces,
            services: out_services,
            edges: edges
                .into_iter()
                .map(|((from, to), ports)| EdgeSpec { from, to, ports })
                .collect(),
            ingress,
            egress,
        },
    };
    (Some(graph), warnings)
}

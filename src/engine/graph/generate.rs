//! Graph -> the NetworkPolicies it implies: least privilege, one policy
//! per service and direction, deterministic.
//!
//! For every service, in its namespace:
//! - `<graph>-<service>-ingress` (when the graph isolates ingress): the
//!   service's pods; one rule per service with an edge to it (sorted by
//!   that service's name; the ports of all its edges, in the order
//!   written, duplicates dropped), then one rule per `spec.ingress` entry
//!   for it (in the order written). No rule: all ingress denied.
//! - `<graph>-<service>-egress` (when the graph isolates egress): one rule
//!   per service it has an edge to (sorted by name), then one per
//!   `spec.egress` entry, then DNS (unless off for it). No rule: all
//!   egress denied.
//!
//! So every declared service is isolated, and what reaches it or leaves it
//! is exactly its edges (a service with no edge at all still gets both
//! policies: it may receive and send nothing but DNS). For every
//! namespace of `spec.namespaces` with `defaultDeny: true`,
//! `<graph>-default-deny` isolates every pod of it in the graph's
//! directions, admitting DNS egress when the graph's DNS is on (so no pod
//! it isolates is left unable to resolve names).
//!
//! A peer in the policy's own namespace is a plain `podSelector`; in
//! another, the namespace is picked by its `kubernetes.io/metadata.name`
//! label (every namespace carries it). Each policy carries the labels
//! [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY`] and [`GRAPH_LABEL`]`=<graph>`, and,
//! when the graph object has a `metadata.uid` (it was read from the
//! cluster), an ownerReference to it: deleting the graph deletes its
//! policies through the garbage collector.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::resolve::Resolved;
use super::{
    API_VERSION, ExternalPeer, GRAPH_LABEL, KIND, MANAGED_BY, MANAGED_BY_LABEL, ServiceGraph,
};
use crate::snapshot::NAMESPACE_NAME_LABEL;

/// What a generated policy is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The traffic into the named service.
    Ingress(String),
    /// The traffic out of the named service.
    Egress(String),
    /// The namespace's default deny.
    DefaultDeny,
}

/// One policy the graph implies.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPolicy {
    pub role: Role,
    /// Complete: `apiVersion`/`kind` are implied by the type, metadata
    /// holds name, namespace, labels (and the ownerReference).
    pub policy: NetworkPolicy,
}

impl DesiredPolicy {
    pub fn namespace(&self) -> &str {
        self.policy
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.policy.metadata.name.as_deref().unwrap_or_default()
    }

    /// `(namespace, name)`: what identifies the policy in a cluster.
    pub fn key(&self) -> (String, String) {
        (self.namespace().to_string(), self.name().to_string())
    }

    /// The one-line summary of the policy (`engine::summary`), e.g.
    /// `namespace/backend allows api from frontend/web on TCP/http`.
    pub fn summary(&self) -> String {
        match crate::engine::policy::Policy::compile(&self.policy, self.namespace()) {
            Ok(p) => crate::engine::summary::summary(&p),
            Err(e) => format!("namespace/{} (cannot be summarised: {e})", self.namespace()),
        }
    }
}

/// The name of the policy for `role` in graph `graph`:
/// `<graph>-<service>-ingress`, `<graph>-<service>-egress`,
/// `<graph>-default-deny`.
pub fn policy_name(graph: &str, role: &Role) -> String {
    match role {
        Role::Ingress(s) => format!("{graph}-{s}-ingress"),
        Role::Egress(s) => format!("{graph}-{s}-egress"),
        Role::DefaultDeny => format!("{graph}-default-deny"),
    }
}

/// The labels every policy of graph `graph` carries.
pub fn labels(graph: &str) -> BTreeMap<String, String> {
    [
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (GRAPH_LABEL.to_string(), graph.to_string()),
    ]
    .into()
}

fn namespace_selector(namespace: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some([(NAMESPACE_NAME_LABEL.to_string(), namespace.to_string())].into()),
        match_expressions: None,
    }
}

/// Pods `pods` (every pod when `None`) of `namespace`, seen from a policy
/// in `home`.
fn pods_peer(home: &str, namespace: &str, pods: Option<&LabelSelector>) -> NetworkPolicyPeer {
    if home == namespace {
        NetworkPolicyPeer {
            pod_selector: Some(pods.cloned().unwrap_or_default()),
            ..Default::default()
        }
    } else {
        NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector(namespace)),
            pod_selector: pods.cloned(),
            ip_block: None,
        }
    }
}

fn external_peer(home: &str, p: &ExternalPeer) -> NetworkPolicyPeer {
    match (&p.cidr, &p.namespace) {
        (Some(cidr), _) => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: p.except.clone().filter(|e| !e.is_empty()),
            }),
            ..Default::default()
        },
        (None, Some(ns)) => pods_peer(home, ns, p.pod_selector.as_ref()),
        // Refused by validation.
        (None, None) => NetworkPolicyPeer::default(),
    }
}

/// Ports as a policy writes them: protocol always given, duplicates
/// dropped, the order kept.
fn ports<'a>(lists: impl IntoIterator<Item = &'a NetworkPolicyPort>) -> Vec<NetworkPolicyPort> {
    let mut out: Vec<NetworkPolicyPort> = Vec::new();
    for p in lists {
        let p = NetworkPolicyPort {
            protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
            port: p.port.clone(),
            end_port: p.end_port,
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The NetworkPolicies `graph` implies, sorted by namespace then name
/// (see the module's documentation). `graph` must be valid (see
/// [`super::parse`]) and `resolved` hold a selector for every service
/// (see [`super::resolve::resolve`]); a service without one is left out.
pub fn desired(graph: &ServiceGraph, resolved: &Resolved) -> Vec<DesiredPolicy> {
    let name = graph.name();
    let spec = &graph.spec;
    let owner = graph.metadata.uid.as_ref().map(|uid| OwnerReference {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        name: name.to_string(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    });
    let make = |role: Role, namespace: &str, spec: NetworkPolicySpec| DesiredPolicy {
        policy: NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(policy_name(name, &role)),
                namespace: Some(namespace.to_string()),
                labels: Some(labels(name)),
                owner_references: owner.clone().map(|o| vec![o]),
                ..Default::default()
            },
            spec: Some(spec),
        },
        role,
    };
    let dns_rule = |home: &str| NetworkPolicyEgressRule {
        to: Some(vec![pods_peer(
            home,
            &resolved.dns.namespace,
            Some(&resolved.dns.pod_selector),
        )]),
        ports: Some(resolved.dns.ports.clone()),
    };
    let mut out = Vec::new();
    for s in &spec.services {
        let Some(own) = resolved.selectors.get(&s.name) else {
            continue;
        };
        let home = s.namespace.as_str();
        let peer = |other: &str| -> Option<NetworkPolicyPeer> {
            let o = graph.service(other)?;
            let pods = resolved.selectors.get(other)?;
            Some(pods_peer(home, &o.namespace, Some(pods)))
        };
        if graph.isolates_ingress() {
            // Edges into the service, grouped by source, sorted by name.
            let mut by_source: BTreeMap<&str, Vec<&NetworkPolicyPort>> = BTreeMap::new();
            for e in spec.edges.iter().filter(|e| e.to == s.name) {
                by_source.entry(&e.from).or_default().extend(&e.ports);
            }
            let mut rules: Vec<NetworkPolicyIngressRule> = by_source
                .into_iter()
                .filter_map(|(from, list)| {
                    Some(NetworkPolicyIngressRule {
                        from: Some(vec![peer(from)?]),
                        ports: Some(ports(list)),
                    })
                })
                .collect();
            rules.extend(spec.ingress.iter().filter(|x| x.to == s.name).map(|x| {
                NetworkPolicyIngressRule {
                    from: Some(x.from.iter().map(|p| external_peer(home, p)).collect()),
                    ports: Some(ports(&x.ports)),
                }
            }));
            out.push(make(
                Role::Ingress(s.name.clone()),
                home,
                NetworkPolicySpec {
                    pod_selector: Some(own.clone()),
                    ingress: (!rules.is_empty()).then_some(rules),
                    egress: None,
                    policy_types: Some(vec!["Ingress".into()]),
                },
            ));
        }
        if graph.isolates_egress() {
            let mut by_dest: BTreeMap<&str, Vec<&NetworkPolicyPort>> = BTreeMap::new();
            for e in spec.edges.iter().filter(|e| e.from == s.name) {
                by_dest.entry(&e.to).or_default().extend(&e.ports);
            }
            let mut rules: Vec<NetworkPolicyEgressRule> = by_dest
                .into_iter()
                .filter_map(|(to, list)| {
                    Some(NetworkPolicyEgressRule {
                        to: Some(vec![peer(to)?]),
                        ports: Some(ports(list)),
                    })
                })
                .collect();
            rules.extend(spec.egress.iter().filter(|x| x.from == s.name).map(|x| {
                NetworkPolicyEgressRule {
                    to: Some(x.to.iter().map(|p| external_peer(home, p)).collect()),
                    ports: Some(ports(&x.ports)),
                }
            }));
            if graph.service_dns(s) {
                rules.push(dns_rule(home));
            }
            out.push(make(
                Role::Egress(s.name.clone()),
                home,
                NetworkPolicySpec {
                    pod_selector: Some(own.clone()),
                    ingress: None,
                    egress: (!rules.is_empty()).then_some(rules),
                    policy_types: Some(vec!["Egress".into()]),
                },
            ));
        }
    }
    for n in spec
        .namespaces
        .iter()
        .filter(|n| n.default_deny == Some(true))
    {
        let mut types = Vec::new();
        if graph.isolates_ingress() {
            types.push("Ingress".to_string());
        }
        let mut egress = None;
        if graph.isolates_egress() {
            types.push("Egress".to_string());
            if graph.dns_enabled() {
                egress = Some(vec![dns_rule(&n.name)]);
            }
        }
        out.push(make(
            Role::DefaultDeny,
            &n.name,
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                ingress: None,
                egress,
                policy_types: Some(types),
            },
        ));
    }
    out.sort_by_key(DesiredPolicy::key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::graph::resolve::{Environment, Resolution, Workloads, resolve};
    use crate::snapshot::Snapshot;

    /// The shop's DNS pods, the api (named ports http and metrics) and
    /// postgres, as manifests.
    const CLUSTER: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
      - name: coredns
        image: coredns
        ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: backend}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, version: v5}}
    spec:
      containers:
      - {name: api, image: api, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres, namespace: backend}
spec:
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers:
      - {name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: frontend, labels: {app: web}}
spec:
  containers: [{name: web, image: web}]
";

    /// A graph with `spec` under the usual header.
    fn graph(spec: &str) -> ServiceGraph {
        let text = format!(
            "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata:\n  name: shop\nspec:\n{spec}"
        );
        let value: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
        crate::engine::graph::parse(&value).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn environment(cluster: &str) -> (Snapshot, Workloads) {
        let snapshot =
            crate::source::files::load_str("cluster.yaml", cluster, "default").expect("cluster");
        let mut workloads = Workloads::new();
        for doc in serde_yaml_ng::Deserializer::from_str(cluster) {
            let v = <serde_json::Value as serde::Deserialize>::deserialize(doc).expect("YAML");
            let field = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default();
            if v.pointer("/spec/template").is_some() || v.pointer("/spec/jobTemplate").is_some() {
                let key = (
                    field("/kind").to_string(),
                    field("/metadata/namespace").to_string(),
                    field("/metadata/name").to_string(),
                );
                workloads.insert(key, v.clone());
            }
        }
        (snapshot, workloads)
    }

    fn resolution(g: &ServiceGraph, cluster: &str) -> Resolution {
        let (snapshot, workloads) = environment(cluster);
        let env = Environment {
            snapshot: &snapshot,
            workloads: &workloads,
            source: "the input",
        };
        resolve(g, &env).unwrap_or_else(|e| panic!("unresolved: {e:?}"))
    }

    /// `name: summary` of each policy.
    fn summaries(g: &ServiceGraph, cluster: &str) -> Vec<String> {
        desired(g, &resolution(g, cluster).resolved)
            .iter()
            .map(|p| format!("{}: {}", p.name(), p.summary()))
            .collect()
    }

    const SERVICES: &str = "  services:
  - {name: web, namespace: frontend, podSelector: {matchLabels: {app: web}}}
  - {name: api, namespace: backend, workload: deployment/api}
  - {name: db, namespace: backend, workload: statefulset/postgres}
";

    #[test]
    fn graphs_to_policies() {
        let dns = "kube-system/kube-dns on UDP/53, TCP/53";
        let cases: Vec<(&str, String, String, Vec<String>)> = vec![
            (
                "named ports stay names (resolved on the destination's pods), cross-namespace edges pick the namespace by name",
                format!("{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n  - {{from: api, to: db, ports: [{{port: pg}}, {{port: 5432}}]}}\n"),
                CLUSTER.into(),
                vec![
                    format!("shop-api-egress: namespace/backend allows api to backend/postgres on TCP/pg, TCP/5432 and to {dns}"),
                    "shop-api-ingress: namespace/backend allows api from frontend/web on TCP/http".into(),
                    format!("shop-db-egress: namespace/backend allows postgres to {dns}"),
                    "shop-db-ingress: namespace/backend allows postgres from backend/api on TCP/pg, TCP/5432".into(),
                    format!("shop-web-egress: namespace/frontend allows web to backend/api on TCP/http and to {dns}"),
                    "shop-web-ingress: namespace/frontend denies all ingress to web".into(),
                ],
            ),
            (
                "external CIDRs with except, both ways; ranges and protocol-only ports",
                format!("{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: 8000, endPort: 8100}}, {{protocol: UDP}}]}}\n  ingress:\n  - {{to: web, from: [{{cidr: 10.0.0.0/8, except: [10.244.0.0/16]}}, {{namespace: ingress-nginx, podSelector: {{matchLabels: {{app: nginx}}}}}}], ports: [{{port: 443}}]}}\n  egress:\n  - {{from: api, to: [{{cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.169.254/32]}}], ports: [{{port: 443}}]}}\n"),
                CLUSTER.into(),
                vec![
                    format!("shop-api-egress: namespace/backend allows api to 0.0.0.0/0 except [10.0.0.0/8, 169.254.169.254/32] on TCP/443 and to {dns}"),
                    "shop-api-ingress: namespace/backend allows api from frontend/web on TCP/8000-8100, all UDP ports".into(),
                    format!("shop-db-egress: namespace/backend allows postgres to {dns}"),
                    "shop-db-ingress: namespace/backend denies all ingress to postgres".into(),
                    format!("shop-web-egress: namespace/frontend allows web to backend/api on TCP/8000-8100, all UDP ports and to {dns}"),
                    "shop-web-ingress: namespace/frontend allows web from 10.0.0.0/8 except 10.244.0.0/16 or ingress-nginx/nginx on TCP/443".into(),
                ],
            ),
            (
                "DNS on a non-standard port: CoreDNS listening on 5353 behind the kube-dns Service",
                SERVICES.to_string(),
                format!("{CLUSTER}---\napiVersion: v1\nkind: Service\nmetadata: {{name: kube-dns, namespace: kube-system}}\nspec:\n  selector: {{k8s-app: kube-dns}}\n  ports: [{{name: dns, port: 53, targetPort: 5353, protocol: UDP}}, {{name: dns-tcp, port: 53, targetPort: 5353, protocol: TCP}}]\n"),
                vec![
                    "shop-api-egress: namespace/backend allows api to kube-system/kube-dns on UDP/5353, TCP/5353".into(),
                    "shop-api-ingress: namespace/backend denies all ingress to api".into(),
                    "shop-db-egress: namespace/backend allows postgres to kube-system/kube-dns on UDP/5353, TCP/5353".into(),
                    "shop-db-ingress: namespace/backend denies all ingress to postgres".into(),
                    "shop-web-egress: namespace/frontend allows web to kube-system/kube-dns on UDP/5353, TCP/5353".into(),
                    "shop-web-ingress: namespace/frontend denies all ingress to web".into(),
                ],
            ),
            (
                "DNS where spec.dns says, nothing being known (no manifests)",
                "  dns:\n    namespace: dns\n    podSelector: {matchLabels: {app: unbound}}\n    ports: [{port: 5353, protocol: UDP}]\n  services:\n  - {name: web, namespace: frontend, podSelector: {matchLabels: {app: web}}}\n".to_string(),
                String::new(),
                vec![
                    "shop-web-egress: namespace/frontend allows web to dns/unbound on UDP/5353".into(),
                    "shop-web-ingress: namespace/frontend denies all ingress to web".into(),
                ],
            ),
            (
                "DNS turned off for the graph, back on for one service",
                format!("  dns: {{enabled: false}}\n{SERVICES}")
                    .replace("{name: web, namespace: frontend,", "{name: web, namespace: frontend, dns: true,"),
                CLUSTER.into(),
                vec![
                    "shop-api-egress: namespace/backend denies all egress from api".into(),
                    "shop-api-ingress: namespace/backend denies all ingress to api".into(),
                    "shop-db-egress: namespace/backend denies all egress from postgres".into(),
                    "shop-db-ingress: namespace/backend denies all ingress to postgres".into(),
                    format!("shop-web-egress: namespace/frontend allows web to {dns}"),
                    "shop-web-ingress: namespace/frontend denies all ingress to web".into(),
                ],
            ),
            (
                "ingress only: no egress policy, no DNS rule; the default deny isolates ingress only",
                format!("  policyTypes: [Ingress]\n  namespaces: [{{name: backend, defaultDeny: true}}]\n{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n"),
                CLUSTER.into(),
                vec![
                    "shop-api-ingress: namespace/backend allows api from frontend/web on TCP/http".into(),
                    "shop-db-ingress: namespace/backend denies all ingress to postgres".into(),
                    "shop-default-deny: namespace/backend denies all ingress to all pods".into(),
                    "shop-web-ingress: namespace/frontend denies all ingress to web".into(),
                ],
            ),
            (
                "a managed default deny admits DNS for all its pods",
                "  policyTypes: [Ingress, Egress]\n  namespaces: [{name: backend, defaultDeny: true}, {name: frontend}]\n  services:\n  - {name: api, namespace: backend, workload: deploy/api}\n".to_string(),
                CLUSTER.into(),
                vec![
                    format!("shop-api-egress: namespace/backend allows api to {dns}"),
                    "shop-api-ingress: namespace/backend denies all ingress to api".into(),
                    format!("shop-default-deny: namespace/backend denies all ingress to all pods; allows all pods to {dns}"),
                ],
            ),
        ];
        for (what, spec, cluster, want) in cases {
            let g = graph(&spec);
            assert_eq!(summaries(&g, &cluster), want, "{what}");
        }
    }

    #[test]
    fn removing_an_edge_changes_or_removes_the_policies() {
        let both = graph(&format!(
            "{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n  - {{from: api, to: db, ports: [{{port: 5432}}]}}\n"
        ));
        let one = graph(&format!(
            "{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n"
        ));
        let before = summaries(&both, CLUSTER);
        let after = summaries(&one, CLUSTER);
        let changed: Vec<(&String, &String)> =
            before.iter().zip(&after).filter(|(a, b)| a != b).collect();
        assert_eq!(
            changed,
            vec![
                (
                    &"shop-api-egress: namespace/backend allows api to backend/postgres on TCP/5432 and to kube-system/kube-dns on UDP/53, TCP/53".to_string(),
                    &"shop-api-egress: namespace/backend allows api to kube-system/kube-dns on UDP/53, TCP/53".to_string()
                ),
                (
                    &"shop-db-ingress: namespace/backend allows postgres from backend/api on TCP/5432".to_string(),
                    &"shop-db-ingress: namespace/backend denies all ingress to postgres".to_string()
                ),
            ]
        );
        // A service removed with its edges: its two policies are gone, the
        // others' rules toward it too.
        let without_db = graph(&format!(
            "{}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n",
            SERVICES.replace(
                "  - {name: db, namespace: backend, workload: statefulset/postgres}\n",
                ""
            )
        ));
        let names: Vec<String> = desired(&without_db, &resolution(&without_db, CLUSTER).resolved)
            .iter()
            .map(|p| p.name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "shop-api-egress",
                "shop-api-ingress",
                "shop-web-egress",
                "shop-web-ingress"
            ]
        );
    }

    #[test]
    fn output_is_deterministic_and_independent_of_the_order_written() {
        let spec = format!(
            "{SERVICES}  edges:\n  - {{from: web, to: api, ports: [{{port: http}}]}}\n  - {{from: web, to: db, ports: [{{port: 5432}}]}}\n  - {{from: api, to: db, ports: [{{port: 5432}}]}}\n"
        );
        let render = |g: &ServiceGraph| {
            let policies: Vec<NetworkPolicy> = desired(g, &resolution(g, CLUSTER).resolved)
                .into_iter()
                .map(|p| p.policy)
                .collect();
            crate::render::to_yaml(&policies)
        };
        let first = render(&graph(&spec));
        assert_eq!(first, render(&graph(&spec)), "same input, same bytes");
        // Services and edges in another order: the same policies.
        let mut lines: Vec<&str> = spec.lines().collect();
        lines[1..4].reverse();
        lines[5..8].reverse();
        let reordered = lines.join("\n") + "\n";
        assert_ne!(reordered, spec);
        assert_eq!(first, render(&graph(&reordered)));
    }

    #[test]
    fn names_labels_and_owner() {
        let mut g = graph(SERVICES);
        let r = resolution(&g, CLUSTER).resolved;
        let p = &desired(&g, &r)[0];
        assert_eq!(
            p.key(),
            ("backend".to_string(), "shop-api-egress".to_string())
        );
        assert_eq!(p.role, Role::Egress("api".into()));
        assert_eq!(
            p.policy.metadata.labels,
            Some(
                [
                    (
                        "app.kubernetes.io/managed-by".to_string(),
                        "kubectl-netpol".to_string()
                    ),
                    (
                        "kubectl-netpol.github.io/graph".to_string(),
                        "shop".to_string()
                    ),
                ]
                .into()
            )
        );
        assert_eq!(p.policy.metadata.owner_references, None);
        // Read from the cluster (a uid): owned by the graph.
        g.metadata.uid = Some("0b2c-uid".into());
        let p = &desired(&g, &r)[0];
        let owner = &p.policy.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.uid.as_str(),
                owner.controller
            ),
            ("ServiceGraph", "shop", "0b2c-uid", Some(true))
        );
        assert_eq!(owner.api_version, "kubectl-netpol.github.io/v1alpha1");
        // The workload's own selector, not its template's labels.
        assert_eq!(
            crate::engine::summary::pods_text(
                &crate::engine::selector::Selector::compile(&r.selectors["api"]).unwrap()
            ),
            "api"
        );
    }

    #[test]
    fn what_resolution_says() {
        let g = graph(&format!(
            "{SERVICES}  - {{name: all-web, namespace: frontend, podSelector: {{}}}}\n  - {{name: ghost, namespace: backend, podSelector: {{matchLabels: {{app: ghost}}}}}}\n  edges:\n  - {{from: web, to: api, ports: [{{port: htp}}, {{port: metrics, protocol: UDP}}]}}\n"
        ));
        let r = resolution(&g, CLUSTER);
        assert_eq!(
            r.warnings,
            vec![
                "service \"ghost\" selects no pod of namespace \"backend\" in the input (app=ghost)",
                "pod frontend/web-1 is in services web and all-web: the policies of each apply to it, so it gets the traffic of all of them",
                "spec.edges[0].ports[0].port: no pod of service \"api\" declares a TCP container port named \"htp\" (they declare http, metrics): this port allows nothing",
                "spec.edges[0].ports[1].port: no pod of service \"api\" declares a UDP container port named \"metrics\" (they declare no named UDP port): this port allows nothing",
            ]
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        // A service of the DNS pods themselves.
        let g = graph(&format!(
            "{SERVICES}  - {{name: dns, namespace: kube-system, workload: deployment/coredns}}\n"
        ));
        assert_eq!(
            resolution(&g, CLUSTER).warnings,
            [
                "service \"dns\" selects the DNS pods: its ingress policy admits only its edges, so DNS from everything else is denied (leave the DNS pods out of the graph, or give every service an edge to it on the DNS ports)"
            ]
        );
        // Nothing known: the usual DNS assumed, and said; workload
        // references cannot be resolved.
        let only = graph(
            "  services:\n  - {name: web, namespace: frontend, podSelector: {matchLabels: {app: web}}}\n",
        );
        let r = resolution(&only, "");
        assert_eq!(
            r.notes,
            [
                "no DNS pods in the input: the DNS rules assume kube-system pods k8s-app=kube-dns on UDP and TCP 53 (spec.dns can say otherwise)"
            ]
        );
        let (snapshot, workloads) = environment("");
        let env = Environment {
            snapshot: &snapshot,
            workloads: &workloads,
            source: "the input",
        };
        let e = resolve(&graph(SERVICES), &env).unwrap_err();
        let e: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(
            e,
            [
                "spec.services[1].workload: deployment/api in namespace \"backend\": no Deployment \"api\" in the input",
                "spec.services[2].workload: statefulset/postgres in namespace \"backend\": no StatefulSet \"postgres\" in the input",
            ]
        );
    }
}

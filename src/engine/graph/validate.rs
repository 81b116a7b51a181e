//! Validation of a decoded ServiceGraph, with field paths and the API
//! server's wording where it has one: names (DNS-1123), label selectors,
//! ports (as a NetworkPolicy's), CIDRs, references between edges and
//! services, duplicates, and what the graph's own options forbid together.
//! The CRD (`deploy/crd.yaml`) says the same in its schema and rules
//! wherever a schema can; this is the complete list, which `generate`
//! applies before anything else.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::NetworkPolicyPort;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ExternalPeer, ServiceGraph};
use crate::engine::validate::{
    ErrorKind, FieldError, dns1123_label, dns1123_subdomain, ip_block, label_selector, label_value,
    validate_port,
};

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn invalid(path: &str, value: String, detail: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::Invalid(value),
        detail: detail.into(),
    }
}

fn required(path: &str, detail: &str) -> FieldError {
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::Required,
        detail: detail.to_string(),
    }
}

fn forbidden(path: &str, detail: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::Forbidden,
        detail: detail.into(),
    }
}

/// The workload kinds a service may name, as Kubernetes spells them, with
/// the words kubectl takes for them (singular, plural, short name).
pub const WORKLOAD_KINDS: [(&str, &[&str]); 7] = [
    ("Deployment", &["deployment", "deployments", "deploy"]),
    ("StatefulSet", &["statefulset", "statefulsets", "sts"]),
    ("DaemonSet", &["daemonset", "daemonsets", "ds"]),
    ("ReplicaSet", &["replicaset", "replicasets", "rs"]),
    (
        "ReplicationController",
        &["replicationcontroller", "replicationcontrollers", "rc"],
    ),
    ("Job", &["job", "jobs"]),
    ("CronJob", &["cronjob", "cronjobs", "cj"]),
];

/// `deployment/api` -> (`Deployment`, `api`); the kind's word is read as
/// kubectl reads it (any case, plural or short name).
pub fn workload_ref(text: &str) -> Option<(&'static str, &str)> {
    let (kind, name) = text.split_once('/')?;
    let kind = kind.to_ascii_lowercase();
    let (k, _) = WORKLOAD_KINDS
        .iter()
        .find(|(k, words)| words.contains(&kind.as_str()) || k.eq_ignore_ascii_case(&kind))?;
    Some((k, name))
}

fn name_errors(path: &str, value: &str, errs: &mut Vec<FieldError>) {
    if value.is_empty() {
        errs.push(required(path, ""));
    } else {
        for e in dns1123_label(value) {
            errs.push(invalid(path, quoted(value), e));
        }
    }
}

fn ports_errors(path: &str, ports: &[NetworkPolicyPort], errs: &mut Vec<FieldError>) {
    if ports.is_empty() {
        errs.push(required(
            path,
            "at least one port (a number, a range with endPort, a name, or only a protocol for all of its ports)",
        ));
    }
    for (i, p) in ports.iter().enumerate() {
        validate_port(p, &format!("{path}[{i}]"), errs);
    }
}

fn reference(path: &str, value: &str, services: &BTreeSet<&str>, errs: &mut Vec<FieldError>) {
    if value.is_empty() {
        errs.push(required(path, "the name of a service of spec.services"));
    } else if !services.contains(value) {
        errs.push(FieldError {
            path: path.to_string(),
            kind: ErrorKind::NotFound(quoted(value)),
            detail: "no service of that name in spec.services".into(),
        });
    }
}

fn peers_errors(path: &str, peers: &[ExternalPeer], errs: &mut Vec<FieldError>) {
    if peers.is_empty() {
        errs.push(required(path, "at least one peer (a cidr, or a namespace)"));
    }
    for (i, p) in peers.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match (&p.cidr, &p.namespace) {
            (None, None) => errs.push(required(&at, "a cidr or a namespace")),
            (Some(_), Some(_)) => errs.push(forbidden(
                &at,
                "may not specify both cidr and namespace (make them two peers)",
            )),
            (Some(cidr), None) => {
                errs.extend(ip_block(cidr, p.except.as_deref().unwrap_or_default(), &at));
                if p.pod_selector.is_some() {
                    errs.push(forbidden(
                        &format!("{at}.podSelector"),
                        "may not be specified with cidr (pods are chosen in a namespace)",
                    ));
                }
            }
            (None, Some(ns)) => {
                name_errors(&format!("{at}.namespace"), ns, errs);
                if p.except.is_some() {
                    errs.push(forbidden(
                        &format!("{at}.except"),
                        "may be specified only with cidr",
                    ));
                }
                if let Some(sel) = &p.pod_selector {
                    errs.extend(label_selector(sel, &format!("{at}.podSelector")));
                }
            }
        }
    }
}

/// Every validation error of `graph`, in the order of its fields; empty
/// when it is valid.
pub fn validate(graph: &ServiceGraph) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = &graph.spec;
    match graph.metadata.name.as_deref() {
        None | Some("") => errs.push(required(
            "metadata.name",
            "name or generateName is required",
        )),
        Some(name) => {
            for e in dns1123_subdomain(name) {
                errs.push(invalid("metadata.name", quoted(name), e));
            }
            // The graph label carries the name.
            for e in label_value(name) {
                errs.push(invalid(
                    "metadata.name",
                    quoted(name),
                    format!("{e} (it is the value of the label {})", super::GRAPH_LABEL),
                ));
            }
        }
    }
    if let Some(types) = &spec.policy_types {
        if types.is_empty() {
            errs.push(required("spec.policyTypes", "Ingress, Egress or both"));
        }
        let mut seen = BTreeSet::new();
        for (i, t) in types.iter().enumerate() {
            let at = format!("spec.policyTypes[{i}]");
            if t != "Ingress" && t != "Egress" {
                errs.push(FieldError {
                    path: at,
                    kind: ErrorKind::NotSupported(quoted(t)),
                    detail: "supported values: \"Ingress\", \"Egress\"".into(),
                });
            } else if !seen.insert(t.as_str()) {
                errs.push(FieldError {
                    path: at,
                    kind: ErrorKind::Duplicate(quoted(t)),
                    detail: String::new(),
                });
            }
        }
    }
    if let Some(dns) = &spec.dns {
        if let Some(ns) = &dns.namespace {
            name_errors("spec.dns.namespace", ns, &mut errs);
        }
        if let Some(sel) = &dns.pod_selector {
            errs.extend(label_selector(sel, "spec.dns.podSelector"));
        }
        if let Some(ports) = &dns.ports {
            ports_errors("spec.dns.ports", ports, &mut errs);
        }
    }
    let dns_namespace = spec
        .dns
        .as_ref()
        .and_then(|d| d.namespace.as_deref())
        .unwrap_or("kube-system");
    let mut namespaces = BTreeSet::new();
    for (i, n) in spec.namespaces.iter().enumerate() {
        let at = format!("spec.namespaces[{i}].name");
        name_errors(&at, &n.name, &mut errs);
        // The DNS pods isolated for ingress with nothing admitting DNS:
        // every pod of the cluster would stop resolving names.
        if n.default_deny == Some(true) && graph.isolates_ingress() && n.name == dns_namespace {
            errs.push(forbidden(
                &format!("spec.namespaces[{i}].defaultDeny"),
                format!(
                    "the DNS pods run in {:?}: a default deny there isolates them, and nothing generated admits DNS to them",
                    n.name
                ),
            ));
        }
        if !n.name.is_empty() && !namespaces.insert(n.name.as_str()) {
            errs.push(FieldError {
                path: at,
                kind: ErrorKind::Duplicate(quoted(&n.name)),
                detail: String::new(),
            });
        }
    }
    if spec.services.is_empty() {
        errs.push(required("spec.services", "at least one service"));
    }
    let mut names = BTreeSet::new();
    for (i, s) in spec.services.iter().enumerate() {
        let at = format!("spec.services[{i}]");
        name_errors(&format!("{at}.name"), &s.name, &mut errs);
        if !s.name.is_empty() && !names.insert(s.name.as_str()) {
            errs.push(FieldError {
                path: format!("{at}.name"),
                kind: ErrorKind::Duplicate(quoted(&s.name)),
                detail: String::new(),
            });
        }
        name_errors(&format!("{at}.namespace"), &s.namespace, &mut errs);
        match (&s.pod_selector, &s.workload) {
            (None, None) => errs.push(required(
                &at,
                "a podSelector, or a workload (deployment/NAME, statefulset/NAME, ...)",
            )),
            (Some(_), Some(_)) => errs.push(forbidden(
                &format!("{at}.workload"),
                "may not be specified with podSelector (a service's pods are one or the other)",
            )),
            (Some(sel), None) => {
                errs.extend(label_selector(sel, &format!("{at}.podSelector")));
            }
            (None, Some(w)) => match workload_ref(w) {
                None => errs.push(FieldError {
                    path: format!("{at}.workload"),
                    kind: ErrorKind::NotSupported(quoted(w)),
                    detail: "supported: KIND/NAME with KIND one of deployment, statefulset, daemonset, replicaset, replicationcontroller, job, cronjob".into(),
                }),
                Some((_, name)) => {
                    if name.is_empty() {
                        errs.push(required(&format!("{at}.workload"), "KIND/NAME"));
                    }
                    for e in dns1123_subdomain(name).into_iter().filter(|_| !name.is_empty()) {
                        errs.push(invalid(&format!("{at}.workload"), quoted(w), e));
                    }
                }
            },
        }
        // A managed default deny admits DNS for every pod of its
        // namespace: a service there cannot be without it.
        if s.dns == Some(false)
            && graph.isolates_egress()
            && graph.dns_enabled()
            && graph.default_deny(&s.namespace)
        {
            errs.push(invalid(
                &format!("{at}.dns"),
                "false".into(),
                format!(
                    "the default deny of namespace {:?} (spec.namespaces) admits DNS for every pod of it while spec.dns.enabled is true; to leave this service without DNS, set spec.dns.enabled to false and dns: true on the services that need it",
                    s.namespace
                ),
            ));
        }
    }
    for (i, e) in spec.edges.iter().enumerate() {
        let at = format!("spec.edges[{i}]");
        reference(&format!("{at}.from"), &e.from, &names, &mut errs);
        reference(&format!("{at}.to"), &e.to, &names, &mut errs);
        ports_errors(&format!("{at}.ports"), &e.ports, &mut errs);
    }
    if !spec.ingress.is_empty() && !graph.isolates_ingress() {
        errs.push(forbidden(
            "spec.ingress",
            "spec.policyTypes leaves out Ingress: ingress is not isolated, so there is nothing to allow",
        ));
    }
    for (i, x) in spec.ingress.iter().enumerate() {
        let at = format!("spec.ingress[{i}]");
        reference(&format!("{at}.to"), &x.to, &names, &mut errs);
        peers_errors(&format!("{at}.from"), &x.from, &mut errs);
        ports_errors(&format!("{at}.ports"), &x.ports, &mut errs);
    }
    if !spec.egress.is_empty() && !graph.isolates_egress() {
        errs.push(forbidden(
            "spec.egress",
            "spec.policyTypes leaves out Egress: egress is not isolated, so there is nothing to allow",
        ));
    }
    for (i, x) in spec.egress.iter().enumerate() {
        let at = format!("spec.egress[{i}]");
        reference(&format!("{at}.from"), &x.from, &names, &mut errs);
        peers_errors(&format!("{at}.to"), &x.to, &mut errs);
        ports_errors(&format!("{at}.ports"), &x.ports, &mut errs);
        // A named port resolves on the destination pod; toward an address
        // range there is none, so it would match nothing.
        if x.to.iter().any(|p| p.cidr.is_some()) {
            for (j, p) in x.ports.iter().enumerate() {
                if let Some(IntOrString::String(name)) = &p.port {
                    errs.push(invalid(
                        &format!("{at}.ports[{j}].port"),
                        quoted(name),
                        "a named port resolves on the destination's pods, and toward a cidr there are none: it would match nothing; give the number",
                    ));
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(spec: serde_json::Value) -> Vec<String> {
        let v = json!({"apiVersion": super::super::API_VERSION, "kind": "ServiceGraph",
                       "metadata": {"name": "shop"}, "spec": spec});
        let g = super::super::decode::decode(&v).expect("decodes");
        validate(&g).iter().map(ToString::to_string).collect()
    }

    fn services() -> serde_json::Value {
        json!([
            {"name": "web", "namespace": "frontend", "workload": "deployment/web"},
            {"name": "api", "namespace": "backend", "podSelector": {"matchLabels": {"app": "api"}}},
        ])
    }

    #[test]
    fn a_valid_graph_has_no_errors() {
        assert!(
            errors(json!({
                "policyTypes": ["Ingress", "Egress"],
                "dns": {"enabled": true, "ports": [{"port": 5353, "protocol": "UDP"}]},
                "namespaces": [{"name": "backend", "defaultDeny": true}],
                "services": services(),
                "edges": [{"from": "web", "to": "api", "ports": [{"port": "http"}, {"port": 9000, "endPort": 9100}, {"protocol": "UDP"}]}],
                "ingress": [{"to": "web", "from": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
                                                  {"namespace": "ingress-nginx", "podSelector": {"matchLabels": {"app": "nginx"}}}],
                             "ports": [{"port": 8080}]}],
                "egress": [{"from": "api", "to": [{"cidr": "0.0.0.0/0"}], "ports": [{"port": 443}]}],
            }))
            .is_empty()
        );
    }

    #[test]
    fn each_mistake_is_named_by_its_path() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                json!({"services": services(), "edges": [{"from": "web", "to": "apii", "ports": [{"port": 80}]}]}),
                "spec.edges[0].to: Not found: \"apii\": no service of that name in spec.services",
            ),
            (
                json!({"services": [{"name": "Web", "namespace": "f", "workload": "deployment/web"}]}),
                "spec.services[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label",
            ),
            (
                json!({"services": [{"name": "w", "namespace": "f", "podSelector": {"matchExpressions": [{"key": "app", "operator": "in", "values": ["x"]}]}}]}),
                "spec.services[0].podSelector.matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator",
            ),
            (
                json!({"services": [{"name": "w", "namespace": "f", "workload": "pod/web"}]}),
                "spec.services[0].workload: Unsupported value: \"pod/web\": supported: KIND/NAME",
            ),
            (
                json!({"services": [{"name": "w", "namespace": "f"}]}),
                "spec.services[0]: Required value: a podSelector, or a workload",
            ),
            (
                json!({"services": [{"name": "w", "namespace": "f", "workload": "deploy/w", "podSelector": {}}]}),
                "spec.services[0].workload: Forbidden: may not be specified with podSelector",
            ),
            (
                json!({"services": [services()[0], services()[0]]}),
                "spec.services[1].name: Duplicate value: \"web\"",
            ),
            (
                json!({"services": services(), "edges": [{"from": "web", "to": "api", "ports": [{"port": 70000}]}]}),
                "spec.edges[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
            ),
            (
                json!({"services": services(), "edges": [{"from": "web", "to": "api", "ports": [{"port": 90, "endPort": 80}]}]}),
                "spec.edges[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`",
            ),
            (
                json!({"services": services(), "edges": [{"from": "web", "to": "api", "ports": []}]}),
                "spec.edges[0].ports: Required value: at least one port",
            ),
            (
                json!({"services": services(), "ingress": [{"to": "web", "from": [{"cidr": "10.0.0.0/33"}], "ports": [{"port": 80}]}]}),
                "spec.ingress[0].from[0].cidr: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value",
            ),
            (
                json!({"services": services(), "egress": [{"from": "api", "to": [{"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/33"]}], "ports": [{"port": 443}]}]}),
                "spec.egress[0].to[0].except[1]: Invalid value: \"192.168.0.0/33\": must be a valid CIDR value",
            ),
            (
                json!({"services": services(), "egress": [{"from": "api", "to": [{"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}], "ports": [{"port": 443}]}]}),
                "spec.egress[0].to[0].except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
            ),
            (
                json!({"services": services(), "egress": [{"from": "api", "to": [{"cidr": "0.0.0.0/0"}], "ports": [{"port": "https"}]}]}),
                "spec.egress[0].ports[0].port: Invalid value: \"https\": a named port resolves on the destination's pods",
            ),
            (
                json!({"services": services(), "ingress": [{"to": "web", "from": [{"cidr": "10.0.0.0/8", "namespace": "x"}], "ports": [{"port": 80}]}]}),
                "spec.ingress[0].from[0]: Forbidden: may not specify both cidr and namespace",
            ),
            (
                json!({"policyTypes": ["Ingress"], "services": services(), "egress": [{"from": "api", "to": [{"cidr": "0.0.0.0/0"}], "ports": [{"port": 443}]}]}),
                "spec.egress: Forbidden: spec.policyTypes leaves out Egress",
            ),
            (
                json!({"policyTypes": ["Ingres"], "services": services()}),
                "spec.policyTypes[0]: Unsupported value: \"Ingres\": supported values: \"Ingress\", \"Egress\"",
            ),
            (
                json!({"namespaces": [{"name": "frontend", "defaultDeny": true}],
                       "services": [{"name": "web", "namespace": "frontend", "workload": "deploy/web", "dns": false}]}),
                "spec.services[0].dns: Invalid value: false: the default deny of namespace \"frontend\"",
            ),
            (
                json!({"services": []}),
                "spec.services: Required value: at least one service",
            ),
            (
                json!({"namespaces": [{"name": "kube-system", "defaultDeny": true}], "services": services()}),
                "spec.namespaces[0].defaultDeny: Forbidden: the DNS pods run in \"kube-system\"",
            ),
        ];
        for (spec, want) in cases {
            let got = errors(spec.clone());
            assert!(
                got.iter().any(|e| e.starts_with(want)),
                "{spec}: want {want:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn workload_references_read_as_kubectl_reads_them() {
        assert_eq!(workload_ref("deployment/api"), Some(("Deployment", "api")));
        assert_eq!(workload_ref("deploy/api"), Some(("Deployment", "api")));
        assert_eq!(workload_ref("StatefulSet/db"), Some(("StatefulSet", "db")));
        assert_eq!(workload_ref("cj/report"), Some(("CronJob", "report")));
        assert_eq!(workload_ref("pod/x"), None);
        assert_eq!(workload_ref("api"), None);
    }
}

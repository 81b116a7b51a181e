//! End-to-end: the ServiceGraph CRD (deploy/crd.yaml) served by a real
//! kube-apiserver, which validates graphs as `generate` does; a graph as
//! the server stores it (uid, managedFields, status) generates policies
//! owned by it; `generate --against-cluster` resolves workload references
//! and named ports from the cluster, and the server accepts what it
//! prints.
//!
//! The CRD is cluster-wide: the test installs it and removes it (with its
//! graphs) when it ends, even on failure.

mod common;
use common::cluster::*;

const CRD: &str = "deploy/crd.yaml";

/// Removes the CRD (and so every ServiceGraph) when dropped.
struct Cleanup<'c>(&'c Cluster);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.kubectl(
            &["delete", "-f", CRD, "--ignore-not-found", "--wait=false"],
            None,
        );
    }
}

fn install(c: &Cluster) -> Cleanup<'_> {
    let out = c.kubectl(&["apply", "-f", CRD], None);
    assert!(out.status.success(), "install the CRD: {}", stderr(&out));
    let out = c.kubectl(
        &[
            "wait",
            "--for",
            "condition=established",
            "--timeout=60s",
            "crd/servicegraphs.kubectl-netpol.github.io",
        ],
        None,
    );
    assert!(out.status.success(), "CRD established: {}", stderr(&out));
    Cleanup(c)
}

fn graph(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

/// The CRD validates graphs as generate does; a graph as the server
/// stores it generates policies it owns.
#[test]
fn the_crd_validates_graphs_as_generate_does() {
    let Some(c) = cluster() else { return };
    let _cleanup = install(&c);
    let out = c.kubectl(
        &[
            "apply",
            "--dry-run=server",
            "-f",
            "examples/shop-graph.yaml",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let services = "  services:\n  - {name: web, namespace: web, podSelector: {matchLabels: {app: web}}}\n  - {name: api, namespace: api, workload: deployment/api}\n";
    let edge = |ports: &str, to: &str| {
        format!("{services}  edges:\n  - {{from: web, to: {to}, ports: [{ports}]}}\n")
    };
    // (spec, what the API server says, what generate says)
    let cases = [
        (
            format!("{services}  edges:\n  - {{from: web, too: api, ports: [{{port: 80}}]}}\n"),
            "strict decoding error: unknown field \"spec.edges[0].too\"",
            "strict decoding error: unknown field \"spec.edges[0].too\"",
        ),
        (
            edge("{port: true}", "api"),
            "spec.edges[0].ports[0].port: Invalid value: \"boolean\": spec.edges[0].ports[0].port in body must be of type integer,string: \"boolean\"",
            "spec.edges[0].ports[0].port: Invalid value: \"boolean\": spec.edges[0].ports[0].port in body must be of type integer,string: \"boolean\"",
        ),
        (
            "  edges: []\n".to_string(),
            "spec.services: Required value",
            "spec.services: Required value",
        ),
        (
            edge("{port: 80}", "apii"),
            "every edge's from and to must name a service of spec.services",
            "spec.edges[0].to: Not found: \"apii\"",
        ),
        (
            edge("{port: 70000}", "api"),
            "port must be between 1 and 65535, inclusive",
            "spec.edges[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            edge("{port: http, endPort: 90}", "api"),
            "endPort needs a numeric port",
            "spec.edges[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
        ),
        (
            "  services:\n  - {name: web, namespace: web, workload: deployment/web, podSelector: {}}\n".to_string(),
            "exactly one of podSelector and workload",
            "spec.services[0].workload: Forbidden: may not be specified with podSelector",
        ),
        (
            "  services:\n  - {name: web, namespace: web, workload: pod/web}\n".to_string(),
            "spec.services[0].workload: Invalid value: \"pod/web\": spec.services[0].workload in body should match",
            "spec.services[0].workload: Unsupported value: \"pod/web\"",
        ),
        (
            format!("  policyTypes: [Ingress]\n{services}  egress:\n  - {{from: web, to: [{{cidr: 0.0.0.0/0}}], ports: [{{port: 443}}]}}\n"),
            "spec.egress needs Egress in spec.policyTypes",
            "spec.egress: Forbidden: spec.policyTypes leaves out Egress",
        ),
        (
            format!("{services}  ingress:\n  - {{to: web, from: [{{cidr: 10.0.0.0/8, namespace: lb}}], ports: [{{port: 443}}]}}\n"),
            "exactly one of cidr and namespace",
            "spec.ingress[0].from[0]: Forbidden: may not specify both cidr and namespace",
        ),
    ];
    for (spec, server, ours) in cases {
        let text = graph("invalid", &spec);
        let out = c.kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&text));
        assert!(!out.status.success(), "accepted:\n{text}");
        assert!(
            stderr(&out).contains(server),
            "{text}\nserver: {}",
            stderr(&out)
        );
        let out = c.binary(&["generate", "-f", "-"], Some(&text));
        assert_eq!(out.status.code(), Some(2), "{text}\n{}", stderr(&out));
        assert!(
            stderr(&out).contains(ours),
            "{text}\ngenerate: {}",
            stderr(&out)
        );
    }
    a_stored_graph_generates_policies_it_owns(&c);
}

/// (With the CRD installed: part of the test above, which removes it.)
fn a_stored_graph_generates_policies_it_owns(c: &Cluster) {
    let name = format!("g-{}", c.unique());
    let ns = c.create_namespace("graph-owned");
    c.apply(&graph(
        &name,
        &format!("  services:\n  - {{name: web, namespace: {ns}, podSelector: {{matchLabels: {{app: web}}}}}}\n  - {{name: db, namespace: {ns}, podSelector: {{matchLabels: {{app: db}}}}}}\n  edges:\n  - {{from: web, to: db, ports: [{{port: 5432}}]}}\n"),
    ));
    // The controller's status, through the status subresource; the
    // printer columns show it.
    let out = c.kubectl(
        &[
            "patch",
            "servicegraph",
            &name,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"observedGeneration":1,"policies":4,"conditions":[{"type":"Ready","status":"True","reason":"Applied","message":"4 policies applied","lastTransitionTime":"2025-01-01T00:00:00Z"}]}}"#,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = ok(&c.kubectl(&["get", "svcgraph", &name], None));
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], [name.as_str(), "True", "4"], "{table}");
    // The object as stored, fed to generate: decoded (server fields and
    // status included), its policies owned by it.
    let stored = ok(&c.kubectl(&["get", "servicegraph", &name, "-o", "yaml"], None));
    let uid = ok(&c.kubectl(
        &[
            "get",
            "servicegraph",
            &name,
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    ));
    let out = c.binary(&["generate", "-f", "-", "-o", "json"], Some(&stored));
    let list = json(&out);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for p in items {
        assert_eq!(
            p["metadata"]["ownerReferences"],
            serde_json::json!([{"apiVersion": "kubectl-netpol.github.io/v1alpha1", "kind": "ServiceGraph", "name": name, "uid": uid, "controller": true}]),
            "{p}"
        );
    }
    // The server takes them (created for real: an owner that exists).
    let out = c.kubectl(&["apply", "-f", "-"], Some(&stdout(&out)));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn generate_against_the_cluster_resolves_workloads_and_named_ports() {
    let Some(c) = cluster() else { return };
    let ns = c.create_namespace("graph-live");
    // A Deployment without pods (no controller runs here) whose template
    // carries a label its selector does not, and a pod with a named port.
    c.apply(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api, version: v1}}}}\n    spec:\n      containers: [{{name: api, image: registry.example/api:1, ports: [{{name: http, containerPort: 8080}}]}}]\n"
    ));
    c.pod(
        &ns,
        "db-0",
        "app: db",
        "{name: pg, containerPort: 5432}",
        "10.182.0.1",
    );
    let name = format!("g-{}", c.unique());
    let text = |api_port: &str, db_port: &str, api: &str| {
        graph(
            &name,
            &format!(
                "  services:\n  - {{name: api, namespace: {ns}, workload: {api}}}\n  - {{name: db, namespace: {ns}, podSelector: {{matchLabels: {{app: db}}}}}}\n  - {{name: web, namespace: {ns}, podSelector: {{matchLabels: {{app: db}}}}}}\n  edges:\n  - {{from: api, to: db, ports: [{{port: {db_port}}}]}}\n  - {{from: web, to: api, ports: [{{port: {api_port}}}]}}\n"
            ),
        )
    };
    let kc = c.kubeconfig("admin");
    let live = [
        "generate",
        "-f",
        "-",
        "--against-cluster",
        "--kubeconfig",
        &kc,
    ];
    let out = c.binary(&live, Some(&text("http", "pg", "deployment/api")));
    let v: serde_json::Value = serde_yaml_ng::from_str(&ok(&out)).unwrap();
    let api_in = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == serde_json::json!(format!("{name}-api-ingress")))
        .expect("api's ingress policy");
    // The Deployment's own selector, not its template's labels.
    assert_eq!(
        api_in["spec"]["podSelector"],
        serde_json::json!({"matchLabels": {"app": "api"}})
    );
    let said: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect();
    // web and db select the same pod: said; nothing else.
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains(&format!("pod {ns}/db-0 is in services db and web")),
        "{said:?}"
    );
    // The server takes the policies (a server-side dry run).
    let applied = c.kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&stdout(&out)),
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    // Named ports checked on the live pod, and on the template of the
    // Deployment that has none.
    let out = c.binary(&live, Some(&text("htp", "pgg", "deployment/api")));
    let err = stderr(&out);
    assert!(
        err.contains("spec.edges[0].ports[0].port: no pod of service \"db\" declares a TCP container port named \"pgg\" (they declare pg)"),
        "{err}"
    );
    assert!(
        err.contains("spec.edges[1].ports[0].port: no pod of service \"api\" declares a TCP container port named \"htp\" (they declare http)"),
        "{err}"
    );
    // A workload the cluster does not have.
    let out = c.binary(&live, Some(&text("http", "pg", "deployment/nope")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("spec.services[0].workload: deployment/nope in namespace \"{ns}\" (no Deployment \"nope\" in the cluster); check their kinds, names and namespaces")),
        "{}",
        stderr(&out)
    );
    // Through kubectl's plugin dispatch, from a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.yaml");
    std::fs::write(&path, text("http", "pg", "deploy/api")).unwrap();
    let out = c.as_user(
        "admin",
        &[
            "generate",
            "-f",
            path.to_str().unwrap(),
            "--against-cluster",
        ],
    );
    assert!(ok(&out).contains(&format!("name: {name}-api-egress")));
}

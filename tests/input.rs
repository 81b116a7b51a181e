//! Hermetic tests of what users hand us with `-f`: named ports declared by
//! init containers, typed lists (`PodList`, ...) whose items carry no
//! `apiVersion`/`kind`, objects with wrongly typed fields, and Node objects
//! as CNI evidence for `check -f`.
//!
//! Fixtures are written inline (neutral names: namespace `shop`, pods
//! `web` and `client`) and fed on stdin; expected answers were derived by
//! hand from the Kubernetes API rules each test names.

use serde_json::Value;

mod common;
use common::*;

/// Runs `args` with `stdin` as the `-f -` manifest; returns the exit code,
/// stdout and stderr.
fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = netpol()
        .args(args)
        .args(["-f", "-"])
        .write_stdin(stdin.to_string())
        .output()
        .expect("run kubectl-netpol");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `can -o json` on stdin: the report.
fn can_json(from: &str, to: &str, port: Option<&str>, stdin: &str) -> Value {
    let mut args = vec!["can", from, to, "-o", "json"];
    if let Some(p) = port {
        args.extend(["--port", p]);
    }
    let (code, stdout, stderr) = run(&args, stdin);
    assert!(code == 0 || code == 1, "{args:?}: exit {code}: {stderr}");
    parse_json(&stdout)
}

// ---------------------------------------------------------------------------
// Item: named ports and init containers.

/// `shop/web` serves `http` (8080) from its container; `metrics` (9090) is
/// declared by an init container whose `restartPolicy` is `RESTART`
/// (empty: a plain init container). A policy admits ingress to web only on
/// the named port `metrics`.
fn init_container_cluster(restart: &str) -> String {
    let restart = if restart.is_empty() {
        String::new()
    } else {
        format!(", restartPolicy: {restart}")
    };
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: shop, labels: {{app: web}}}}
spec:
  initContainers:
  - {{name: agent, image: agent, ports: [{{name: metrics, containerPort: 9090}}]{restart}}}
  containers:
  - {{name: main, image: web, ports: [{{name: http, containerPort: 8080}}]}}
status: {{phase: Running, podIP: 10.1.0.2}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: shop, labels: {{app: client}}}}
spec: {{containers: [{{name: c, image: client}}]}}
status: {{phase: Running, podIP: 10.1.0.3}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-metrics, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - ports: [{{port: metrics}}]
"
    )
}

#[test]
fn a_named_port_of_a_plain_init_container_opens_nothing() {
    let text = init_container_cluster("");
    let r = can_json("shop/client", "shop/web", Some("9090"), &text);
    assert_eq!(r["allowed"], false, "{r:#}");
    // With no port given nothing is admitted at all.
    let r = can_json("shop/client", "shop/web", None, &text);
    assert_eq!(r["allowed"], false, "{r:#}");
    assert_eq!(r["ports"], serde_json::json!([]), "{r:#}");
    let reason = r["ingress"]["notMatched"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains(
            "named port \"metrics\" is declared only by a plain init container of shop/web"
        ) && reason.contains("Calico resolves it there anyway, to TCP/9090"),
        "{reason}"
    );
    // Explain shows the pod serving only http, and says why.
    let (code, stdout, stderr) = run(&["explain", "-n", "shop", "pod/web"], &text);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Ports:       http 8080/TCP\n"), "{stdout}");
    assert!(
        stdout.contains("every incoming connection is denied. Note: named port \"metrics\" is declared only by a plain init container of shop/web"),
        "{stdout}"
    );
}

#[test]
fn a_named_port_of_a_sidecar_container_counts() {
    let text = init_container_cluster("Always");
    let r = can_json("shop/client", "shop/web", Some("9090"), &text);
    assert_eq!(r["allowed"], true, "{r:#}");
    let r = can_json("shop/client", "shop/web", Some("metrics"), &text);
    assert_eq!(r["allowed"], true, "{r:#}");
    assert_eq!(r["port"], "TCP/9090", "{r:#}");
    // Any other restartPolicy is not a sidecar (the API accepts only
    // Always on init containers; read it strictly anyway).
    let text = init_container_cluster("OnFailure");
    let r = can_json("shop/client", "shop/web", Some("9090"), &text);
    assert_eq!(r["allowed"], false, "{r:#}");
}

#[test]
fn asking_for_a_name_only_an_init_container_declares_says_why() {
    let text = init_container_cluster("");
    let (code, stdout, stderr) = run(
        &["can", "shop/client", "shop/web", "--port", "metrics"],
        &text,
    );
    assert_eq!(stdout, "");
    // `can` keeps exit 1 for "denied": its errors exit 2.
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: pod \"shop/web\" has no container port named \"metrics\" (named port \"metrics\" is declared only by a plain init container of shop/web, which has exited before the pod serves traffic; Calico resolves it there anyway, to TCP/9090)\n"
    );
}

#[test]
fn lint_says_a_missing_named_port_is_declared_by_an_init_container() {
    let text = init_container_cluster("");
    let (_, stdout, stderr) = run(&["lint", "-o", "json"], &text);
    let v = parse_json(&stdout);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    let named: Vec<&Value> = findings
        .iter()
        .filter(|f| f["check"] == "named-port-missing")
        .collect();
    assert_eq!(named.len(), 1, "{stdout}{stderr}");
    assert_eq!(named[0]["path"], "spec.ingress[0].ports[0]");
    let message = named[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("no container port named \"metrics\" (TCP) exists on the pods this policy selects: this port matches nothing; named port \"metrics\" is declared only by a plain init container of shop/web"),
        "{message}"
    );
    // A sidecar's port is a port: nothing to report.
    let (_, stdout, _) = run(&["lint", "-o", "json"], &init_container_cluster("Always"));
    assert!(!stdout.contains("named-port-missing"), "{stdout}");
}

#[test]
fn workload_templates_follow_the_same_init_container_rule() {
    // The representative pod of a Deployment: same rule as a real pod.
    let deployment = |restart: &str| {
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      initContainers:
      - {{name: agent, image: agent, ports: [{{name: metrics, containerPort: 9090}}]{restart}}}
      containers: [{{name: main, image: web}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-metrics, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - ports: [{{port: metrics}}]
"
        )
    };
    let r = can_json(
        "203.0.113.7",
        "shop/deployment/web",
        Some("9090"),
        &deployment(""),
    );
    assert_eq!(r["allowed"], false, "{r:#}");
    let r = can_json(
        "203.0.113.7",
        "shop/deployment/web",
        Some("9090"),
        &deployment(", restartPolicy: Always"),
    );
    assert_eq!(r["allowed"], true, "{r:#}");
}

// ---------------------------------------------------------------------------
// Item: typed lists whose items lack apiVersion and kind.

/// The same cluster as typed lists, the way the API answers a list call
/// (`GET /api/v1/pods`): items without `apiVersion` and `kind`.
const TYPED_LISTS_YAML: &str = "apiVersion: v1
kind: NamespaceList
metadata: {resourceVersion: \"1\"}
items:
- metadata: {name: shop, labels: {team: a}}
- metadata: {name: ops, labels: {team: b}}
---
apiVersion: v1
kind: PodList
metadata: {resourceVersion: \"1\"}
items:
- metadata: {name: web, namespace: shop, labels: {app: web}}
  spec: {containers: [{name: c, image: web, ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 10.1.0.2}
- metadata: {name: probe, namespace: ops, labels: {app: probe}}
  spec: {containers: [{name: c, image: probe}]}
  status: {phase: Running, podIP: 10.1.0.9}
---
apiVersion: apps/v1
kind: DeploymentList
items:
- metadata: {name: api, namespace: shop}
  spec:
    selector: {matchLabels: {app: api}}
    template:
      metadata: {labels: {app: api}}
      spec: {containers: [{name: c, image: api}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: web-from-team-b, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: web}}
    ingress:
    - from: [{namespaceSelector: {matchLabels: {team: b}}}]
      ports: [{port: http}]
";

#[test]
fn typed_lists_without_item_kinds_are_read() {
    let (code, stdout, stderr) = run(&["list", "-A", "-o", "json"], TYPED_LISTS_YAML);
    assert_eq!(code, 0, "{stderr}");
    let v = parse_json(&stdout);
    assert_eq!(v["policies"][0]["name"], "web-from-team-b", "{stdout}");
    assert_eq!(
        v["policies"][0]["selectedPods"],
        serde_json::json!(["shop/web"])
    );
    // The namespace labels come from the NamespaceList, the ports from the
    // PodList: ops/probe reaches shop/web on http only.
    let r = can_json("ops/probe", "shop/web", None, TYPED_LISTS_YAML);
    assert_eq!(r["allowed"], true, "{r:#}");
    assert_eq!(r["ports"], serde_json::json!(["TCP/8080"]), "{r:#}");
    // The DeploymentList's item is a workload.
    let (code, stdout, stderr) = run(
        &["explain", "-n", "shop", "deployment/api"],
        TYPED_LISTS_YAML,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("shop/api"), "{stdout}");
}

#[test]
fn typed_lists_in_json_too() {
    // One JSON file per list, as `curl .../api/v1/pods` writes them.
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut args: Vec<String> = ["can", "ops/probe", "shop/web", "-o", "json"]
        .map(String::from)
        .to_vec();
    for (i, doc) in TYPED_LISTS_YAML.split("---\n").enumerate() {
        let v: Value = serde_yaml_ng::from_str(doc).expect("fixture is YAML");
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, serde_json::to_string(&v).expect("JSON")).expect("write");
        args.extend(["-f".to_string(), path.display().to_string()]);
    }
    let a = netpol().args(&args).assert().success();
    let r = parse_json(&stdout_of(&a));
    assert_eq!(r["allowed"], true, "{r:#}");
    assert_eq!(r["ports"], serde_json::json!(["TCP/8080"]), "{r:#}");
}

#[test]
fn typed_list_items_keep_their_own_kind_and_list_items_need_one() {
    // An item that says what it is keeps it.
    let text = "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop}\n- metadata: {name: web, namespace: shop}\n  spec: {containers: [{name: c, image: web}]}\n";
    let (code, stdout, stderr) = run(&["explain", "-n", "shop", "pod/web", "-o", "json"], text);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("shop/web"), "{stdout}");
    // A plain List names no kind for its items.
    let text = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: web, namespace: shop}\n";
    let (code, stdout, stderr) = run(&["list", "-A"], text);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "error: <stdin>: document 1, item 1: not a Kubernetes object (apiVersion and kind are required)\n"
    );
}

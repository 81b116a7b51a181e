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
        "error: pod \"shop/web\" has no container port named \"metrics\" (named port \"metrics\" is declared only by a plain init container of shop/web, which has exited before the pod serves traffic; whether it resolves depends on the CNI (Calico resolves it there anyway, to TCP/9090), and the CNI is not known here (see kubectl netpol check))\n"
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
    assert!(stdout.contains("shop/deployment/api"), "{stdout}");
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
    // Items that are not a list are not silently nothing.
    let (code, _, stderr) = run(
        &["list", "-A"],
        "apiVersion: v1\nkind: PodList\nitems: {a: 1}\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        "error: <stdin>: document 1: PodList.items must be a list of objects\n"
    );
}

// ---------------------------------------------------------------------------
// Item: wrongly typed fields.

/// A NetworkPolicy `shop/NAME` whose spec is `SPEC` (flow YAML).
fn policy(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\nspec: {spec}\n"
    )
}

/// Wrongly typed NetworkPolicy fields (`tests/fixtures/input/wrong-types.json`):
/// a spec, the field path, and the message, whose words after the invalid
/// value are the kube-apiserver's own after `NetworkPolicy in version "v1"
/// cannot be handled as a NetworkPolicy: ` (tests/e2e_input.rs sends each
/// case to a real one).
fn wrong_types() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/input/wrong-types.json"
    ))
    .expect("wrong-types.json");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("wrong-types.json is JSON");
    cases
        .iter()
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (field("spec"), field("path"), field("message"))
        })
        .collect()
}

#[test]
fn wrongly_typed_policies_are_invalid_with_path_and_wording() {
    // Every case in one stream, then a valid policy: the bad ones do not
    // stop the reading.
    let cases = wrong_types();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut text = String::new();
    for (i, (spec, _, _)) in cases.iter().enumerate() {
        text.push_str(&policy(&format!("bad-{i:02}"), spec));
        text.push_str("---\n");
    }
    text.push_str(&policy("good", "{podSelector: {}}"));
    let (code, stdout, stderr) = run(&["list", "-A", "-o", "json"], &text);
    // Invalid policies make `list` exit 1, as for every invalid policy.
    assert_eq!(code, 1, "{stderr}");
    let v = parse_json(&stdout);
    let rows = v["policies"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), cases.len() + 1, "{stdout}");
    for (i, (spec, path, message)) in cases.iter().enumerate() {
        let row = &rows[i];
        assert_eq!(row["name"], format!("bad-{i:02}"), "{spec}");
        assert_eq!(row["valid"], false, "{spec}: {row:#}");
        assert_eq!(
            row["errors"],
            serde_json::json!([format!("{path}: {message}")]),
            "{spec}"
        );
    }
    assert_eq!(rows[cases.len()]["name"], "good");
    assert_eq!(rows[cases.len()]["valid"], true);

    // The text table says INVALID, lint says invalid-policy at the path.
    let (_, stdout, _) = run(&["list", "-A"], &text);
    for (i, (_, path, message)) in cases.iter().enumerate() {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("bad-{i:02} ")))
            .unwrap_or_default();
        assert!(
            line.ends_with(&format!("INVALID: {path}: {message}")),
            "{line}"
        );
    }
    let (code, stdout, _) = run(&["lint", "-o", "json"], &text);
    assert_eq!(code, 5, "{stdout}");
    let v = parse_json(&stdout);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    for (i, (spec, path, _)) in cases.iter().enumerate() {
        assert!(
            findings.iter().any(|f| f["check"] == "invalid-policy"
                && f["object"] == format!("shop/bad-{i:02}")
                && f["path"] == path.as_str()),
            "{spec}: {stdout}"
        );
    }
}

#[test]
fn several_wrong_types_in_one_policy_are_all_reported() {
    let text = policy(
        "multi",
        "{podSelector: {matchLabels: {app: 1}}, ingress: [{ports: [{port: [1]}]}], egress: {}}",
    );
    let (_, stdout, _) = run(&["list", "-A", "-o", "json"], &text);
    let v = parse_json(&stdout);
    let paths: Vec<String> = v["policies"][0]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            e.as_str()
                .and_then(|e| e.split(": ").next())
                .map(String::from)
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            "spec.podSelector.matchLabels[app]",
            "spec.ingress[0].ports[0].port",
            "spec.egress"
        ],
        "{stdout}"
    );
}

#[test]
fn what_go_reads_leniently_is_read_the_same() {
    // `ingress: [null]` is the rule `{}` (Go leaves a null element at its
    // zero value; the API server stores `ingress: [{}]`), a null label
    // value is "", and `80.0` is the port 80.
    let text = format!(
        "{}---\n{}",
        init_container_cluster(""),
        policy(
            "open",
            "{podSelector: {matchLabels: {app: web, tier: null}}, ingress: [null]}"
        )
    )
    .replace("labels: {app: web}}", "labels: {app: web, tier: ''}}");
    let r = can_json("shop/client", "shop/web", Some("8080"), &text);
    assert_eq!(r["allowed"], true, "{r:#}");
    assert_eq!(r["ingress"]["allowedBy"][0]["policy"], "shop/open", "{r:#}");
    let text = format!(
        "{}---\n{}",
        init_container_cluster(""),
        policy(
            "web-http",
            "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 8080.0}]}]}"
        )
    );
    let r = can_json("shop/client", "shop/web", Some("8080"), &text);
    assert_eq!(r["allowed"], true, "{r:#}");
}

#[test]
fn wrongly_typed_pods_and_namespaces_are_left_out_with_a_warning() {
    // kubectl refuses metadata that does not decode, the API server a spec
    // that does not: such objects never exist in a cluster. They are left
    // out, said on stderr, and the rest is read.
    let text = "apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: 7}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, version: 2}}
spec: {containers: [{name: c, image: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: api, ports: [{containerPort: '8080'}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec: {hostNetwork: 'yes', containers: [{name: c, image: worker}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: client}]}
";
    let (code, stdout, stderr) = run(&["explain", "-n", "shop", "pod/client", "-o", "json"], text);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("shop/client"), "{stdout}");
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 4, "{stderr}");
    assert_eq!(
        warnings[0],
        "warning: <stdin>: document 1: invalid Namespace shop: metadata.labels[team]: Invalid value: \"number\": json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string; the API server rejects such an object, so it is left out"
    );
    assert!(
        warnings[1].starts_with("warning: <stdin>: document 2: invalid Pod shop/web: metadata.labels[version]: Invalid value: \"number\""),
        "{stderr}"
    );
    assert!(
        warnings[2].starts_with("warning: <stdin>: document 3: invalid Pod shop/api: ")
            && warnings[2].ends_with("; the API server rejects such an object, so it is left out"),
        "{stderr}"
    );
    assert!(
        warnings[3].starts_with(
            "warning: <stdin>: document 4: invalid Deployment shop/worker pod template: "
        ),
        "{stderr}"
    );
    // The left-out pod is not found, and the warning says why.
    let (code, _, stderr) = run(&["explain", "-n", "shop", "pod/web"], text);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("document 2: invalid Pod shop/web"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("error: "),
        "{stderr}"
    );
}

#[test]
fn only_text_that_is_not_yaml_stops_the_reading() {
    let text = format!(
        "{}---\n{}---\nspec: [unclosed\n",
        policy("bad", "{podSelector: {}, egress: {}}"),
        policy("good", "{podSelector: {}}")
    );
    let (code, stdout, stderr) = run(&["list", "-A"], &text);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: <stdin>: document 3: ") && stderr.contains("line 11"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Item: `check -f` reads what the live `check` reads.

/// A k3s server node; `ARGS` is its `k3s.io/node-args` (a JSON list).
fn k3s_node(name: &str, args: &str, with_kind: bool) -> String {
    let head = if with_kind {
        "apiVersion: v1\n  kind: Node\n  "
    } else {
        ""
    };
    format!(
        "- {head}metadata:
    name: {name}
    labels: {{node-role.kubernetes.io/control-plane: 'true'}}
    annotations: {{k3s.io/node-args: '{args}'}}
  status:
    addresses: [{{type: InternalIP, address: 10.0.0.10}}]
    nodeInfo: {{architecture: amd64, bootID: b, containerRuntimeVersion: 'containerd://1.7', kernelVersion: '6.8', kubeProxyVersion: v1.31.4+k3s1, kubeletVersion: v1.31.4+k3s1, machineID: m, operatingSystem: linux, osImage: Ubuntu, systemUUID: u}}
"
    )
}

#[test]
fn check_reads_nodes_from_typed_and_plain_lists() {
    let args = r#"["server","--disable-network-policy"]"#;
    let node_list = format!(
        "apiVersion: v1\nkind: NodeList\nitems:\n{}",
        k3s_node("k3s-server-0", args, false)
    );
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        k3s_node("k3s-server-0", args, true)
    );
    for text in [&node_list, &list] {
        let (code, stdout, stderr) = run(&["check", "-o", "json"], text);
        assert_eq!(code, 3, "{stdout}{stderr}");
        let v = parse_json(&stdout);
        assert_eq!(v["found"][0]["name"], "k3s", "{stdout}");
        assert_eq!(
            v["problems"],
            serde_json::json!(["node k3s-server-0: k3s runs with --disable-network-policy"])
        );
    }
}

#[test]
fn check_reads_only_the_configmaps_the_live_check_reads() {
    // A cilium-config in an application namespace is not Cilium's: the
    // live check never reads it, and neither does `check -f`.
    let stray = "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: shop}\ndata: {enable-policy: never}\n";
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cni/cilium-pods-only.yaml"
    ))
    .expect("fixture");
    let (code, stdout, stderr) = run(&["check", "-o", "json"], &format!("{fixture}{stray}"));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(parse_json(&stdout)["verdict"], "enforced");
}

#[test]
fn a_wrongly_typed_node_is_left_out_of_the_evidence_with_a_warning() {
    let bad = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {nodeInfo: {kubeletVersion: 1.31}}\n";
    let text = format!(
        "{bad}---\napiVersion: v1\nkind: NodeList\nitems:\n{}",
        k3s_node("k3s-server-0", r#"["server"]"#, false)
    );
    let (code, stdout, stderr) = run(&["check"], &text);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("k3s"), "{stdout}");
    assert!(
        stderr.starts_with("warning: <stdin>: document 1: invalid Node n1: "),
        "{stderr}"
    );
}

#[test]
fn a_policy_with_wrongly_typed_metadata_is_invalid_by_its_name() {
    // kubectl refuses such metadata before sending it; the policy is still
    // shown, by the name as written, as INVALID.
    let text = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: 5, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: owned, namespace: shop, creationTimestamp: 7}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: labelled, namespace: shop, labels: {team: 1}}
spec: {podSelector: {}}
";
    let (code, stdout, stderr) = run(&["list", "-A", "-o", "json"], text);
    assert_eq!(code, 1, "{stderr}");
    let v = parse_json(&stdout);
    let rows: Vec<(String, bool, String)> = v["policies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["valid"].as_bool().unwrap_or(true),
                r["errors"][0].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "5".to_string(),
                false,
                "metadata.name: Invalid value: \"number\": json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string".to_string()
            ),
            (
                "labelled".to_string(),
                false,
                "metadata.labels[team]: Invalid value: \"number\": json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string".to_string()
            ),
            (
                "owned".to_string(),
                false,
                "metadata: Invalid value: \"object\": invalid type: integer `7`, expected a timestamp string".to_string()
            ),
        ],
        "{stdout}"
    );
}

/// The init-container cluster with the CNI evidence of `fixture` (a file of
/// tests/fixtures/cni) beside it.
fn with_cni(text: &str, fixture: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/cni/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let cni = std::fs::read_to_string(&path).expect("fixture");
    format!("{text}---\n{cni}")
}

#[test]
fn init_container_named_ports_are_worded_for_the_cni_found() {
    let plain = init_container_cluster("");
    let head = "named port \"metrics\" is declared only by a plain init container of shop/web, which has exited before the pod serves traffic";
    for (fixture, tail) in [
        (
            None,
            "; whether it resolves depends on the CNI (Calico resolves it there anyway, to TCP/9090), and the CNI is not known here (see kubectl netpol check)",
        ),
        (
            Some("calico-manifest.yaml"),
            "; but this cluster runs Calico, which resolves it there anyway, to TCP/9090: here the rule does open TCP/9090",
        ),
        (
            Some("cilium-default.yaml"),
            "; this cluster runs Cilium, which resolves it to nothing (Calico would resolve it there, to TCP/9090)",
        ),
    ] {
        let text = match fixture {
            Some(f) => with_cni(&plain, f),
            None => plain.clone(),
        };
        let note = format!("{head}{tail}");
        // can: the rule's reason.
        let r = can_json("shop/client", "shop/web", None, &text);
        let reason = r["ingress"]["notMatched"][0]["reason"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.ends_with(&format!("; {note}")),
            "{fixture:?}: {reason}"
        );
        // can --port metrics: the error.
        let (code, _, stderr) = run(
            &["can", "shop/client", "shop/web", "--port", "metrics"],
            &text,
        );
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.ends_with(&format!(" ({note})\n")),
            "{fixture:?}: {stderr}"
        );
        // explain: the conclusion's note.
        let (code, stdout, stderr) = run(&["explain", "-n", "shop", "pod/web"], &text);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stdout.contains(&format!("Note: {note}.")),
            "{fixture:?}: {stdout}"
        );
        // lint: the finding.
        let (_, stdout, _) = run(&["lint", "-o", "json"], &text);
        let v = parse_json(&stdout);
        let message = v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["check"] == "named-port-missing")
            .and_then(|f| f["message"].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            message.ends_with(&format!("; {note}")),
            "{fixture:?}: {message}"
        );
        // explain's findings are linted knowing the CNI too.
        let (_, stdout, _) = run(&["explain", "-n", "shop", "pod/web", "-o", "json"], &text);
        let v = parse_json(&stdout);
        let finding = v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["check"] == "named-port-missing")
            .and_then(|f| f["message"].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            finding.ends_with(&format!("; {note}")),
            "{fixture:?}: {finding}"
        );
    }
}

/// `can` reads only the Pods of the namespaces it needs: a Pod elsewhere
/// is still parsed (a syntax error there stops the reading), but the
/// warnings about objects the API server would reject name only the
/// objects read; `NETPOL_NARROW=0` reads, and warns about, everything.
#[test]
fn can_warns_about_the_pods_it_reads_and_stops_at_any_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nstatus: {podIP: 10.0.0.2}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: job\n  namespace: batch\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: not-a-number\n";
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, cluster).unwrap();
    let file = file.to_str().unwrap();
    let can = |narrow: &str| {
        let out = netpol()
            .args(["can", "shop/web", "shop/db", "-f", file])
            .env("NETPOL_NARROW", narrow)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (narrow, whole) = (can("1"), can("0"));
    assert_eq!(narrow.0, Some(0), "{narrow:?}");
    assert_eq!((narrow.0, &narrow.1), (whole.0, &whole.1));
    assert!(!narrow.2.contains("invalid Pod"), "{}", narrow.2);
    assert!(
        whole.2.contains("document 3: invalid Pod batch/job"),
        "{}",
        whole.2
    );
    // The same Pod, not YAML: an error either way.
    let broken = cluster.replace("containerPort: not-a-number", "containerPort: [80");
    std::fs::write(file, broken).unwrap();
    let (narrow, whole) = (can("1"), can("0"));
    assert_eq!(narrow, whole);
    assert!(narrow.2.contains("document 3:"), "{}", narrow.2);
    assert_ne!(narrow.0, Some(0));
    // A pipe cannot be read again: read in full (the warning shows).
    std::fs::write(file, cluster).unwrap();
    let piped = netpol()
        .args(["can", "shop/web", "shop/db", "-f", "/dev/stdin"])
        .write_stdin(cluster)
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&piped.stderr).contains("invalid Pod batch/job"));
    // A bad setting is a usage error.
    let bad = can("yes");
    assert_eq!(bad.0, Some(2), "{bad:?}");
    assert!(bad.2.contains("NETPOL_NARROW"), "{}", bad.2);
}

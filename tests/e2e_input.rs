//! End-to-end checks of how manifests are read, against the real
//! kube-apiserver that `scripts/e2e-cluster` starts (NETPOL_E2E_DIR):
//!
//! - the wording of wrongly typed NetworkPolicy fields is the API server's
//!   own (each case of `tests/fixtures/input/wrong-types.json` is sent to it);
//! - `check -f` on Node objects gives the verdict the live `check` gives on
//!   the same objects stored in the cluster (and on what `kubectl get
//!   nodes -o yaml` returns for them).
//!
//! A separate test binary from tests/e2e.rs on purpose: Nodes are
//! cluster-wide, and e2e.rs's `check` test expects to find no CNI; test
//! binaries run one after another, and the Nodes made here are deleted.

use std::process::Output;

use serde_json::Value;

mod common;
use common::cluster::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Held by the tests that create Nodes: the live `check` reads every node,
/// so they must not see each other's.
static NODE_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Deletes the named Nodes when dropped, whatever the test's outcome.
struct Nodes<'a>(&'a Cluster, Vec<String>);

impl Drop for Nodes<'_> {
    fn drop(&mut self) {
        let mut args = vec!["delete", "node", "--ignore-not-found", "--wait=false"];
        args.extend(self.1.iter().map(String::as_str));
        let _ = self.0.kubectl(&args, None);
    }
}

#[test]
fn wrong_types_are_worded_as_the_api_server_words_them() {
    let Some(c) = cluster() else { return };
    const PREFIX: &str = "NetworkPolicy in version \"v1\" cannot be handled as a NetworkPolicy: ";
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/input/wrong-types.json"
    ))
    .expect("wrong-types.json");
    let cases: Vec<Value> = serde_json::from_str(&table).expect("JSON");
    for case in &cases {
        let field = |k: &str| case[k].as_str().unwrap_or_default().to_string();
        let (spec, path, message) = (field("spec"), field("path"), field("message"));
        let yaml = format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: wrong-type, namespace: default}}\nspec: {spec}\n"
        );
        // What the server says (it stores nothing: a dry run).
        let out = c.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&yaml));
        assert!(!out.status.success(), "{spec}: the server accepted it");
        let server = text(&out.stderr);
        let said = server
            .split(PREFIX)
            .nth(1)
            .map(str::trim_end)
            .unwrap_or_else(|| panic!("{spec}: {server}"));
        // What we say: the same words, after the field path and value.
        let ours = c.binary(&["list", "-A", "-o", "json", "-f", "-"], Some(&yaml));
        let v: Value = serde_json::from_slice(&ours.stdout).expect("JSON");
        let errors = v["policies"][0]["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{spec}: {v}");
        let ours = errors[0].as_str().unwrap_or_default();
        assert_eq!(ours, format!("{path}: {message}"), "{spec}");
        assert!(
            ours.ends_with(&format!(": {said}")),
            "{spec}:\n  server: {said}\n  ours:   {ours}"
        );
    }
}

/// Three k3s nodes: a server started with `SERVER_ARGS` and two agents.
fn k3s_nodes(server_args: &str) -> String {
    let node = |name: &str, args: &str, role: &str| {
        format!(
            "apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{kubernetes.io/hostname: {name}{role}}}
  annotations: {{k3s.io/node-args: '{args}'}}
status:
  addresses: [{{type: InternalIP, address: 10.0.0.10}}, {{type: Hostname, address: {name}}}]
  nodeInfo: {{architecture: amd64, bootID: b, containerRuntimeVersion: 'containerd://1.7.23-k3s2', kernelVersion: '6.8', kubeProxyVersion: v1.31.4+k3s1, kubeletVersion: v1.31.4+k3s1, machineID: m, operatingSystem: linux, osImage: Ubuntu, systemUUID: u}}
"
        )
    };
    [
        node(
            "netpol-e2e-k3s-server",
            server_args,
            ", node-role.kubernetes.io/control-plane: 'true'",
        ),
        node(
            "netpol-e2e-k3s-agent-0",
            r#"["agent","--server","https://10.0.0.10:6443"]"#,
            "",
        ),
        node(
            "netpol-e2e-k3s-agent-1",
            r#"["agent","--server","https://10.0.0.10:6443"]"#,
            "",
        ),
    ]
    .join("---\n")
}

#[test]
fn check_gives_the_same_verdict_on_nodes_live_and_offline() {
    let Some(c) = cluster() else { return };
    let _serial = NODE_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = Nodes(
        &c,
        [
            "netpol-e2e-k3s-server",
            "netpol-e2e-k3s-agent-0",
            "netpol-e2e-k3s-agent-1",
        ]
        .map(String::from)
        .to_vec(),
    );
    let admin = c.kubeconfig("admin");
    for (server_args, verdict) in [
        (r#"["server","--disable-network-policy"]"#, "not-enforced"),
        (r#"["server","--disable","traefik"]"#, "enforced"),
    ] {
        let manifest = k3s_nodes(server_args);
        let out = c.kubectl(&["apply", "-f", "-"], Some(&manifest));
        assert!(out.status.success(), "apply: {}", text(&out.stderr));

        let live = c.binary(&["check", "-o", "json", "--kubeconfig", &admin], None);
        let offline = c.binary(&["check", "-o", "json", "-f", "-"], Some(&manifest));
        // And what the API gives back for those nodes, as kubectl prints it.
        let got = c.kubectl(
            &[
                "get",
                "node",
                "netpol-e2e-k3s-server",
                "netpol-e2e-k3s-agent-0",
                "netpol-e2e-k3s-agent-1",
                "-o",
                "yaml",
            ],
            None,
        );
        assert!(got.status.success(), "{}", text(&got.stderr));
        let round_trip = c.binary(
            &["check", "-o", "json", "-f", "-"],
            Some(&text(&got.stdout)),
        );
        let json = |o: &Output| -> Value {
            serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)))
        };
        let (mut live_v, offline_v, round_v) = (json(&live), json(&offline), json(&round_trip));
        // The served cluster policy APIs (and whether the CNI implements
        // them) are known live only (discovery): none here; the rest is
        // the same answer live and offline.
        assert_eq!(
            live_v.as_object_mut().unwrap().remove("clusterPolicyApis"),
            Some(serde_json::json!([])),
            "{live_v:#}"
        );
        assert_eq!(
            live_v
                .as_object_mut()
                .unwrap()
                .remove("clusterPolicySupport"),
            Some(serde_json::json!([])),
            "{live_v:#}"
        );
        assert_eq!(live_v["verdict"], verdict, "{live_v:#}");
        assert_eq!(live_v["found"][0]["name"], "k3s", "{live_v:#}");
        assert_eq!(offline_v, live_v, "offline vs live ({server_args})");
        assert_eq!(
            round_v, live_v,
            "kubectl get -o yaml vs live ({server_args})"
        );
        assert_eq!(live.status.code(), offline.status.code());
        assert_eq!(live.status.code(), round_trip.status.code());
    }
}

/// The names of the Nodes in a manifest of `kind: Node` documents.
fn node_names(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn check_tells_the_platform_from_the_same_nodes_live_and_offline() {
    let Some(c) = cluster() else { return };
    let _serial = NODE_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let admin = c.kubeconfig("admin");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cni/platforms");
    for (file, platform) in [
        ("kind.yaml", "kind"),
        ("eks.yaml", "EKS"),
        ("gke.yaml", "GKE"),
        ("aks.yaml", "AKS"),
        ("rke2.yaml", "RKE2"),
        ("minikube.yaml", "minikube"),
        ("openshift.yaml", "OpenShift"),
    ] {
        let manifest = std::fs::read_to_string(format!("{dir}/{file}")).expect(file);
        let names = node_names(&manifest);
        assert!(!names.is_empty(), "{file}");
        let cleanup = Nodes(&c, names.clone());
        let out = c.kubectl(&["create", "-f", "-"], Some(&manifest));
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        // The status as the kubelet would report it, through the status
        // subresource (whatever the server kept of it on create).
        for doc in manifest.split("\n---\n") {
            let node: Value = serde_yaml_ng::from_str(doc).expect("YAML");
            let name = node["metadata"]["name"].as_str().unwrap_or_default();
            let patch = serde_json::json!({"status": node["status"]}).to_string();
            c.patch_status("node", None, name, &patch);
        }

        let live = c.binary(&["check", "-o", "json", "--kubeconfig", &admin], None);
        let offline = c.binary(&["check", "-o", "json", "-f", "-"], Some(&manifest));
        let mut get = vec!["get", "node"];
        get.extend(names.iter().map(String::as_str));
        get.extend(["-o", "yaml"]);
        let got = c.kubectl(&get, None);
        assert!(got.status.success(), "{}", text(&got.stderr));
        let round_trip = c.binary(
            &["check", "-o", "json", "-f", "-"],
            Some(&text(&got.stdout)),
        );
        let json = |o: &Output| -> Value {
            serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)))
        };
        let (mut live_v, offline_v, round_v) = (json(&live), json(&offline), json(&round_trip));
        // The served cluster policy APIs (and whether the CNI implements
        // them) are known live only (discovery): none here; the rest is
        // the same answer live and offline.
        assert_eq!(
            live_v.as_object_mut().unwrap().remove("clusterPolicyApis"),
            Some(serde_json::json!([])),
            "{live_v:#}"
        );
        assert_eq!(
            live_v
                .as_object_mut()
                .unwrap()
                .remove("clusterPolicySupport"),
            Some(serde_json::json!([])),
            "{live_v:#}"
        );
        assert_eq!(live_v["platform"]["name"], platform, "{file}: {live_v:#}");
        assert_eq!(offline_v, live_v, "{file}: offline vs live");
        assert_eq!(round_v, live_v, "{file}: kubectl get -o yaml vs live");
        assert_eq!(live.status.code(), offline.status.code(), "{file}");
        // The text says it too.
        let live_text = c.binary(&["check", "--kubeconfig", &admin], None);
        assert!(
            text(&live_text.stdout).contains(&format!("\nPlatform:       {platform} (node ")),
            "{file}: {}",
            text(&live_text.stdout)
        );
        // Deleted before the next platform's nodes come (precedence would
        // otherwise mix them).
        let mut delete = vec!["delete", "node", "--wait=true"];
        delete.extend(names.iter().map(String::as_str));
        let out = c.kubectl(&delete, None);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        drop(cleanup);
    }
}

/// A user who may not list nodes gets the verdict without the platform,
/// and the nodes among what could not be read.
#[test]
fn check_without_node_access_has_no_platform() {
    let Some(c) = cluster() else { return };
    let bob = c.dir.join("bob.kubeconfig").display().to_string();
    let o = c.binary(&["check", "-o", "json", "--kubeconfig", &bob], None);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    assert!(v["platform"].is_null(), "{v:#}");
    assert!(
        v["unreadable"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u == "nodes (forbidden)"),
        "{v:#}"
    );
}

//! End-to-end tests against a real kube-apiserver + etcd on 127.0.0.1,
//! through kubectl's own plugin dispatch (`kubectl netpol ...`).
//!
//! `scripts/test-all` starts the server (scripts/e2e-cluster) and sets
//! NETPOL_E2E_DIR. Without it these tests fail in CI and, elsewhere, say
//! loudly that they did not run. Each test works in namespaces of its own.

use std::io::Write;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod common;
use common::cluster::*;

/// Two namespaces with pods and policies; returns (shop, clients) and the
/// same objects as manifests, for comparing live answers with offline ones.
fn seed_shop(c: &Cluster) -> (String, String, String) {
    let shop = c.namespace("shop");
    let clients = c.namespace("clients");
    let mut manifest = String::new();
    let ns_yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {shop}, labels: {{team: {shop}}}}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {clients}, labels: {{team: {clients}}}}}\n"
    );
    c.apply(&ns_yaml);
    manifest.push_str(&ns_yaml);
    let pods = [
        (
            &shop,
            "api",
            "app: api",
            "{name: http, containerPort: 8080}",
            "10.61.0.10",
        ),
        (
            &shop,
            "db",
            "app: db",
            "{name: pg, containerPort: 5432}",
            "10.61.0.11",
        ),
        (
            &clients,
            "web",
            "app: web",
            "{containerPort: 80}",
            "10.62.0.10",
        ),
        (
            &clients,
            "bot",
            "app: bot",
            "{containerPort: 80}",
            "10.62.0.11",
        ),
    ];
    for (ns, name, labels, ports, ip) in pods {
        c.pod(ns, name, labels, ports, ip);
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}}}\nspec: {{nodeName: node-1, containers: [{{name: c, image: x, ports: [{ports}]}}]}}\nstatus: {{podIP: {ip}}}\n"
        ));
    }
    let policies = format!(
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny, namespace: {shop}}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-to-api, namespace: {shop}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
  - from:
    - namespaceSelector: {{matchLabels: {{team: {clients}}}}}
      podSelector: {{matchLabels: {{app: web}}}}
    ports: [{{port: http}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: api-to-db, namespace: {shop}}}
spec:
  podSelector: {{matchLabels: {{app: db}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{app: api}}}}}}]
    ports: [{{port: 5432}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: bot-egress, namespace: {clients}}}
spec:
  podSelector: {{matchLabels: {{app: bot}}}}
  policyTypes: [Egress]
  egress:
  - to: [{{ipBlock: {{cidr: 10.61.0.0/16, except: [10.61.0.11/32]}}}}]
"#
    );
    c.apply(&policies);
    manifest.push_str("---\n");
    manifest.push_str(&policies);
    (shop, clients, manifest)
}

#[test]
fn live_answers_equal_offline_answers_on_the_same_objects() {
    let Some(c) = cluster() else { return };
    let (shop, clients, manifest) = seed_shop(&c);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("same.yaml");
    std::fs::write(&file, &manifest).unwrap();
    let file = file.display().to_string();
    let kc = c.kubeconfig("admin");
    let web = format!("{clients}/web");
    let api = format!("{shop}/api");
    let cases: Vec<Vec<String>> = vec![
        vec!["list".into(), "-n".into(), shop.clone()],
        vec![
            "explain".into(),
            "pod/api".into(),
            "-n".into(),
            shop.clone(),
        ],
        vec!["explain".into(), "db".into(), "-n".into(), shop.clone()],
        vec!["can".into(), web.clone(), api.clone()],
        vec!["can".into(), format!("{clients}/bot"), format!("{shop}/db")],
        vec![
            "can".into(),
            web.clone(),
            api.clone(),
            "--port".into(),
            "http".into(),
        ],
        vec!["matrix".into(), "-n".into(), shop.clone()],
    ];
    for case in cases {
        let args: Vec<&str> = case.iter().map(String::as_str).collect();
        let mut live_args = args.clone();
        live_args.extend(["--kubeconfig", &kc, "-o", "json"]);
        let mut file_args = args.clone();
        file_args.extend(["-f", &file, "-o", "json"]);
        let live = c.netpol(&live_args, &[]);
        let offline = c.netpol(&file_args, &[]);
        assert_eq!(
            live.status.code(),
            offline.status.code(),
            "{case:?}: {}",
            stderr(&live)
        );
        let (l, o): (Value, Value) = (
            serde_json::from_slice(&live.stdout)
                .unwrap_or_else(|_| panic!("{case:?}: {}", stderr(&live))),
            serde_json::from_slice(&offline.stdout).unwrap(),
        );
        assert_eq!(l, o, "{case:?}");
    }
    // And the answers themselves are the right ones.
    let can = json(&c.as_user("admin", &["can", &web, &api, "-o", "json"]));
    assert_eq!(can["allowed"], true);
    assert_eq!(can["ports"], serde_json::json!(["TCP/8080"]));
    let denied = c.as_user(
        "admin",
        &["can", &format!("{clients}/bot"), &format!("{shop}/db")],
    );
    assert_eq!(denied.status.code(), Some(1), "{}", stdout(&denied));
    assert!(stdout(&denied).starts_with("DENIED"), "{}", stdout(&denied));
}

#[test]
fn text_commands_work_through_plugin_dispatch() {
    let Some(c) = cluster() else { return };
    let (shop, _clients, _) = seed_shop(&c);
    let out = ok(&c.as_user("admin", &["list", "-n", &shop]));
    assert!(out.starts_with("NAME "), "{out}");
    assert!(out.contains("web-to-api"), "{out}");
    let out = ok(&c.as_user("admin", &["explain", "api", "-n", &shop]));
    assert!(out.contains(&format!("Pod:         {shop}/api")), "{out}");
    assert!(out.contains("IP:          10.61.0.10"), "{out}");
    let out = ok(&c.as_user("admin", &["matrix", "-n", &shop]));
    assert!(out.contains("FROM \\ TO"), "{out}");
    let help = ok(&c.netpol(&["--help"], &[]));
    assert!(help.contains("Usage: kubectl netpol"), "{help}");
}

#[test]
fn namespace_flags_context_and_kubeconfig_lists() {
    let Some(c) = cluster() else { return };
    let (shop, clients, _) = seed_shop(&c);
    // -A lists both namespaces; -A wins over -n.
    let all = json(&c.as_user("admin", &["list", "-A", "-n", &shop, "-o", "json"]));
    let namespaces: Vec<&str> = all["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["namespace"].as_str().unwrap())
        .collect();
    assert!(namespaces.contains(&shop.as_str()) && namespaces.contains(&clients.as_str()));
    // --context picks a context by name; an unknown one is an error.
    let ctx = json(&c.as_user(
        "admin",
        &["list", "--context", "e2e", "-n", &shop, "-o", "json"],
    ));
    assert_eq!(ctx["policies"].as_array().unwrap().len(), 3);
    let bad = c.as_user("admin", &["list", "--context", "nope"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).starts_with("error: context was not found for specified context: nope"),
        "{}",
        stderr(&bad)
    );
    // $KUBECONFIG with two files merged: the context (namespace e2e-split) is
    // in the second file, the cluster and user in the first.
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-split}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: split-policy, namespace: e2e-split}\nspec: {podSelector: {}}\n");
    let two = format!(
        "{}:{}",
        c.dir.join("two-a.kubeconfig").display(),
        c.dir.join("two-b.kubeconfig").display()
    );
    let merged = json(&c.netpol(&["list", "-o", "json"], &[("KUBECONFIG", two)]));
    assert_eq!(merged["policies"][0]["name"], "split-policy", "{merged}");
    // --server and --certificate-authority override the kubeconfig.
    let ca = c.dir.join("ca.crt").display().to_string();
    let o = c.as_user(
        "admin",
        &[
            "list",
            "-n",
            &shop,
            "--server",
            &c.server,
            "--certificate-authority",
            &ca,
        ],
    );
    assert!(ok(&o).contains("api-to-db"));
}

#[test]
fn rbac_refusals_and_impersonation() {
    let Some(c) = cluster() else { return };
    let (shop, _, _) = seed_shop(&c);
    // alice has no rights: one error line naming what was refused and who.
    let o = c.as_user("alice", &["list", "-n", &shop]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot list "), "{err}");
    assert!(err.contains("forbidden for user \"alice\""), "{err}");
    assert!(stdout(&o).is_empty());
    // can uses exit 2 for errors.
    let o = c.as_user(
        "alice",
        &["can", &format!("{shop}/api"), &format!("{shop}/db")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // bob reads pods, namespaces and policies: everything works.
    let o = c.as_user("bob", &["explain", "db", "-n", &shop]);
    assert!(ok(&o).contains("api-to-db"));
    // --as: admin impersonating alice is refused as alice; as bob it works.
    let o = c.as_user("admin", &["list", "-n", &shop, "--as", "alice"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("\"alice\""), "{}", stderr(&o));
    let o = c.as_user("admin", &["list", "-n", &shop, "--as", "bob"]);
    assert!(ok(&o).contains("default-deny"));
    let o = c.as_user(
        "admin",
        &[
            "list",
            "-n",
            &shop,
            "--as",
            "nobody",
            "--as-group",
            "system:masters",
        ],
    );
    assert!(ok(&o).contains("default-deny"));
}

#[test]
fn paging_over_more_than_a_thousand_pods() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("many");
    let mut yaml = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {{name: {ns}}}\n"
    );
    for i in 0..1100 {
        yaml.push_str(&format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p{i}, namespace: {ns}, labels: {{app: a{}}}}}\n  spec: {{nodeName: node-1, containers: [{{name: c, image: x}}]}}\n",
            i % 3
        ));
    }
    yaml.push_str(&format!(
        "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {{name: all, namespace: {ns}}}\n  spec: {{podSelector: {{}}}}\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {{name: a0, namespace: {ns}}}\n  spec: {{podSelector: {{matchLabels: {{app: a0}}}}}}\n"
    ));
    let out = c.kubectl(&["create", "-f", "-"], Some(&yaml));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = json(&c.as_user("admin", &["list", "-n", &ns, "-o", "json"]));
    let counts: Vec<(String, u64)> = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["pods"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![("a0".to_string(), 367), ("all".to_string(), 1100)]
    );
}

#[test]
fn unreachable_and_hanging_servers_fail_fast_with_one_line() {
    let Some(c) = cluster() else { return };
    let ca = c.dir.join("ca.crt").display().to_string();
    // Nothing listens: connection refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("https://127.0.0.1:{closed}");
    let o = c.as_user(
        "admin",
        &[
            "list",
            "--server",
            &url,
            "--certificate-authority",
            &ca,
            "--request-timeout",
            "5s",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot list "), "{err}");
    // A server that accepts and never answers: --request-timeout ends it.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", hang.local_addr().unwrap().port());
    let held = std::thread::spawn(move || {
        let conns: Vec<_> = hang.incoming().take(4).collect();
        std::thread::sleep(std::time::Duration::from_secs(5));
        drop(conns);
    });
    let start = std::time::Instant::now();
    let o = c.as_user(
        "admin",
        &[
            "list",
            "--server",
            &url,
            "--certificate-authority",
            &ca,
            "--request-timeout",
            "1s",
        ],
    );
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    drop(held);
    // A server that closes every connection at once (stopped mid-run).
    let drop_all = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        drop_all.local_addr().unwrap().port()
    );
    std::thread::spawn(move || {
        for conn in drop_all.incoming().take(8) {
            drop(conn);
        }
    });
    let o = c.as_user(
        "admin",
        &[
            "list",
            "--server",
            &url,
            "--certificate-authority",
            &ca,
            "--request-timeout",
            "5s",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

/// `check` on look-alike CNI objects. Only this test touches kube-system and
/// CNI namespaces, and it runs its scenarios in order.
#[test]
fn check_reads_the_cni_from_the_cluster() {
    let Some(c) = cluster() else { return };
    let ds = |ns: &str, name: &str, container: &str, image: &str, ready: u32| {
        c.apply(&format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: {ns}, labels: {{k8s-app: {name}}}}}\nspec:\n  selector: {{matchLabels: {{k8s-app: {name}}}}}\n  template:\n    metadata: {{labels: {{k8s-app: {name}}}}}\n    spec: {{containers: [{{name: {container}, image: '{image}'}}]}}\n"
        ));
        let patch = format!(
            r#"{{"status":{{"desiredNumberScheduled":3,"currentNumberScheduled":3,"numberMisscheduled":0,"numberReady":{ready}}}}}"#
        );
        c.patch_status("daemonset", Some(ns), name, &patch);
    };
    // Nothing that looks like a CNI: cannot tell (exit 4).
    let o = c.as_user("admin", &["check"]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("NetworkPolicy:  unknown"),
        "{}",
        stdout(&o)
    );

    // flannel alone: not enforced (exit 3), and list warns about it.
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-flannel}\n");
    ds(
        "kube-flannel",
        "kube-flannel-ds",
        "kube-flannel",
        "docker.io/flannel/flannel:v0.25.1",
        3,
    );
    let o = c.as_user("admin", &["check", "-o", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "not-enforced", "{v}");
    assert_eq!(v["found"][0]["name"], "flannel", "{v}");
    let o = c.as_user("admin", &["list", "-A"]);
    assert!(
        stderr(&o).contains("warning: NetworkPolicy is not enforced in this cluster: flannel"),
        "{}",
        stderr(&o)
    );

    // sync reminds once, before anything would be written.
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("graph.yaml");
    let ns = c.namespace("cni-sync");
    std::fs::write(
        &graph,
        format!(
            "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata: {{name: cni}}\nspec:\n  services:\n  - {{name: web, namespace: {ns}, podSelector: {{matchLabels: {{app: web}}}}}}\n"
        ),
    )
    .unwrap();
    let o = c.as_user(
        "admin",
        &["sync", "-f", graph.to_str().unwrap(), "--dry-run=client"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    let reminders: Vec<&str> = err
        .lines()
        .filter(|l| {
            l.starts_with("warning: NetworkPolicy is not enforced in this cluster: flannel")
        })
        .collect();
    assert_eq!(reminders.len(), 1, "{err}");
    assert!(
        err.find("warning: NetworkPolicy is not enforced").unwrap()
            > err.find("to create").unwrap(),
        "after the plan: {err}"
    );

    // Calico beside it enforces (exit 0); a not-ready daemonset is a problem.
    ds(
        "kube-system",
        "calico-node",
        "calico-node",
        "docker.io/calico/node:v3.28.1",
        1,
    );
    let o = c.as_user("admin", &["check"]);
    let out = ok(&o);
    assert!(out.contains("NetworkPolicy:  enforced"), "{out}");
    assert!(out.contains("Calico v3.28.1"), "{out}");
    assert!(
        out.contains("daemonset kube-system/calico-node  1/3 ready"),
        "{out}"
    );
    assert!(out.contains("Problems:"), "{out}");

    // bob cannot read daemonsets: the gap is reported, not an error.
    let o = c.as_user("bob", &["check"]);
    assert!(
        matches!(o.status.code(), Some(3 | 4)),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("daemonsets in any namespace (forbidden)"),
        "{}",
        stdout(&o)
    );
    // alice reads nothing at all: still an answer (cannot tell), exit 4.
    let o = c.as_user("alice", &["check"]);
    assert_eq!(o.status.code(), Some(4), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("pods in namespace \"kube-system\" (forbidden)"),
        "{}",
        stdout(&o)
    );

    let out = c.kubectl(
        &["delete", "daemonset", "calico-node", "-n", "kube-system"],
        None,
    );
    assert!(out.status.success());
    let out = c.kubectl(
        &[
            "delete",
            "daemonset",
            "kube-flannel-ds",
            "-n",
            "kube-flannel",
        ],
        None,
    );
    assert!(out.status.success());
}

/// A user with rights in one namespace only (the common case): list and
/// explain still answer, and what could not be read is marked unknown,
/// never shown as "none".
#[test]
fn namespace_scoped_user_gets_partial_answers_marked_unknown() {
    let Some(c) = cluster() else { return };
    let (shop, clients, _) = seed_shop(&c);
    c.bind_carol(&shop, "pods");
    let out = ok(&c.as_user("carol", &["list", "-n", &shop]));
    assert!(out.contains("web-to-api"), "{out}");
    let out = ok(&c.as_user("carol", &["explain", "api", "-n", &shop]));
    assert!(
        out.contains(&format!(
            "web in namespaces [team={clients}] -> unknown: namespace labels could not be read"
        )),
        "{out}"
    );
    assert!(out.contains("(pods unknown)"), "{out}");
    assert!(
        out.contains("RBAC kept some objects from being read"),
        "{out}"
    );
    let v = json(&c.as_user("carol", &["explain", "api", "-n", &shop, "-o", "json"]));
    let peer = &v["ingress"]["policies"][1]["rules"][0]["peers"][0];
    assert!(
        peer["unknown"].as_str().unwrap().contains("forbidden"),
        "{v}"
    );
    // The db's peers are in its own namespace: fully known.
    let out = ok(&c.as_user("carol", &["explain", "db", "-n", &shop]));
    assert!(out.contains(&format!("-> 1 pod: {shop}/api")), "{out}");
    // can needs both namespaces' policies: refused, exit 2.
    let o = c.as_user(
        "carol",
        &["can", &format!("{clients}/web"), &format!("{shop}/api")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("forbidden for user \"carol\""),
        "{}",
        stderr(&o)
    );
}

/// Tokens: from an exec credential plugin (as cloud kubeconfigs work), and
/// from --token with --server and no kubeconfig at all.
#[test]
fn exec_credential_plugins_and_bearer_tokens() {
    let Some(c) = cluster() else { return };
    let (shop, _, _) = seed_shop(&c);
    let out = ok(&c.as_user("exec", &["list", "-n", &shop]));
    assert!(out.contains("api-to-db"), "{out}");
    let ca = c.dir.join("ca.crt").display().to_string();
    let args = [
        "list",
        "-n",
        &shop,
        "--server",
        &c.server,
        "--certificate-authority",
        &ca,
    ];
    let mut with_token = args.to_vec();
    with_token.extend(["--token", "e2e-token-dave"]);
    assert!(ok(&c.netpol(&with_token, &[])).contains("api-to-db"));
    // A wrong token: 401, one line.
    let mut bad = args.to_vec();
    bad.extend(["--token", "wrong"]);
    let o = c.netpol(&bad, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Unauthorized"), "{}", stderr(&o));
    // No CA and no --insecure-skip-tls-verify: TLS is verified, and fails.
    let o = c.netpol(
        &["list", "--server", &c.server, "--token", "e2e-token-dave"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // Asked for explicitly, verification is off.
    let o = c.netpol(
        &[
            "list",
            "-n",
            &shop,
            "--server",
            &c.server,
            "--token",
            "e2e-token-dave",
            "--insecure-skip-tls-verify",
        ],
        &[],
    );
    assert!(ok(&o).contains("api-to-db"));
}

/// lint and coverage on the live cluster, and manifests linted against it.
#[test]
fn lint_and_coverage_live() {
    let Some(c) = cluster() else { return };
    let (shop, clients, _) = seed_shop(&c);
    // A policy with the classic namespaceSelector typo, applied for real.
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: typo, namespace: {shop}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{name: {clients}}}}}}}]\n"
    ));
    let o = c.as_user("admin", &["lint", "-n", &shop, "-o", "json"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let typo = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "namespace-selector-typo")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(typo["object"], format!("{shop}/typo"));
    // The same fix as a manifest, checked against the cluster before applying.
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed.yaml");
    std::fs::write(
        &fixed,
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: typo, namespace: {shop}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {clients}}}}}}}]\n"
        ),
    )
    .unwrap();
    let f = fixed.display().to_string();
    let kc = c.kubeconfig("admin");
    let o = c.netpol(
        &[
            "lint",
            "-f",
            &f,
            "--against-cluster",
            "--kubeconfig",
            &kc,
            "-A",
            "-o",
            "json",
        ],
        &[],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["object"] == format!("{shop}/typo")),
        "only the manifest's policy is linted: {v}"
    );
    // coverage: shop has a default deny for ingress; every pod is isolated.
    let v = json(&c.as_user("admin", &["coverage", "-n", &shop, "-o", "json"]));
    let ns = &v["namespaces"][0];
    assert_eq!(ns["namespace"], shop.as_str());
    assert_eq!(ns["pods"], 2);
    assert_eq!(ns["ingressIsolated"], 2);
    assert_eq!(ns["egressIsolated"], 0);
    assert_eq!(
        ns["defaultDenyIngress"],
        serde_json::json!(["default-deny"])
    );
}

// ---------------------------------------------------------------------------
// wizard: server dry run and apply
// ---------------------------------------------------------------------------

/// A namespace of its own with an api (port 8080 "http") and a web pod.
fn wizard_namespace(c: &Cluster, prefix: &str, net: u8) -> String {
    let ns = c.namespace(prefix);
    c.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
    ));
    c.pod(
        &ns,
        "api",
        "app: api",
        "{name: http, containerPort: 8080}",
        &format!("10.{net}.0.10"),
    );
    c.pod(
        &ns,
        "web",
        "app: web",
        "{containerPort: 80}",
        &format!("10.{net}.0.11"),
    );
    ns
}

/// The stored NetworkPolicy (with its managedFields), or None when there
/// is none.
fn stored_policy(c: &Cluster, ns: &str, name: &str) -> Option<Value> {
    let out = c.kubectl(
        &[
            "get",
            "networkpolicy",
            name,
            "-n",
            ns,
            "-o",
            "json",
            "--show-managed-fields",
        ],
        None,
    );
    if out.status.success() {
        return Some(serde_json::from_slice(&out.stdout).expect("kubectl JSON"));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NotFound"), "kubectl get: {err}");
    None
}

/// How many NetworkPolicies the namespace holds.
fn policy_count(c: &Cluster, ns: &str) -> usize {
    let out = c.kubectl(&["get", "networkpolicy", "-n", ns, "-o", "json"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"].as_array().unwrap().len()
}

/// `wizard -n NS --select app=api --allow-from pods=app=web --port PORT`
/// plus `extra`, as admin.
fn wizard_args(ns: &str, port: &str, kc: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "wizard",
        "-n",
        ns,
        "--select",
        "app=api",
        "--allow-from",
        "pods=app=web",
        "--port",
        port,
        "--kubeconfig",
        kc,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_wizard(c: &Cluster, args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    c.netpol(&args, &[])
}

#[test]
fn wizard_server_dry_run_stores_nothing() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-dry", 71);
    let kc = c.kubeconfig("admin");
    let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, &["--dry-run=server"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "stdout carries only a printed policy");
    let err = stderr(&o);
    assert!(
        err.lines().any(
            |l| l.starts_with("networkpolicy.networking.k8s.io/allow-web-to-api ")
                && l.ends_with(" (server dry run)")
        ),
        "{err}"
    );
    assert!(
        err.contains("summary: namespace/"),
        "the review is still given: {err}"
    );
    assert_eq!(stored_policy(&c, &ns, "allow-web-to-api"), None);
    assert_eq!(policy_count(&c, &ns), 0);
    // The server really validates: a user who may not write policies is
    // refused, in one line, and nothing is stored either.
    let bob = c.kubeconfig("bob");
    for extra in [&["--dry-run=server"][..], &["--apply", "--yes"]] {
        let o = run_wizard(&c, &wizard_args(&ns, "8080", &bob, extra));
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "error: cannot apply networkpolicies in namespace \"{ns}\": forbidden"
            )),
            "{err}"
        );
        assert!(err.contains("User \"bob\" cannot patch"), "{err}");
    }
    assert_eq!(policy_count(&c, &ns), 0);
}

/// kubectl says `created (server dry run)` for an object that does not
/// exist yet, and says the summary once.
#[test]
fn wizard_server_dry_run_of_a_new_policy_says_created() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-dry-new", 72);
    let kc = c.kubeconfig("admin");
    let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, &["--dry-run=server"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "networkpolicy.networking.k8s.io/allow-web-to-api created (server dry run)\n"
        ),
        "{}",
        stderr(&o)
    );
}

/// Unattended --dry-run and --apply print the `summary:` line twice.
#[test]
fn wizard_apply_says_the_summary_once() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-once", 73);
    let kc = c.kubeconfig("admin");
    for extra in [&["--dry-run=server"][..], &["--apply", "--yes"]] {
        let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, extra));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(
            err.lines().filter(|l| l.starts_with("summary: ")).count(),
            1,
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn wizard_apply_stores_what_it_prints_and_is_idempotent() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-apply", 74);
    let kc = c.kubeconfig("admin");
    // Print mode, against the cluster: the policy, as JSON.
    let printed: Value = serde_json::from_str(&ok(&run_wizard(
        &c,
        &wizard_args(&ns, "8080", &kc, &["-o", "json"]),
    )))
    .expect("JSON policy");
    assert_eq!(printed["metadata"]["name"], "allow-web-to-api");
    assert_eq!(policy_count(&c, &ns), 0, "printing stores nothing");

    // --apply --yes: created.
    let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, &["--apply", "--yes"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(
        err.contains("networkpolicy.networking.k8s.io/allow-web-to-api created\n"),
        "{err}"
    );
    // Unattended, the target is said before the write.
    assert!(
        err.contains(&format!(
            "applying NetworkPolicy {ns}/allow-web-to-api to context e2e ({})\n",
            c.server
        )),
        "{err}"
    );
    assert!(err.lines().any(|l| l.starts_with("enforcement: ")), "{err}");
    let stored = stored_policy(&c, &ns, "allow-web-to-api").expect("stored");
    // It round-trips unchanged: the server adds nothing to the spec.
    assert_eq!(stored["spec"], printed["spec"], "{stored}");
    assert_eq!(stored["metadata"]["name"], printed["metadata"]["name"]);
    assert_eq!(stored["metadata"]["namespace"], ns.as_str());
    let managers: Vec<(&str, &str)> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap_or_else(|| panic!("{stored}"))
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(managers, [("kubectl-netpol", "Apply")], "{stored}");
    let version = stored["metadata"]["resourceVersion"].clone();

    // The same again: unchanged, and not written.
    let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, &["--apply", "--yes"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("networkpolicy.networking.k8s.io/allow-web-to-api unchanged\n"),
        "{err}"
    );
    assert!(
        !err.contains(" created\n") && !err.contains(" configured\n"),
        "{err}"
    );
    // --yes names the target even when there is nothing to send.
    assert!(
        err.contains(&format!(
            "applying NetworkPolicy {ns}/allow-web-to-api to context e2e ({})\n",
            c.server
        )),
        "{err}"
    );
    let again = stored_policy(&c, &ns, "allow-web-to-api").unwrap();
    assert_eq!(again["metadata"]["resourceVersion"], version);

    // Print mode now says the policy is there, the same.
    let o = run_wizard(&c, &wizard_args(&ns, "8080", &kc, &[]));
    assert!(
        stderr(&o).contains(&format!(
            "note: a NetworkPolicy {ns}/allow-web-to-api exists already, the same as this one: applying it changes nothing"
        )),
        "{}",
        stderr(&o)
    );
    // Another port, the name suggested: not the existing policy's.
    let o = run_wizard(&c, &wizard_args(&ns, "9090", &kc, &[]));
    assert!(
        stderr(&o).contains(&format!(
            "note: a different NetworkPolicy {ns}/allow-web-to-api exists: the name suggested is allow-web-to-api-2 (--name allow-web-to-api replaces it)"
        )),
        "{}",
        stderr(&o)
    );

    // Another port under that name, asked for: configured, with the
    // difference shown.
    let o = run_wizard(
        &c,
        &wizard_args(
            &ns,
            "9090",
            &kc,
            &["--name", "allow-web-to-api", "--apply", "--yes"],
        ),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("networkpolicy.networking.k8s.io/allow-web-to-api configured\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "NetworkPolicy {ns}/allow-web-to-api exists and differs:"
        )),
        "{err}"
    );
    // A unified diff.
    assert!(
        err.contains(&format!(
            "\n--- {ns}/allow-web-to-api (now)\n+++ {ns}/allow-web-to-api (reviewed)\n@@ "
        )),
        "{err}"
    );
    assert!(err.contains("\n-    - port: 8080\n"), "{err}");
    assert!(err.contains("\n+    - port: 9090\n"), "{err}");
    let changed = stored_policy(&c, &ns, "allow-web-to-api").unwrap();
    assert_eq!(
        changed["spec"]["ingress"][0]["ports"],
        serde_json::json!([{"port": 9090, "protocol": "TCP"}])
    );
    assert_eq!(changed["metadata"]["generation"], 2);
    assert_eq!(policy_count(&c, &ns), 1);
    // And the tool reads back what it wrote.
    let list = json(&c.as_user("admin", &["list", "-n", &ns, "-o", "json"]));
    assert_eq!(
        list["policies"][0]["summary"],
        format!("namespace/{ns} allows api from {ns}/web on TCP/9090")
    );
    assert_eq!(list["policies"][0]["pods"], 1);
}

/// `kubectl netpol wizard ARGS` through kubectl's plugin dispatch on a
/// pseudo-terminal (stdin, stdout and stderr), with the environment of
/// [`Cluster::netpol`].
struct WizardTerm {
    s: rexpect::session::PtySession,
    seen: String,
    _home: tempfile::TempDir,
}

impl WizardTerm {
    fn spawn(c: &Cluster, args: &[&str]) -> WizardTerm {
        let path = c.plugin_path();
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(c.bin.join("kubectl"));
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", home.path())
            .env("TERM", "xterm")
            .current_dir(home.path())
            .args(["netpol", "wizard", "--color", "never"])
            .args(args);
        let s = rexpect::spawn_with_options(
            cmd,
            rexpect::session::Options::new()
                .timeout_ms(Some(20_000))
                .strip_ansi_escape_codes(true),
        )
        .expect("spawn on a pseudo-terminal");
        WizardTerm {
            s,
            seen: String::new(),
            _home: home,
        }
    }

    /// Waits for `text`; returns what came before it (without `\r`).
    fn wait(&mut self, text: &str) -> String {
        match self.s.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
                before.replace('\r', "")
            }
            Err(e) => panic!(
                "waiting for {text:?}: {e}\n--- the terminal so far:\n{}",
                self.seen.replace('\r', "")
            ),
        }
    }

    fn keys(&mut self, keys: &str) {
        self.s.send(keys).expect("send keys");
        self.s.flush().expect("flush keys");
    }

    /// Picks `item` of the final menu (the cursor wraps from the first
    /// item up to the last, "edit a step"; one more up is the apply);
    /// returns the review shown before it.
    fn choose(&mut self, ups: usize, item: &str) -> String {
        let review = self.wait("What now?:\r\n");
        self.wait("apply it to the cluster\r\n");
        self.keys(&"\x1b[A".repeat(ups));
        self.wait(&format!("> {item}"));
        self.keys("\r");
        self.wait(&format!("What now?: {item}"));
        review
    }

    /// Reads to the end: (exit code, the rest of the output).
    fn finish(mut self) -> (Option<i32>, String) {
        let rest = match self.s.exp_eof() {
            Ok(rest) => rest.replace('\r', ""),
            Err(e) => panic!(
                "waiting for the end: {e}\n--- the terminal so far:\n{}",
                self.seen.replace('\r', "")
            ),
        };
        let status = self.s.process().wait().expect("wait for the wizard");
        let code = match status {
            rexpect::process::WaitStatus::Exited(_, code) => Some(code),
            _ => None,
        };
        (code, rest)
    }
}

#[test]
fn wizard_interactive_apply_asks_first() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-pty", 75);
    let kc = c.kubeconfig("admin");
    let key = format!("{ns}/wiz-pty");
    let flags = |port: &'static str| {
        vec![
            "-n".to_string(),
            ns.clone(),
            "--select".into(),
            "app=api".into(),
            "--allow-from".into(),
            "pods=app=web".into(),
            "--port".into(),
            port.into(),
            "--name".into(),
            "wiz-pty".into(),
            "--kubeconfig".into(),
            kc.clone(),
        ]
    };
    let spawn = |port: &'static str| {
        let args = flags(port);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        WizardTerm::spawn(&c, &args)
    };

    // Online, the menu also offers the server dry run: nothing stored.
    // Then it offers to apply: "stop here" stores nothing.
    let mut t = spawn("8080");
    let review = t.choose(3, "dry-run on the server (validates, stores nothing)");
    assert!(
        review.contains(&format!(
            "Summary:  namespace/{ns} allows api from {ns}/web on TCP/8080"
        )),
        "{review}"
    );
    assert!(review.contains("Selects:  1 pod now: api"), "{review}");
    t.wait("networkpolicy.networking.k8s.io/wiz-pty created (server dry run)");
    t.wait("The dry run passed. Apply it now?:\r\n");
    t.wait("stop here (nothing is applied)\r\n");
    t.keys("\x1b[A");
    t.wait("> stop here (nothing is applied)");
    t.keys("\r");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert_eq!(policy_count(&c, &ns), 0);

    // Apply, then no at the question (or Enter: No is the default): exit
    // 130, nothing stored. The question names the target: context, server
    // and namespace.
    let target = format!("context e2e ({})", c.server);
    for key_pressed in ["n", "\r"] {
        let mut t = spawn("8080");
        t.choose(2, "apply it to the cluster");
        t.wait(&format!("Apply NetworkPolicy {key} to {target}? [y/N] "));
        t.keys(key_pressed);
        let (code, rest) = t.finish();
        assert_eq!(code, Some(130), "{rest}");
        assert!(
            rest.contains("error: cancelled: nothing was changed"),
            "{rest}"
        );
        assert_eq!(stored_policy(&c, &ns, "wiz-pty"), None);
        assert_eq!(policy_count(&c, &ns), 0);
    }

    // --apply given on the command line: the review is shown before the
    // question (a yes is about what was seen); Enter is No.
    {
        let args = flags("8080");
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("--apply");
        let mut t = WizardTerm::spawn(&c, &args);
        let before = t.wait(&format!("Apply NetworkPolicy {key} to {target}? [y/N] "));
        assert!(
            before.contains(&format!(
                "Summary:  namespace/{ns} allows api from {ns}/web on TCP/8080"
            )),
            "{before}"
        );
        t.keys("\r");
        let (code, rest) = t.finish();
        assert_eq!(code, Some(130), "{rest}");
        assert_eq!(policy_count(&c, &ns), 0);
    }

    // Apply, and yes: created.
    let mut t = spawn("8080");
    t.choose(2, "apply it to the cluster");
    t.wait(&format!("Apply NetworkPolicy {key} to {target}? [y/N] "));
    t.keys("y");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert!(
        rest.contains("networkpolicy.networking.k8s.io/wiz-pty created"),
        "{rest}"
    );
    let stored = stored_policy(&c, &ns, "wiz-pty").expect("stored");
    assert_eq!(
        stored["spec"]["ingress"][0]["ports"],
        serde_json::json!([{"port": 8080, "protocol": "TCP"}])
    );

    // A different port: the difference is shown and the question is
    // "Replace"; no leaves the stored policy as it was.
    let mut t = spawn("9090");
    t.choose(2, "apply it to the cluster");
    let shown = t.wait(&format!("Replace NetworkPolicy {key} in {target}? [y/N] "));
    assert!(
        shown.contains(&format!("NetworkPolicy {key} exists and differs:")),
        "{shown}"
    );
    assert!(shown.contains("\n-    - port: 8080\n"), "{shown}");
    assert!(shown.contains("\n+    - port: 9090\n"), "{shown}");
    t.keys("n");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(130), "{rest}");
    let kept = stored_policy(&c, &ns, "wiz-pty").unwrap();
    assert_eq!(
        kept["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );

    // The same policy again: unchanged, and no question at all.
    let mut t = spawn("8080");
    t.choose(2, "apply it to the cluster");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert!(
        rest.contains("networkpolicy.networking.k8s.io/wiz-pty unchanged"),
        "{rest}"
    );
    assert!(!rest.contains("NetworkPolicy"), "no question: {rest}");
}

/// Review regressions: a dual-stack pod's second address finds the pod, and
/// a user who cannot list namespaces still gets `can` answers that do not
/// depend on namespace labels.
#[test]
fn dual_stack_addresses_and_namespace_scoped_can() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("solo");
    c.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
    ));
    c.pod(&ns, "a", "app: a", "{containerPort: 80}", "10.71.0.1");
    c.pod(&ns, "b", "app: b", "{containerPort: 80}", "10.71.0.2");
    let patch =
        r#"{"status":{"podIP":"10.71.0.2","podIPs":[{"ip":"10.71.0.2"},{"ip":"fd00:71::2"}]}}"#;
    c.patch_status("pod", Some(&ns), "b", patch);
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: a-to-b, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: b}}}}\n  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: a}}}}}}]}}]\n"
    ));
    let out = ok(&c.as_user("admin", &["explain", "fd00:71::2"]));
    assert!(out.starts_with(&format!("Pod:         {ns}/b")), "{out}");
    // carol reads pods and policies of this namespace only.
    c.bind_carol(&ns, "pods");
    let o = c.as_user("carol", &["can", "a", "b", "-n", &ns]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = c.as_user("carol", &["can", "b", "a", "-n", &ns]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a is not isolated: {}{}",
        stdout(&o),
        stderr(&o)
    );
    let out = ok(&c.as_user("carol", &["matrix", "-n", &ns]));
    assert!(out.contains("FROM \\ TO"), "{out}");
}

/// Node traffic on a live cluster: Node objects (cluster-scoped) and pods'
/// status.hostIP. An admin's `can` uses both; a user bound to one
/// namespace (no nodes, no other namespaces) still gets the node answer
/// from the pod's own hostIP, and a host-network pod on the same node is
/// that node.
#[test]
fn node_traffic_live_as_admin_and_as_a_namespace_user() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("nodes");
    let node = format!("{ns}-n1");
    let other = format!("{ns}-n2");
    c.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n---\napiVersion: v1\nkind: Node\nmetadata: {{name: {other}}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress, Egress]}}\n"
    ));
    for (name, internal, external) in [
        (&node, "172.31.5.11", "198.51.100.11"),
        (&other, "172.31.5.12", "198.51.100.12"),
    ] {
        let patch = format!(
            r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"{internal}"}},{{"type":"ExternalIP","address":"{external}"}}]}}}}"#
        );
        c.patch_status("node", None, name, &patch);
    }
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: app, namespace: {ns}, labels: {{app: app}}}}\nspec:\n  nodeName: {node}\n  containers: [{{name: c, image: registry.example/app:1, ports: [{{name: probe, containerPort: 1234}}]}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: agent, namespace: {ns}, labels: {{app: agent}}}}\nspec:\n  nodeName: {node}\n  hostNetwork: true\n  containers: [{{name: c, image: registry.example/agent:1}}]\n"
    ));
    for (pod, ip) in [("app", "10.77.1.4"), ("agent", "172.31.5.11")] {
        let patch = format!(
            r#"{{"status":{{"phase":"Running","hostIP":"172.31.5.11","hostIPs":[{{"ip":"172.31.5.11"}}],"podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}]}}}}"#
        );
        c.patch_status("pod", Some(&ns), pod, &patch);
    }
    let code = |o: &Output| o.status.code().unwrap_or(-1);
    // Admin: the node's addresses from the Node object, the node by name.
    let kc = c.kubeconfig("admin");
    let admin = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--kubeconfig", kc.as_str(), "-n", ns.as_str()]);
        c.netpol(&all, &[])
    };
    let o = admin(&["can", "172.31.5.11", "app", "--port", "probe", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["node"]["name"], node.as_str());
    assert_eq!(v["port"], "TCP/1234");
    // The ExternalIP is known only from the Node object.
    assert_eq!(code(&admin(&["can", "198.51.100.11", "app"])), 0);
    assert_eq!(code(&admin(&["can", &format!("node/{node}"), "app"])), 0);
    let o = admin(&["can", &format!("node/{other}"), "app"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert_eq!(code(&admin(&["can", "198.51.100.12", "app"])), 1);
    // The host-network agent is the node: by name and by address.
    assert_eq!(code(&admin(&["can", "agent", "app", "--port", "1234"])), 0);
    // explain names the node from the pod itself (no node list needed).
    let out = ok(&admin(&["explain", "app"]));
    assert!(
        out.contains(&format!("Node:        {node} (172.31.5.11)")),
        "{out}"
    );

    // A user who can read pods and policies of this namespace only.
    c.bind_carol(&ns, "pods");
    let carol = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-n", ns.as_str()]);
        c.as_user("carol", &all)
    };
    let o = carol(&["can", "172.31.5.11", "app", "--port", "1234", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["node"]["address"], "172.31.5.11");
    // Another address is an outside address for her, and she is told
    // that pods she cannot read were not searched.
    let o = carol(&["can", "172.31.5.12", "app", "-o", "json"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o)
            .contains("172.31.5.12 may be the address of a pod or Service that could not be read")
            && stdout(&o).contains("the answer holds either way"),
        "{}",
        stdout(&o)
    );
    // The node's ExternalIP is known only from the Node object, which she
    // cannot read: the policies' answer, and a note that it is conditional.
    let o = carol(&["can", "198.51.100.11", "app", "-o", "json"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Node objects could not be read"),
        "{}",
        stdout(&o)
    );
    assert_eq!(code(&carol(&["can", "agent", "app"])), 0);
    assert_eq!(code(&carol(&["can", "app", "agent"])), 0);
    let out = ok(&carol(&["explain", "app"]));
    assert!(out.contains("Node:        "), "{out}");
    assert!(out.contains("172.31.5.11"), "{out}");
}

// ---------------------------------------------------------------------------
// wizard: both actions or neither; field ownership; Ctrl-C in flight
// ---------------------------------------------------------------------------

/// `--write FILE --apply` does both; when the file cannot be written
/// (it exists, no --overwrite), nothing is applied either.
#[test]
fn wizard_write_and_apply_do_both_or_neither() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-both", 76);
    let kc = c.kubeconfig("admin");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(&file, "mine\n").unwrap();
    let f = file.display().to_string();
    let o = run_wizard(
        &c,
        &wizard_args(&ns, "8080", &kc, &["--write", &f, "--apply", "--yes"]),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("error: {f}: the file exists: refusing to replace it without --overwrite\n")
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");
    assert_eq!(policy_count(&c, &ns), 0, "nothing applied");
    // With --overwrite: both.
    let o = run_wizard(
        &c,
        &wizard_args(
            &ns,
            "8080",
            &kc,
            &["--write", &f, "--overwrite", "--apply", "--yes"],
        ),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "networkpolicy {ns}/allow-web-to-api written to {f}\n"
        )),
        "{err}"
    );
    assert!(
        err.contains("networkpolicy.networking.k8s.io/allow-web-to-api created\n"),
        "{err}"
    );
    let written: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let stored = stored_policy(&c, &ns, "allow-web-to-api").expect("applied");
    assert_eq!(stored["spec"], written["spec"]);
    // A dry run with either is refused before anything is sent.
    for extra in [
        &["--dry-run=server", "--apply", "--yes"][..],
        &["--dry-run=server", "--write", &f],
    ] {
        let o = run_wizard(&c, &wizard_args(&ns, "9090", &kc, extra));
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    let again = stored_policy(&c, &ns, "allow-web-to-api").unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
}

/// The YAML of a policy `name` in `ns` selecting app=api, admitting
/// app=web on `port`, plus `extra` spec lines.
fn other_policy(ns: &str, name: &str, port: u16, extra: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: web}}}}}}]\n    ports: [{{port: {port}, protocol: TCP}}]\n{extra}"
    )
}

fn managers(v: &Value) -> Vec<(String, String)> {
    v["metadata"]["managedFields"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default().to_string(),
                m["operation"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A policy created by `kubectl create`, `kubectl apply` (client side) or
/// another server-side applier: applying other values is a conflict, said
/// as such in one line with kubectl's fix, and changes nothing; with
/// --force-conflicts the policy becomes exactly what the review showed,
/// with the field managers explained.
#[test]
fn wizard_apply_over_policies_of_other_managers() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-owners", 77);
    let kc = c.kubeconfig("admin");
    let printed: Value = serde_json::from_str(&ok(&run_wizard(
        &c,
        &wizard_args(&ns, "9090", &kc, &["-o", "json", "--name", "p"]),
    )))
    .unwrap();
    for (how, manager) in [
        ("create", "kubectl-create"),
        ("apply", "kubectl-client-side-apply"),
        ("server-side", "third"),
    ] {
        let name = format!("by-{how}");
        let yaml = other_policy(&ns, &name, 8080, "  policyTypes: [Ingress]\n");
        let out = match how {
            "create" => c.kubectl(&["create", "-f", "-"], Some(&yaml)),
            "apply" => c.kubectl(&["apply", "-f", "-"], Some(&yaml)),
            _ => c.kubectl(
                &[
                    "apply",
                    "--server-side",
                    "--field-manager",
                    "third",
                    "-f",
                    "-",
                ],
                Some(&yaml),
            ),
        };
        assert!(out.status.success(), "{}", stderr(&out));
        let before = stored_policy(&c, &ns, &name).unwrap();
        assert!(
            managers(&before).iter().any(|(m, _)| m == manager),
            "{before}"
        );

        // Another port: a conflict, in one line, with the fix.
        let o = run_wizard(
            &c,
            &wizard_args(&ns, "9090", &kc, &["--name", &name, "--apply", "--yes"]),
        );
        assert_eq!(o.status.code(), Some(1), "{how}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{how}: {err}");
        assert!(err.starts_with("error: Apply failed with "), "{how}: {err}");
        assert!(
            err.contains(&format!("conflict with \"{manager}\"")),
            "{how}: {err}"
        );
        assert!(err.contains(".spec.ingress"), "{how}: {err}");
        assert!(err.contains("--force-conflicts"), "{how}: {err}");
        assert!(!err.contains("cannot list"), "{how}: {err}");
        let same = stored_policy(&c, &ns, &name).unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
            "{how}: nothing changed"
        );

        // With --force-conflicts: exactly what the review showed.
        let o = run_wizard(
            &c,
            &wizard_args(
                &ns,
                "9090",
                &kc,
                &["--name", &name, "--apply", "--yes", "--force-conflicts"],
            ),
        );
        assert_eq!(o.status.code(), Some(0), "{how}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("Field managers: {manager} (")),
            "{how}: {err}"
        );
        assert!(
            err.contains(&format!(
                "networkpolicy.networking.k8s.io/{name} configured\n"
            )),
            "{how}: {err}"
        );
        let after = stored_policy(&c, &ns, &name).unwrap();
        assert_eq!(after["spec"], printed["spec"], "{how}: {after}");
        assert!(
            managers(&after).contains(&("kubectl-netpol".to_string(), "Apply".to_string())),
            "{how}: {after}"
        );
    }
}

/// Fields another manager owns and the wizard does not set would survive a
/// server-side apply (here: that manager's egress rules). The server's dry
/// run shows it before anything is written: refused, with exactly what
/// would differ and who owns it; nothing changes.
#[test]
fn wizard_apply_refuses_when_fields_of_other_managers_would_stay() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-kept", 78);
    let kc = c.kubeconfig("admin");
    let yaml = other_policy(
        &ns,
        "kept",
        8080,
        "  policyTypes: [Ingress, Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n",
    );
    let out = c.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "third",
            "-f",
            "-",
        ],
        Some(&yaml),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let before = stored_policy(&c, &ns, "kept").unwrap();
    let o = run_wizard(
        &c,
        &wizard_args(
            &ns,
            "8080",
            &kc,
            &["--name", "kept", "--apply", "--yes", "--force-conflicts"],
        ),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: NetworkPolicy {ns}/kept cannot be stored as reviewed: other field managers own fields of it that this apply would keep (nothing was changed;"
        )),
        "{err}"
    );
    assert!(
        err.contains("\n  * spec.egress: the stored policy has [{\"to\":[{\"ipBlock\":{\"cidr\":\"0.0.0.0/0\"}}]}], the review had none (managed by third)"),
        "{err}"
    );
    let after = stored_policy(&c, &ns, "kept").unwrap();
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
}

/// After the apply, the stored policy is read back: when another manager
/// changed it between the review and the apply (here: added egress rules
/// while the question was on screen), the difference is said exactly and
/// the exit status is 1.
#[test]
fn wizard_apply_reads_back_and_reports_what_differs() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-race", 79);
    let kc = c.kubeconfig("admin");
    let o = run_wizard(
        &c,
        &wizard_args(&ns, "8080", &kc, &["--name", "race", "--apply", "--yes"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let args: Vec<String> = wizard_args(&ns, "9090", &kc, &["--name", "race"])
        .into_iter()
        .skip(1)
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut t = WizardTerm::spawn(&c, &args);
    t.choose(2, "apply it to the cluster");
    t.wait(&format!(
        "Replace NetworkPolicy {ns}/race in context e2e ({})? [y/N] ",
        c.server
    ));
    let third = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: race, namespace: {ns}}}\nspec:\n  egress:\n  - to: [{{ipBlock: {{cidr: 10.0.0.0/8}}}}]\n"
    );
    let out = c.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "third",
            "-f",
            "-",
        ],
        Some(&third),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    t.keys("y");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(1), "{rest}");
    assert!(
        rest.contains(&format!(
            "error: networkpolicy {ns}/race was configured in context e2e ({}), but the stored policy differs from the review:\n  * spec.egress: the stored policy has [{{\"to\":[{{\"ipBlock\":{{\"cidr\":\"10.0.0.0/8\"}}}}]}}], the review had none (managed by third)",
            c.server
        )),
        "{rest}"
    );
    let stored = stored_policy(&c, &ns, "race").unwrap();
    assert_eq!(
        stored["spec"]["ingress"][0]["ports"],
        serde_json::json!([{"port": 9090, "protocol": "TCP"}])
    );
}

/// A TCP proxy to the API server that, once armed, holds every answer for
/// a while: a server slow to answer.
struct SlowProxy {
    port: u16,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sent_after_arming: std::sync::Arc<AtomicUsize>,
}

fn slow_proxy(upstream: &str) -> SlowProxy {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let upstream = upstream
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let (armed2, sent2) = (armed.clone(), sent.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_in, mut c_out) = (client.try_clone().unwrap(), client);
            let (mut s_in, mut s_out) = (server.try_clone().unwrap(), server);
            let (armed, sent) = (armed2.clone(), sent2.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if armed.load(Ordering::SeqCst) {
                        sent.fetch_add(n, Ordering::SeqCst);
                    }
                }
            });
            let armed = armed2.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if armed.load(Ordering::SeqCst) {
                        std::thread::sleep(std::time::Duration::from_secs(8));
                    }
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    SlowProxy {
        port,
        armed,
        sent_after_arming: sent,
    }
}

/// Ctrl-C after the yes, while the apply is in flight (the server stored
/// the policy, its answer is late): the wizard never claims nothing
/// changed; it says the apply was sent and how to check.
#[test]
fn wizard_ctrl_c_during_the_apply_says_it_was_sent() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-sigint", 80);
    let kc = c.kubeconfig("admin");
    let proxy = slow_proxy(&c.server);
    let server = format!("https://127.0.0.1:{}", proxy.port);
    let mut args: Vec<String> = wizard_args(&ns, "8080", &kc, &["--name", "slow"])
        .into_iter()
        .skip(1)
        .collect();
    args.extend(["--server".to_string(), server.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut t = WizardTerm::spawn(&c, &args);
    t.choose(2, "apply it to the cluster");
    t.wait(&format!(
        "Apply NetworkPolicy {ns}/slow to context e2e ({server})? [y/N] "
    ));
    proxy.armed.store(true, Ordering::SeqCst);
    t.keys("y");
    // The request went out; the answer is held.
    let started = std::time::Instant::now();
    while proxy.sent_after_arming.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed().as_secs() < 10, "the apply was never sent");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    t.s.send_control('c').unwrap();
    let (code, rest) = t.finish();
    assert_eq!(code, Some(130), "{rest}");
    assert!(!rest.contains("nothing was changed"), "{rest}");
    assert!(
        rest.contains(&format!(
            "error: interrupted: the apply was sent; the policy may exist: check with kubectl get networkpolicy slow -n {ns}"
        )),
        "{rest}"
    );
    // And indeed the server stored it.
    let mut stored = None;
    for _ in 0..50 {
        stored = stored_policy(&c, &ns, "slow");
        if stored.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(stored.is_some(), "the server stored the policy");
}

/// After a server dry run on a terminal, "apply it" applies what the dry
/// run checked, without answering again, once the yes naming the target
/// is given.
#[test]
fn wizard_interactive_apply_after_a_dry_run() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-dryapply", 91);
    let kc = c.kubeconfig("admin");
    let key = format!("{ns}/wiz-dryapply");
    // The outputs' notation, ports inline.
    let web = format!("{ns}/web:8080");
    let args = [
        "-n",
        &ns,
        "--select",
        "app=api",
        "--allow-from",
        &web,
        "--name",
        "wiz-dryapply",
        "--dry-run=server",
        "--kubeconfig",
        &kc,
    ];
    let target = format!("context e2e ({})", c.server);
    // The review, the dry run, then the offer: apply, and yes.
    let mut t = WizardTerm::spawn(&c, &args);
    t.wait("networkpolicy.networking.k8s.io/wiz-dryapply created (server dry run)");
    t.wait("The dry run passed. Apply it now?:\r\n");
    t.wait("stop here (nothing is applied)\r\n");
    assert_eq!(policy_count(&c, &ns), 0, "a dry run stores nothing");
    t.keys("\r");
    t.wait(&format!("Apply NetworkPolicy {key} to {target}? [y/N] "));
    t.keys("y");
    let (code, rest) = t.finish();
    assert_eq!(code, Some(0), "{rest}");
    assert!(
        rest.contains("networkpolicy.networking.k8s.io/wiz-dryapply created"),
        "{rest}"
    );
    let stored = stored_policy(&c, &ns, "wiz-dryapply").expect("stored");
    assert_eq!(
        stored["spec"]["ingress"],
        serde_json::json!([{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                            "ports": [{"port": 8080, "protocol": "TCP"}]}])
    );
}

/// `--from` reads the policy from the API server: unchanged it says so;
/// a rule added shows the unified diff, and --apply replaces the policy
/// with exactly the reviewed one.
#[test]
fn wizard_from_an_existing_policy_on_the_server() {
    let Some(c) = cluster() else { return };
    let ns = wizard_namespace(&c, "wiz-from", 92);
    let kc = c.kubeconfig("admin");
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-in, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: web}}}}}}]\n    ports: [{{port: 8080, protocol: TCP}}]\n"
    ));
    let from = format!("{ns}/api-in");
    let o = c.netpol(&["wizard", "--from", &from, "--kubeconfig", &kc], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("diff: none: the same as {ns}/api-in is now")),
        "{err}"
    );
    // A rule added (the api itself on http), applied.
    let api_http = format!("{ns}/api:http");
    let o = c.netpol(
        &[
            "wizard",
            "--from",
            "api-in",
            "-n",
            &ns,
            "--allow-from",
            &api_http,
            // kubectl apply made it: its rules are another manager's.
            "--apply",
            "--force-conflicts",
            "--yes",
            "--kubeconfig",
            &kc,
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "diff: --- {ns}/api-in (now)\ndiff: +++ {ns}/api-in (reviewed)\n"
        )),
        "{err}"
    );
    assert!(err.contains("diff: +          app: api\n"), "{err}");
    assert!(
        err.contains("networkpolicy.networking.k8s.io/api-in configured"),
        "{err}"
    );
    let stored = stored_policy(&c, &ns, "api-in").expect("stored");
    assert_eq!(
        stored["spec"]["ingress"],
        serde_json::json!([
            {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
             "ports": [{"port": 8080, "protocol": "TCP"}]},
            {"from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
             "ports": [{"port": "http", "protocol": "TCP"}]}
        ])
    );
    assert_eq!(policy_count(&c, &ns), 1);
    // A policy that is not there: kubectl's words, exit 1.
    let o = c.netpol(
        &["wizard", "--from", "nope", "-n", &ns, "--kubeconfig", &kc],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim_end(),
        format!(
            "error: networkpolicies.networking.k8s.io \"nope\" not found in namespace \"{ns}\""
        )
    );
}

/// explain reads kube-system's pods for lint's DNS check even when no peer
/// names kube-system (egress that blocks DNS altogether): the finding names
/// the DNS pods there, never "assumed: no DNS pods were found".
#[test]
fn explain_names_the_dns_pods_a_policy_cuts_off() {
    let Some(c) = cluster() else { return };
    let ns = c.create_namespace("dnscut");
    let dns = c.namespace("coredns");
    c.pod(
        "kube-system",
        &dns,
        "k8s-app: kube-dns",
        "{containerPort: 53, protocol: UDP, name: dns}, {containerPort: 53, protocol: TCP, name: dns-tcp}",
        "10.96.200.1",
    );
    c.pod(
        &ns,
        "api",
        "app: api",
        "{containerPort: 8080}",
        "10.96.201.1",
    );
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: only-api, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{podSelector: {{matchLabels: {{app: api}}}}}}]}}]\n"
    ));
    let o = c.as_user("admin", &["explain", "api", "-n", &ns]);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "error[egress-blocks-dns]: {ns}/only-api spec.egress:"
        )) && out.contains("to kube-system/"),
        "{out}"
    );
    assert!(!out.contains("assumed"), "{out}");
    // A workload that does not exist is not found, as kubectl says it (not
    // "no pods of deployment/nosuch", which reads as if it existed).
    let o = c.as_user("admin", &["explain", "deployment/nosuch", "-n", &ns]);
    assert!(
        stderr(&o).starts_with(&format!(
            "error: deployments.apps \"nosuch\" not found in namespace \"{ns}\""
        )),
        "{}",
        stderr(&o)
    );
    // No kubelet: only a forced delete removes the pod (tests/e2e_input.rs
    // compares `check` on kube-system live with a manifest).
    c.kubectl(
        &[
            "delete",
            "pod",
            &dns,
            "-n",
            "kube-system",
            "--grace-period=0",
            "--force",
        ],
        None,
    );
}

/// Finished pods (Succeeded, Failed) have no traffic: the server leaves
/// them out of the pod lists (a field selector), and no command sees them.
#[test]
fn finished_pods_are_left_out_by_the_server() {
    let Some(c) = cluster() else { return };
    let ns = c.create_namespace("finished");
    c.pod(&ns, "web", "app: web", "{containerPort: 80}", "10.202.0.1");
    c.pod(&ns, "job", "app: job", "{containerPort: 80}", "10.202.0.2");
    c.patch_status(
        "pod",
        Some(&ns),
        "job",
        r#"{"status":{"phase":"Succeeded"}}"#,
    );
    let o = c.as_user("admin", &["matrix", "-n", &ns, "-o", "json", "-v", "6"]);
    let out = ok(&o);
    assert!(out.contains("\"web\""), "{out}");
    assert!(!out.contains("\"job\""), "{out}");
    assert!(
        stderr(&o).contains(&format!(
            "/api/v1/namespaces/{ns}/pods?&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed&limit=500 200 OK"
        )),
        "{}",
        stderr(&o)
    );
    let o = c.as_user("admin", &["explain", "job", "-n", &ns]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

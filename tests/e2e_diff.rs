//! `kubectl netpol diff -f` against the real kube-apiserver (see
//! tests/common/cluster.rs): before an apply, the changes; after `kubectl
//! apply` of the same manifests, no change; a user who may read one
//! namespace only gets the changes there and a note about the rest; a user
//! who may read nothing gets an error, exit 2.

use serde_json::Value;

mod common;
use common::cluster::*;

/// The entry from `from` to `to` in a diff's `changes`, if any.
fn entry<'a>(v: &'a Value, from: &str, to: &str) -> Option<&'a Value> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == from && e["to"] == to)
}

#[test]
fn diff_before_and_after_an_apply_and_with_rbac_gaps() {
    let Some(c) = cluster() else { return };
    let a = c.create_namespace("dfa");
    let b = c.create_namespace("dfb");
    c.pod(
        &a,
        "web",
        "app: web",
        "{name: http, containerPort: 80}",
        "10.81.0.1",
    );
    c.pod(
        &b,
        "api",
        "app: api",
        "{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}",
        "10.81.1.1",
    );
    c.pod(
        &b,
        "db",
        "app: db",
        "{name: pg, containerPort: 5432}",
        "10.81.1.2",
    );
    let live_policy = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-ingress, namespace: {b}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {a}}}}}}}]\n    ports: [{{port: 8080}}]\n"
    );
    c.apply(&live_policy);
    // NEW: the api also on 9090; db admits the api only, on 5432; a new
    // pod in namespace a.
    let new = format!(
        "{}    - port: 9090\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db-ingress, namespace: {b}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: api}}}}}}]\n    ports: [{{port: 5432}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: newcomer, namespace: {a}, labels: {{app: new}}}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1}}]\nstatus: {{podIP: 10.81.0.9, podIPs: [{{ip: 10.81.0.9}}]}}\n",
        live_policy.replace(
            "    ports: [{port: 8080}]\n",
            "    ports:\n    - port: 8080\n"
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.yaml");
    std::fs::write(&path, &new).unwrap();
    let file = path.to_str().unwrap();

    // Before the apply: the changes, as admin and as bob (read-only).
    for user in ["admin", "bob"] {
        let o = c.as_user(user, &["diff", "-f", file, "-o", "json"]);
        assert_eq!(o.status.code(), Some(1), "{user}: {}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let web_api = entry(&v, &format!("{a}/web"), &format!("{b}/api")).expect("web -> api");
        assert_eq!(web_api["change"], "changed");
        assert_eq!(web_api["before"], serde_json::json!(["TCP/8080"]));
        assert_eq!(
            web_api["after"],
            serde_json::json!(["TCP/8080", "TCP/9090"])
        );
        let web_db = entry(&v, &format!("{a}/web"), &format!("{b}/db")).expect("web -> db");
        assert_eq!(web_db["change"], "removed");
        assert_eq!(web_db["before"], "all");
        let api_db = entry(&v, &format!("{b}/api"), &format!("{b}/db")).expect("api -> db");
        assert_eq!(api_db["after"], serde_json::json!(["TCP/5432"]));
        let newcomer = entry(&v, &format!("{a}/newcomer"), &format!("{a}/web")).expect("new pod");
        assert_eq!(newcomer["change"], "added");
        assert!(
            v["notes"]
                .to_string()
                .contains(&format!("{b}/db-ingress (added)")),
            "{}",
            v["notes"]
        );
    }

    // A user who may read namespace b only: the changes there, and a note
    // that the rest was not compared; not complete, so exit 2.
    c.bind_carol(&b, "pods");
    let o = c.as_user("carol", &["diff", "-f", file, "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "carol: {}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        entry(&v, &format!("{b}/api"), &format!("{b}/db")).is_some(),
        "{v}"
    );
    assert!(
        !v["changes"].to_string().contains(&format!("\"{a}/")),
        "nothing about namespace {a}, which carol cannot read: {v}"
    );
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "only the pods and NetworkPolicies of namespace {b} could be read"
        )),
        "{notes}"
    );
    assert_eq!(v["complete"], false);

    // dana (namespace b only, through netpol-namespace-user; namespaces
    // unreadable) with a rule on namespace labels: what does not depend on
    // them is shown, what does is undecided, exit 2.
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dana-user, namespace: {b}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: dana}}\n"
    ));
    let labelled = new.replace(
        "    ports:\n    - port: 8080\n",
        &format!("    ports:\n    - port: 8080\n  - from: [{{namespaceSelector: {{matchLabels: {{team: {b}}}}}}}]\n    ports:\n    - port: 7000\n"),
    );
    let labelled_path = dir.path().join("labelled.yaml");
    std::fs::write(&labelled_path, &labelled).unwrap();
    let o = c.as_user(
        "dana",
        &["diff", "-f", labelled_path.to_str().unwrap(), "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(2), "dana: {}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: not everything could be compared"),
        "{}",
        stderr(&o)
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        entry(&v, &format!("{b}/api"), &format!("{b}/db")).is_some(),
        "{v}"
    );
    assert!(
        v["undecided"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == format!("{b}/db") && e["to"] == format!("{b}/api")),
        "{v}"
    );
    assert!(
        v["notes"].to_string().contains("labels could not be read"),
        "{}",
        v["notes"]
    );

    // --prune -l as kubectl apply --prune -l: NetworkPolicy is not in
    // kubectl's default prune allowlist, so a labelled policy applied by
    // kubectl apply and absent from NEW stays, unless the allowlist names it.
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: old-deny, namespace: {b}, labels: {{app: shop}}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  policyTypes: [Ingress]\n"
    ));
    let o = c.as_user(
        "admin",
        &[
            "diff", "-f", file, "--prune", "-l", "app=shop", "-o", "json",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let notes = v["notes"].to_string();
    assert!(notes.contains("--prune deletes no NetworkPolicy without --prune-allowlist=networking.k8s.io/v1/NetworkPolicy"), "{notes}");
    assert!(!notes.contains("old-deny is deleted"), "{notes}");
    let o = c.as_user(
        "admin",
        &[
            "diff",
            "-f",
            file,
            "--prune",
            "-l",
            "app=shop",
            "--prune-allowlist=networking.k8s.io/v1/NetworkPolicy",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(&format!("NetworkPolicy {b}/old-deny is deleted by --prune")),
        "{notes}"
    );
    c.kubectl(&["delete", "networkpolicy", "old-deny", "-n", &b], None);

    // A user who may read nothing: an error, exit 2.
    let o = c.as_user("alice", &["diff", "-f", file]);
    assert_eq!(o.status.code(), Some(2), "alice: {}", stdout(&o));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));

    // Apply, then the same diff says no change (exit 0). (The new pod's
    // IP is in NEW, so that ipBlock rules of other tests' namespaces decide
    // its pairs; without a kubelet the status is set by hand after.)
    c.apply(&new);
    c.patch_status(
        "pod",
        Some(&a),
        "newcomer",
        r#"{"status":{"phase":"Running","podIP":"10.81.0.9","podIPs":[{"ip":"10.81.0.9"}]}}"#,
    );
    let o = c.as_user("admin", &["diff", "-f", file]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "after the apply: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).starts_with("No change in connectivity."),
        "{}",
        stdout(&o)
    );
}

/// `kubectl apply` merges (client-side, three-way): fields it never set
/// stay. Checked against what the real apply stores.
#[test]
fn diff_models_apply_as_a_merge() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfm");
    // A namespace made and labelled by hand.
    let legacy = c.namespace("legacy");
    ok(&c.kubectl(&["create", "namespace", &legacy], None));
    ok(&c.kubectl(&["label", "namespace", &legacy, "team=ops"], None));
    c.pod(&n, "web", "app: web", "{containerPort: 80}", "10.82.0.1");
    c.pod(&n, "api", "app: api", "{containerPort: 80}", "10.82.0.2");
    c.pod(&n, "db", "app: db", "{containerPort: 5432}", "10.82.0.3");
    c.pod(
        &n,
        "client",
        "app: client",
        "{containerPort: 80}",
        "10.82.0.4",
    );
    c.pod(
        &legacy,
        "ops",
        "app: ops",
        "{containerPort: 80}",
        "10.82.1.1",
    );
    // A Deployment whose live pod got a label by hand.
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: shop, namespace: {n}}}\nspec:\n  selector: {{matchLabels: {{app: shop}}}}\n  template:\n    metadata: {{labels: {{app: shop}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: 8080}}]}}]\n"
    );
    c.apply(&deployment);
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: shop-5d8f7-x2x2x\n  namespace: {n}\n  labels: {{app: shop, pod-template-hash: 5d8f7, quarantine: \"true\"}}\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: ReplicaSet, name: shop-5d8f7, uid: 00000000-0000-0000-0000-000000000002, controller: true}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: 8080}}]}}]\n"
    ));
    c.patch_status(
        "pod",
        Some(&n),
        "shop-5d8f7-x2x2x",
        r#"{"status":{"phase":"Running","podIP":"10.82.0.5","podIPs":[{"ip":"10.82.0.5"}]}}"#,
    );
    // Live policies: web-in created (never applied); api-from-ops admits
    // namespaces labelled team=ops; quarantine isolates quarantined pods;
    // db-in applied with a rule NEW drops.
    ok(&c.kubectl(
        &["create", "-f", "-"],
        Some(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress: [{{}}]\n"
        )),
    ));
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-from-ops, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{team: ops}}}}}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: quarantine, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{quarantine: \"true\"}}}}\n  policyTypes: [Ingress]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: client}}}}}}]\n"
    ));
    let new = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Ingress]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {legacy}, labels: {{owner: platform}}}}\n---\n{deployment}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  policyTypes: [Ingress]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.yaml");
    std::fs::write(&path, &new).unwrap();
    let file = path.to_str().unwrap();

    // Before: only db-in's dropped rule closes anything.
    let o = c.as_user("admin", &["diff", "-f", file, "-o", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert!(
        entry(&v, &format!("{n}/client"), &format!("{n}/db")).is_some(),
        "{v}"
    );
    for e in changes {
        assert_eq!(e["to"], format!("{n}/db"), "only db's ingress changes: {v}");
        assert_eq!(e["change"], "removed", "{v}");
    }
    assert!(!v["notes"].to_string().contains("did not check"), "{v}");
    // bob may not patch: the merge is computed here, with a note, and the
    // policy and namespace cases still change nothing.
    let o = c.as_user("bob", &["diff", "-f", file, "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["notes"]
            .to_string()
            .contains("the server did not check the apply of"),
        "{v}"
    );
    for e in v["changes"].as_array().unwrap() {
        assert!(
            e["to"] != format!("{n}/web") && e["to"] != format!("{n}/api"),
            "{v}"
        );
    }

    // The real apply, then what it stored: the merge the diff assumed.
    ok(&c.kubectl(&["apply", "-f", file], None));
    let get = |args: &[&str]| stdout(&c.kubectl(args, None));
    assert_eq!(
        get(&[
            "get",
            "networkpolicy",
            "web-in",
            "-n",
            &n,
            "-o",
            "jsonpath={.spec.ingress}"
        ]),
        "[{}]",
        "kubectl apply keeps the ingress it never set"
    );
    assert_eq!(
        get(&[
            "get",
            "networkpolicy",
            "db-in",
            "-n",
            &n,
            "-o",
            "jsonpath={.spec.ingress}"
        ]),
        "",
        "kubectl apply removes the ingress it set before"
    );
    let labels = get(&[
        "get",
        "namespace",
        &legacy,
        "-o",
        "jsonpath={.metadata.labels}",
    ]);
    assert!(
        labels.contains("\"team\":\"ops\"") && labels.contains("\"owner\":\"platform\""),
        "{labels}"
    );
    let o = c.as_user("admin", &["diff", "-f", file]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "after the apply: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        stdout(&o).starts_with("No change in connectivity."),
        "{}",
        stdout(&o)
    );
}

/// What `kubectl apply` (and `kubectl diff`) refuses is an error, one
/// line, exit 2, never a listed change: a manifest whose namespace is not
/// `-n`'s, a NetworkPolicy in `extensions/v1beta1`, a change the server
/// rejects (an immutable Deployment selector). A template change other
/// than labels or ports (the image) rolls the pods out: they lose their
/// hand-added labels. bob, who may not read Deployments, gets the pairs
/// that depend on whether that happens as undecided.
#[test]
fn diff_refuses_what_apply_refuses_and_models_rollouts() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfr");
    let deployment = |selector: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: shop, namespace: {n}}}\nspec:\n  selector: {{matchLabels: {{app: {selector}}}}}\n  template:\n    metadata: {{labels: {{app: {selector}}}}}\n    spec:\n      containers: [{{name: c, image: {image}, ports: [{{containerPort: 8080}}]}}]\n"
        )
    };
    c.apply(&deployment("shop", "registry.example/app:1"));
    // Its pod, quarantined by hand.
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: shop-5d8f7-q1q1q\n  namespace: {n}\n  labels: {{app: shop, pod-template-hash: 5d8f7, quarantine: \"true\"}}\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: ReplicaSet, name: shop-5d8f7, uid: 00000000-0000-0000-0000-000000000003, controller: true}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: 8080}}]}}]\n"
    ));
    c.patch_status(
        "pod",
        Some(&n),
        "shop-5d8f7-q1q1q",
        r#"{"status":{"phase":"Running","podIP":"10.83.0.5","podIPs":[{"ip":"10.83.0.5"}]}}"#,
    );
    c.pod(
        &n,
        "client",
        "app: client",
        "{containerPort: 80}",
        "10.83.0.6",
    );
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: quarantine, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{quarantine: \"true\"}}}}\n  policyTypes: [Ingress]\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let one_error = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(o), stderr(o));
        assert_eq!(stdout(o), "", "{}", stderr(o));
        let err = stderr(o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        err.trim_end().to_string()
    };
    let same = write("same.yaml", &deployment("shop", "registry.example/app:1"));

    // -n naming another namespace: kubectl's words.
    let o = c.as_user("admin", &["diff", "-f", &same, "-n", "default"]);
    assert_eq!(
        one_error(&o),
        format!(
            "error: the namespace from the provided object \"{n}\" does not match the namespace \"default\". You must pass '--namespace={n}' to perform this operation."
        )
    );
    let k = c.kubectl(&["diff", "-f", &same, "-n", "default"], None);
    assert_eq!(k.status.code(), Some(2), "kubectl diff: {}", stderr(&k));
    assert_eq!(stderr(&k).trim_end(), one_error(&o));
    // The context's namespace is not enforced (nor is it by kubectl), and
    // the same Deployment changes nothing.
    let o = c.as_user("admin", &["diff", "-f", &same]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    // extensions/v1beta1: no longer served.
    let ext = write(
        "ext.yaml",
        &format!(
            "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {{name: legacy, namespace: {n}}}\nspec:\n  podSelector: {{}}\n"
        ),
    );
    let o = c.as_user("admin", &["diff", "-f", &ext]);
    let k = c.kubectl(&["diff", "-f", &ext], None);
    assert_eq!(
        one_error(&o),
        stderr(&k).lines().next().unwrap(),
        "as kubectl diff says"
    );
    // Any other version or kind the server does not serve: a wrong
    // version of NetworkPolicy, a plural kind, a CRD not installed (found
    // through discovery), even behind a policy that is fine.
    for (api, kind) in [
        ("networking.k8s.io/v1beta1", "NetworkPolicy"),
        ("networking.k8s.io/v2", "NetworkPolicy"),
        ("v1", "NetworkPolicy"),
        ("networking.k8s.io/v1", "NetworkPolicies"),
        ("crd.antrea.io/v1beta1", "NetworkPolicy"),
        ("apps/v1", "Deploymentz"),
    ] {
        let bad = write(
            "bad.yaml",
            &format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: fine, namespace: {n}}}\nspec:\n  podSelector: {{}}\n---\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: legacy, namespace: {n}}}\nspec:\n  podSelector: {{}}\n"
            ),
        );
        let o = c.as_user("admin", &["diff", "-f", &bad]);
        let k = c.kubectl(&["diff", "-f", &bad], None);
        assert_eq!(
            one_error(&o),
            stderr(&k)
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_default(),
            "{api} {kind}: as kubectl diff says"
        );
    }

    // The selector is immutable: the server's dry run rejects the apply.
    let selector = write(
        "selector.yaml",
        &deployment("shop2", "registry.example/app:1"),
    );
    let o = c.as_user("admin", &["diff", "-f", &selector]);
    let err = one_error(&o);
    assert!(
        err.starts_with(&format!(
            "error: the API server rejects the apply of Deployment {n}/shop (server dry run): Deployment.apps \"shop\" is invalid: spec.selector"
        )) && err.contains("field is immutable"),
        "{err}"
    );
    let k = c.kubectl(&["apply", "--dry-run=server", "-f", &selector], None);
    assert!(!k.status.success(), "kubectl apply refuses it too");

    // A new image rolls the pod out: the new pod has the template's
    // labels, no quarantine, so client -> shop opens.
    let image = write("image.yaml", &deployment("shop", "registry.example/app:2"));
    let o = c.as_user("admin", &["diff", "-f", &image, "-o", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let shop = format!("{n}/shop-5d8f7-q1q1q");
    let e = entry(&v, &format!("{n}/client"), &shop).expect("client -> shop opens");
    assert_eq!(e["change"], "added");
    assert!(
        v["notes"].to_string().contains(&format!(
            "deployment/shop in namespace {n}: the apply changes its pod template, so its pods are replaced (a rollout); the new pods carry the template's labels, without quarantine=true"
        )),
        "{}",
        v["notes"]
    );

    // The new pods get a new pod-template-hash: never said to keep the old.
    let o = c.as_user("admin", &["diff", "-f", &image]);
    assert!(
        stdout(&o).contains(
            "the destination pod's labels change: app=shop,quarantine=true => app=shop\n"
        ),
        "{}",
        stdout(&o)
    );
    // bob may read pods, not Deployments: whether the pod rolls out is
    // unknown, so client -> shop is undecided, neither opened nor kept.
    let o = c.as_user("bob", &["diff", "-f", &image, "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(entry(&v, &format!("{n}/client"), &shop).is_none(), "{v}");
    let u = v["undecided"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == format!("{n}/client") && e["to"] == shop)
        .unwrap_or_else(|| panic!("client -> shop undecided: {v}"));
    assert_eq!(u["before"], Value::Null);
    assert_eq!(u["after"], Value::Null);
    assert_eq!(
        u["reasons"][0],
        format!(
            "whether the apply replaces the pods of {n}/deployment/shop is unknown (not readable): all ports if it does (NEW's template labels), nothing if not (their live labels)"
        )
    );
    // The note names why: the Deployment could not be read.
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "on whether the apply replaces the pods of {n}/deployment/shop, which could not be read"
        )),
        "{notes}"
    );
    assert!(!notes.contains("pod without IP"), "{notes}");
    // Its own label change does not matter to pairs it does not decide:
    // shop -> client is the same either way (client is not isolated).
    assert!(
        !v["undecided"]
            .to_string()
            .contains(&format!("\"from\":\"{shop}\",\"to\":\"{n}/client\"")),
        "{v}"
    );
}

/// A Namespace manifest with `labels: {}` removes only the labels the last
/// apply set; one without `labels` removes the whole map (kubectl's
/// client-side apply: a field absent from NEW that the last apply set is
/// deleted). The diff models both, as the real apply then stores.
#[test]
fn namespace_labels_empty_or_absent_as_kubectl_apply() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfl");
    c.pod(
        &n,
        "api",
        "app: api",
        "{containerPort: 80}, {containerPort: 81}",
        "10.84.0.1",
    );
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{extra: x}}}}}}]\n    ports: [{{port: 80}}]\n  - from: [{{namespaceSelector: {{matchLabels: {{applied: a}}}}}}]\n    ports: [{{port: 81}}]\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (k, labels) in [("empty", "\n  labels: {}"), ("absent", "")] {
        let ns = c.namespace(&format!("dfl-{k}"));
        c.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels: {{applied: a}}\n"
        ));
        ok(&c.kubectl(&["label", "namespace", &ns, "extra=x"], None));
        c.pod(
            &ns,
            "ops",
            "app: ops",
            "{containerPort: 80}",
            if k == "empty" {
                "10.84.1.1"
            } else {
                "10.84.2.1"
            },
        );
        let path = dir.path().join(format!("{k}.yaml"));
        std::fs::write(
            &path,
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}{labels}\n"),
        )
        .unwrap();
        files.push((ns, path.to_str().unwrap().to_string()));
    }
    let change = |file: &str, ns: &str| {
        let o = c.as_user("admin", &["diff", "-f", file, "-o", "json"]);
        assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let e = entry(&v, &format!("{ns}/ops"), &format!("{n}/api"))
            .unwrap_or_else(|| panic!("ops -> api: {v}"))
            .clone();
        (e["before"].clone(), e["after"].clone())
    };
    // labels: {}: `applied` goes, `extra` (set by hand) stays.
    assert_eq!(
        change(&files[0].1, &files[0].0),
        (
            serde_json::json!(["TCP/80-81"]),
            serde_json::json!(["TCP/80"])
        )
    );
    // No labels: the whole map goes.
    assert_eq!(
        change(&files[1].1, &files[1].0),
        (serde_json::json!(["TCP/80-81"]), Value::Null)
    );
    // What the real apply stores, and the diff after it: no change.
    for (i, (ns, file)) in files.iter().enumerate() {
        ok(&c.kubectl(&["apply", "-f", file], None));
        let labels = stdout(&c.kubectl(
            &["get", "namespace", ns, "-o", "jsonpath={.metadata.labels}"],
            None,
        ));
        assert!(!labels.contains("applied"), "{labels}");
        assert_eq!(labels.contains("\"extra\":\"x\""), i == 0, "{labels}");
        let o = c.as_user("admin", &["diff", "-f", file]);
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    }
}

/// A new Deployment's stand-in pod has no IP: facing an ipBlock, its pairs
/// are undecided, unless every Node's `spec.podCIDRs` is known and none is
/// in the block's reach (then its IP cannot be). bob may not read nodes:
/// undecided for him.
#[test]
fn known_pod_cidrs_decide_ipblocks_facing_a_new_workload() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfc");
    c.pod(&n, "web", "app: web", "{containerPort: 80}", "10.86.0.1");
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-out, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 10.200.0.0/16}}}}]\n    ports: [{{port: 443}}]\n"
    ));
    let node = format!("dfc-node-{}", c.unique());
    c.apply(&format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\nspec: {{podCIDR: 10.86.0.0/24, podCIDRs: [10.86.0.0/24]}}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: pay, namespace: {n}}}\nspec:\n  selector: {{matchLabels: {{app: pay}}}}\n  template:\n    metadata: {{labels: {{app: pay}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: 443}}]}}]\n"
        ),
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let web_pay =
        |v: &Value| {
            v["undecided"].as_array().unwrap().iter().any(|e| {
                e["from"] == format!("{n}/web") && e["to"] == format!("{n}/deployment/pay")
            })
        };
    // Other tests' nodes in this shared cluster may lack pod CIDRs: then
    // where pay's IP will be is unknown.
    let all_known = stdout(&c.kubectl(
        &[
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.spec.podCIDRs}{\"\\n\"}{end}",
        ],
        None,
    ))
    .lines()
    .all(|l| !l.trim().is_empty());
    let o = c.as_user("admin", &["diff", "-f", file, "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    if all_known {
        assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
        assert!(
            !web_pay(&v),
            "decided: 10.86.0.0/24 is outside 10.200.0.0/16: {v}"
        );
        assert!(entry(&v, &format!("{n}/web"), &format!("{n}/deployment/pay")).is_none());
    } else {
        assert!(web_pay(&v), "{v}");
    }
    let o = c.as_user("bob", &["diff", "-f", file, "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(web_pay(&v), "bob cannot read nodes: undecided: {v}");
    ok(&c.kubectl(&["delete", "node", &node], None));
}

/// What the server rejects is never a listed change: a live Pod's
/// container port (`pod updates may not change fields other than ...`),
/// a NetworkPolicy in a namespace that does not exist, an invalid new
/// Deployment. One error line, exit 2, as `kubectl apply` fails. A new
/// namespace and a policy in it are fine (the dry run cannot create the
/// namespace: a note says the policy was not checked).
#[test]
fn diff_refuses_what_the_server_rejects_for_pods_and_new_objects() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfp");
    c.pod(&n, "web", "app: web", "{containerPort: 80}", "10.87.0.1");
    c.pod(
        &n,
        "client",
        "app: client",
        "{containerPort: 80}",
        "10.87.0.2",
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let one_error = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(o), stderr(o));
        assert_eq!(stdout(o), "", "{}", stderr(o));
        let err = stderr(o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        err.trim_end().to_string()
    };
    let pod = |port: u16, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: {n}, labels: {{app: web{extra}}}}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: {port}}}]}}]\n"
        )
    };
    // Another container port: kubectl apply fails, so does the diff.
    let port = write("port.yaml", &pod(81, ""));
    let err = one_error(&c.as_user("admin", &["diff", "-f", &port]));
    assert!(
        err.starts_with(&format!(
            "error: the API server rejects the apply of Pod {n}/web (server dry run): "
        )) && err.contains("pod updates may not change fields other than"),
        "{err}"
    );
    let k = c.kubectl(&["apply", "--dry-run=server", "-f", &port], None);
    assert!(!k.status.success(), "kubectl apply refuses it too");
    // A label: allowed, and a change (the policy admits app=web only).
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: to-web, namespace: {n}}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: client}}}}}}]\n"
    ));
    let label = write("label.yaml", &pod(80, ", tier: front"));
    let o = c.as_user("admin", &["diff", "-f", &label, "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    // A policy in a namespace that does not exist.
    let ghost = c.namespace("dfp-ghost");
    let policy = |ns: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"
        )
    };
    let lost = write("lost.yaml", &policy(&ghost));
    let err = one_error(&c.as_user("admin", &["diff", "-f", &lost]));
    assert_eq!(
        err,
        format!(
            "error: the API server rejects the apply of NetworkPolicy {ghost}/deny-all (server dry run): namespaces \"{ghost}\" not found"
        )
    );
    // A new Pod in it too: the same error (the first object refused).
    // With the Namespace in NEW: created first by the apply, no error.
    let with_ns = write(
        "with-ns.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ghost}}}\n---\n{}",
            policy(&ghost)
        ),
    );
    let o = c.as_user("admin", &["diff", "-f", &with_ns, "-o", "json"]);
    assert_ne!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["notes"].to_string().contains(&format!(
            "the server could not check the creation of NetworkPolicy {ghost}/deny-all: its namespace is created by the same apply"
        )),
        "{v}"
    );

    // A new Deployment whose selector does not match its template: invalid.
    let invalid = write(
        "invalid.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: shop, namespace: {n}}}\nspec:\n  selector: {{matchLabels: {{app: shop}}}}\n  template:\n    metadata: {{labels: {{app: other}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1}}]\n"
        ),
    );
    let err = one_error(&c.as_user("admin", &["diff", "-f", &invalid]));
    assert!(
        err.starts_with(&format!(
            "error: the API server rejects the apply of Deployment {n}/shop (server dry run): Deployment.apps \"shop\" is invalid"
        )),
        "{err}"
    );
    // bob may not create (dry run or not): computed here, with a note.
    let new_policy = write(
        "new-policy.yaml",
        &policy(&n)
            .replace("deny-all", "deny")
            .replace("[Ingress]", "[Egress]"),
    );
    let o = c.as_user("bob", &["diff", "-f", &new_policy, "-o", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["notes"].to_string().contains(&format!(
            "the server did not check the creation of NetworkPolicy {n}/deny ("
        )),
        "{v}"
    );
}

/// `--prune -l SEL` without `--prune-allowlist`: kubectl's default
/// allowlist deletes Pods, workloads and Namespaces (not NetworkPolicies)
/// that match, were applied by kubectl apply and are absent from NEW: a
/// pruned pod's, workload's and namespace's pods are gone after. An
/// explicit allowlist prunes its kinds only. A user who may not list a
/// kind it names: incomplete, exit 2.
#[test]
fn prune_with_the_default_allowlist_deletes_pods_workloads_and_namespaces() {
    let Some(c) = cluster() else { return };
    let part = format!("shop-{}", c.unique());
    let n = c.create_namespace("dfq");
    c.pod(
        &n,
        "client",
        "app: client",
        "{containerPort: 80}",
        "10.88.0.1",
    );
    c.pod(
        &n,
        "web",
        &format!("app: web, part: {part}"),
        "{containerPort: 80}",
        "10.88.0.2",
    );
    // A pod made by hand (kubectl create): no last-applied, never pruned.
    ok(&c.kubectl(
        &["create", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: manual, namespace: {n}, labels: {{part: {part}}}}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1}}]\n"
        )),
    ));
    c.patch_status(
        "pod",
        Some(&n),
        "manual",
        r#"{"status":{"phase":"Running","podIP":"10.88.0.3","podIPs":[{"ip":"10.88.0.3"}]}}"#,
    );
    // A Deployment applied with the label, and its pod.
    c.apply(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: cart, namespace: {n}, labels: {{part: {part}}}}}\nspec:\n  selector: {{matchLabels: {{app: cart}}}}\n  template:\n    metadata: {{labels: {{app: cart}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1}}]\n"
    ));
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: cart-6c4d9-a1a1a\n  namespace: {n}\n  labels: {{app: cart, pod-template-hash: 6c4d9}}\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: ReplicaSet, name: cart-6c4d9, uid: 00000000-0000-0000-0000-000000000009, controller: true}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: registry.example/app:1}}]\n"
    ));
    c.patch_status(
        "pod",
        Some(&n),
        "cart-6c4d9-a1a1a",
        r#"{"status":{"phase":"Running","podIP":"10.88.0.4","podIPs":[{"ip":"10.88.0.4"}]}}"#,
    );
    // A namespace applied with the label, and a pod in it.
    let gone = c.namespace("dfq-gone");
    c.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {gone}, labels: {{part: {part}}}}}\n"
    ));
    c.pod(&gone, "old", "app: old", "{containerPort: 80}", "10.88.1.1");
    // NEW: one policy in n that changes nothing (every pod admits all).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: open, namespace: {n}, labels: {{part: {part}}}}}\nspec:\n  podSelector: {{}}\n  ingress: [{{}}]\n"
        ),
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let sel = format!("part={part}");
    let o = c.as_user("admin", &["diff", "-f", file, "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    let o = c.as_user(
        "admin",
        &["diff", "-f", file, "--prune", "-l", &sel, "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let client = format!("{n}/client");
    for gone_pod in [
        format!("{n}/web"),
        format!("{n}/cart-6c4d9-a1a1a"),
        format!("{gone}/old"),
    ] {
        let e = entry(&v, &client, &gone_pod).unwrap_or_else(|| panic!("{gone_pod}: {v}"));
        assert_eq!(e["change"], "removed", "{v}");
    }
    assert!(entry(&v, &client, &format!("{n}/manual")).is_none(), "{v}");
    let notes = v["notes"].to_string();
    for said in [
        format!("Pod {n}/web is deleted by --prune"),
        format!("Deployment {n}/cart is deleted by --prune, with its pods"),
        format!("Namespace {gone} is deleted by --prune, with its pods and NetworkPolicies"),
    ] {
        assert!(notes.contains(&said), "{said}: {notes}");
    }
    assert!(!notes.contains("manual"), "{notes}");

    // An explicit allowlist: only its kinds.
    let o = c.as_user(
        "admin",
        &[
            "diff",
            "-f",
            file,
            "--prune",
            "-l",
            &sel,
            "--prune-allowlist=core/v1/Pod",
            "-o",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(entry(&v, &client, &format!("{n}/web")).is_some(), "{v}");
    assert!(
        entry(&v, &client, &format!("{n}/cart-6c4d9-a1a1a")).is_none(),
        "{v}"
    );
    assert!(entry(&v, &client, &format!("{gone}/old")).is_none(), "{v}");

    // bob may not list Deployments: not everything compared, exit 2.
    let o = c.as_user(
        "bob",
        &["diff", "-f", file, "--prune", "-l", &sel, "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["complete"], false);
    assert!(
        v["notes"]
            .to_string()
            .contains("--prune: what it deletes could not all be read"),
        "{v}"
    );
    assert!(
        stderr(&o).contains("what --prune deletes could not all be read"),
        "{}",
        stderr(&o)
    );
}

/// A live Deployment at 0 replicas stands as one pod without IP on the
/// cluster's side too (`NS/deployment/NAME`), as NEW's does: after a real
/// apply of the same manifest the diff says no change. `matrix` and `can`
/// agree on it. bob may not list Deployments: whether NEW's exists
/// already is unknown, said, its pairs undecided (not opened), exit 2.
#[test]
fn a_live_workload_without_pods_stands_as_one_pod_on_both_sides() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfz");
    c.pod(&n, "web", "app: web", "{containerPort: 80}", "10.89.0.1");
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: cart}}}}}}]\n"
    ));
    let cart = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: cart, namespace: {n}}}\nspec:\n  replicas: 0\n  selector: {{matchLabels: {{app: cart}}}}\n  template:\n    metadata: {{labels: {{app: cart}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1, ports: [{{containerPort: 8080}}]}}]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cart.yaml");
    std::fs::write(&path, &cart).unwrap();
    let file = path.to_str().unwrap();
    // Before: the Deployment is new, its stand-in opens cart -> web
    // (other tests' ipBlocks may leave some of its pairs undecided: 1 or 2).
    let o = c.as_user("admin", &["diff", "-f", file, "-o", "json"]);
    assert_ne!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let stand_in = format!("{n}/deployment/cart");
    assert!(entry(&v, &stand_in, &format!("{n}/web")).is_some(), "{v}");
    // Applied (no controller runs: no pods), the same diff: no change.
    ok(&c.kubectl(&["apply", "-f", file], None));
    let o = c.as_user("admin", &["diff", "-f", file]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("No change in connectivity."),
        "{}",
        stdout(&o)
    );
    // matrix and can agree on it.
    let m = c.as_user("admin", &["matrix", "-n", &n, "-o", "json"]);
    let m = stdout(&m);
    assert!(m.contains(&stand_in), "matrix shows the stand-in: {m}");
    let o = c.as_user(
        "admin",
        &["can", &format!("{n}/deployment/cart"), &format!("{n}/web")],
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));

    // bob may not list Deployments.
    let o = c.as_user("bob", &["diff", "-f", file, "-o", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["notes"].to_string().contains(&format!(
            "whether {stand_in} of NEW exists already without pods is unknown"
        )),
        "{v}"
    );
    // It exists (admin says "No change"): its pairs are undecided, never
    // opened.
    let web = format!("{n}/web");
    assert!(entry(&v, &stand_in, &web).is_none(), "not opened: {v}");
    let u = v["undecided"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == stand_in.as_str() && e["to"] == web.as_str())
        .unwrap_or_else(|| panic!("cart -> web undecided: {v}"));
    assert_eq!(u["before"], Value::Null, "nothing for certain before: {u}");
    assert!(
        u["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("whether {stand_in} exists already")),
        "{u}"
    );
    for e in v["changes"].as_array().unwrap() {
        assert!(
            e["from"] != stand_in.as_str() && e["to"] != stand_in.as_str(),
            "{e}"
        );
    }
    let o = c.as_user("bob", &["diff", "-f", file]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("Opened:"), "{}", stdout(&o));
}

/// dana may read namespace b only: a policy of NEW in namespace s, whose
/// pods she cannot read, is not "selecting no pod": its namespace could
/// not be read, said alike whether the file comes alone or with another
/// in b (exit 2 both times, never an error of its own).
#[test]
fn a_policy_where_pods_cannot_be_read_is_said_unread_alone_or_not() {
    let Some(c) = cluster() else { return };
    let b = c.create_namespace("dfu");
    let shop = c.create_namespace("dfu-shop");
    c.pod(&b, "api", "app: api", "{containerPort: 80}", "10.90.0.1");
    c.pod(&shop, "web", "app: web", "{containerPort: 80}", "10.90.1.1");
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dana-user, namespace: {b}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: dana}}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let shoppol = write(
        "shoppol.yaml",
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {shop}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"
        ),
    );
    let mine = write(
        "mine.yaml",
        &format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-in, namespace: {b}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"
        ),
    );
    for files in [
        vec![shoppol.as_str()],
        vec![shoppol.as_str(), mine.as_str()],
    ] {
        let mut args = vec!["diff"];
        for f in &files {
            args.extend(["-f", f]);
        }
        args.extend(["-o", "json"]);
        let o = c.as_user("dana", &args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{files:?}: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stderr(&o).starts_with("error: not everything could be compared"),
            "{files:?}: {}",
            stderr(&o)
        );
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let notes = v["notes"].to_string();
        assert!(!notes.contains("selects no pod"), "{files:?}: {notes}");
        assert!(
            notes.contains(&format!(
                "namespace {shop}: its pods or NetworkPolicies could not be read"
            )),
            "{files:?}: {notes}"
        );
    }
}

/// A container port changed in NEW (`{name: http, containerPort: 7000}` ->
/// 8080), for a Deployment and a Pod applied with kubectl apply: the
/// strategic merge patch diff sends deletes the port the last apply set
/// (kubectl's three-way patch), so the server's dry run does not find the
/// name `http` twice. The Deployment's template after our patch is the
/// one `kubectl apply --dry-run=server` gives; the Pod is refused for
/// what kubectl apply is refused for (a pod's ports are immutable), not
/// for a duplicate it would not send.
#[test]
fn a_changed_container_port_is_patched_as_kubectl_apply_does() {
    use serde_json::json;
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfp");
    let deployment = |port: u16| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "worker", "namespace": n},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "worker"}},
                "template": {"metadata": {"labels": {"app": "worker"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/app:1",
                        "ports": [{"name": "http", "containerPort": port}]}]}}}})
    };
    let pod = |port: u16| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "solo", "namespace": n, "labels": {"app": "solo"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "registry.example/app:1",
                "ports": [{"name": "http", "containerPort": port}]}]}})
    };
    c.apply(&deployment(7000).to_string());
    c.apply(&pod(7000).to_string());
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };

    // The Deployment: accepted, as kubectl apply accepts it.
    let new = write("worker.json", &deployment(8080));
    let o = c.as_user("admin", &["diff", "-f", &new]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!stderr(&o).contains("Duplicate"), "{}", stderr(&o));
    // Our patch, sent as a server dry run, gives kubectl's template.
    let live = c.kubectl(
        &["get", "deployment", "worker", "-n", &n, "-o", "json"],
        None,
    );
    let live: Value = serde_json::from_slice(&live.stdout).unwrap();
    let last: Value = serde_json::from_str(
        live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let patch = netpol::engine::diff::apply_patch(Some(&last), &deployment(8080));
    let ours = c.kubectl(
        &[
            "patch",
            "deployment",
            "worker",
            "-n",
            &n,
            "--type",
            "strategic",
            "--dry-run=server",
            "-o",
            "json",
            "-p",
            &patch.to_string(),
        ],
        None,
    );
    assert!(ours.status.success(), "{}", stderr(&ours));
    let theirs = c.kubectl(
        &["apply", "--dry-run=server", "-o", "json", "-f", &new],
        None,
    );
    assert!(theirs.status.success(), "{}", stderr(&theirs));
    let template = |o: &std::process::Output| {
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["spec"]["template"].clone()
    };
    assert_eq!(template(&ours), template(&theirs));
    assert_eq!(
        template(&ours)["spec"]["containers"][0]["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );

    // The Pod: refused as kubectl apply refuses it, without a duplicate.
    let new = write("solo.json", &pod(8080));
    let o = c.as_user("admin", &["diff", "-f", &new]);
    assert_eq!(o.status.code(), Some(2), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(!err.contains("Duplicate"), "{err}");
    let k = c.kubectl(&["apply", "--dry-run=server", "-f", &new], None);
    assert!(!k.status.success());
    assert!(!stderr(&k).contains("Duplicate"), "{}", stderr(&k));
    assert!(
        err.contains("pod updates may not change fields other than")
            && stderr(&k).contains("pod updates may not change fields other than"),
        "ours: {err}\nkubectl: {}",
        stderr(&k)
    );
}

/// A user whose role grants every workload kind but ReplicationControllers
/// (the netpol-namespace-user role before it listed them): the refused
/// kind is a gap for that kind only. The Deployment at 0 replicas is
/// still read live, so applying it again changes nothing (it was
/// "Opened" when one refused list dropped every workload); a note names
/// the ReplicationControllers. The project's own role (scripts/e2e-cluster)
/// now grants them: dana gets no such note.
#[test]
fn a_refused_workload_kind_is_a_gap_for_that_kind_only() {
    let Some(c) = cluster() else { return };
    let n = c.create_namespace("dfk");
    c.pod(&n, "web", "app: web", "{containerPort: 80}", "10.91.0.1");
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-in, namespace: {n}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: cart}}}}}}]\n"
    ));
    let cart = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: cart, namespace: {n}}}\nspec:\n  replicas: 0\n  selector: {{matchLabels: {{app: cart}}}}\n  template:\n    metadata: {{labels: {{app: cart}}}}\n    spec:\n      containers: [{{name: c, image: registry.example/app:1}}]\n"
    );
    c.apply(&cart);
    let role = format!("{n}-no-rc");
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {role}}}\nrules:\n- {{apiGroups: [\"\"], resources: [pods, services, endpoints, configmaps], verbs: [get, list, watch]}}\n- {{apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}}\n- {{apiGroups: [apps], resources: [deployments, replicasets, statefulsets, daemonsets], verbs: [get, list, watch]}}\n- {{apiGroups: [batch], resources: [jobs, cronjobs], verbs: [get, list, watch]}}\n- {{apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch, create, update, patch, delete]}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: carol-user, namespace: {n}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cart.yaml");
    std::fs::write(&path, &cart).unwrap();
    let file = path.to_str().unwrap();
    let o = c.as_user("carol", &["diff", "-f", file, "-n", &n, "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", stdout(&o), stderr(&o));
    });
    let stand_in = format!("{n}/deployment/cart");
    assert!(
        entry(&v, &stand_in, &format!("{n}/web")).is_none(),
        "the Deployment is read: nothing opens: {v}"
    );
    assert_eq!(v["undecided"], serde_json::json!([]), "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "the ReplicationControllers of namespace {n} could not be listed"
        )),
        "{notes}"
    );
    assert!(!notes.contains("Deployments"), "{notes}");
    // The project's role lists ReplicationControllers too.
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dana-user, namespace: {n}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: dana}}\n"
    ));
    let o = c.as_user("dana", &["diff", "-f", file, "-n", &n, "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", stdout(&o), stderr(&o));
    });
    assert!(entry(&v, &stand_in, &format!("{n}/web")).is_none(), "{v}");
    assert!(
        !v["notes"].to_string().contains("could not be listed"),
        "{}",
        v["notes"]
    );
}

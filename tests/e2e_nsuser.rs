//! Issue 13, "for the user who is not cluster-admin": every command run
//! against a real kube-apiserver (scripts/e2e-cluster) as
//!
//! - dana, bound in ONE namespace to the ClusterRole
//!   `netpol-namespace-user` (read pods, Services, workloads...; read and
//!   write networkpolicies) with no cluster-scoped read at all, and
//! - erin, the same in one namespace, who may also list namespaces
//!   cluster-wide but no pods elsewhere.
//!
//! What RBAC refuses must come out as unknown / not checked, never as
//! "none" or a failure, and the exit codes must say so.

mod common;
use common::cluster::*;

use serde_json::Value;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn both(o: &std::process::Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o))
}

/// Two namespaces (the user's and another), pods web and api in the
/// user's, db in the other, a Deployment with no pods, and the usual
/// policies: default deny, DNS egress, web -> api, web's egress to api
/// and to the other namespace (by label). Returns (namespace, other).
fn setup(c: &Cluster, user: &str) -> (String, String) {
    let ns = c.create_namespace(&format!("nsu-{user}"));
    let other = c.create_namespace(&format!("nsu-{user}-other"));
    c.pod(
        &ns,
        "web",
        "app: web",
        "{containerPort: 80, name: http}",
        "10.93.0.1",
    );
    c.pod(
        &ns,
        "api",
        "app: api",
        "{containerPort: 8080, name: http}",
        "10.93.0.2",
    );
    c.pod(
        &other,
        "db",
        "app: db",
        "{containerPort: 5432}",
        "10.93.1.1",
    );
    c.apply(&format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: idle, namespace: {ns}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: idle}}}}
  template:
    metadata: {{labels: {{app: idle}}}}
    spec: {{containers: [{{name: c, image: registry.example/idle:1, ports: [{{containerPort: 9000}}]}}]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny, namespace: {ns}}}
spec: {{podSelector: {{}}, policyTypes: [Ingress, Egress]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-dns, namespace: {ns}}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
  - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}, podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}]
    ports: [{{port: 53, protocol: UDP}}, {{port: 53, protocol: TCP}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-to-api, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: web}}}}}}], ports: [{{port: 8080}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: web-egress, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  policyTypes: [Egress]
  egress:
  - to: [{{podSelector: {{matchLabels: {{app: api}}}}}}]
  - to: [{{namespaceSelector: {{matchLabels: {{team: {other}}}}}}}]
    ports: [{{port: 5432}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: team-metrics, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{team: {ns}}}}}}}], ports: [{{port: 9090}}]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {user}-netpol, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]
"#
    ));
    (ns, other)
}

/// The commands every namespace user must be able to run in their own
/// namespace, with the answers that do not depend on what else they may
/// read.
fn common_answers(c: &Cluster, user: &str, ns: &str) {
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-n", ns]);
        c.as_user(user, &all)
    };
    // list: every policy, no error finding, exit 0.
    let o = run(&["list"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let out = stdout(&o);
    for name in ["allow-dns", "default-deny", "web-egress", "web-to-api"] {
        assert!(out.contains(name), "{out}");
    }
    assert!(!out.contains("error["), "{out}");
    // lint: nothing is an error, the exit code counts no unknown, even
    // with --fail-on info.
    let o = run(&["lint"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(!stdout(&o).contains("error["), "{}", both(&o));
    let o = run(&["lint", "--fail-on", "info"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let v: Value = serde_json::from_str(&stdout(&run(&["lint", "-o", "json"]))).unwrap();
    assert_eq!(v["summary"]["error"], 0, "{v}");
    assert_eq!(v["summary"]["warning"], 0, "{v}");
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{v}");
    for f in findings {
        assert_eq!(f["severity"], "info", "{f}");
        let why = f["notChecked"].as_str().expect("notChecked says why");
        assert!(
            why.contains(&format!("forbidden for user \"{user}\"")),
            "{f}"
        );
        assert!(
            f["message"].as_str().unwrap().starts_with("not checked: "),
            "{f}"
        );
    }
    assert_eq!(
        v["summary"]["notChecked"].as_u64().unwrap() as usize,
        findings.len(),
        "{v}"
    );
    // lint --against-cluster: a manifest for this namespace, checked
    // against what may be read of it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-egress, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{podSelector: {{matchLabels: {{app: web}}}}}}]}}]\n"
        ),
    )
    .unwrap();
    let f = file.display().to_string();
    let o = run(&["lint", "--against-cluster", "-f", &f]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains("info[egress-blocks-dns]") || stdout(&o).contains("No findings."),
        "{}",
        both(&o)
    );
    assert!(!stdout(&o).contains("error["), "{}", both(&o));
    // explain a pod of the namespace.
    let o = run(&["explain", "web"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).starts_with(&format!("Pod:         {ns}/web")),
        "{}",
        both(&o)
    );
    // explain a Deployment no pod runs for: its template.
    let o = run(&["explain", "deployment/idle"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("Pod:         {ns}/deployment/idle\n")),
        "{out}"
    );
    assert!(out.contains("9000/TCP"), "{out}");
    assert!(out.contains("no pod of deployment/idle runs"), "{out}");
    // can: web -> api on 8080 is allowed by rules in this namespace; api
    // -> web is denied (api's egress and web's ingress: default deny).
    let o = run(&["can", "web", "api", "--port", "8080"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).starts_with("ALLOWED"), "{}", both(&o));
    let o = run(&["can", "api", "web", "--port", "80"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stdout(&o).starts_with("DENIED"), "{}", both(&o));
    // matrix and coverage of the namespace.
    let o = run(&["matrix"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("P1 = TCP/8080"), "{}", both(&o));
    let v: Value = serde_json::from_str(&stdout(&run(&["matrix", "-o", "json"]))).unwrap();
    // TCP/9090 (team-metrics: from namespaces labelled team=NS) only for
    // a user who can read the namespace's labels; for the others the
    // matrix shows what is certain and warns (see below).
    // For dana it is marked: TCP/8080 for certain, TCP/9090 possible.
    let expected = if user == "erin" {
        serde_json::json!([{"from": format!("{ns}/web"), "to": format!("{ns}/api"), "ports": ["TCP/8080", "TCP/9090"]}])
    } else {
        serde_json::json!([{"from": format!("{ns}/web"), "to": format!("{ns}/api"), "ports": ["TCP/8080"], "possible": ["TCP/8080", "TCP/9090"]}])
    };
    assert_eq!(v["connections"], expected, "{v}");
    let o = run(&["coverage"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(stdout(&o).contains("2/2"), "{}", both(&o));
    // check: kube-system cannot be read, so the CNI is unknown (exit 4),
    // and what was refused is named.
    let o = c.as_user(user, &["check"]);
    assert_eq!(code(&o), 4, "{}", both(&o));
    assert!(
        stdout(&o).contains("NetworkPolicy:  unknown"),
        "{}",
        both(&o)
    );
    assert!(stdout(&o).contains("Not readable:"), "{}", both(&o));
    // wizard, unattended: a server dry run, then applied.
    // (Port 8081: not a duplicate of web-to-api, which lint would say.)
    let wizard = |name: &str, action: &[&str]| {
        let mut args = vec![
            "wizard",
            "--select",
            "app=api",
            "--allow-from",
            "pods=app=web",
            "--port",
            "8081",
            "--name",
            name,
        ];
        args.extend(action);
        run(&args)
    };
    let o = wizard("api-dry", &["--dry-run=server"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stderr(&o).contains("networkpolicy.networking.k8s.io/api-dry created (server dry run)"),
        "{}",
        both(&o)
    );
    assert!(
        stderr(&o).contains(&format!(
            "note: only the pods and policies of namespace {ns} are readable"
        )),
        "{}",
        both(&o)
    );
    let o = wizard("api-applied", &["--apply", "--yes"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let got = c.kubectl(&["get", "networkpolicy", "api-applied", "-n", ns], None);
    assert!(got.status.success(), "not applied: {}", both(&o));
    // The live wording never speaks of an input.
    for o in [run(&["list"]), run(&["lint"]), run(&["can", "web", "api"])] {
        assert!(!both(&o).contains("not in the input"), "{}", both(&o));
    }
}

/// dana reads one namespace and nothing cluster-scoped.
#[test]
fn a_namespace_scoped_user_runs_every_command() {
    let Some(c) = cluster() else { return };
    let (ns, _other) = setup(&c, "dana");
    common_answers(&c, "dana", &ns);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-n", &ns]);
        c.as_user("dana", &all)
    };
    // The DNS pods (kube-system) are not readable: each egress-isolating
    // policy says so, never error[egress-blocks-dns] (the old answer,
    // with exit 5).
    let out = stdout(&run(&["lint"]));
    for p in ["allow-dns", "default-deny", "web-egress"] {
        assert!(
            out.contains(&format!(
                "info[egress-blocks-dns]: {ns}/{p} spec.egress: not checked: namespace \"kube-system\" (where the DNS pods run) is not readable (cannot list pods in namespace \"kube-system\": forbidden for user \"dana\""
            )),
            "{out}"
        );
    }
    // A namespaceSelector on labels: the namespace list is not readable.
    assert!(
        out.contains(&format!(
            "info[namespace-selector-matches-nothing]: {ns}/web-egress spec.egress[1].to[0].namespaceSelector: not checked: the namespace list is not readable"
        )),
        "{out}"
    );
    assert!(out.contains("0 errors, 0 warnings, 0 info, "), "{out}");
    // can answers with the namespace labels unknown, and says so.
    let o = run(&["can", "web", "api", "--port", "8080"]);
    assert!(
        stdout(&o).contains(&format!(
            "namespace {ns} is not readable as a namespace list"
        )),
        "{}",
        both(&o)
    );
    // An answer that hangs on the namespace's labels (team-metrics admits
    // TCP/9090 from namespaces labelled team=NS, which NS is, but dana
    // cannot see it) is UNKNOWN with exit 4: neither a DENIED she would
    // chase nor an ALLOWED nobody checked.
    let o = run(&["can", "web", "api", "--port", "9090"]);
    assert_eq!(code(&o), 4, "{}", both(&o));
    assert!(
        stdout(&o).starts_with(&format!("UNKNOWN: {ns}/web -> {ns}/api on TCP/9090")),
        "{}",
        both(&o)
    );
    assert!(
        stdout(&o).contains(&format!(
            "{ns}/team-metrics rule #1: unknown: whether {ns}/web matches from all pods in namespaces [team={ns}]"
        )),
        "{}",
        both(&o)
    );
    let o = run(&["can", "web", "api", "--port", "9090", "-o", "json"]);
    assert_eq!(code(&o), 4, "{}", both(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["allowed"], Value::Null, "{v}");
    // An address dana cannot attribute (10.93.1.1 is db's, in a namespace
    // whose pods she cannot list): web's egress could admit a pod on
    // TCP/5432 there, so the answer is UNKNOWN, with what it would be if
    // the address were outside the cluster.
    let o = run(&["can", "web", "10.93.1.1", "--port", "5432"]);
    assert_eq!(code(&o), 4, "{}", both(&o));
    assert!(
        stdout(&o).starts_with(&format!("UNKNOWN: {ns}/web -> 10.93.1.1 on TCP/5432")),
        "{}",
        both(&o)
    );
    assert!(
        stdout(&o)
            .contains("10.93.1.1 may be the address of a pod or Service that could not be read"),
        "{}",
        both(&o)
    );
    // api's egress admits only DNS (TCP and UDP 53 to kube-dns pods): were
    // the address a Service's ClusterIP (dana cannot list Services), port
    // 5432 could be translated to 53 there, so even that is UNKNOWN.
    let o = run(&["can", "api", "10.93.1.1", "--port", "5432"]);
    assert_eq!(code(&o), 4, "{}", both(&o));
    assert!(stdout(&o).starts_with("UNKNOWN"), "{}", both(&o));
    // An address towards a pod whose ingress admits nothing from it: web
    // is isolated by default-deny with no ingress rule: denied whoever
    // owns the address.
    let o = run(&["can", "10.93.1.1", "web"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(stdout(&o).starts_with("DENIED"), "{}", both(&o));
    assert!(
        stdout(&o).contains("the answer holds either way"),
        "{}",
        both(&o)
    );
    // matrix says it on stderr.
    let o = run(&["matrix"]);
    assert!(
        stderr(&o).contains("not readable as a namespace list"),
        "{}",
        both(&o)
    );
    // An ipBlock holds no pod dana can see, but the pods of the other
    // namespaces are hidden: whether it holds pod IPs is not checked.
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: to-range, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{ipBlock: {{cidr: 10.93.1.0/24}}}}]}}]\n"
    ));
    let o = run(&["lint"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!(
            "info[ipblock-selects-pods]: {ns}/to-range spec.egress[0].to[0].ipBlock: not checked: "
        )),
        "{}",
        both(&o)
    );
    c.kubectl(&["delete", "networkpolicy", "to-range", "-n", &ns], None);
    // The wizard says namespaces must be typed.
    let o = run(&[
        "wizard",
        "--select",
        "app=api",
        "--allow-from",
        "namespace=elsewhere",
        "--name",
        "from-elsewhere",
    ]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stderr(&o).contains("note: namespaces are not readable"),
        "{}",
        both(&o)
    );
    assert!(
        stdout(&o).contains("kubernetes.io/metadata.name: elsewhere"),
        "{}",
        both(&o)
    );
    // Egress isolated by the new policy, and allow-dns (to kube-system by
    // name, k8s-app=kube-dns) already admits DNS: kube-system's pods are
    // unreadable, but the rule matches the DNS pods whatever they are:
    // no "cannot be checked, add --allow-dns" note.
    let o = run(&[
        "wizard",
        "--select",
        "app=api",
        "--allow-to",
        &format!("{ns}/app=web:80"),
        "--name",
        "api-to-web",
    ]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(!stderr(&o).contains("add --allow-dns"), "{}", both(&o));
    assert!(
        stderr(&o).contains("note: the DNS pods cannot be checked (kube-system's pods are not readable); the policies admit the usual CoreDNS pods (k8s-app=kube-dns) on UDP and TCP 53"),
        "{}",
        both(&o)
    );
}

/// erin reads one namespace and may list namespaces, but no pods elsewhere.
#[test]
fn a_user_who_lists_namespaces_but_no_pods_elsewhere_runs_every_command() {
    let Some(c) = cluster() else { return };
    let (ns, other) = setup(&c, "erin");
    common_answers(&c, "erin", &ns);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-n", &ns]);
        c.as_user("erin", &all)
    };
    // The namespaces are known: the selector matches `other`, whose pods
    // are not readable.
    let out = stdout(&run(&["lint"]));
    assert!(
        out.contains(&format!(
            "info[peer-matches-nothing]: {ns}/web-egress spec.egress[1].to[0]: not checked: the pod list of namespace \"{other}\" is not readable (cannot list pods in namespace \"{other}\": forbidden for user \"erin\""
        )),
        "{out}"
    );
    assert!(!out.contains("namespace-selector-matches-nothing"), "{out}");
    // No namespace-label caveat: the labels were read.
    let o = run(&["can", "web", "api", "--port", "8080"]);
    assert!(!stdout(&o).contains("not readable"), "{}", both(&o));
    // erin sees the namespace's labels: what is UNKNOWN for dana is decided.
    let o = run(&["can", "web", "api", "--port", "9090"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).starts_with(&format!("ALLOWED: {ns}/web -> {ns}/api on TCP/9090")),
        "{}",
        both(&o)
    );
    // explain marks the peer in the other namespace unknown.
    let o = run(&["explain", "web"]);
    assert!(stdout(&o).contains("unknown"), "{}", both(&o));
    // The wizard does not say namespaces must be typed.
    let o = run(&[
        "wizard",
        "--select",
        "app=api",
        "--allow-from",
        &format!("namespace={other}"),
        "--name",
        "from-other",
    ]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        !stderr(&o).contains("note: namespaces are not readable"),
        "{}",
        both(&o)
    );
}

/// `lint --against-cluster -f` reads what the manifests' policies need,
/// whatever the context's namespace (here `default`): their namespace's
/// pods, kube-system's DNS pods, the namespaces their peers select. `-n`
/// naming another namespace than the manifests' is an error, as with
/// `kubectl apply -f`, never a silent "No findings".
#[test]
fn lint_against_cluster_reads_the_namespaces_of_the_manifests() {
    let Some(c) = cluster() else { return };
    let fe = c.create_namespace("shop-frontend");
    let mon = c.create_namespace("monitoring");
    c.pod(
        &fe,
        "admin-ui",
        "app: admin-ui",
        "{containerPort: 80}",
        "10.94.0.1",
    );
    c.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns-lintfix, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec:\n  nodeName: node-1\n  containers: [{name: c, image: registry.example/dns:1, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53}]}]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, selector: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: admin-egress, namespace: {fe}}}\nspec:\n  podSelector: {{matchLabels: {{app: admin-ui}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{namespaceSelector: {{matchLabels: {{{selector}: {mon}}}}}}}]}}]\n"
            ),
        )
        .unwrap();
        file.display().to_string()
    };
    let typo = write("typo.yaml", "name");
    let fixed = write("fixed.yaml", "kubernetes.io/metadata.name");
    let o = c.as_user("admin", &["lint", "--against-cluster", "-f", &typo]);
    assert_eq!(code(&o), 5, "{}", both(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "error[egress-blocks-dns]: {fe}/admin-egress spec.egress:"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "error[namespace-selector-typo]: {fe}/admin-egress"
        )),
        "{out}"
    );
    assert!(out.contains("2 errors, 0 warnings, 0 info"), "{out}");
    let o = c.as_user("admin", &["lint", "--against-cluster", "-f", &fixed]);
    assert_eq!(code(&o), 5, "{}", both(&o));
    assert!(
        stdout(&o).contains("error[egress-blocks-dns]"),
        "{}",
        both(&o)
    );
    // The policy isolates admin-ui's egress: connections close, and a
    // hint points to diff; once applied, nothing changes and no hint.
    assert!(
        stderr(&o).contains("hint: these manifests change connectivity (0 opened, ")
            && stderr(&o).contains(&format!("kubectl netpol diff -f {fixed} lists them")),
        "{}",
        both(&o)
    );
    ok(&c.kubectl(&["apply", "-f", &fixed], None));
    let o = c.as_user("admin", &["lint", "--against-cluster", "-f", &fixed]);
    assert!(!stderr(&o).contains("hint:"), "{}", both(&o));
    c.kubectl(&["delete", "-f", &fixed], None);
    // -n another namespace: kubectl's error, exit 2, live and offline.
    let message = format!(
        "error: NetworkPolicy \"admin-egress\": the namespace from the provided object \"{fe}\" does not match the namespace \"shop-backend\". You must pass '--namespace={fe}' to perform this operation.\n"
    );
    for args in [
        vec![
            "lint",
            "--against-cluster",
            "-f",
            &typo,
            "-n",
            "shop-backend",
        ],
        vec!["lint", "-f", &typo, "-n", "shop-backend"],
    ] {
        // Offline (plain -f), no kubeconfig: connection flags would be
        // refused there.
        let o = if args[1] == "--against-cluster" {
            c.as_user("admin", &args)
        } else {
            c.binary(&args, None)
        };
        assert_eq!(code(&o), 2, "{}", both(&o));
        assert_eq!(stderr(&o), message, "{}", both(&o));
        assert_eq!(stdout(&o), "", "{}", both(&o));
    }
    let o = c.as_user(
        "admin",
        &["lint", "--against-cluster", "-f", &typo, "-n", &fe],
    );
    assert_eq!(code(&o), 5, "{}", both(&o));
    c.kubectl(
        &[
            "delete",
            "pod",
            "coredns-lintfix",
            "-n",
            "kube-system",
            "--grace-period=0",
            "--force",
        ],
        None,
    );
}

/// What RBAC keeps from being read is said, once, by each check and
/// command that needs it; a lookup reports its own refusal, and "not
/// found" when what it reads was read.
#[test]
fn namespace_users_get_not_checked_and_the_right_refusal() {
    let Some(c) = cluster() else { return };
    let (dana_ns, _) = setup(&c, "dana");
    let (erin_ns, erin_other) = setup(&c, "erin");
    for ns in [&dana_ns, &erin_ns] {
        c.apply(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: typo, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{name: {erin_other}}}}}}}]}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: mixed, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 192.168.0.0/16}}}}, {{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {erin_other}}}}}, podSelector: {{matchLabels: {{app: ingress}}}}}}]\n"
        ));
    }
    // dana: the typo cannot be checked without the namespace list.
    let o = c.as_user("dana", &["lint", "-n", &dana_ns]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "info[namespace-selector-typo]: {dana_ns}/typo spec.ingress[0].from[0].namespaceSelector: not checked: the namespace list is not readable (cannot list namespaces: forbidden for user \"dana\""
        )),
        "{out}"
    );
    // erin (namespaces listed): the typo is an error, and the peer in a
    // namespace whose pods she cannot read is not checked, as explain
    // marks it unknown (the ipBlock made lint read nothing there before).
    let o = c.as_user("erin", &["lint", "-n", &erin_ns]);
    assert_eq!(code(&o), 5, "{}", both(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("error[namespace-selector-typo]: {erin_ns}/typo")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "info[peer-matches-nothing]: {erin_ns}/mixed spec.egress[0].to[1]: not checked: the pod list of namespace \"{erin_other}\" is not readable"
        )),
        "{out}"
    );
    // The host-network check is not said twice for that rule.
    assert!(!out.contains("host-network-peer"), "{out}");
    let o = c.as_user(
        "erin",
        &["lint", "-n", &erin_ns, "--enable", "host-network-peer"],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!(
            "info[host-network-peer]: {erin_ns}/mixed spec.egress[0].to: not checked: the pod list of namespace \"{erin_other}\" is not readable"
        )),
        "{}",
        both(&o)
    );
    let o = c.as_user("erin", &["explain", "api", "-n", &erin_ns]);
    assert!(
        stdout(&o).contains(&format!("{erin_other}/ingress -> unknown")),
        "{}",
        both(&o)
    );
    // erin knows namespace `deployment` does not exist: no note about it.
    let o = c.as_user("erin", &["explain", "deployment/idle", "-n", &erin_ns]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(!both(&o).contains("may also name"), "{}", both(&o));
    // dana: not found, never a refusal about a namespace made of the kind.
    for (args, exit, start) in [
        (
            vec!["explain", "deployment/nosuch"],
            1,
            format!("error: deployments.apps \"nosuch\" not found in namespace \"{dana_ns}\""),
        ),
        (
            vec!["explain", "statefulset/idle"],
            1,
            format!("error: statefulsets.apps \"idle\" not found in namespace \"{dana_ns}\""),
        ),
        (
            vec!["can", "api", "pod/ä€"],
            2,
            format!("error: pods \"ä€\" not found in namespace \"{dana_ns}\""),
        ),
    ] {
        let mut all = args.clone();
        all.extend(["-n", &dana_ns]);
        let o = c.as_user("dana", &all);
        assert_eq!(code(&o), exit, "{args:?}: {}", both(&o));
        let err = stderr(&o);
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with(&start), "{args:?}: {err}");
        assert!(!last.contains("could not be looked up"), "{args:?}: {err}");
    }
    let o = c.as_user("dana", &["can", "api", "pod/ä€", "-n", &dana_ns]);
    assert!(!stderr(&o).contains("may also name"), "{}", both(&o));
    // carol may not get deployments: that refusal is the error.
    let carol_ns = c.create_namespace("nsu-carol");
    c.bind_carol(&carol_ns, "pods, services");
    c.apply(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: reports, namespace: {carol_ns}}}\nspec:\n  replicas: 0\n  selector: {{matchLabels: {{app: reports}}}}\n  template:\n    metadata: {{labels: {{app: reports}}}}\n    spec: {{containers: [{{name: c, image: registry.example/r:1}}]}}\n"
    ));
    let o = c.as_user("carol", &["explain", "deployment/reports", "-n", &carol_ns]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let err = stderr(&o);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "error: cannot get deployments in namespace \"{carol_ns}\": forbidden for user \"carol\""
        )),
        "{err}"
    );
    assert!(
        last.contains(&format!(
            "could not be looked up as deployment \"reports\" in namespace \"{carol_ns}\""
        )),
        "{err}"
    );
    // The enforcement caveat: kube-system is not readable, said once on
    // stderr by each command that gives it.
    let warning = "warning: whether NetworkPolicy is enforced in this cluster could not be checked: the pods of namespace \"kube-system\" are not readable (see kubectl netpol check)";
    for args in [
        vec!["list"],
        vec!["explain", "web"],
        vec!["can", "web", "api", "--port", "8080"],
        vec!["matrix"],
    ] {
        let mut all = args.clone();
        all.extend(["-n", &dana_ns]);
        let o = c.as_user("dana", &all);
        assert_eq!(
            stderr(&o).matches(warning).count(),
            1,
            "{args:?}: {}",
            both(&o)
        );
    }
    // The admin reads kube-system: no such line.
    let o = c.as_user("admin", &["list", "-n", &dana_ns]);
    assert!(!stderr(&o).contains("could not be checked"), "{}", both(&o));
}

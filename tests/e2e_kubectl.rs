//! End-to-end checks of kubectl's conventions against the real
//! kube-apiserver that `scripts/e2e-cluster` starts (NETPOL_E2E_DIR):
//! `--client-certificate`/`--client-key` over a kubeconfig without the
//! user's certificate, `--as-uid` (the Impersonate-Uid header, which the
//! server authorizes apart), `-l`, `--no-headers` and `-o name` live, and
//! shell completion of namespaces and pods from the cluster.

use serde_json::Value;

mod common;
use common::cluster::*;

/// A namespace with two web pods and a db pod, and two policies labelled
/// `owner=alpha` and `owner=beta`.
fn seed(c: &Cluster) -> String {
    let ns = c.create_namespace("kconv");
    c.pod(
        &ns,
        "web-1",
        "app: web",
        "{containerPort: 8080}",
        "10.9.0.1",
    );
    c.pod(
        &ns,
        "web-2",
        "app: web",
        "{containerPort: 8080}",
        "10.9.0.2",
    );
    c.pod(&ns, "db-1", "app: db", "{containerPort: 5432}", "10.9.0.3");
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db-from-web, namespace: {ns}, labels: {{owner: alpha}}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: web}}}}}}]\n    ports: [{{port: 5432}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {ns}, labels: {{owner: beta}}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"
    ));
    ns
}

/// A kubeconfig naming the cluster and a user without credentials.
fn bare_kubeconfig(c: &Cluster, dir: &std::path::Path) -> String {
    let path = dir.join("bare.kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster: {{server: '{}', certificate-authority: '{}'}}\nusers:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: e2e\n  context: {{cluster: e2e, user: nobody, namespace: default}}\ncurrent-context: e2e\n",
            c.server,
            c.dir.join("ca.crt").display()
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn client_certificate_flags_authenticate_as_that_user() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let tmp = tempfile::tempdir().unwrap();
    let kc = bare_kubeconfig(&c, tmp.path());
    // Without credentials: anonymous, refused.
    let o = c.netpol(&["list", "-n", &ns, "--kubeconfig", &kc], &[]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    // bob's certificate and key by flag: bob may read.
    let cert = c.dir.join("bob.crt").display().to_string();
    let key = c.dir.join("bob.key").display().to_string();
    let args = [
        "list",
        "-n",
        &ns,
        "--kubeconfig",
        &kc,
        "--client-certificate",
        &cert,
        "--client-key",
        &key,
        "-o",
        "name",
    ];
    assert_eq!(
        ok(&c.netpol(&args, &[])),
        "networkpolicy.networking.k8s.io/db-from-web\nnetworkpolicy.networking.k8s.io/deny-all\n"
    );
    // alice's by flag over bob's kubeconfig: the flags win, alice may not.
    let cert = c.dir.join("alice.crt").display().to_string();
    let key = c.dir.join("alice.key").display().to_string();
    let o = c.netpol(
        &[
            "list",
            "-n",
            &ns,
            "--kubeconfig",
            &c.kubeconfig("bob"),
            "--client-certificate",
            &cert,
            "--client-key",
            &key,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("alice"), "{}", stderr(&o));
}

#[test]
fn as_uid_is_sent_and_authorized_apart() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    // carol may impersonate bob, but no uid (uids unique to this run:
    // the cluster-wide roles of earlier runs stay).
    let name = format!("kconv-impersonate-{}", c.unique());
    let uid = format!("uid-{}", c.unique());
    let other = format!("uid-{}", c.unique());
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}}}\nrules:\n- apiGroups: ['']\n  resources: [users]\n  verbs: [impersonate]\n  resourceNames: [bob]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {name}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}}\n"
    ));
    let list = |extra: &[&str]| {
        let mut args = vec!["list", "-n", ns.as_str(), "-o", "name", "--as", "bob"];
        args.extend(extra);
        c.as_user("carol", &args)
    };
    ok(&list(&[]));
    let o = list(&["--as-uid", &uid]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("uids"), "{}", stderr(&o));
    // Allowed that uid, it passes.
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}}}\nrules:\n- apiGroups: ['']\n  resources: [users]\n  verbs: [impersonate]\n  resourceNames: [bob]\n- apiGroups: [authentication.k8s.io]\n  resources: [uids]\n  verbs: [impersonate]\n  resourceNames: ['{uid}']\n"
    ));
    assert!(ok(&list(&["--as-uid", &uid])).contains("db-from-web"));
    let o = list(&["--as-uid", &other]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn selector_no_headers_and_names_live() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-n", ns.as_str()]);
        ok(&c.as_user("admin", &all))
    };
    // list -l: the policies' labels.
    assert_eq!(
        run(&["list", "-l", "owner in (beta)", "-o", "name"]),
        "networkpolicy.networking.k8s.io/deny-all\n"
    );
    let bare = run(&["list", "--no-headers", "-l", "owner"]);
    assert_eq!(bare.lines().count(), 2, "{bare}");
    assert!(bare.starts_with("db-from-web "), "{bare}");
    let wide = run(&["list", "-o", "wide"]);
    assert!(wide.starts_with("NAME "), "{wide}");
    assert!(wide.contains("POD-SELECTOR"), "{wide}");
    // explain -l: every web pod.
    let v: Value = serde_json::from_str(&run(&["explain", "-l", "app=web", "-o", "json"])).unwrap();
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pod"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-2"]);
    // matrix -l and --no-headers.
    assert_eq!(
        run(&["matrix", "-l", "app in (web,db)", "--no-headers"]),
        format!("{ns}/web-1   {ns}/db-1   TCP/5432\n{ns}/web-2   {ns}/db-1   TCP/5432\n")
    );
    // coverage -l.
    assert_eq!(
        run(&["coverage", "-l", "app=db", "--no-headers"]),
        format!("{ns}   1   1/1   0/1   ingress\n")
    );
}

#[test]
fn completion_of_namespaces_and_pods_from_the_cluster() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let kc = c.kubeconfig("admin");
    let complete = |words: &[&str]| {
        let mut args = vec!["__complete", "--kubeconfig", kc.as_str()];
        args.extend(words);
        ok(&c.binary(&args, None))
    };
    let out = complete(&["list", "-n", "kconv-"]);
    assert!(out.lines().any(|l| l == ns), "{out}");
    assert!(out.ends_with(":4\n"), "{out}");
    assert!(complete(&["list", &format!("--namespace={ns}")]).contains(":4"));
    // Pods of -n for explain and can.
    assert_eq!(
        complete(&["explain", "-n", &ns, "web"]),
        "web-1\nweb-2\n:4\n"
    );
    assert_eq!(complete(&["can", "-n", &ns, "db"]), "db-1\n:4\n");
    // can: NAMESPACE/ prefixes (no space after them), then that
    // namespace's pods.
    let out = complete(&["can", &ns[..6]]);
    assert!(out.lines().any(|l| l == format!("{ns}/")), "{out}");
    assert!(out.ends_with(":6\n"), "{out}");
    assert_eq!(
        complete(&["can", "x", &format!("{ns}/w")]),
        format!("{ns}/web-1\n{ns}/web-2\n:4\n")
    );
    // The kubeconfig's contexts.
    assert_eq!(complete(&["list", "--context", ""]), "e2e\n:4\n");
    // Policy names for wizard --name.
    assert!(complete(&["wizard", "-n", &ns, "--name", "d"]).contains("db-from-web\ndeny-all\n"));
}

/// `-v 6` logs each request as kubectl does: method, URL, status, time.
#[test]
fn verbose_requests_carry_method_url_and_status() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let o = c.as_user("admin", &["list", "-n", &ns, "-o", "name", "-v", "6"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let wanted = format!(
        "I: GET {}/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies?",
        c.server.trim_end_matches('/')
    );
    let line = err
        .lines()
        .find(|l| l.starts_with(&wanted))
        .unwrap_or_else(|| panic!("no {wanted}... in:\n{err}"));
    let (_, rest) = line
        .split_once(" 200 OK in ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(rest.ends_with(" milliseconds"), "{line}");
    // A refused read: its status.
    let o = c.as_user("alice", &["list", "-n", &ns, "-v", "6"]);
    assert!(stderr(&o).contains(" 403 Forbidden in "), "{}", stderr(&o));
}

/// Against a reachable cluster, completion still reads the words as the
/// parser does: -f's names from the manifests, nothing after a
/// value-taking flag or beyond the arguments, flags that apply only.
#[test]
fn completion_against_a_cluster_follows_the_parser() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let kc = c.kubeconfig("admin");
    let complete = |words: &[&str]| {
        let mut args = vec!["__complete", "--kubeconfig", kc.as_str()];
        args.extend(words);
        ok(&c.binary(&args, None))
    };
    // The cluster has web-1: offered where a pod goes, nowhere else.
    assert_eq!(complete(&["explain", "-n", &ns, "w"]), "web-1\nweb-2\n:4\n");
    for words in [
        &["explain", "-n", &ns, "-l", "w"][..],
        &["can", "-n", &ns, "--port", "w"],
        &["can", "-n", &ns, "--token", "w"],
        &["can", "-n", &ns, "--as", "w"],
        &["can", "-n", &ns, "-s", "w"],
        &["can", "-n", &ns, "web-1", "db-1", "w"],
        &["explain", "-n", &ns, "web-1", "w"],
    ] {
        assert_eq!(complete(words), ":4\n", "{words:?}");
    }
    // -n=: as --namespace=.
    let out = complete(&["list", &format!("-n={}", &ns[..6])]);
    assert!(out.lines().any(|l| l == format!("-n={ns}")), "{out}");
    // -f: the manifests' pods, not the cluster's.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pods.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web-from-file, namespace: {ns}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"),
    )
    .unwrap();
    let file = file.display().to_string();
    assert_eq!(
        complete(&["explain", "-n", &ns, "-f", &file, "w"]),
        "web-from-file\n:4\n"
    );
    // wizard --from: the namespace's policies.
    assert_eq!(
        complete(&["wizard", "-n", &ns, "--from", "de"]),
        "deny-all\ndefault/\n:6\n"
    );
    assert_eq!(
        complete(&["wizard", "--from", &format!("{ns}/db")]),
        format!("{ns}/db-from-web\n:4\n")
    );
}

/// Connection flags go with -f where -f is compared with the cluster
/// (diff -f, lint --against-cluster -f), and are refused where it is read
/// offline.
#[test]
fn connection_flags_with_f_only_where_a_cluster_is_read() {
    let Some(c) = cluster() else { return };
    let ns = seed(&c);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {ns}}}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"),
    )
    .unwrap();
    let file = file.display().to_string();
    let o = c.as_user("admin", &["diff", "-f", &file, "--context", "e2e"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = c.as_user(
        "admin",
        &["lint", "-f", &file, "--against-cluster", "--context", "e2e"],
    );
    assert!(matches!(o.status.code(), Some(0 | 5)), "{}", stderr(&o));
    let o = c.as_user("admin", &["list", "-f", &file, "--context", "e2e"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: --kubeconfig has no effect with -f: manifests are read offline\n"
    );
}

/// `list -o name` prints names only: it reads the policies (and what the
/// scope needs), never the CNI evidence behind the enforcement caveat.
#[test]
fn list_o_name_reads_no_cni_evidence() {
    let Some(c) = cluster() else { return };
    let o = c.as_user("admin", &["list", "-A", "-o", "name", "-v", "6"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("/networkpolicies"), "{err}");
    for read in ["/daemonsets", "/configmaps/", "/nodes"] {
        assert!(!err.contains(read), "{read}: {err}");
    }
    // The table does read them (the caveat and the findings' wording).
    let o = c.as_user("admin", &["list", "-A", "-v", "6"]);
    assert!(stderr(&o).contains("/daemonsets"), "{}", stderr(&o));
}

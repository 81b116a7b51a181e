//! The wizard against a real kube-apiserver (scripts/e2e-cluster) as the
//! namespace-scoped users of tests/e2e_nsuser.rs: dana (one namespace, no
//! namespace list) and erin (one namespace, may list namespaces), next to
//! admin, who reads everything. What they cannot read must never be
//! guessed or said not to exist; the policy must be the one asked for,
//! added once, under a name that replaces nothing by surprise.

mod common;
use common::cluster::*;

use std::time::Duration;

use rexpect::session::Options;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn both(o: &std::process::Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o))
}

/// The user's namespace and two others, as in the newcomer's cluster.
struct Shop {
    ns: String,
    /// Pods named by `app.kubernetes.io/name` (not `app`).
    search: String,
    /// Pods named by `app`.
    front: String,
}

/// The user's namespace (api, cache; policies allow-dns, api-egress and
/// allow-web-to-api, made by admin with kubectl), a search namespace whose
/// pods carry `app.kubernetes.io/name: search`, a frontend namespace with
/// `app: web`, a CoreDNS pod in kube-system, and the user bound to
/// netpol-namespace-user in their namespace only.
fn setup(c: &Cluster, user: &str) -> Shop {
    let ns = c.create_namespace(&format!("wz-{user}"));
    let search = c.create_namespace(&format!("wz-{user}-search"));
    let front = c.create_namespace(&format!("wz-{user}-front"));
    let n = c.unique().replace('-', "");
    let ip = |last: u32| format!("10.95.{}.{last}", n.parse::<u64>().unwrap_or(0) % 250);
    c.pod(&ns, "api", "app: api", "{containerPort: 8080}", &ip(1));
    c.pod(&ns, "cache", "app: cache", "{containerPort: 6379}", &ip(2));
    c.pod(
        &search,
        "search-0",
        "app.kubernetes.io/name: search",
        "{containerPort: 9200}",
        &ip(3),
    );
    c.pod(&front, "web", "app: web", "{containerPort: 80}", &ip(4));
    c.pod(
        "kube-system",
        &format!("coredns-{}", c.unique()),
        "k8s-app: kube-dns",
        "{containerPort: 53, protocol: UDP, name: dns}, {containerPort: 53, name: dns-tcp}",
        &ip(5),
    );
    c.apply(&format!(
        r#"apiVersion: networking.k8s.io/v1
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
metadata: {{name: api-egress, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  policyTypes: [Egress]
  egress: [{{to: [{{podSelector: {{matchLabels: {{app: cache}}}}}}], ports: [{{port: 6379}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-web-to-api, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {front}}}}}, podSelector: {{matchLabels: {{app: web}}}}}}], ports: [{{port: 8080}}]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {user}-netpol, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]
"#
    ));
    Shop { ns, search, front }
}

/// `kubectl netpol wizard ARGS -n NS` as `user`.
fn wizard(c: &Cluster, user: &str, ns: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["wizard", "-n", ns];
    all.extend(args);
    c.as_user(user, &all)
}

fn run_as(user: &str) {
    let Some(c) = cluster() else { return };
    let shop = setup(&c, user);
    let Shop { ns, search, front } = &shop;
    let ns = ns.as_str();

    // 1. `NS/NAME`: admin's key comes from the pods of NS; for the user
    // they are unreadable: one error showing the explicit forms, never a
    // guessed `app: search` that matches nothing.
    let asked = [
        "--select",
        "app=api",
        "--deny-all-egress",
        "--allow-to",
        &format!("{search}/search:9200"),
        "--name",
        "api-to-search",
    ];
    let o = wizard(&c, "admin", ns, &asked);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains("app.kubernetes.io/name: search"),
        "{}",
        both(&o)
    );
    let o = wizard(&c, user, ns, &asked);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert_eq!(stdout(&o), "", "{}", both(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: invalid --allow-to \"{search}/search\": the pods of namespace {search} are not readable, so which label names \"search\" cannot be looked up: write the label, as {search}/app.kubernetes.io/name=search or {search}/app=search\n"
        ),
        "{}",
        both(&o)
    );

    // 2. The explicit form works; what cannot be read is said so, never
    // "does not exist", "matches no pod" or "not found".
    let o = wizard(
        &c,
        user,
        ns,
        &[
            "--select",
            "app=api",
            "--allow-from",
            &format!("{front}/app=web:8080"),
            "--deny-all-egress",
            "--allow-dns",
            "--allow-to",
            &format!("{search}/app.kubernetes.io/name=search:9200"),
            "--name",
            "api-explicit",
        ],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stdout(&o).contains("app.kubernetes.io/name: search"),
        "{}",
        both(&o)
    );
    let err = stderr(&o);
    let unread = |other: &str| {
        if user == "dana" {
            format!("the namespace list and the pod list of namespace {other} are not readable")
        } else {
            format!("the pod list of namespace {other} is not readable")
        }
    };
    assert!(
        err.contains(&format!(
            "note: --allow-from {front}/app=web:8080: which pods it matches cannot be checked: {}\n",
            unread(front)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "note: --allow-to {search}/app.kubernetes.io/name=search:9200: which pods it matches cannot be checked: {}\n",
            unread(search)
        )),
        "{err}"
    );
    assert!(
        err.contains("note: the DNS pods cannot be checked: the pods of namespace kube-system are not readable; the DNS rule assumes the usual CoreDNS labels (k8s-app=kube-dns) and port 53\n"),
        "{err}"
    );
    for false_claim in ["does not exist", "matches no pod", "were found"] {
        assert!(!err.contains(false_claim), "{false_claim}: {err}");
    }

    // 3. DNS is decided by the engine with the policy added: allow-dns
    // admits it for every pod of the namespace, so no one is told the
    // pods will not resolve names; where kube-system cannot be read, that
    // it cannot be checked.
    for args in [
        &["--from", "api-egress"][..],
        &["--select", "app=api", "--deny-all-egress", "--name", "x"],
    ] {
        for who in ["admin", user] {
            let o = wizard(&c, who, ns, args);
            assert_eq!(code(&o), 0, "{who}: {}", both(&o));
            let err = stderr(&o);
            assert!(!err.contains("will not resolve names"), "{who}: {err}");
            // allow-dns admits the usual CoreDNS pods: nobody is told to
            // add --allow-dns; dana and erin, who cannot read kube-system's pods,
            // is told what is assumed.
            assert!(!err.contains("add --allow-dns"), "{who}: {err}");
            let assumed = "note: the DNS pods cannot be checked (kube-system's pods are not readable); the policies admit the usual CoreDNS pods (k8s-app=kube-dns) on UDP and TCP 53";
            assert_eq!(err.contains(assumed), who != "admin", "{who}: {err}");
        }
    }
    // Where no policy admits DNS, the note stays.
    let o = wizard(
        &c,
        "admin",
        search,
        &[
            "--select",
            "app.kubernetes.io/name=search",
            "--deny-all-egress",
        ],
    );
    assert!(
        stderr(&o).contains(
            "note: egress is isolated without DNS: these pods will not resolve names (add --allow-dns)"
        ),
        "{}",
        both(&o)
    );

    // 4. Without -n, unattended: the context's namespace (default), which
    // the user may not read: the error says to name one with -n.
    let o = c.as_user(
        user,
        &["wizard", "--select", "app=api", "--deny-all-ingress"],
    );
    assert_eq!(code(&o), 1, "{}", both(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot list "), "{err}");
    assert!(
        err.contains(&format!("forbidden for user \"{user}\"")),
        "{err}"
    );
    assert!(
        err.ends_with("; name a namespace you may read with -n NAMESPACE\n"),
        "{err}"
    );

    // 5. Idempotent: --allow-dns twice on a policy stores one DNS rule.
    let o = wizard(
        &c,
        user,
        ns,
        &[
            "--select",
            "app=cache",
            "--allow-to",
            "pods=app=api",
            "--name",
            "cache-to-team",
            "--apply",
            "--yes",
        ],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    let again = ["--from", "cache-to-team", "--allow-dns", "--apply", "--yes"];
    let o = wizard(&c, user, ns, &again);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stderr(&o).contains("networkpolicy.networking.k8s.io/cache-to-team configured"),
        "{}",
        both(&o)
    );
    let o = wizard(&c, user, ns, &again);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let err = stderr(&o);
    assert!(
        err.contains("note: --allow-dns: DNS is already admitted by egress rule #2 (kube-system/k8s-app=kube-dns on UDP/53, TCP/53): no second DNS rule\n"),
        "{err}"
    );
    // Nothing to write, and --yes still names the target first.
    assert!(
        err.contains(&format!(
            "applying NetworkPolicy {ns}/cache-to-team to context e2e ({})\n",
            c.server
        )),
        "{err}"
    );
    assert!(
        err.contains("networkpolicy.networking.k8s.io/cache-to-team unchanged"),
        "{err}"
    );
    let got = c.kubectl(
        &[
            "get",
            "networkpolicy",
            "cache-to-team",
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.egress[*].ports[*].port}",
        ],
        None,
    );
    assert_eq!(stdout(&got), "53 53", "one DNS rule: {}", both(&got));
    let o = c.netpol(
        &["lint", "-n", ns, "--kubeconfig", &c.kubeconfig("admin")],
        &[],
    );
    assert!(!stdout(&o).contains("redundant-rule"), "{}", both(&o));

    // 6. A suggested name never replaces another policy: allow-web-to-api
    // exists with other rules, so allow-web-to-api-2 (said); once that
    // exists and is the same, applying again changes nothing; --name
    // replaces, as asked.
    let new_rule = [
        "--select",
        "app=api",
        "--allow-from",
        &format!("{front}/app=web:9090"),
        "--apply",
        "--yes",
    ];
    let o = wizard(&c, user, ns, &new_rule);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "note: a different NetworkPolicy {ns}/allow-web-to-api exists: the name suggested is allow-web-to-api-2 (--name allow-web-to-api replaces it)\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "applying NetworkPolicy {ns}/allow-web-to-api-2 to context e2e"
        )),
        "{err}"
    );
    assert!(!err.contains("replacing"), "{err}");
    let port = |name: &str| {
        stdout(&c.kubectl(
            &[
                "get",
                "networkpolicy",
                name,
                "-n",
                ns,
                "-o",
                "jsonpath={.spec.ingress[0].ports[0].port}",
            ],
            None,
        ))
    };
    assert_eq!(port("allow-web-to-api"), "8080", "left as it was");
    assert_eq!(port("allow-web-to-api-2"), "9090");
    let o = wizard(&c, user, ns, &new_rule);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "applying NetworkPolicy {ns}/allow-web-to-api-2 to context e2e"
        )),
        "{err}"
    );
    assert!(
        err.contains("networkpolicy.networking.k8s.io/allow-web-to-api-2 unchanged"),
        "{err}"
    );
    let mut named = new_rule.to_vec();
    named.extend(["--name", "allow-web-to-api", "--force-conflicts"]);
    let o = wizard(&c, user, ns, &named);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(
        stderr(&o).contains(&format!(
            "replacing NetworkPolicy {ns}/allow-web-to-api in context e2e"
        )),
        "{}",
        both(&o)
    );
    assert_eq!(port("allow-web-to-api"), "9090");
}

#[test]
fn the_wizard_as_a_user_of_one_namespace() {
    run_as("dana");
}

#[test]
fn the_wizard_as_a_user_who_lists_namespaces_but_no_pods_elsewhere() {
    run_as("erin");
}

/// The binary on a pseudo-terminal with `--kubeconfig kc`, as a person
/// runs it.
fn term(kubeconfig: &str, args: &[&str]) -> rexpect::session::PtySession {
    let home = std::env::temp_dir();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("TERM", "xterm")
        .args(["wizard", "--color", "never", "--kubeconfig", kubeconfig])
        .args(args);
    rexpect::spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn on a pseudo-terminal")
}

fn wait(t: &mut rexpect::session::PtySession, text: &str) -> String {
    t.exp_string(text)
        .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"))
        .replace('\r', "")
}

/// Esc, then the documented cancel: exit 130.
fn cancel(mut t: rexpect::session::PtySession) {
    std::thread::sleep(Duration::from_millis(200));
    t.send("\x1b").unwrap();
    t.flush().unwrap();
    let rest = t.exp_eof().unwrap().replace('\r', "");
    assert!(
        rest.contains("error: cancelled: nothing was changed"),
        "{rest}"
    );
    match t.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 130, "{rest}"),
        other => panic!("{other:?}: {rest}"),
    }
}

/// On a terminal without -n, the namespace is asked before anything is
/// read: erin (who may list namespaces) picks from them, starting on the
/// context's; then the namespace she picked is read (its policies are
/// offered to start from).
#[test]
fn interactive_without_n_asks_the_namespace_first_offering_them() {
    let Some(c) = cluster() else { return };
    let shop = setup(&c, "erin");
    // Her kubeconfig as is (context namespace default, which she may not
    // read): the menu, not an error.
    // (The menu may be paged: only the item under the cursor is sure to
    // be drawn.)
    let mut t = term(&c.kubeconfig("erin"), &[]);
    let menu = wait(&mut t, "Namespace:");
    let menu = menu + &wait(&mut t, "> default");
    assert!(!menu.contains("error:"), "{menu}");
    cancel(t);
    // The context's namespace hers: picked by Enter, then read.
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("erin.kubeconfig");
    let text = std::fs::read_to_string(c.kubeconfig("erin")).unwrap();
    std::fs::write(
        &kc,
        text.replace("namespace: default", &format!("namespace: {}", shop.ns)),
    )
    .unwrap();
    let mut t = term(&kc.display().to_string(), &[]);
    wait(&mut t, &format!("> {}", shop.ns));
    std::thread::sleep(Duration::from_millis(200));
    t.send("\r").unwrap();
    t.flush().unwrap();
    wait(&mut t, &format!("Namespace: {}", shop.ns));
    let start = wait(&mut t, "Start from:");
    assert!(!start.contains("error:"), "{start}");
    wait(&mut t, "api-egress: ");
    cancel(t);
}

/// dana may not list namespaces: she types hers, the context's namespace
/// as the default; one she may not read is said and asked again.
#[test]
fn interactive_without_n_lets_a_user_type_her_namespace() {
    let Some(c) = cluster() else { return };
    let shop = setup(&c, "dana");
    let mut t = term(&c.kubeconfig("dana"), &[]);
    wait(&mut t, "Namespace [default]: ");
    std::thread::sleep(Duration::from_millis(200));
    t.send("\r").unwrap();
    t.flush().unwrap();
    let said = wait(&mut t, "pick a namespace you may read");
    assert!(said.contains("forbidden for user \"dana\""), "{said}");
    wait(&mut t, "Namespace [default]: ");
    t.send(&format!("{}\r", shop.ns)).unwrap();
    t.flush().unwrap();
    let start = wait(&mut t, "Start from:");
    assert!(!start.contains("error:"), "{start}");
    wait(&mut t, "api-egress: ");
    cancel(t);
}

//! End-to-end: `kubectl netpol sync` against a real kube-apiserver,
//! through kubectl's plugin dispatch. It creates the graph's policies; a
//! second run writes nothing (every resourceVersion unchanged); an edge
//! removed updates and prunes; policies that are not the graph's (same
//! selector, no labels; another graph's) are never touched; a hand edit is
//! drift, restored only with --force-conflicts; dry runs write nothing;
//! users whom RBAC refuses get the refusal, named, before any write.
//!
//! Each test has namespaces and a graph name of its own.

mod common;
use std::collections::BTreeMap;
use std::path::PathBuf;

use common::cluster::*;

/// A ServiceGraph in a temporary file, for `-f`.
struct GraphFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl GraphFile {
    fn new(name: &str, spec: &str) -> GraphFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata:\n  name: {name}\nspec:\n{spec}"
            ),
        )
        .unwrap();
        GraphFile { _dir: dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// `kubectl netpol sync -f GRAPH ARGS` as `user`.
fn sync(c: &Cluster, user: &str, graph: &GraphFile, args: &[&str]) -> std::process::Output {
    let mut all = vec!["sync", "-f", graph.path()];
    all.extend(args);
    c.as_user(user, &all)
}

fn code_of(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every NetworkPolicy of `namespaces`: name -> resourceVersion.
fn versions(c: &Cluster, namespaces: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for ns in namespaces {
        let o = c.kubectl(
            &[
                "get",
                "networkpolicies",
                "-n",
                ns,
                "-o",
                "jsonpath={range .items[*]}{.metadata.name} {.metadata.resourceVersion}{\"\\n\"}{end}",
            ],
            None,
        );
        for line in ok(&o).lines() {
            let (name, rv) = line.split_once(' ').unwrap();
            out.insert(format!("{ns}/{name}"), rv.to_string());
        }
    }
    out
}

fn policy(c: &Cluster, ns: &str, name: &str) -> serde_json::Value {
    json(&c.kubectl(
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
    ))
}

/// Namespaces `a` (web) and `b` (api, db), with pods.
fn shop(c: &Cluster, prefix: &str) -> (String, String) {
    let a = c.create_namespace(&format!("{prefix}-a"));
    let b = c.create_namespace(&format!("{prefix}-b"));
    c.pod(&a, "web", "app: web", "{containerPort: 80}", "10.201.0.1");
    c.pod(
        &b,
        "api",
        "app: api",
        "{name: http, containerPort: 8080}",
        "10.201.0.2",
    );
    c.pod(&b, "db", "app: db", "{containerPort: 5432}", "10.201.0.3");
    (a, b)
}

fn shop_graph(a: &str, b: &str, with_db: bool) -> String {
    let mut s = format!(
        "  services:\n  - {{name: web, namespace: {a}, podSelector: {{matchLabels: {{app: web}}}}}}\n  - {{name: api, namespace: {b}, podSelector: {{matchLabels: {{app: api}}}}}}\n"
    );
    if with_db {
        s.push_str(&format!(
            "  - {{name: db, namespace: {b}, podSelector: {{matchLabels: {{app: db}}}}}}\n"
        ));
    }
    s.push_str("  edges:\n  - {from: web, to: api, ports: [{port: http}]}\n");
    if with_db {
        s.push_str("  - {from: api, to: db, ports: [{port: 5432}]}\n");
    }
    s
}

#[test]
fn sync_creates_then_changes_nothing_then_updates_and_prunes_only_its_own() {
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "sync");
    let g = format!("g{}", c.unique().replace('-', ""));
    // Not the graph's: the same selector without labels, and another
    // graph's policy.
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: by-hand, namespace: {b}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress: [{{from: [{{podSelector: {{}}}}]}}]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: other-api-ingress\n  namespace: {b}\n  labels: {{app.kubernetes.io/managed-by: kubectl-netpol, kubectl-netpol.github.io/graph: other}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Ingress]\n"
    ));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, true));
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    // The plan, then one line per change as kubectl logs it.
    assert!(
        err.contains(&format!(
            "  + create networkpolicy.networking.k8s.io/{g}-api-ingress (namespace/{b} allows api from {a}/web on TCP/http)"
        )),
        "{err}"
    );
    assert!(
        err.contains("6 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{err}"
    );
    assert!(
        err.contains(&format!("  + {a}/web -> {b}/api  TCP/8080")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "applying 6 changes to the policies of ServiceGraph \"{g}\" in context e2e ({})",
            c.server
        )),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l
            == format!(
                "networkpolicy.networking.k8s.io/{g}-api-ingress created (namespace/{b} allows api from {a}/web on TCP/http)"
            )),
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.ends_with(')') && l.contains(" created ("))
            .count(),
        6,
        "{err}"
    );
    let stored = policy(&c, &b, &format!("{g}-api-ingress"));
    let managers: Vec<&str> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kubectl-netpol"]);
    assert_eq!(stored["metadata"]["managedFields"][0]["operation"], "Apply");
    let before = versions(&c, &[&a, &b]);
    assert_eq!(before.len(), 8, "{before:?}");

    // Again: nothing to do, nothing written.
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to do: the 6 policies the graph implies are as it says"),
        "{}",
        stderr(&out)
    );
    assert_eq!(versions(&c, &[&a, &b]), before, "a second sync wrote");

    // db and its edge removed: api's egress updated, db's policies pruned.
    let smaller = GraphFile::new(&g, &shop_graph(&a, &b, false));
    let out = sync(&c, "admin", &smaller, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    for line in [
        format!(
            "networkpolicy.networking.k8s.io/{g}-api-egress configured (namespace/{b} allows api to kube-system/kube-dns on UDP/53, TCP/53)"
        ),
        format!(
            "networkpolicy.networking.k8s.io/{g}-db-egress deleted (namespace/{b} allows db to kube-system/kube-dns on UDP/53, TCP/53)"
        ),
        format!(
            "networkpolicy.networking.k8s.io/{g}-db-ingress deleted (namespace/{b} allows db from {b}/api on TCP/5432)"
        ),
    ] {
        assert!(err.lines().any(|l| l == line), "{line}\nin:\n{err}");
    }
    assert!(
        err.contains("0 to create, 1 to update, 2 to delete, 3 unchanged"),
        "{err}"
    );
    let after = versions(&c, &[&a, &b]);
    assert_eq!(after.len(), 6, "{after:?}");
    for untouched in [
        format!("{b}/by-hand"),
        format!("{b}/other-api-ingress"),
        format!("{a}/{g}-web-ingress"),
    ] {
        assert_eq!(after.get(&untouched), before.get(&untouched), "{untouched}");
    }
    assert_ne!(
        after[&format!("{b}/{g}-api-egress")],
        before[&format!("{b}/{g}-api-egress")]
    );
    // Settled again.
    let out = sync(&c, "admin", &smaller, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    assert_eq!(versions(&c, &[&a, &b]), after);
    the_graph_of_the_cluster_names_the_synced_services(&c, &a, &b);
}

/// `graph` live, in namespace `b` after the sync above: api is a service
/// whose ingress comes from a's web pods (a peer outside the scope read);
/// what the by-hand policy admits (every pod of b) is an external peer.
fn the_graph_of_the_cluster_names_the_synced_services(c: &Cluster, a: &str, b: &str) {
    let out = c.as_user("admin", &["graph", "-n", b, "--name", "live", "-o", "json"]);
    let v = json(&out);
    let services: Vec<&str> = v["spec"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["api"], "{v}");
    let from: Vec<&serde_json::Value> = v["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["from"].as_array().unwrap())
        .collect();
    assert!(
        from.contains(
            &&serde_json::json!({"namespace": a, "podSelector": {"matchLabels": {"app": "web"}}})
        ),
        "{v}"
    );
    assert!(from.contains(&&serde_json::json!({"namespace": b})), "{v}");
}

#[test]
fn a_hand_edit_is_drift_restored_only_with_force_conflicts() {
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "drift");
    let g = format!("g{}", c.unique().replace('-', ""));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, true));
    ok(&sync(&c, "admin", &graph, &["--yes"]));
    let name = format!("{g}-db-ingress");
    c.hand_edit_port(&b, &name, 6432);
    let edited = versions(&c, &[&a, &b]);
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("      spec.ingress[0].ports[0].port: 6432 in the cluster, 5432 in the graph"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: 1 policy of ServiceGraph \"{g}\" was edited since sync applied it (drift); nothing was changed:\n  * networkpolicy.networking.k8s.io/{name} in namespace \"{b}\": Apply failed with 1 conflict: conflict with \"kubectl-patch\" using networking.k8s.io/v1: .spec.ingress; its spec was changed since kubectl-netpol applied it"
        )),
        "{err}"
    );
    assert!(err.contains("run again with --force-conflicts"), "{err}");
    assert!(!err.contains(" configured ("), "{err}");
    assert_eq!(versions(&c, &[&a, &b]), edited, "written despite the drift");
    // A server dry run with force: still nothing stored.
    let out = sync(
        &c,
        "admin",
        &graph,
        &["--dry-run=server", "--force-conflicts"],
    );
    assert_eq!(code_of(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "networkpolicy.networking.k8s.io/{name} configured (server dry run) (namespace/{b} allows db from {b}/api on TCP/5432)"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(versions(&c, &[&a, &b]), edited);
    // Forced: restored, kubectl-patch no longer owns anything.
    let out = sync(&c, "admin", &graph, &["--yes", "--force-conflicts"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).lines().any(|l| l
            == format!(
                "networkpolicy.networking.k8s.io/{name} configured (namespace/{b} allows db from {b}/api on TCP/5432)"
            )),
        "{}",
        stderr(&out)
    );
    let stored = policy(&c, &b, &name);
    assert_eq!(stored["spec"]["ingress"][0]["ports"][0]["port"], 5432);
    let managers: Vec<&str> = stored["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kubectl-netpol"]);
    let restored = versions(&c, &[&a, &b]);
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    assert_eq!(versions(&c, &[&a, &b]), restored);

    // A rule list added by hand to a policy that has none (an allow-all
    // ingress on a deny-all): drift, and --force-conflicts takes the list
    // and empties it (server-side apply alone would keep it as theirs).
    let deny = format!("{g}-web-ingress");
    ok(&c.kubectl(
        &[
            "patch",
            "networkpolicy",
            &deny,
            "-n",
            &a,
            "--type=merge",
            "-p",
            r#"{"spec":{"ingress":[{}]}}"#,
        ],
        None,
    ));
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(drift); nothing was changed"),
        "{}",
        stderr(&out)
    );
    let out = sync(&c, "admin", &graph, &["--yes", "--force-conflicts"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let stored = policy(&c, &a, &deny);
    assert!(stored["spec"]["ingress"].is_null(), "{stored}");
    let out = sync(&c, "admin", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
}

#[test]
fn dry_runs_write_nothing() {
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "dryrun");
    let g = format!("g{}", c.unique().replace('-', ""));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, true));
    let out = sync(&c, "admin", &graph, &["--dry-run=server"]);
    assert_eq!(code_of(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains(" created (server dry run) ("))
            .count(),
        6,
        "{err}"
    );
    assert!(versions(&c, &[&a, &b]).is_empty());
    let out = sync(&c, "admin", &graph, &["--dry-run=client"]);
    assert_eq!(code_of(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("client dry run: nothing was sent"));
    assert!(versions(&c, &[&a, &b]).is_empty());
    // Without a terminal to ask on, no --yes: refused before anything.
    let out = sync(&c, "admin", &graph, &[]);
    assert_eq!(code_of(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing to change the cluster without a yes"));
    // Applied, then a prune in a dry run: nothing deleted.
    ok(&sync(&c, "admin", &graph, &["--yes"]));
    let applied = versions(&c, &[&a, &b]);
    let smaller = GraphFile::new(&g, &shop_graph(&a, &b, false));
    let out = sync(&c, "admin", &smaller, &["--dry-run=server"]);
    assert_eq!(code_of(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "networkpolicy.networking.k8s.io/{g}-db-ingress deleted (server dry run)"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(versions(&c, &[&a, &b]), applied);
    // Nothing to do: 0, in a dry run too.
    let out = sync(&c, "admin", &graph, &["--dry-run=server"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
}

#[test]
fn users_rbac_refuses_are_told_what_before_any_write() {
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "rbac");
    let g = format!("g{}", c.unique().replace('-', ""));
    // dana may read and write policies in a only.
    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dana, namespace: {a}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}\nsubjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: dana}}]\n"
    ));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, true));
    let out = sync(&c, "dana", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: cannot list networkpolicies in namespace \"{b}\": forbidden for user \"dana\""
        )),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(versions(&c, &[&a, &b]).is_empty());
    // bob reads everything and may write nothing: each write refused in
    // the server's dry run, named, before the first write.
    let out = sync(&c, "bob", &graph, &["--yes"]);
    assert_eq!(code_of(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: the API server refused 6 of the plan's requests in a dry run, before any write; nothing was changed:"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  * cannot apply networkpolicies in namespace \"{b}\": forbidden"
        )),
        "{err}"
    );
    assert!(
        err.contains("User \"bob\" cannot patch resource \"networkpolicies\""),
        "{err}"
    );
    assert!(!err.contains("applying"), "asked or said it applies: {err}");
    assert!(versions(&c, &[&a, &b]).is_empty());
    // dana's own namespace alone: synced, with what she cannot read said.
    let own = GraphFile::new(
        &g,
        &format!(
            "  services:\n  - {{name: web, namespace: {a}, podSelector: {{matchLabels: {{app: web}}}}}}\n"
        ),
    );
    let out = sync(&c, "dana", &own, &["--yes"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "note: this graph's policies were looked for only in namespaces {a} (cannot list networkpolicies in any namespace: forbidden for user \"dana\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "networkpolicy.networking.k8s.io/{g}-web-ingress created"
        )),
        "{err}"
    );
    assert_eq!(versions(&c, &[&a]).len(), 2);
}

/// On a terminal, sync asks, naming the graph and the context: a no
/// writes nothing (exit 130), a yes applies.
#[test]
fn on_a_terminal_it_asks_naming_the_target() {
    use rexpect::session::Options;
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "ask");
    let g = format!("g{}", c.unique().replace('-', ""));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, false));
    let term = || {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
        cmd.env_clear()
            .env("HOME", home.path())
            .env("TERM", "xterm")
            .args(["sync", "-f", graph.path(), "--color", "never"])
            .args(["--kubeconfig", &c.kubeconfig("admin")]);
        rexpect::spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(30_000))
                .strip_ansi_escape_codes(true),
        )
        .expect("spawn on a pseudo-terminal")
    };
    let question = format!(
        "Apply 4 changes to the policies of ServiceGraph \"{g}\" in context e2e ({})?",
        c.server
    );
    let exit_code = |t: &mut rexpect::session::PtySession| match t.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    };
    let mut t = term();
    t.exp_string(&question).expect("the question");
    t.send("n").unwrap();
    t.flush().unwrap();
    let rest = t.exp_eof().unwrap().replace('\r', "");
    assert!(
        rest.contains("error: cancelled: nothing was changed"),
        "{rest}"
    );
    assert_eq!(exit_code(&mut t), 130);
    assert!(versions(&c, &[&a, &b]).is_empty());
    let mut t = term();
    t.exp_string(&question).expect("the question");
    t.send("y").unwrap();
    t.flush().unwrap();
    let rest = t.exp_eof().unwrap().replace('\r', "");
    assert!(
        rest.contains(&format!(
            "networkpolicy.networking.k8s.io/{g}-api-ingress created ("
        )),
        "{rest}"
    );
    assert_eq!(exit_code(&mut t), 0, "{rest}");
    assert_eq!(versions(&c, &[&a, &b]).len(), 4);
}

/// `-o json` (and yaml): one document on stdout for scripts, whatever the
/// end: each change with its outcome, the counts, and the error when
/// there is one (drift here), the error line still on stderr.
#[test]
fn json_output_gives_each_change_and_its_outcome() {
    let Some(c) = cluster() else { return };
    let (a, b) = shop(&c, "syncjson");
    let g = format!("j{}", c.unique().replace('-', ""));
    let graph = GraphFile::new(&g, &shop_graph(&a, &b, false));
    let doc = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
    };
    // A server dry run: accepted, nothing stored.
    let out = sync(&c, "admin", &graph, &["--dry-run=server", "-o", "json"]);
    assert_eq!(code_of(&out), 3, "{}", stderr(&out));
    let v = doc(&out);
    assert_eq!(v["graph"], g.as_str());
    assert_eq!(v["dryRun"], "server");
    assert_eq!(v["counts"]["create"], 4, "{v}");
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "accepted by the server's dry run"),
        "{v}"
    );
    assert!(v["error"].is_null());
    // What stderr notes, for scripts too.
    assert!(
        v["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("note: no DNS pods in the cluster")),
        "{v}"
    );
    assert!(versions(&c, &[&a, &b]).is_empty());
    // For real.
    let out = sync(&c, "admin", &graph, &["--yes", "-o", "json"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let v = doc(&out);
    let ingress = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("{g}-api-ingress"))
        .cloned()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(ingress["action"], "create");
    assert_eq!(ingress["namespace"], b.as_str());
    assert_eq!(ingress["outcome"], "created");
    assert_eq!(
        ingress["summary"],
        format!("namespace/{b} allows api from {a}/web on TCP/http")
    );
    assert_eq!(versions(&c, &[&a, &b]).len(), 4);
    // Nothing to do: no change, four unchanged (YAML this time).
    let out = sync(&c, "admin", &graph, &["--yes", "-o", "yaml"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changes"], serde_json::json!([]), "{v}");
    assert_eq!(v["counts"]["unchanged"], 4, "{v}");
    // Drift: the document says it and the error, exit 1, nothing written.
    let name = format!("{g}-api-ingress");
    c.hand_edit_port(&b, &name, 1234);
    let before = versions(&c, &[&a, &b]);
    let smaller = GraphFile::new(
        &g,
        &shop_graph(&a, &b, false).replace("port: http", "port: 8443"),
    );
    let out = sync(&c, "admin", &smaller, &["--yes", "-o", "json"]);
    assert_eq!(code_of(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(drift); nothing was changed"),
        "{}",
        stderr(&out)
    );
    let v = doc(&out);
    assert!(v["error"].as_str().unwrap().contains("drift"), "{v}");
    let drifted: Vec<&serde_json::Value> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["drift"].is_null())
        .collect();
    assert_eq!(drifted.len(), 1, "{v}");
    assert_eq!(drifted[0]["name"], name.as_str());
    assert!(
        drifted[0]["drift"]
            .as_str()
            .unwrap()
            .contains("conflict with \"kubectl-patch\""),
        "{v}"
    );
    assert_eq!(versions(&c, &[&a, &b]), before);
}

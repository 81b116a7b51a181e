//! End-to-end: `kubectl netpol sync --watch`, the controller, against a
//! real kube-apiserver (and the real kube-controller-manager's garbage
//! collector), started through kubectl's plugin dispatch as the service
//! account of deploy/ (impersonated: its least-privilege RBAC is what it
//! runs with).
//!
//! One test, in steps, because a controller reconciles every graph of the
//! cluster: a graph applied with kubectl is reconciled within seconds
//! (policies, status, an Event); a second replica waits for the Lease and
//! writes nothing; a changed graph updates and prunes, an unmanaged policy
//! with the same selector is untouched; a deleted policy comes back; SIGTERM
//! stops the leader cleanly (exit 0, Lease released) and the other replica
//! takes over; a hand edit is drift (status, Event, left alone); a graph
//! that cannot be resolved says why in its status; deleting a graph
//! deletes its policies through the garbage collector.

mod common;
use common::cluster::*;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const NS: &str = "kubectl-netpol-system";
const SA: &str = "system:serviceaccount:kubectl-netpol-system:kubectl-netpol";
const LEASE: &str = "kubectl-netpol";
/// How long a reconcile may take to show (it takes about a second).
const BOUND: Duration = Duration::from_secs(30);

/// A `kubectl netpol sync --watch` process; SIGTERM and waited for when
/// dropped.
struct Controller {
    child: Option<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Controller {
    fn start_with(c: &Cluster, identity: &str, extra: &[&str]) -> Controller {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("controller.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(c.bin.join("kubectl"));
        cmd.env_clear()
            .env("PATH", c.plugin_path())
            .env("HOME", dir.path())
            .env("POD_NAME", identity)
            .args([
                "netpol",
                "sync",
                "--watch",
                "--yes",
                "--kubeconfig",
                &c.kubeconfig("admin"),
                "--as",
                SA,
                "--leader-elect-resource-namespace",
                NS,
                "--leader-elect-lease-duration",
                "6s",
                "--resync-period",
                "1h",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file);
        Controller {
            child: Some(cmd.spawn().expect("kubectl netpol sync --watch")),
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a log line containing `needle`.
    fn wait_for(&self, needle: &str) {
        eventually(&format!("log line {needle:?}"), || {
            self.log().contains(needle).then_some(())
        });
    }

    /// SIGTERM, then the exit status (within 20 s).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!(
                    "sync --watch did not stop within 20 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
    }
}

/// `GET path` on 127.0.0.1:`port`: the status code and body, or `None`
/// when nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` until it gives a value, for at most [`BOUND`].
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < BOUND, "not within {BOUND:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn graph(name: &str, a: &str, b: &str, edge_port: u16, with_db: bool) -> String {
    let mut s = format!(
        "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata:\n  name: {name}\nspec:\n  services:\n  - {{name: web, namespace: {a}, podSelector: {{matchLabels: {{app: web}}}}}}\n  - {{name: api, namespace: {b}, podSelector: {{matchLabels: {{app: api}}}}}}\n"
    );
    if with_db {
        s.push_str(&format!(
            "  - {{name: db, namespace: {b}, podSelector: {{matchLabels: {{app: db}}}}}}\n"
        ));
    }
    s.push_str(&format!(
        "  edges:\n  - {{from: web, to: api, ports: [{{port: {edge_port}}}]}}\n"
    ));
    if with_db {
        s.push_str("  - {from: api, to: db, ports: [{port: 5432}]}\n");
    }
    s
}

fn get(c: &Cluster, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend(args);
    all.extend(["-o", "json", "--show-managed-fields"]);
    let out = c.kubectl(&all, None);
    out.status.success().then(|| json(&out))
}

/// The graph's policies: `namespace/name` -> the object.
fn policies(c: &Cluster, g: &str) -> std::collections::BTreeMap<String, Value> {
    let selector = format!("kubectl-netpol.github.io/graph={g}");
    let list = get(c, &["networkpolicies", "-A", "-l", &selector]).expect("list");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{}/{}",
                    p["metadata"]["namespace"].as_str().unwrap(),
                    p["metadata"]["name"].as_str().unwrap()
                ),
                p.clone(),
            )
        })
        .collect()
}

fn condition(graph: &Value, kind: &str) -> Option<Value> {
    graph["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .cloned()
}

/// The events.k8s.io Events about graph `g` (in namespace default, where
/// a cluster-scoped object's go).
fn events(c: &Cluster, g: &str) -> Vec<Value> {
    let list = get(c, &["events.events.k8s.io", "-n", "default"]).expect("events");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["regarding"]["kind"] == "ServiceGraph" && e["regarding"]["name"] == g)
        .cloned()
        .collect()
}

fn lease_holder(c: &Cluster) -> Option<String> {
    get(c, &["lease", LEASE, "-n", NS])?["spec"]["holderIdentity"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn the_controller_reconciles_graphs_with_one_leader_and_stops_cleanly() {
    let Some(c) = cluster() else { return };
    let a = c.namespace("watch-a");
    let b = c.namespace("watch-b");
    // The CRD (so the graphs, while the collector runs), deploy/'s RBAC
    // and the namespaces go at the end. The collector is started once
    // the CRD is served (it discovers kinds every 30 s).
    let mut cleanup = Teardown {
        c: &c,
        files: vec!["deploy/crd.yaml", "deploy/rbac.yaml"],
        namespaces: vec![a.clone(), b.clone(), NS.to_string()],
        gc: None,
    };
    let out = c.kubectl(&["create", "namespace", NS], None);
    assert!(
        out.status.success() || stderr(&out).contains("AlreadyExists"),
        "{}",
        stderr(&out)
    );
    ok(&c.kubectl(
        &["apply", "-f", "deploy/crd.yaml", "-f", "deploy/rbac.yaml"],
        None,
    ));
    ok(&c.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "crd/servicegraphs.kubectl-netpol.github.io",
            "--timeout=60s",
        ],
        None,
    ));
    cleanup.gc = Some(c.garbage_collector());
    for ns in [&a, &b] {
        ok(&c.kubectl(&["create", "namespace", ns], None));
    }
    // Not the graph's: the same selector, no labels.
    c.apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: by-hand, namespace: {b}}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  ingress: [{{from: [{{podSelector: {{}}}}]}}]\n"
    ));
    let by_hand_version =
        get(&c, &["networkpolicy", "by-hand", "-n", &b]).unwrap()["metadata"]["resourceVersion"]
            .clone();

    // 1. The first replica leads; a graph applied with kubectl is
    // reconciled within seconds.
    // (Resyncs every 2 s: a resync that finds nothing to do must write
    // nothing, checked below.)
    let mut first = Controller::start_with(&c, "replica-1", &["--resync-period", "2s"]);
    first.wait_for("holding lease kubectl-netpol-system/kubectl-netpol");
    let g = format!("w{}", c.unique().replace('-', ""));
    let applied_at = Instant::now();
    c.apply(&graph(&g, &a, &b, 8080, true));
    let created = eventually("the graph's 6 policies", || {
        let p = policies(&c, &g);
        (p.len() == 6).then_some(p)
    });
    eprintln!("reconciled in {:?}", applied_at.elapsed());
    let stored = get(&c, &["servicegraph", &g]).unwrap();
    let uid = stored["metadata"]["uid"].as_str().unwrap().to_string();
    for (key, p) in &created {
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                owner["kind"].as_str(),
                owner["name"].as_str(),
                owner["uid"].as_str()
            ),
            (Some("ServiceGraph"), Some(g.as_str()), Some(uid.as_str())),
            "{key}"
        );
        let manager = p["metadata"]["managedFields"][0]["manager"].as_str();
        assert_eq!(manager, Some("kubectl-netpol"), "{key}");
    }
    let ready = eventually("Ready=True", || {
        let g = get(&c, &["servicegraph", &g])?;
        let r = condition(&g, "Ready")?;
        (r["status"] == "True").then_some(g)
    });
    assert_eq!(ready["status"]["policies"], 6, "{ready}");
    assert_eq!(ready["status"]["observedGeneration"], 1, "{ready}");
    assert_eq!(
        condition(&ready, "PoliciesApplied").unwrap()["reason"],
        "Applied"
    );
    assert!(ready["status"]["lastError"].is_null(), "{ready}");
    // Resyncs with nothing to do write nothing: neither the status nor a
    // policy changes (resourceVersions) over three resync periods.
    let versions = |c: &Cluster| {
        let graph = get(c, &["servicegraph", &g]).unwrap()["metadata"]["resourceVersion"].clone();
        let policies: Vec<Value> = policies(c, &g)
            .values()
            .map(|p| p["metadata"]["resourceVersion"].clone())
            .collect();
        (graph, policies)
    };
    let settled = versions(&c);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(versions(&c), settled, "a resync wrote");
    let synced = eventually("a Synced Event", || {
        events(&c, &g).into_iter().find(|e| e["reason"] == "Synced")
    });
    assert_eq!(synced["type"], "Normal");
    assert_eq!(synced["reportingController"], "kubectl-netpol");
    assert!(
        synced["note"]
            .as_str()
            .unwrap()
            .contains(&format!("created {b}/{g}-api-ingress")),
        "{synced}"
    );
    first.wait_for(&format!(
        "servicegraph/{g}: networkpolicy.networking.k8s.io/{g}-api-ingress created in namespace {b} (namespace/{b} allows api from {a}/web on TCP/8080)"
    ));

    // 2. A second replica waits and writes nothing; its probes answer
    // (ready: it has started, waiting is its job).
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut second =
        Controller::start_with(&c, "replica-2", &["--health-probe-bind-address", &address]);
    second.wait_for(
        "waiting to hold lease kubectl-netpol-system/kubectl-netpol (identity replica-2)",
    );
    assert_eq!(http_get(port, "/healthz"), Some((200, "ok\n".into())));
    assert_eq!(http_get(port, "/readyz"), Some((200, "ok\n".into())));
    assert_eq!(http_get(port, "/nothing").map(|r| r.0), Some(404));
    assert_eq!(lease_holder(&c).as_deref(), Some("replica-1"));

    // 3. A changed graph: the edge's port updates two policies, the db
    // service removed prunes its two; the hand-written policy stays.
    let before = policies(&c, &g);
    c.apply(&graph(&g, &a, &b, 9090, false));
    let after = eventually("the changed graph's 4 policies", || {
        let p = policies(&c, &g);
        let port =
            p.get(&format!("{b}/{g}-api-ingress"))?["spec"]["ingress"][0]["ports"][0]["port"]
                .as_i64();
        (p.len() == 4 && port == Some(9090)).then_some(p)
    });
    assert!(!after.contains_key(&format!("{b}/{g}-db-ingress")));
    assert!(!after.contains_key(&format!("{b}/{g}-db-egress")));
    assert_eq!(
        after[&format!("{a}/{g}-web-ingress")]["metadata"]["resourceVersion"],
        before[&format!("{a}/{g}-web-ingress")]["metadata"]["resourceVersion"],
        "an unchanged policy is not written"
    );
    let by_hand = get(&c, &["networkpolicy", "by-hand", "-n", &b]).unwrap();
    assert_eq!(by_hand["metadata"]["resourceVersion"], by_hand_version);
    eventually("observedGeneration 2", || {
        let g = get(&c, &["servicegraph", &g])?;
        (g["status"]["observedGeneration"] == 2 && g["status"]["policies"] == 4).then_some(())
    });

    // 4. A managed policy deleted by hand comes back.
    let name = format!("{g}-web-egress");
    ok(&c.kubectl(&["delete", "networkpolicy", &name, "-n", &a], None));
    eventually("the deleted policy back", || {
        get(&c, &["networkpolicy", &name, "-n", &a])
    });
    let second_log = second.log();
    assert!(
        !second_log.contains(" created ") && !second_log.contains("holding lease"),
        "the waiting replica wrote:\n{second_log}"
    );

    // 5. SIGTERM: the leader finishes, releases the Lease and exits 0; the
    // second takes over and reconciles.
    let status = first.terminate();
    assert!(status.success(), "exit {status:?}:\n{}", first.log());
    let log = first.log();
    assert!(log.contains("SIGTERM: stopping"), "{log}");
    assert!(
        log.contains("released lease kubectl-netpol-system/kubectl-netpol; stopped"),
        "{log}"
    );
    second.wait_for("holding lease kubectl-netpol-system/kubectl-netpol");
    assert_eq!(lease_holder(&c).as_deref(), Some("replica-2"));
    c.apply(&graph(&g, &a, &b, 9091, false));
    second.wait_for(&format!(
        "networkpolicy.networking.k8s.io/{g}-api-ingress configured in namespace {b}"
    ));

    // 5b. Two graphs applied together that would write policies of the
    // same names (graph "G" + service "api-x", graph "G-api" + service
    // "x"): one gets them, the other a Collision; nothing is overwritten.
    let (one, two) = (format!("{g}c"), format!("{g}c-api"));
    c.apply(&format!(
        "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata: {{name: {one}}}\nspec: {{services: [{{name: api-x, namespace: {b}, podSelector: {{matchLabels: {{app: ax}}}}}}]}}\n---\napiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata: {{name: {two}}}\nspec: {{services: [{{name: x, namespace: {b}, podSelector: {{matchLabels: {{app: x}}}}}}]}}\n"
    ));
    let (winner, loser) = eventually("one synced, one colliding", || {
        let r1 = condition(&get(&c, &["servicegraph", &one])?, "Ready")?;
        let r2 = condition(&get(&c, &["servicegraph", &two])?, "Ready")?;
        match (r1["reason"].as_str()?, r2["reason"].as_str()?) {
            ("Synced", "Collision") => Some((one.clone(), two.clone())),
            ("Collision", "Synced") => Some((two.clone(), one.clone())),
            _ => None,
        }
    });
    for suffix in ["ingress", "egress"] {
        let p = get(
            &c,
            &["networkpolicy", &format!("{one}-api-x-{suffix}"), "-n", &b],
        )
        .unwrap();
        assert_eq!(
            p["metadata"]["labels"]["kubectl-netpol.github.io/graph"],
            winner.as_str()
        );
        assert_eq!(p["metadata"]["generation"], 1, "written once: {p}");
    }
    assert!(policies(&c, &loser).is_empty());
    let loser_status = get(&c, &["servicegraph", &loser]).unwrap();
    assert_eq!(loser_status["status"]["policies"], 0, "{loser_status}");

    // 5c. sync -f with a graph file whose metadata.uid is stale (or
    // absent): the policies keep the stored graph as their owner.
    let stored = get(&c, &["servicegraph", &g]).unwrap();
    let mut stale = stored.clone();
    stale["metadata"] =
        serde_json::json!({"name": g, "uid": "00000000-0000-0000-0000-000000000000"});
    stale.as_object_mut().unwrap().remove("status");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stale.json");
    std::fs::write(&file, stale.to_string()).unwrap();
    let out = c.as_user("admin", &["sync", "-f", file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "note: the file's metadata.uid is not the stored ServiceGraph \"{g}\"'s ({uid})"
        )),
        "{}",
        stderr(&out)
    );
    for (key, p) in policies(&c, &g) {
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["uid"],
            uid.as_str(),
            "{key}"
        );
    }
    // generate --against-cluster too: the stored graph's uid, not the file's.
    let out = c.as_user(
        "admin",
        &[
            "generate",
            "-f",
            file.to_str().unwrap(),
            "--against-cluster",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    for p in list["items"].as_array().unwrap() {
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["uid"],
            uid.as_str(),
            "{p}"
        );
    }
    assert!(
        stderr(&out).contains("note: the file's metadata.uid is not the stored"),
        "{}",
        stderr(&out)
    );

    // 6. A hand edit is drift: reported in the status and an Event, and
    // left as it is.
    let edited = format!("{g}-api-ingress");
    c.hand_edit_port(&b, &edited, 1234);
    let drifted = eventually("Ready=False, Drift", || {
        let g = get(&c, &["servicegraph", &g])?;
        let r = condition(&g, "Ready")?;
        (r["status"] == "False" && r["reason"] == "Drift").then_some(g)
    });
    let error = drifted["status"]["lastError"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "networkpolicy.networking.k8s.io/{edited} in namespace \"{b}\": Apply failed with 1 conflict: conflict with \"kubectl-patch\""
        )),
        "{error}"
    );
    assert_eq!(
        condition(&drifted, "PoliciesApplied").unwrap()["reason"],
        "Drift"
    );
    let warning = eventually("a Drift Event", || {
        events(&c, &g).into_iter().find(|e| e["reason"] == "Drift")
    });
    assert_eq!(warning["type"], "Warning");
    std::thread::sleep(Duration::from_secs(2));
    let port = get(&c, &["networkpolicy", &edited, "-n", &b]).unwrap()["spec"]["ingress"][0]
        ["ports"][0]["port"]
        .clone();
    assert_eq!(
        port, 1234,
        "drift is not overwritten without --force-conflicts"
    );

    // 6b. A controller in a dry run tells the drift once, and writes
    // nothing (no Lease, no status, no Event).
    let status_before =
        get(&c, &["servicegraph", &g]).unwrap()["metadata"]["resourceVersion"].clone();
    let mut dry = Controller::start_with(
        &c,
        "dry",
        &[
            "--dry-run=server",
            "--leader-elect=false",
            "--resync-period",
            "2s",
        ],
    );
    dry.wait_for(&format!(
        "servicegraph/{g}: error: 1 policy was edited since kubectl-netpol applied it (drift)"
    ));
    std::thread::sleep(Duration::from_secs(5));
    let status = dry.terminate();
    assert!(status.success(), "{}", dry.log());
    let log = dry.log();
    assert_eq!(
        log.matches(&format!("servicegraph/{g}: error:")).count(),
        1,
        "told once across resyncs:\n{log}"
    );
    assert_eq!(
        get(&c, &["servicegraph", &g]).unwrap()["metadata"]["resourceVersion"],
        status_before
    );
    // A hand-edited digest annotation is drift too (another manager holds
    // it), not a refusal.
    let name = format!("{winner}-api-x-ingress");
    ok(&c.kubectl(
        &[
            "annotate",
            "networkpolicy",
            &name,
            "-n",
            &b,
            "--overwrite",
            "kubectl-netpol.github.io/applied-spec=fnv1a64:0000000000000000",
        ],
        None,
    ));
    eventually("Drift for the annotation", || {
        let r = condition(&get(&c, &["servicegraph", &winner])?, "Ready")?;
        (r["reason"] == "Drift").then_some(())
    });

    // 7. A graph that cannot be resolved says why, and writes nothing.
    let broken = format!("{g}x");
    c.apply(&format!(
        "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata:\n  name: {broken}\nspec:\n  services:\n  - {{name: api, namespace: {b}, workload: deployment/missing}}\n"
    ));
    let failed = eventually("Ready=False, Unresolved", || {
        let g = get(&c, &["servicegraph", &broken])?;
        let r = condition(&g, "Ready")?;
        (r["reason"] == "Unresolved").then_some(g)
    });
    let message = condition(&failed, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("deployment/missing"), "{message}");
    assert!(policies(&c, &broken).is_empty());

    // 8. Deleting a graph deletes its policies (the garbage collector).
    ok(&c.kubectl(&["delete", "servicegraph", &g, "--wait=true"], None));
    eventually("the graph's policies gone", || {
        policies(&c, &g).is_empty().then_some(())
    });
    assert!(get(&c, &["networkpolicy", "by-hand", "-n", &b]).is_some());
    let status = second.terminate();
    assert!(status.success(), "exit {status:?}:\n{}", second.log());
    let log = second.log();
    assert!(!log.contains("panicked"), "{log}");
    drop(cleanup);
}

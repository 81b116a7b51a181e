//! End-to-end: deleting a ServiceGraph deletes the NetworkPolicies
//! generated from it, through the real garbage collector of a real
//! kube-controller-manager (tests/common: `Cluster::garbage_collector`),
//! because `generate` puts an ownerReference to the stored graph on each
//! of them. Policies the graph does not own stay: hand-written ones in the
//! same namespaces, one carrying the graph's labels but no ownerReference,
//! and another graph's.
//!
//! The example shop (examples/shop, examples/shop-graph.yaml) is used with
//! its namespaces renamed for this run (and kube-system left alone), so the
//! shared cluster's other tests never see it. The CRD is cluster-wide: the
//! test installs it and removes it (with its graphs) when it ends, even on
//! failure, and waits for that, so that the next test binary may install
//! it again.

mod common;
use common::cluster::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CRD: &str = "deploy/crd.yaml";
/// How long the garbage collector may take (it takes about a second).
const GC_BOUND: Duration = Duration::from_secs(30);

fn install_crd(c: &Cluster) {
    let out = c.kubectl(&["apply", "-f", CRD], None);
    assert!(out.status.success(), "install the CRD: {}", stderr(&out));
    let out = c.kubectl(
        &[
            "wait",
            "--for",
            "condition=established",
            "--timeout=60s",
            "crd/servicegraphs.kubectl-netpol.github.io",
        ],
        None,
    );
    assert!(out.status.success(), "CRD established: {}", stderr(&out));
}

/// The documents of a multi-document YAML file.
fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Every `namespace: X` string (and `spec.namespaces[].name`) renamed.
fn rename(v: &mut Value, map: &BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "namespace"
                    && let Some(new) = x.as_str().and_then(|s| map.get(s))
                {
                    *x = json!(new);
                } else {
                    rename(x, map);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename(x, map)),
        _ => {}
    }
}

fn to_yaml_list(items: Vec<Value>) -> String {
    serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": items})).unwrap()
}

/// `namespace/name` of every NetworkPolicy in `namespaces`, with its
/// ownerReferences (null when none).
fn policies(c: &Cluster, namespaces: &[String]) -> BTreeMap<String, Value> {
    let list = json(&c.kubectl(&["get", "networkpolicies", "-A", "-o", "json"], None));
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            namespaces
                .iter()
                .any(|n| p["metadata"]["namespace"] == json!(n))
        })
        .map(|p| {
            (
                format!(
                    "{}/{}",
                    p["metadata"]["namespace"].as_str().unwrap(),
                    p["metadata"]["name"].as_str().unwrap()
                ),
                p["metadata"]["ownerReferences"].clone(),
            )
        })
        .collect()
}

fn key(p: &Value) -> String {
    format!(
        "{}/{}",
        p["metadata"]["namespace"].as_str().unwrap(),
        p["metadata"]["name"].as_str().unwrap()
    )
}

/// Stores `graph` with kubectl and generates its policies from the stored
/// object, against the cluster, through kubectl's plugin dispatch; returns
/// the graph's uid and the generated policies.
fn store_and_generate(c: &Cluster, graph: &Value) -> (String, Vec<Value>) {
    let name = graph["metadata"]["name"].as_str().unwrap();
    c.apply(&serde_json::to_string(graph).unwrap());
    let stored = ok(&c.kubectl(&["get", "servicegraph", name, "-o", "yaml"], None));
    let uid = ok(&c.kubectl(
        &[
            "get",
            "servicegraph",
            name,
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    ));
    assert!(!uid.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.yaml");
    std::fs::write(&path, stored).unwrap();
    let out = c.as_user(
        "admin",
        &[
            "generate",
            "-f",
            path.to_str().unwrap(),
            "--against-cluster",
            "-o",
            "json",
        ],
    );
    let list = json(&out);
    let items = list["items"].as_array().unwrap().clone();
    assert!(!items.is_empty(), "{}", stderr(&out));
    (uid, items)
}

/// Waits until the garbage collector collects what a ServiceGraph owns (it
/// needs the kind in its discovery): a ConfigMap in `ns` owned by a
/// throw-away graph, which is deleted.
fn collector_knows_graphs(c: &Cluster, ns: &str) {
    let probe = format!("gc-probe-{}", c.unique());
    c.apply(&format!(
        "apiVersion: kubectl-netpol.github.io/v1alpha1\nkind: ServiceGraph\nmetadata: {{name: {probe}}}\nspec:\n  services: [{{name: a, namespace: {ns}, podSelector: {{}}}}]\n"
    ));
    let uid = ok(&c.kubectl(
        &[
            "get",
            "servicegraph",
            &probe,
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    ));
    c.apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {probe}\n  namespace: {ns}\n  ownerReferences: [{{apiVersion: kubectl-netpol.github.io/v1alpha1, kind: ServiceGraph, name: {probe}, uid: {uid}}}]\n"
    ));
    ok(&c.kubectl(&["delete", "servicegraph", &probe], None));
    let started = Instant::now();
    while c
        .kubectl(&["get", "configmap", &probe, "-n", ns], None)
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the garbage collector did not collect configmap {ns}/{probe}, owned by a deleted ServiceGraph, in 90 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn deleting_a_graph_deletes_its_policies_through_the_garbage_collector() {
    let Some(c) = cluster() else { return };
    let u = c.unique();
    let map: BTreeMap<String, String> =
        ["frontend", "backend", "payments", "monitoring", "default"]
            .iter()
            .map(|n| (n.to_string(), format!("gc-{n}-{u}")))
            .collect();
    let namespaces: Vec<String> = map.values().cloned().collect();
    // The CRD (so every ServiceGraph) and the namespaces go at the end.
    let mut cleanup = Teardown {
        c: &c,
        files: vec![CRD],
        namespaces: namespaces.clone(),
        gc: None,
    };
    install_crd(&c);
    // Started after the CRD: the collector then knows the kind from its
    // first discovery (one running already learns it at its next one,
    // within 30 s: the probe waits for that).
    cleanup.gc = Some(c.garbage_collector());

    // The shop's namespaces, workloads and hand-written policies, renamed;
    // nothing in kube-system.
    for ns in &namespaces {
        c.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
        ));
    }
    let in_our_namespaces = |mut docs: Vec<Value>| -> Vec<Value> {
        docs.retain(|d| {
            d["metadata"]["namespace"]
                .as_str()
                .is_some_and(|n| map.contains_key(n))
        });
        docs.iter_mut().for_each(|d| rename(d, &map));
        docs
    };
    let workloads = in_our_namespaces(documents("examples/shop/workloads.yaml"));
    c.apply(&to_yaml_list(workloads));
    let hand_written = in_our_namespaces(documents("examples/shop/policies.yaml"));
    assert!(hand_written.len() >= 10, "{}", hand_written.len());
    c.apply(&to_yaml_list(hand_written.clone()));
    collector_knows_graphs(&c, &map["default"]);

    // The example graph, renamed, stored; its policies generated from the
    // stored object (so owned by it) and applied.
    let name = format!("shop-{u}");
    let mut graph = documents("examples/shop-graph.yaml").remove(0);
    graph["metadata"]["name"] = json!(name);
    rename(&mut graph, &map);
    let names = graph["spec"]["namespaces"].as_array_mut().unwrap();
    for n in names.iter_mut() {
        let new = map[n["name"].as_str().unwrap()].clone();
        n["name"] = json!(new);
    }
    let (uid, owned) = store_and_generate(&c, &graph);
    let out = c.kubectl(&["apply", "-f", "-"], Some(&to_yaml_list(owned.clone())));
    assert!(out.status.success(), "{}", stderr(&out));
    let owned: BTreeSet<String> = owned.iter().map(key).collect();

    // Not owned by it: a copy of one of its policies, labels and all, but
    // without the ownerReference (the collector goes by owners, not
    // labels); and another graph's policies.
    let first = owned.iter().next().unwrap().clone();
    let (ns0, name0) = first.split_once('/').unwrap();
    let mut copy = json(&c.kubectl(
        &["get", "networkpolicy", name0, "-n", ns0, "-o", "json"],
        None,
    ));
    let labels = copy["metadata"]["labels"].clone();
    copy["metadata"] = json!({"name": format!("{name0}-copy"), "namespace": ns0, "labels": labels});
    c.apply(&serde_json::to_string(&copy).unwrap());
    let frontend = &map["frontend"];
    let other_name = format!("other-{u}");
    let other = json!({
        "apiVersion": "kubectl-netpol.github.io/v1alpha1",
        "kind": "ServiceGraph",
        "metadata": {"name": other_name},
        "spec": {
            "services": [
                {"name": "web", "namespace": frontend, "podSelector": {"matchLabels": {"app": "web"}}},
                {"name": "lt", "namespace": frontend, "podSelector": {"matchLabels": {"app": "loadtest"}}}
            ],
            "edges": [{"from": "lt", "to": "web", "ports": [{"port": 8080}]}]
        }
    });
    let (other_uid, others) = store_and_generate(&c, &other);
    let out = c.kubectl(&["apply", "-f", "-"], Some(&to_yaml_list(others.clone())));
    assert!(out.status.success(), "{}", stderr(&out));
    let others: BTreeSet<String> = others.iter().map(key).collect();

    // As stored: each of the graph's policies owned by it, by uid.
    let before = policies(&c, &namespaces);
    let expected_owner = json!([{
        "apiVersion": "kubectl-netpol.github.io/v1alpha1",
        "kind": "ServiceGraph",
        "name": name,
        "uid": uid,
        "controller": true,
    }]);
    for p in &owned {
        assert_eq!(before.get(p), Some(&expected_owner), "{p}");
    }
    for p in &others {
        assert_eq!(before[p][0]["uid"], json!(other_uid), "{p}");
    }
    let unowned: BTreeSet<String> = before
        .keys()
        .filter(|k| !owned.contains(*k) && !others.contains(*k))
        .cloned()
        .collect();
    assert_eq!(
        unowned.len(),
        hand_written.len() + 1,
        "the hand-written policies and the copy: {unowned:?}"
    );
    for p in &unowned {
        assert_eq!(before[p], Value::Null, "{p}");
    }

    // Delete the graph with kubectl: the collector deletes its policies.
    let started = Instant::now();
    ok(&c.kubectl(&["delete", "servicegraph", &name], None));
    let mut left: BTreeSet<String>;
    loop {
        let now = policies(&c, &namespaces);
        left = owned
            .iter()
            .filter(|p| now.contains_key(*p))
            .cloned()
            .collect();
        if left.is_empty() || started.elapsed() > GC_BOUND {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        left.is_empty(),
        "{} of the graph's {} policies still there {GC_BOUND:?} after deleting it: {left:?}",
        left.len(),
        owned.len()
    );
    eprintln!(
        "the garbage collector deleted the graph's {} policies in {:?}",
        owned.len(),
        started.elapsed()
    );

    // Everything else stays (checked once more a moment later: the
    // collector had its chance).
    std::thread::sleep(Duration::from_secs(2));
    let after = policies(&c, &namespaces);
    let expected: BTreeSet<String> = unowned.union(&others).cloned().collect();
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let out = c.kubectl(&["get", "servicegraph", &name], None);
    assert!(
        stderr(&out).contains("NotFound"),
        "the graph is gone: {}",
        stderr(&out)
    );
    ok(&c.kubectl(&["get", "servicegraph", &other_name], None));
}

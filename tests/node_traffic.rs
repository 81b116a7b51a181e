//! Node traffic and host-network pods, through the binary on
//! tests/fixtures/nodes/clinic.yaml.
//!
//! The API's rule: traffic between a pod and the node it runs on is always
//! allowed. The tool's documented model: a host-network pod is its node's
//! address (never isolated, never matched by selectors, matched by
//! ipBlocks, named ports do not resolve on it). Asked by name or by
//! address, a connection gets the same answer, and `matrix` agrees with
//! `can` on every pair.

use serde_json::Value;

mod common;
use common::*;

const CLINIC: &str = "tests/fixtures/nodes/clinic.yaml";

/// `can SRC DST [--port P] -o json` on the fixture: (exit code, report).
fn can(from: &str, to: &str, port: Option<&str>) -> (i32, Value) {
    let mut args = vec!["can", from, to, "-f", CLINIC, "-o", "json"];
    if let Some(p) = port {
        args.extend(["--port", p]);
    }
    let out = netpol().args(&args).output().expect("run");
    let code = out.status.code().expect("exit code");
    assert!(
        code == 0 || code == 1,
        "{args:?}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = parse_json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        v["allowed"],
        code == 0,
        "{args:?}: exit code and allowed agree"
    );
    (code, v)
}

fn allowed(from: &str, to: &str, port: Option<&str>) -> bool {
    can(from, to, port).0 == 0
}

#[test]
fn a_pod_and_its_own_node_always_reach_each_other() {
    // Under a deny-all for both directions.
    let (code, v) = can("172.20.0.11", "ward/api", Some("8080"));
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["node"]["name"], "n1");
    assert_eq!(v["node"]["address"], "172.20.0.11");
    assert_eq!(v["node"]["pod"], "ward/api");
    assert_eq!(v["egress"]["endpoint"], "node");
    // The sides still say what the policies alone decide.
    assert_eq!(v["ingress"]["allowed"], false);
    // The node's other address (ExternalIP of the Node object) is the node too.
    assert!(allowed("203.0.113.11", "ward/api", Some("8080")));
    // node/NAME names the node.
    assert!(allowed("node/n1", "ward/api", None));
    // And the pod may reach its node, although egress is denied.
    assert!(allowed("ward/api", "172.20.0.11", Some("10250")));
    assert!(allowed("ward/api", "node/n1", Some("10250")));
}

#[test]
fn another_node_follows_the_policies() {
    let (code, v) = can("172.20.0.12", "ward/api", Some("8080"));
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["node"], Value::Null);
    assert!(!allowed("node/n2", "ward/api", None));
    // From another node the ipBlock of the node network decides.
    assert!(allowed("172.20.0.11", "ward/worker", Some("8080")));
    assert!(!allowed("172.20.0.11", "ward/worker", Some("9000")));
    assert!(!allowed("ward/worker", "172.20.0.11", Some("8080")));
}

#[test]
fn an_unknown_node_is_said_not_guessed() {
    let (code, v) = can("172.20.0.11", "ward/batch", Some("7000"));
    assert_eq!(code, 1, "policies decide when the pod's node is unknown");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("the addresses of the node ward/deployment/batch runs on are unknown"),
        "{notes}"
    );
}

#[test]
fn host_network_pods_are_their_node_by_name_and_by_address() {
    // (source, destination, port, expected); every name of a host-network
    // pod is asked again with its address.
    let cases: &[(&str, &str, Option<&str>, bool)] = &[
        // A selector cannot admit a host-network source...
        ("ops/agent-n2", "ward/api", Some("8080"), false),
        // ...but its node's ipBlock can.
        ("ops/agent-n1", "ward/worker", Some("8080"), true),
        ("ops/agent-n1", "ward/worker", Some("9000"), false),
        // Same node: always.
        ("ops/agent-n1", "ward/api", Some("8080"), true),
        ("ward/worker", "ops/agent-n2", Some("9100"), true),
        // A host-network destination: only the source's egress decides
        // (ops's deny-all does not isolate it), and selectors miss it.
        ("ward/api", "ops/agent-n2", Some("9100"), false),
        ("ward/worker", "ops/agent-n1", Some("9100"), true),
        ("ward/worker", "ops/agent-n1", Some("9200"), false),
    ];
    fn address(r: &str) -> &str {
        match r {
            "ops/agent-n1" => "172.20.0.11",
            "ops/agent-n2" => "172.20.0.12",
            other => other,
        }
    }
    for &(from, to, port, want) in cases {
        assert_eq!(
            allowed(from, to, port),
            want,
            "{from} -> {to} {port:?} by name"
        );
        let (a, b) = (address(from), address(to));
        assert_eq!(allowed(a, b, port), want, "{a} -> {b} {port:?} by address");
    }
}

#[test]
fn named_ports_do_not_resolve_on_a_host_network_destination() {
    // worker's rule `ipBlock 172.20.0.0/24, port: metrics` admits nothing
    // towards agent-n1 (another node): 9100 comes only from the /32 rule.
    let (code, v) = can("ward/worker", "ops/agent-n1", Some("9100"));
    assert_eq!(code, 0);
    let by: Vec<u64> = v["egress"]["allowedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_u64().unwrap())
        .collect();
    assert_eq!(by, vec![3], "{v:#}");
}

#[test]
fn selector_misses_on_host_network_pods_are_explained() {
    let out = netpol()
        .args([
            "can",
            "ops/agent-n2",
            "ward/api",
            "--port",
            "8080",
            "-f",
            CLINIC,
        ])
        .assert()
        .code(1);
    let text = stdout_of(&out);
    assert!(
        text.contains("selectors do not match host-network pods"),
        "{text}"
    );
    assert!(
        text.contains("Egress of ops/agent-n2: on the host network"),
        "{text}"
    );
}

#[test]
fn explain_names_the_node_and_marks_host_network_pods() {
    let out = netpol()
        .args(["explain", "ward/api", "-f", CLINIC, "-o", "json"])
        .assert()
        .success();
    let v = parse_json(&stdout_of(&out));
    assert_eq!(v["pod"]["node"]["name"], "n1");
    assert_eq!(
        v["pod"]["node"]["addresses"],
        serde_json::json!(["172.20.0.11", "203.0.113.11"])
    );
    let text = stdout_of(
        &netpol()
            .args(["explain", "ward/api", "-f", CLINIC])
            .assert()
            .success(),
    );
    assert!(
        text.contains("Node:        n1 (172.20.0.11, 203.0.113.11)"),
        "{text}"
    );
    // An ipBlock peer that covers host-network pods marks them.
    let text = stdout_of(
        &netpol()
            .args(["explain", "ward/worker", "-f", CLINIC])
            .assert()
            .success(),
    );
    assert!(text.contains("ops/agent-n1 (host network)"), "{text}");
    // A host-network pod: ops's deny-all selects it by labels, to no effect.
    let v = parse_json(&stdout_of(
        &netpol()
            .args(["explain", "ops/agent-n1", "-f", CLINIC, "-o", "json"])
            .assert()
            .success(),
    ));
    assert_eq!(v["ingress"]["isolated"], false);
    assert_eq!(v["egress"]["isolated"], false);
    assert!(
        v["notes"]
            .to_string()
            .contains("ops/deny-all select it, to no effect"),
        "{:#}",
        v["notes"]
    );
}

#[test]
fn matrix_agrees_with_can_on_every_pair() {
    let out = netpol()
        .args(["matrix", "-f", CLINIC, "-o", "json"])
        .assert()
        .success();
    let v = parse_json(&stdout_of(&out));
    let pods: Vec<String> = v["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(pods.len(), 5);
    let mut checked = 0;
    for a in &pods {
        for b in &pods {
            if a == b {
                continue;
            }
            let in_matrix = v["connections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["from"] == a.as_str() && c["to"] == b.as_str())
                .map(|c| c["ports"].clone());
            if a.starts_with("ops/") && b.starts_with("ops/") {
                // Two host-network pods: node to node, which NetworkPolicy
                // does not restrict (can refuses the question as such).
                assert_eq!(in_matrix, Some(Value::from("all")), "{a} -> {b}");
                one_error(&["can", a, b, "-f", CLINIC], 2);
                checked += 1;
                continue;
            }
            let (code, report) = can(a, b, None);
            match in_matrix {
                Some(ports) => {
                    assert_eq!(code, 0, "{a} -> {b}: matrix {ports}, can {report:#}");
                    assert_eq!(ports, report["ports"], "{a} -> {b}");
                }
                None => assert_eq!(code, 1, "{a} -> {b}: matrix says nothing, can {report:#}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 20);
    // Node traffic is in it: agent-n1 <-> api on every port.
    let all = |from: &str, to: &str| {
        v["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["from"] == from && c["to"] == to && c["ports"] == "all")
    };
    assert!(all("ops/agent-n1", "ward/api"));
    assert!(all("ward/api", "ops/agent-n1"));
}

#[test]
fn unknown_nodes_are_not_found_with_the_known_ones() {
    let err = one_error(&["can", "node/n9", "ward/api", "-f", CLINIC], 2);
    assert!(err.contains("nodes \"n9\" not found"), "{err}");
    assert!(err.contains("known nodes: n1, n2"), "{err}");
}

#[test]
fn coverage_and_matrix_mark_host_network_pods() {
    let v = parse_json(&stdout_of(
        &netpol()
            .args(["coverage", "-f", CLINIC, "-o", "json"])
            .assert()
            .success(),
    ));
    let ops = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "ops")
        .unwrap();
    assert_eq!(
        ops["hostNetwork"],
        serde_json::json!(["ops/agent-n1", "ops/agent-n2"])
    );
    // Not offered as pods a policy could still isolate.
    assert_eq!(ops["notIsolatedIngress"], serde_json::json!([]));
    let out = netpol().args(["matrix", "-f", CLINIC]).assert().success();
    let text = stdout_of(&out);
    assert!(text.contains("[1] ops/agent-n1 (host network)"), "{text}");
    assert!(
        stderr_of(&out).contains("treated as their node's address"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn explain_of_a_node_address_names_its_host_network_pods() {
    let err = one_error(&["explain", "172.20.0.11", "-f", CLINIC], 1);
    assert!(err.contains("address of node n1"), "{err}");
    assert!(err.contains("ops/agent-n1"), "{err}");
}

const TWIN: &str = "tests/fixtures/dual-stack/pair.yaml";

fn can_twin(from: &str, to: &str) -> (i32, Value) {
    let out = netpol()
        .args(["can", from, to, "--port", "80", "-f", TWIN, "-o", "json"])
        .output()
        .expect("run");
    let v = parse_json(&String::from_utf8_lossy(&out.stdout));
    (out.status.code().expect("exit code"), v)
}

/// A connection uses one address family: each side's ipBlocks see the
/// other end's address of that family, never one of each.
#[test]
fn dual_stack_connections_are_decided_per_address_family() {
    let (code, v) = can_twin("twin/left", "twin/right");
    assert_eq!(
        code, 1,
        "IPv4 refused by left's egress, IPv6 by right's ingress: {v:#}"
    );
    assert!(
        v["notes"].to_string().contains(
            "over IPv4 nothing, over IPv6 nothing; the rules shown above are those of IPv4"
        ),
        "{v:#}"
    );
    let (code, v) = can_twin("twin/left", "twin/middle");
    assert_eq!(code, 0, "{v:#}");
    assert!(
        v["notes"]
            .to_string()
            .contains("over IPv4 nothing, over IPv6 TCP/all")
            || v["notes"]
                .to_string()
                .contains("over IPv4 nothing, over IPv6 every port"),
        "{:#}",
        v["notes"]
    );
    // A given address is one family: left to right's IPv6 address.
    let (code, _) = can_twin("twin/left", "fd70::2:5");
    assert_eq!(code, 1);
    let (code, _) = can_twin("twin/left", "fd70::2:6");
    assert_eq!(code, 0);
    // Single-stack ends of different families cannot connect at all.
    let (code, v) = can_twin("twin/v4only", "twin/v6only");
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["notes"]
            .to_string()
            .contains("no address family in common"),
        "{:#}",
        v["notes"]
    );
    // The matrix agrees.
    let out = netpol()
        .args(["matrix", "-f", TWIN, "-o", "json"])
        .assert()
        .success();
    let m = parse_json(&stdout_of(&out));
    let has = |from: &str, to: &str| {
        m["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["from"] == from && c["to"] == to)
    };
    assert!(!has("twin/left", "twin/right"));
    assert!(has("twin/left", "twin/middle"));
    assert!(!has("twin/v4only", "twin/v6only"));
    assert!(has("twin/v4only", "twin/middle"));
}

#[test]
fn neither_end_on_the_pod_network_is_one_answer_by_name_or_address() {
    // agent-n1 by name, then by its address: the same refusal.
    let by_name = one_error(&["can", "ops/agent-n1", "203.0.113.99", "-f", CLINIC], 2);
    assert!(
        by_name.contains(
            "ops/agent-n1 uses the host network and 203.0.113.99 is outside the pod network"
        ),
        "{by_name}"
    );
    let by_address = one_error(&["can", "172.20.0.11", "172.20.0.12", "-f", CLINIC], 2);
    assert!(
        by_address.contains("172.20.0.11 is a node's address and 172.20.0.12 is a node's address"),
        "{by_address}"
    );
    let both = one_error(&["can", "ops/agent-n1", "ops/agent-n2", "-f", CLINIC], 2);
    assert!(
        both.contains("neither end is a pod on the pod network"),
        "{both}"
    );
}

#[test]
fn a_pod_known_by_node_name_only_gets_node_traffic_from_that_node() {
    // ward/batch-like pod with spec.nodeName n2 and no hostIP: the node's
    // address comes from the Node object (and from other pods on n2).
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: fresh, namespace: ward, labels: {app: fresh}}\nspec: {nodeName: n2, containers: [{name: c, image: x}]}\nstatus: {phase: Running, podIP: 10.60.2.9}\n",
    )
    .unwrap();
    let extra = extra.display().to_string();
    for from in ["172.20.0.12", "node/n2"] {
        let out = netpol()
            .args(["can", from, "ward/fresh", "-f", CLINIC, "-f", &extra])
            .assert()
            .code(0);
        assert!(
            stdout_of(&out).contains("Node traffic"),
            "{}",
            stdout_of(&out)
        );
    }
    // Without Node objects: from another pod's host IP on the same node.
    let no_nodes: String = std::fs::read_to_string(CLINIC)
        .unwrap()
        .split("\n---\n")
        .filter(|d| !d.contains("kind: Node\n"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let bare = dir.path().join("bare.yaml");
    std::fs::write(&bare, no_nodes).unwrap();
    let bare = bare.display().to_string();
    netpol()
        .args(["can", "node/n2", "ward/fresh", "-f", &bare, "-f", &extra])
        .assert()
        .code(0);
}

#[test]
fn node_references_are_checked_like_other_references() {
    // explain is about pods and Services, not nodes.
    // A usage error: exit 2 (issue 12 item 13).
    let err = one_error(&["explain", "node/n1", "-f", CLINIC], 2);
    assert!(err.contains("not a node"), "{err}");
    assert!(err.contains("kubectl netpol can node/n1 POD"), "{err}");
    // A namespace called `node` with a pod named like a node: ambiguous.
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("node-ns.yaml");
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: node}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: n1, namespace: node}\nspec: {nodeName: n1, containers: [{name: c, image: x}]}\nstatus: {phase: Running, podIP: 10.60.9.9}\n",
    )
    .unwrap();
    let extra = extra.display().to_string();
    let err = one_error(
        &["can", "node/n1", "ward/api", "-f", CLINIC, "-f", &extra],
        2,
    );
    assert!(err.contains("\"node/n1\" is ambiguous"), "{err}");
    assert!(err.contains("node/pod/n1, or -n node n1"), "{err}");
}

/// `node/NAME` is the node with all its addresses: towards an IPv6-only
/// pod it uses its IPv6 address (it was its first address only).
#[test]
fn a_node_reference_uses_the_node_address_of_each_family() {
    let (code, v) = can_twin("node/n3", "twin/v6only");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["from"], "node/n3");
    assert_eq!(v["egress"]["endpoint"], "node");
    let (code, _) = can_twin("fd70::3", "twin/v6only");
    assert_eq!(code, 0);
    let (code, _) = can_twin("10.70.0.3", "twin/v6only");
    assert_eq!(code, 1, "an IPv4 address cannot reach an IPv6-only pod");
}

/// `--port NAME` towards a node's address means the named port of the
/// host-network pods listening there, as it does towards the pod by name.
#[test]
fn a_named_port_on_a_node_address_is_its_host_network_pods_port() {
    for to in ["ops/agent-n1", "172.20.0.11", "node/n1"] {
        let (code, v) = can("ward/worker", to, Some("metrics"));
        assert_eq!(code, 0, "{to}: {v:#}");
        assert_eq!(v["port"], "TCP/9100", "{to}");
    }
    let err = one_error(
        &[
            "can",
            "ward/worker",
            "203.0.113.5",
            "--port",
            "metrics",
            "-f",
            CLINIC,
        ],
        2,
    );
    assert!(
        err.contains("no host-network pod on 203.0.113.5 declares it"),
        "{err}"
    );
}

//! `kubectl netpol diff OLD NEW` on manifests: the hermetic binary (see
//! tests/common). The expected changes of tests/fixtures/diff were worked
//! out by hand from the two files, not copied from the tool's output:
//!
//! - closed: monitoring/prom-0 -> backend/api-0 on TCP/9090 (the rule
//!   admitting the monitoring namespace is gone from backend/api-ingress);
//! - changed: backend/api-0 -> backend/db-0, TCP/5432 => TCP/5432-5433;
//! - opened to addresses: frontend's web pods (one Deployment, 3 pods)
//!   -> 10.5.0.0/16 on TCP/443;
//! - a new namespace and pod (payments/pay, 10.6.0.1): open to and from
//!   every pod that is not egress-isolated, and to and from every address;
//! - a deleted namespace and pod (legacy/old-app-0): everything it had
//!   closes;
//! - unchanged though edited: backend/api-from-db-old-name renamed to
//!   backend/api-from-db, its ports reordered (db-0 -> api-0 on 9998-9999
//!   stays), and frontend -> payments stays closed (frontend's egress
//!   only reaches backend, and pay's IP is outside 10.5.0.0/16).

use serde_json::Value;

mod common;
use common::*;

const OLD: &str = "tests/fixtures/diff/old.yaml";
const NEW: &str = "tests/fixtures/diff/new.yaml";

fn diff_json(args: &[&str], code: i32) -> Value {
    let a = netpol()
        .args(args)
        .arg("-o")
        .arg("json")
        .assert()
        .code(code);
    parse_json(&stdout_of(&a))
}

/// The change entry from `from` to `to`, if any.
fn entry<'a>(list: &'a Value, from: &str, to: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["from"] == from && e["to"] == to)
}

#[test]
fn the_fixture_changes_are_found_with_their_reasons() {
    let v = diff_json(&["diff", OLD, NEW], 1);
    assert_eq!(
        keys(&v),
        ["complete", "changes", "external", "undecided", "notes"]
            .into_iter()
            .collect()
    );
    assert_eq!(v["complete"], true);
    assert_eq!(v["undecided"], serde_json::json!([]));
}

/// payments/pay as a Deployment without pods yet: no IP, and frontend's
/// new egress rule admits 10.5.0.0/16 on TCP/443: whether web -> pay opens
/// depends on the IP pay gets (`can` says UNKNOWN), so those 3 pairs are
/// `undecided`, not claimed unchanged, and the exit status is 2.
#[test]
fn a_workload_without_pods_facing_an_ipblock_is_undecided() {
    let dir = tempfile::tempdir().unwrap();
    let new = std::fs::read_to_string(NEW).unwrap().replace(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pay, namespace: payments, labels: {app: pay}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 8443}]}]}\nstatus: {podIP: 10.6.0.1}",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pay, namespace: payments}\nspec:\n  selector: {matchLabels: {app: pay}}\n  template:\n    metadata: {labels: {app: pay}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8443}]}]}",
    );
    assert!(new.contains("kind: Deployment\nmetadata: {name: pay"));
    let new = write(&dir, "new-deployment.yaml", &new);
    let v = diff_json(&["diff", OLD, &new], 2);
    assert_eq!(v["complete"], false);
    for pod in ["aaaaa", "bbbbb", "ccccc"] {
        let from = format!("frontend/web-7d4b9-{pod}");
        let u =
            entry(&v["undecided"], &from, "payments/deployment/pay").expect("web -> pay undecided");
        assert_eq!(u["after"], Value::Null, "nothing for certain");
        assert!(
            u["reasons"][0]
                .as_str()
                .unwrap()
                .contains("frontend/egress-out (changed) egress[1] may admit it (TCP/443): the destination has no IP yet"),
            "{u}"
        );
        assert!(entry(&v["changes"], &from, "payments/deployment/pay").is_none());
    }
    // What does not depend on pay's IP is still shown.
    assert!(
        entry(
            &v["changes"],
            "monitoring/prom-0",
            "payments/deployment/pay"
        )
        .is_some()
    );
    let a = netpol().args(["diff", OLD, &new]).assert().code(2);
    let out = stdout_of(&a);
    assert_eq!(
        stderr_of(&a),
        "error: not everything could be compared (3 pairs may change (undecided)); the changes found are listed (see the notes)\n"
    );
    assert!(
        out.starts_with("Not everything was compared: 3 pairs may change (undecided) (see the notes).\n\nOpened:\n"),
        "{out}"
    );
    assert!(
        out.contains("May change (undecided):\n? frontend/web-7d4b9-aaaaa -> payments/deployment/pay  for certain: nothing => nothing\n"),
        "{out}"
    );
    let changes = &v["changes"];
    let closed = entry(changes, "monitoring/prom-0", "backend/api-0").expect("prom -> api");
    assert_eq!(closed["change"], "removed");
    assert_eq!(closed["before"], serde_json::json!(["TCP/9090"]));
    assert_eq!(closed["after"], Value::Null);
    let reasons: Vec<&str> = closed["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(
            &"ingress: backend/api-ingress (changed) ingress[1] no longer admits it (TCP/9090)"
        ),
        "{reasons:?}"
    );
    let changed = entry(changes, "backend/api-0", "backend/db-0").expect("api -> db");
    assert_eq!(changed["change"], "changed");
    assert_eq!(changed["before"], serde_json::json!(["TCP/5432"]));
    assert_eq!(changed["after"], serde_json::json!(["TCP/5432-5433"]));
    // New and deleted workloads and namespaces.
    let opened =
        entry(changes, "monitoring/prom-0", "payments/deployment/pay").expect("prom -> pay");
    assert_eq!(opened["change"], "added");
    assert_eq!(opened["before"], Value::Null);
    assert_eq!(opened["after"], "all");
    let gone = entry(changes, "legacy/old-app-0", "monitoring/prom-0").expect("old -> prom");
    assert_eq!(gone["change"], "removed");
    // Unchanged though the policy was renamed and reordered, and pairs
    // that were closed and stay closed.
    assert!(entry(changes, "backend/db-0", "backend/api-0").is_none());
    assert!(
        entry(
            changes,
            "frontend/web-7d4b9-aaaaa",
            "payments/deployment/pay"
        )
        .is_none()
    );
    assert!(entry(changes, "frontend/web-7d4b9-aaaaa", "backend/api-0").is_none());
    // Addresses, as CIDR ranges, per pod.
    let external = &v["external"];
    for pod in ["aaaaa", "bbbbb", "ccccc"] {
        let e = entry(
            external,
            &format!("frontend/web-7d4b9-{pod}"),
            "10.5.0.0/16",
        )
        .unwrap_or_else(|| panic!("web {pod} -> 10.5.0.0/16 in {external}"));
        assert_eq!(e["change"], "added");
        assert_eq!(e["after"], serde_json::json!(["TCP/443"]));
    }
    assert_eq!(
        entry(external, "0.0.0.0/0", "payments/deployment/pay").expect("to pay")["change"],
        "added"
    );
    // No IPv6 anywhere in the input: no IPv6 ranges.
    assert!(!external.to_string().contains("::/0"), "{external}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("backend/api-from-db (added)")
            && notes.contains("backend/api-from-db-old-name (deleted)"),
        "{notes}"
    );
}

/// The same Deployment without pods, with the cluster's Nodes in NEW: when
/// every node's `spec.podCIDRs` is known, pay's IP will come from them, so
/// an ipBlock that reaches none of them cannot match it and web -> pay is
/// decided (it stays closed: 10.6.0.0/16 is neither in 10.5.0.0/16 nor
/// outside 10.0.0.0/8). A pod CIDR inside 10.5.0.0/16, or a node whose pod
/// CIDRs are unknown, leaves it undecided.
#[test]
fn known_pod_cidrs_decide_an_ipblock_facing_a_pod_without_ip() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(NEW).unwrap().replace(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: pay, namespace: payments, labels: {app: pay}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 8443}]}]}\nstatus: {podIP: 10.6.0.1}",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: pay, namespace: payments}\nspec:\n  selector: {matchLabels: {app: pay}}\n  template:\n    metadata: {labels: {app: pay}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8443}]}]}",
    );
    assert!(base.contains("kind: Deployment\nmetadata: {name: pay"));
    let node = |name: &str, cidrs: &str| {
        format!(
            "\n---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nspec: {{{cidrs}}}\nstatus: {{addresses: [{{type: InternalIP, address: 192.168.9.{}}}]}}\n",
            name.len()
        )
    };
    let web_pay = |v: &serde_json::Value, list: &str| {
        entry(
            &v[list],
            "frontend/web-7d4b9-aaaaa",
            "payments/deployment/pay",
        )
        .is_some()
    };
    // Known, and out of the rule's reach: decided, nothing undecided.
    let known = write(
        &dir,
        "known.yaml",
        &format!(
            "{base}{}{}",
            node("n1", "podCIDR: 10.6.0.0/24, podCIDRs: [10.6.0.0/24]"),
            node("n22", "podCIDRs: [10.6.1.0/24]")
        ),
    );
    let v = diff_json(&["diff", OLD, &known], 1);
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["undecided"], serde_json::json!([]));
    assert!(!web_pay(&v, "changes"), "stays closed: {v}");
    netpol()
        .args([
            "can",
            "frontend/web-7d4b9-aaaaa",
            "payments/deployment/pay",
            "--port",
            "443",
            "-f",
            &known,
        ])
        .assert()
        .code(1);
    // A pod CIDR the rule reaches (10.5.3.0/24 in 10.5.0.0/16): undecided.
    let inside = write(
        &dir,
        "inside.yaml",
        &format!(
            "{base}{}{}",
            node("n1", "podCIDRs: [10.6.0.0/24]"),
            node("n22", "podCIDRs: [10.5.3.0/24]")
        ),
    );
    let v = diff_json(&["diff", OLD, &inside], 2);
    assert!(web_pay(&v, "undecided"), "{v}");
    // A node whose pod CIDRs are unknown: undecided.
    let partly = write(
        &dir,
        "partly.yaml",
        &format!(
            "{base}{}{}",
            node("n1", "podCIDRs: [10.6.0.0/24]"),
            node("n22", "")
        ),
    );
    let v = diff_json(&["diff", OLD, &partly], 2);
    assert!(web_pay(&v, "undecided"), "{v}");
}

#[test]
fn text_groups_a_workload_and_ends_with_the_counts() {
    let a = netpol().args(["diff", OLD, NEW]).assert().code(1);
    let out = stdout_of(&a);
    assert!(stderr_of(&a).is_empty(), "{}", stderr_of(&a));
    assert!(out.starts_with("Opened:\n"), "{out}");
    for line in [
        "Opened:",
        "Closed:",
        "Changed:",
        "- monitoring/prom-0 -> backend/api-0  TCP/9090",
        "~ backend/api-0 -> backend/db-0  TCP/5432 => TCP/5432-5433",
        "+ frontend/deployment/web (3 pods) -> 10.5.0.0/16  TCP/443",
        "+ payments/pay -> frontend/deployment/web (3 pods)  all ports",
        "+ monitoring/prom-0 -> payments/pay  all ports",
        "- legacy/old-app-0 -> monitoring/prom-0  all ports",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{line:?} missing in:\n{out}"
        );
    }
    // The count line counts pod pairs and (pod, range) entries:
    // opened: 3 web pods -> 10.5/16; pay -> prom and web x3 (api and db
    // admit only web and api); api, db, prom -> pay (web's egress reaches
    // backend only); pay to and from every address: 3 + 4 + 3 + 2.
    // Closed: prom -> api; old-app -> prom and web x3; api, db, prom ->
    // old-app (web's egress excepts 10/8); old-app to and from every
    // address: 1 + 4 + 3 + 2. Changed: api -> db.
    assert_eq!(
        out.lines().last(),
        Some("12 opened, 10 closed, 1 changed"),
        "{out}"
    );
    // -o wide lists the pods.
    let wide = stdout_of(
        &netpol()
            .args(["diff", OLD, NEW, "-o", "wide"])
            .assert()
            .code(1),
    );
    assert!(
        wide.lines()
            .any(|l| l == "+ frontend/web-7d4b9-bbbbb -> 10.5.0.0/16  TCP/443"),
        "{wide}"
    );
    assert!(!wide.contains("(3 pods)"), "{wide}");
}

#[test]
fn an_edit_that_changes_no_connection_exits_0_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = std::fs::read_to_string(OLD)
        .unwrap()
        .replace("api-from-db-old-name", "api-from-db")
        .replace(
            "[{port: 9999}, {port: 9998}]",
            "[{port: 9998}, {port: 9999}]",
        );
    let path = dir.path().join("renamed.yaml");
    std::fs::write(&path, renamed).unwrap();
    let a = netpol()
        .args(["diff", OLD, path.to_str().unwrap()])
        .assert()
        .code(0);
    let out = stdout_of(&a);
    assert!(out.starts_with("No change in connectivity.\n"), "{out}");
    assert!(
        out.contains("2 NetworkPolicies differ, but no connection changes."),
        "{out}"
    );
    let v = diff_json(&["diff", OLD, path.to_str().unwrap()], 0);
    assert_eq!(v["changes"], serde_json::json!([]));
    assert_eq!(v["external"], serde_json::json!([]));
    // The same file twice: nothing at all.
    assert_eq!(
        stdout_of(&netpol().args(["diff", OLD, OLD]).assert().code(0)),
        "No change in connectivity.\n"
    );
}

#[test]
fn an_invalid_policy_leaves_its_namespace_uncompared_and_names_its_side() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: backend}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: 70}]\n";
    let path = dir.path().join("new-invalid.yaml");
    std::fs::write(&path, std::fs::read_to_string(NEW).unwrap() + invalid).unwrap();
    let new = path.to_str().unwrap();
    // A change elsewhere is shown, but the answer is not complete: exit 2,
    // and the text leads with what was not compared.
    let a = netpol().args(["diff", OLD, new]).assert().code(2);
    let out = stdout_of(&a);
    assert!(
        out.starts_with(
            "Not everything was compared: some pods were not compared (see the notes).\n\nOpened:\n"
        ),
        "{out}"
    );
    assert!(!out.contains("No change"), "{out}");
    assert!(
        out.contains("+ monitoring/prom-0 -> payments/pay  all ports"),
        "{out}"
    );
    let a = netpol()
        .args(["diff", OLD, new, "-o", "json"])
        .assert()
        .code(2);
    let err = stderr_of(&a);
    assert!(
        err.contains(&format!(
            "warning: NEW ({new}): NetworkPolicy \"backend/broken\" is invalid"
        )) && err.contains("spec.ingress[0].ports[0].endPort"),
        "{err}"
    );
    let v = parse_json(&stdout_of(&a));
    assert_eq!(v["complete"], false);
    // Nothing about backend's pods is claimed, either way.
    let text = v["changes"].to_string();
    assert!(!text.contains("backend/"), "{text}");
    assert!(entry(&v["changes"], "monitoring/prom-0", "payments/pay").is_some());
    assert!(
        v["notes"].to_string().contains(
            "not compared: connections to and from the 2 pods of namespace backend (NetworkPolicy \\\"backend/broken\\\" is invalid on the new side)"
        ),
        "{}",
        v["notes"]
    );
    // When nothing else changes, the answer is not "no change": exit 2.
    let same = dir.path().join("old-invalid.yaml");
    std::fs::write(&same, std::fs::read_to_string(OLD).unwrap() + invalid).unwrap();
    let a = netpol()
        .args(["diff", OLD, same.to_str().unwrap()])
        .assert()
        .code(2);
    assert!(
        stderr_of(&a).contains(
            "error: not everything could be compared (some pods were not compared); no change found among the pairs compared (see the notes)"
        ),
        "{}",
        stderr_of(&a)
    );
}

#[test]
fn bad_invocations_are_one_error_line_exit_2() {
    assert!(one_error(&["diff"], 2).contains("nothing to compare"));
    assert!(one_error(&["diff", OLD, NEW, "-f", NEW], 2).contains("not both"));
    assert!(one_error(&["diff", "-", "-"], 2).contains("cannot both be -"));
    assert!(one_error(&["diff", OLD, "/nonexistent.yaml"], 2).contains("does not exist"));
    assert!(one_error(&["diff", OLD, NEW, "--prune", "-l", "a=b"], 2).contains("-f NEW"));
    assert!(one_error(&["diff", "-f", NEW, "--prune"], 2).contains("--prune needs -l SELECTOR"));
    assert!(one_error(&["diff", "-f", NEW, "-l", "app=x"], 2).contains("with --prune"));
    assert!(
        one_error(
            &[
                "diff",
                "-f",
                NEW,
                "--prune-allowlist=networking.k8s.io/v1/NetworkPolicy"
            ],
            2
        )
        .contains("--prune-allowlist applies with --prune")
    );
    assert!(one_error(&["diff", OLD, NEW, "-A"], 2).contains("-A/--all-namespaces does not apply"));
    // kubectl's words for an allowlist entry it cannot read, before any
    // cluster is contacted.
    assert_eq!(
        one_error(
            &[
                "diff",
                "-f",
                NEW,
                "--prune",
                "-l",
                "a=b",
                "--prune-allowlist=Pod"
            ],
            2
        ),
        "error: invalid GroupVersionKind format: Pod, please follow <group/version/kind>"
    );
}

#[test]
fn stdin_and_process_substitution_paths_work() {
    let text = std::fs::read_to_string(NEW).unwrap();
    let a = netpol()
        .args(["diff", OLD, "-", "-o", "json"])
        .write_stdin(text)
        .assert()
        .code(1);
    let v = parse_json(&stdout_of(&a));
    assert!(entry(&v["changes"], "backend/api-0", "backend/db-0").is_some());
}

#[test]
fn help_teaches_both_forms_and_the_exit_codes() {
    let out = stdout_of(&netpol().args(["diff", "--help"]).assert().code(0));
    for want in [
        "kubectl netpol diff -f policies/",
        "kubectl netpol diff old/ new/",
        "--prune",
        "0 no change in connectivity, 1 changes",
    ] {
        assert!(out.contains(want), "{want:?} missing in:\n{out}");
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const DB_POLICY_OLD: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 5432}]\n";
const DB_POLICY_NEW: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{}]\n";

/// A CI gate on `diff <(git show main:netpol.yaml) netpol.yaml` with
/// policies only: opening the database to the world must not pass as "no
/// change" (exit 0); with the pods in the input, it is a change (exit 1).
#[test]
fn policy_only_manifests_are_never_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(&dir, "old.yaml", DB_POLICY_OLD);
    let new = write(&dir, "new.yaml", DB_POLICY_NEW);
    let a = netpol().args(["diff", &old, &new]).assert().code(2);
    let out = stdout_of(&a);
    assert!(!out.contains("No change in connectivity"), "{out}");
    assert!(
        out.starts_with("Not everything was compared: 1 NetworkPolicy selects no pod in the input"),
        "{out}"
    );
    assert!(
        out.contains("not compared: NetworkPolicy shop/db (changed) selects no pod in the manifests, so what it changes could not be compared: before: namespace/shop allows db from shop/web on TCP/5432; after: namespace/shop allows db from anywhere"),
        "{out}"
    );
    assert!(stderr_of(&a).starts_with("error: not everything could be compared"));
    let v = diff_json(&["diff", &old, &new], 2);
    assert_eq!(v["complete"], false);
    // With the pods: the change itself.
    let pods = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.2}\n";
    let old = write(&dir, "old-pods.yaml", &format!("{DB_POLICY_OLD}{pods}"));
    let new = write(&dir, "new-pods.yaml", &format!("{DB_POLICY_NEW}{pods}"));
    let v = diff_json(&["diff", &old, &new], 1);
    assert_eq!(v["complete"], true);
    let e = entry(&v["changes"], "shop/web", "shop/db").expect("web -> db");
    assert_eq!(e["before"], serde_json::json!(["TCP/5432"]));
    assert_eq!(e["after"], "all");
    assert!(entry(&v["external"], "0.0.0.0/0", "shop/db").is_some());
}

/// A pod in a namespace the manifests do not define: its labels are
/// unknown, so a namespaceSelector on them cannot be decided (`can` says
/// UNKNOWN); the pair is `undecided`, never "no change".
#[test]
fn a_namespace_missing_from_the_manifests_leaves_its_pairs_undecided() {
    let dir = tempfile::tempdir().unwrap();
    let common = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: g, namespace: ghost, labels: {app: g}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.2}\n";
    let policy = |team: &str| {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{matchLabels: {{team: {team}}}}}}}]\n"
        )
    };
    let old = write(&dir, "old.yaml", &format!("{common}{}", policy("a")));
    let new = write(&dir, "new.yaml", &format!("{common}{}", policy("b")));
    let a = netpol().args(["diff", &old, &new]).assert().code(2);
    let out = stdout_of(&a);
    assert!(!out.contains("No change in connectivity"), "{out}");
    assert!(
        out.contains("? ghost/g -> shop/web  for certain: nothing => nothing"),
        "{out}"
    );
    assert!(
        out.contains("new: shop/web (changed) ingress[0] may admit it (all ports): the labels of namespace ghost were not read"),
        "{out}"
    );
    let v = diff_json(&["diff", &old, &new], 2);
    assert_eq!(v["complete"], false);
    assert_eq!(v["changes"], serde_json::json!([]));
    assert_eq!(
        entry(&v["undecided"], "ghost/g", "shop/web").expect("undecided")["change"],
        "undecided"
    );
    // The same unknown on both sides, under an unchanged policy: the pair
    // keeps its answer, whatever ghost's labels are.
    assert_eq!(
        stdout_of(&netpol().args(["diff", &old, &old]).assert().code(0)),
        "No change in connectivity.\n"
    );
}

/// `diff old/ new/ -R` (as the README and --help show) recurses into both
/// directories; without -R their subdirectories are not read, as `kubectl
/// -f DIR` does, and a note says which.
#[test]
fn recursive_applies_to_old_and_new_directories() {
    let dir = tempfile::tempdir().unwrap();
    for (side, policy) in [("old", DB_POLICY_OLD), ("new", DB_POLICY_NEW)] {
        let sub = dir.path().join(side).join("shop");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("db.yaml"), policy).unwrap();
        std::fs::write(
            dir.path().join(side).join("pods.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop, labels: {app: db}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 10.0.0.2}\n",
        )
        .unwrap();
    }
    let old = dir.path().join("old");
    let new = dir.path().join("new");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let v = diff_json(&["diff", old, new, "-R"], 1);
    assert!(entry(&v["changes"], "shop/web", "shop/db").is_some(), "{v}");
    let a = netpol().args(["diff", old, new]).assert().code(0);
    let err = stderr_of(&a);
    assert!(
        err.contains(&format!(
            "note: {old}: subdirectories not read without -R (as kubectl -f DIR): shop"
        )) && err.contains(&format!("note: {new}: subdirectories")),
        "{err}"
    );
}

/// Dual-stack web and mon: web's egress moves from 10.2.0.0/16 to
/// fd00::/64, so web -> mon stays allowed (all ports both times, as `can`
/// says) but over IPv6 instead of IPv4: one changed pair, family by family.
#[test]
fn a_connection_that_moves_between_address_families_is_a_change() {
    let dir = "tests/fixtures/diff/dual-stack";
    let (old, new) = (format!("{dir}/old.yaml"), format!("{dir}/new.yaml"));
    let v = diff_json(&["diff", &old, &new], 1);
    let e = entry(&v["changes"], "shop/web", "ops/mon").expect("web -> mon is listed");
    assert_eq!(e["change"], "changed");
    assert_eq!(e["before"], "all");
    assert_eq!(e["after"], "all");
    assert_eq!(
        e["families"],
        serde_json::json!([
            {"family": "IPv4", "change": "removed", "before": "all", "after": null},
            {"family": "IPv6", "change": "added", "before": null, "after": "all"},
        ])
    );
    let reasons: Vec<&str> = e["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons[0]
            .starts_with("IPv4: egress: shop/web-out (changed) egress[0] no longer admits it"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("IPv6: egress: shop/web-out (changed) egress[0] now admits it"),
        "{reasons:?}"
    );
    // Single-family pairs carry no `families`.
    for e in v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["external"].as_array().unwrap())
    {
        if e["to"] != "ops/mon" {
            assert!(e.get("families").is_none(), "{e}");
        }
    }
    let a = netpol().args(["diff", &old, &new]).assert().code(1);
    assert!(
        stdout_of(&a).contains(
            "~ shop/web -> ops/mon  IPv4: all ports => nothing; IPv6: nothing => all ports\n"
        ),
        "{}",
        stdout_of(&a)
    );
}

/// A pod with IPv4 addresses only is not reached over IPv6: when other
/// pods are dual-stack, its closed ranges are IPv4 ones only.
#[test]
fn external_ranges_are_only_those_of_the_pods_own_families() {
    let dir = "tests/fixtures/diff/families";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    let to_pod3: Vec<&str> = v["external"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to"] == "b/pod3")
        .map(|e| e["from"].as_str().unwrap())
        .collect();
    assert_eq!(to_pod3, ["0.0.0.0/0"]);
}

/// Traffic between a pod and its own node is always allowed (`can
/// 192.168.0.10 shop/web` says ALLOWED): a deny-all closes every address
/// towards web but its node's.
#[test]
fn a_pods_own_node_is_taken_out_of_its_ranges() {
    let dir = "tests/fixtures/diff/node";
    let (old, new) = (format!("{dir}/old.yaml"), format!("{dir}/new.yaml"));
    let v = diff_json(&["diff", &old, &new], 1);
    let from: Vec<&str> = v["external"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["from"].as_str().unwrap())
        .collect();
    assert_eq!(from, ["0.0.0.0/0 except 192.168.0.10/32"]);
    netpol()
        .args(["can", "192.168.0.10", "shop/web", "-f", &new])
        .assert()
        .code(0)
        .stdout(predicates::str::starts_with("ALLOWED"));
}

fn reasons_of<'a>(list: &'a Value, from: &str, to: &str) -> Vec<&'a str> {
    entry(list, from, to).unwrap_or_else(|| panic!("{from} -> {to} is listed"))["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

/// Reasons name only what changed the pair's answer: not a renamed policy
/// that isolates the destination on both sides and admits nothing of the
/// pair, not the rules of a pod no longer isolated, not the other end's
/// namespace labels when a new pod explains the pair.
#[test]
fn reasons_name_only_what_changed_the_pair() {
    let dir = "tests/fixtures/diff/reasons";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    let c = &v["changes"];
    assert_eq!(
        reasons_of(c, "shop/api", "shop/db"),
        ["ingress: shop/db-in (changed) ingress[0] admits TCP/5432 => TCP/5433"]
    );
    assert_eq!(
        reasons_of(c, "shop/api", "ops/mon"),
        ["ingress: no longer isolated (was by ops/mon-in (changed))"]
    );
    assert_eq!(
        reasons_of(c, "shop/new-0", "ops/mon"),
        ["the source pod is new"]
    );
    assert_eq!(
        reasons_of(c, "ops/mon", "shop/new-0"),
        ["the destination pod is new"]
    );
}

/// A Pod `pay` and a Deployment `pay` without pods in one namespace: the
/// Deployment's representative pod is shop/deployment/pay (as `can`
/// takes it) in diff's text and JSON and in matrix, the Pod shop/pay.
#[test]
fn a_pod_and_a_podless_workload_of_one_name_stay_apart() {
    let dir = "tests/fixtures/diff/clash";
    let (old, new) = (format!("{dir}/old.yaml"), format!("{dir}/new.yaml"));
    let v = diff_json(&["diff", &old, &new], 1);
    assert!(
        entry(&v["changes"], "shop/pay", "shop/deployment/pay").is_some(),
        "{v}"
    );
    assert!(
        entry(&v["external"], "0.0.0.0/0", "shop/deployment/pay").is_some(),
        "{v}"
    );
    assert_eq!(v["changes"].as_array().unwrap().len(), 1, "{v}");
    let a = netpol().args(["diff", &old, &new]).assert().code(1);
    assert!(
        stdout_of(&a).contains("- shop/pay -> shop/deployment/pay  all ports\n"),
        "{}",
        stdout_of(&a)
    );
    let a = netpol()
        .args(["matrix", "-A", "-f", &new, "-o", "json"])
        .assert()
        .success();
    let m = parse_json(&stdout_of(&a));
    assert_eq!(
        m["connections"],
        serde_json::json!([{"from": "shop/deployment/pay", "to": "shop/pay", "ports": "all"}])
    );
    // can and explain name them the same way: two pods, not one.
    let a = netpol()
        .args(["can", "shop/deployment/pay", "shop/pay", "-f", &new])
        .assert()
        .code(0);
    let out = stdout_of(&a);
    assert!(
        out.starts_with("ALLOWED: shop/deployment/pay -> shop/pay on any port\n"),
        "{out}"
    );
    assert!(!out.contains("between two of them"), "{out}");
    let a = netpol()
        .args([
            "can",
            "shop/pay",
            "shop/deployment/pay",
            "-f",
            &new,
            "-o",
            "json",
        ])
        .assert()
        .code(1);
    let v = parse_json(&stdout_of(&a));
    assert_eq!(v["from"], "shop/pay");
    assert_eq!(v["to"], "shop/deployment/pay");
    assert_eq!(v["ingress"]["subject"], "shop/deployment/pay");
    let a = netpol()
        .args(["explain", "deployment/pay", "-n", "shop", "-f", &new])
        .assert()
        .code(0);
    let out = stdout_of(&a);
    assert!(
        out.starts_with("Pod:         shop/deployment/pay\n"),
        "{out}"
    );
    assert!(out.contains("=> shop/deployment/pay is isolated"), "{out}");
    let a = netpol()
        .args([
            "explain",
            "deployment/pay",
            "-n",
            "shop",
            "-f",
            &new,
            "-o",
            "json",
        ])
        .assert()
        .code(0);
    let v = parse_json(&stdout_of(&a));
    assert_eq!(v["pod"]["name"], "deployment/pay");
}

/// web -> mon opens only through an ipBlock holding mon's IP: as `can`,
/// diff's notes say that this depends on the CNI.
#[test]
fn a_change_resting_on_an_ipblock_matching_a_pod_carries_cans_caveat() {
    let dir = "tests/fixtures/diff/ipblock";
    let (old, new) = (format!("{dir}/old.yaml"), format!("{dir}/new.yaml"));
    let v = diff_json(&["diff", &old, &new], 1);
    assert!(entry(&v["changes"], "shop/web", "ops/mon").is_some(), "{v}");
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "1 listed pod pair rests on an ipBlock matching a pod's IP: egress rule #1 of shop/web-out reaches ops/mon through ipBlock 10.0.0.0/16, which holds pod IPs: whether 10.0.0.0/16 admits the pods inside it depends on the CNI (Calico: yes; Cilium and GKE Dataplane V2: no"
        )),
        "{notes:?}"
    );
    // No such note where no ipBlock holds a pod IP.
    let v = diff_json(&["diff", OLD, NEW], 1);
    assert!(
        !v["notes"].to_string().contains("matching a pod's IP"),
        "{}",
        v["notes"]
    );
}

/// A NetworkPolicy in `extensions/v1beta1` (served until Kubernetes 1.16,
/// refused by `kubectl apply` since) is never silently ignored: diff, list
/// and lint say which file and document hold it, and leave it out as the
/// other objects the API server rejects; diff does not call that "no
/// change" (exit 2).
#[test]
fn an_extensions_v1beta1_policy_is_a_warning_naming_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(&dir, "old.yaml", DB_POLICY_OLD);
    let new = write(
        &dir,
        "new.yaml",
        &format!(
            "{}---\n{}",
            DB_POLICY_OLD,
            DB_POLICY_NEW
                .replace("networking.k8s.io/v1", "extensions/v1beta1")
                .replace("name: db,", "name: db-legacy,")
        ),
    );
    let want = format!(
        "warning: {new}: document 2: NetworkPolicy shop/db-legacy: no matches for kind \"NetworkPolicy\" in version \"extensions/v1beta1\" (no longer served since Kubernetes 1.16: write networking.k8s.io/v1); the API server rejects such an object, so it is left out\n"
    );
    let a = netpol().args(["diff", &old, &new]).assert().code(2);
    assert!(stderr_of(&a).starts_with(&want), "{}", stderr_of(&a));
    for args in [["list", "-A", "-f", &new], ["lint", "-A", "-f", &new]] {
        let a = netpol().args(args).assert();
        assert!(stderr_of(&a).contains(&want), "{args:?}: {}", stderr_of(&a));
    }
}

/// A NetworkPolicy in a version or spelling no API server serves
/// (`networking.k8s.io/v1beta1`, `networking.k8s.io/v2`, `v1`, `kind:
/// NetworkPolicies`) is what kubectl apply refuses (`no matches for kind`):
/// every command warns naming its document and leaves it out, and diff
/// says it did not compare it (exit 2), never "No change in connectivity".
#[test]
fn a_policy_of_an_unserved_version_or_kind_is_never_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(&dir, "old.yaml", DB_POLICY_OLD);
    for (api, kind, hint) in [
        (
            "networking.k8s.io/v1beta1",
            "NetworkPolicy",
            "the API server serves NetworkPolicy in networking.k8s.io/v1",
        ),
        (
            "networking.k8s.io/v2",
            "NetworkPolicy",
            "the API server serves NetworkPolicy in networking.k8s.io/v1",
        ),
        (
            "v1",
            "NetworkPolicy",
            "the API server serves NetworkPolicy in networking.k8s.io/v1",
        ),
        (
            "networking.k8s.io/v1",
            "NetworkPolicies",
            "did you mean kind NetworkPolicy in networking.k8s.io/v1?",
        ),
    ] {
        let new = write(
            &dir,
            "new.yaml",
            &format!(
                "{}---
{}",
                DB_POLICY_OLD,
                DB_POLICY_NEW
                    .replace(
                        "apiVersion: networking.k8s.io/v1",
                        &format!("apiVersion: {api}")
                    )
                    .replace("kind: NetworkPolicy", &format!("kind: {kind}"))
                    .replace("name: db,", "name: open,")
            ),
        );
        let want = format!(
            "warning: {new}: document 2: {kind} shop/open: no matches for kind {kind:?} in version {api:?} ({hint}); the API server rejects such an object, so it is left out\n"
        );
        let a = netpol().args(["diff", &old, &new]).assert().code(2);
        let (out, err) = (stdout_of(&a), stderr_of(&a));
        assert!(err.starts_with(&want), "{api} {kind}: {err}");
        assert!(!out.contains("No change in connectivity"), "{out}");
        assert!(
            out.contains(
                "Not everything was compared: 1 object of a kind or version no API server serves"
            ),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "not compared: {kind} shop/open ({api}) in {new}: no API server serves kind"
            )),
            "{out}"
        );
        let v = diff_json(&["diff", &old, &new], 2);
        assert_eq!(v["complete"], false);
        for args in [["list", "-A", "-f", &new], ["lint", "-A", "-f", &new]] {
            let a = netpol().args(args).assert();
            assert!(stderr_of(&a).contains(&want), "{args:?}: {}", stderr_of(&a));
        }
    }
}

/// A pod's own change (labels, container ports) is a reason only for the
/// pairs it changed: api's lost label for api -> db (db-in's peer selects
/// it), not for api -> mon (mon-in's peer does not look at it); mon's
/// moved named port for api -> mon, db's new unnamed port for nothing.
#[test]
fn a_pods_own_change_is_a_reason_only_where_it_decides() {
    let dir = "tests/fixtures/diff/own";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    let c = &v["changes"];
    assert_eq!(c.as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        reasons_of(c, "shop/api", "shop/db"),
        [
            "the source pod's labels change: app=api,extra=x => app=api",
            "ingress: shop/db-in ingress[0] no longer admits it (TCP/5432)"
        ]
    );
    assert_eq!(
        reasons_of(c, "shop/api", "ops/mon"),
        [
            "the destination pod's container ports change",
            "ingress: ops/mon-in ingress[0] admits TCP/9090 => TCP/9091"
        ]
    );
}

/// A side's rule is named with the ports of it that reach the pair only:
/// api's new egress[2] admits TCP/443 to every pod, but db's ingress
/// admits TCP/5432 only, so api -> db opens on 5432 through egress[1]
/// alone; egress[2] decides nothing of that pair and is not named.
#[test]
fn a_rule_is_named_only_with_ports_the_other_side_admits() {
    let dir = "tests/fixtures/diff/reason-ports";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    let c = &v["changes"];
    assert_eq!(
        entry(c, "backend/api", "backend/db").unwrap()["after"],
        serde_json::json!(["TCP/5432"])
    );
    assert_eq!(
        reasons_of(c, "backend/api", "backend/db"),
        ["egress: backend/api-out (changed) egress[1] now admits it (TCP/5432)"]
    );
    // -o wide (pair by pair) says the same.
    let a = netpol()
        .args([
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
            "-o",
            "wide",
        ])
        .assert()
        .code(1);
    assert!(!stdout_of(&a).contains("egress[2]"), "{}", stdout_of(&a));
}

/// Policies of other engines in NEW (Cilium's, Calico's, Antrea's,
/// OVN-Kubernetes' EgressFirewall, OpenShift's EgressNetworkPolicy,
/// Istio's AuthorizationPolicy: any kind ending in Policy or Firewall
/// outside Kubernetes' own groups; the cluster policy tiers when not
/// read) are not evaluated: a note names them and
/// the run is incomplete (exit 2), never "no change".
#[test]
fn policies_of_other_kinds_are_named_and_never_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(OLD).unwrap();
    let new = write(
        &dir,
        "new.yaml",
        &format!(
            "{old}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: l7, namespace: backend}}\nspec: {{endpointSelector: {{}}}}\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: deny-all}}\nspec: {{selector: all()}}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: calico-np, namespace: backend}}\nspec: {{selector: all()}}\n---\napiVersion: crd.antrea.io/v1beta1\nkind: NetworkPolicy\nmetadata: {{name: antrea-np, namespace: backend}}\nspec: {{}}\n---\napiVersion: crd.antrea.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata: {{name: antrea-acnp}}\nspec: {{}}\n---\napiVersion: k8s.ovn.org/v1\nkind: EgressFirewall\nmetadata: {{name: default, namespace: backend}}\nspec: {{egress: []}}\n---\napiVersion: network.openshift.io/v1\nkind: EgressNetworkPolicy\nmetadata: {{name: default, namespace: frontend}}\nspec: {{egress: []}}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: deny, namespace: backend}}\nspec: {{}}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: not-network}}\nspec: {{validations: []}}\n---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: require-labels}}\nspec: {{rules: []}}\n"
        ),
    );
    let v = diff_json(&["diff", OLD, &new], 2);
    assert_eq!(v["complete"], false);
    assert_eq!(v["changes"], serde_json::json!([]));
    let notes = v["notes"].to_string();
    for said in [
        "CiliumNetworkPolicy backend/l7 (cilium.io/v2)",
        "GlobalNetworkPolicy deny-all (projectcalico.org/v3)",
        "NetworkPolicy backend/calico-np (projectcalico.org/v3)",
        "NetworkPolicy backend/antrea-np (crd.antrea.io/v1beta1)",
        "ClusterNetworkPolicy antrea-acnp (crd.antrea.io/v1beta1)",
        "EgressFirewall backend/default (k8s.ovn.org/v1)",
        "EgressNetworkPolicy frontend/default (network.openshift.io/v1)",
        "AuthorizationPolicy backend/deny (security.istio.io/v1)",
        "evaluates Kubernetes NetworkPolicy (networking.k8s.io/v1) and the cluster policies of policy.networking.k8s.io",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
    // Admission policies govern objects, not traffic.
    assert!(!notes.contains("ValidatingAdmissionPolicy"), "{notes}");
    assert!(!notes.contains("require-labels"), "{notes}");
    let a = netpol().args(["diff", OLD, &new]).assert().code(2);
    assert!(
        !stdout_of(&a).contains("No change in connectivity"),
        "{}",
        stdout_of(&a)
    );
    assert_eq!(
        stderr_of(&a),
        "error: not everything could be compared (8 policies of other kinds than NetworkPolicy); no change found among the pairs compared (see the notes)\n"
    );
}

/// The same object twice in NEW: kubectl apply applies each in turn, so
/// the last one stays: that is the one compared, and one warning names it.
#[test]
fn an_object_given_twice_warns_once_and_the_last_wins() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::fs::read_to_string(OLD).unwrap();
    let policy = |ports: &str| {
        format!(
            "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: twice, namespace: backend}}\nspec:\n  podSelector: {{}}\n  ingress: [{{ports: [{ports}]}}]\n"
        )
    };
    let new = write(
        &dir,
        "new.yaml",
        &format!(
            "{old}{}{}{}",
            policy("{port: 1}"),
            policy("{port: 2}"),
            policy("{port: 5432}, {port: 9090}, {port: 8080}")
        ),
    );
    let old_with = write(
        &dir,
        "old.yaml",
        &format!(
            "{old}{}",
            policy("{port: 5432}, {port: 9090}, {port: 8080}")
        ),
    );
    let a = netpol().args(["diff", &old_with, &new]).assert();
    let err = stderr_of(&a);
    assert_eq!(
        err.matches(
            "warning: NetworkPolicy backend/twice is given more than once: the last one is used"
        )
        .count(),
        1,
        "{err}"
    );
    // The last one is OLD's: it changes nothing.
    let v = diff_json(&["diff", &old_with, &new], 0);
    assert_eq!(v["changes"], serde_json::json!([]));
}

/// An unreachable server is said as the other commands say it.
#[test]
fn an_unreachable_server_is_one_error_line_as_elsewhere() {
    let err = one_error(&["diff", "-f", NEW, "--server", "https://127.0.0.1:1"], 2);
    assert!(
        err.starts_with("error: cannot list namespaces: ")
            && err.ends_with("(server https://127.0.0.1:1)"),
        "{err}"
    );
    let list = one_error(&["list", "--server", "https://127.0.0.1:1"], 1);
    assert_eq!(err, list, "the same words as list");
}

/// A rule that still admits the pair is no reason, even when the other
/// side now closes it: shop/front's egress closes (relabelled), db's
/// ingress[0] (tier=back) no longer admits it, and db's ingress[1]
/// (app=web) still does — it is not named.
#[test]
fn a_rule_that_still_admits_the_pair_is_no_reason() {
    let dir = "tests/fixtures/diff/still-admits";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    let c = &v["changes"];
    assert_eq!(
        reasons_of(c, "shop/front", "shop/db"),
        [
            "the source pod's labels change: app=web,tier=back => app=web,tier=front",
            "egress: shop/out-back egress[0] no longer admits it (TCP/5432, TCP/8443)",
            "ingress: shop/db-in ingress[0] no longer admits it (TCP/5432, TCP/8443)",
        ]
    );
}

/// Only the ports whose answer changed are reasons: 5432 moving from
/// api-out egress[0] to egress[1] is none; egress[1] is named for 8443.
#[test]
fn only_ports_whose_answer_changed_are_named() {
    let dir = "tests/fixtures/diff/moved-ports";
    let v = diff_json(
        &[
            "diff",
            &format!("{dir}/old.yaml"),
            &format!("{dir}/new.yaml"),
        ],
        1,
    );
    assert_eq!(
        reasons_of(&v["changes"], "backend/api", "backend/db"),
        ["egress: backend/api-out (changed) egress[1] now admits it (TCP/8443)"]
    );
}

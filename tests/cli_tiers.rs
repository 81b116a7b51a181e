//! The binary on the cluster policy tier fixtures (tests/fixtures/tiers):
//! `can`, `explain`, `list`, `lint`, `matrix` and `diff` with
//! ClusterNetworkPolicy (v1alpha2, v1beta1) and AdminNetworkPolicy /
//! BaselineAdminNetworkPolicy (v1alpha1). Expected answers were worked out
//! by hand from the fixtures' comments and the tier order.

use serde_json::Value;

mod common;
use common::*;

const CLUSTER: &str = "tests/fixtures/tiers/cluster.yaml";
const POLICIES: &str = "tests/fixtures/tiers/policies.yaml";
const CONFLICT: &str = "tests/fixtures/tiers/conflict.yaml";
const INVALID: &str = "tests/fixtures/tiers/invalid.yaml";
const V1ALPHA1: &str = "tests/fixtures/tiers/v1alpha1.yaml";

fn run(args: &[&str], code: i32) -> (String, String) {
    let a = netpol().args(args).assert().code(code);
    (stdout_of(&a), stderr_of(&a))
}

#[test]
fn can_shows_the_pass_chain_into_network_policy() {
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", POLICIES,
        ],
        0,
    );
    assert!(
        out.starts_with("ALLOWED: dev/tool -> prod/web on TCP/8080\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "    Admin pass-dev-web (priority 10) rule #1 (dev-to-web): Pass on TCP/8080 -> NetworkPolicy prod/allow-web rule #1: allows TCP/8080\n"
        ),
        "{out}"
    );
    // Any other port: the lower-priority Admin Deny decides.
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "9000", "-f", CLUSTER, "-f", POLICIES,
        ],
        1,
    );
    assert!(out.starts_with("DENIED: "), "{out}");
    assert!(
        out.contains("Admin deny-dev (priority 20) rule #1: Deny on TCP/9000"),
        "{out}"
    );
    // No NetworkPolicy isolates dev/tool: the Baseline tier decides.
    let (out, _) = run(
        &["can", "prod/db", "dev/tool", "-f", CLUSTER, "-f", POLICIES],
        1,
    );
    assert!(
        out.contains("no Admin rule matches all ports -> Baseline baseline-isolate (priority 0) rule #1: Deny on all ports"),
        "{out}"
    );
}

#[test]
fn can_json_carries_the_deciding_tier_policy_priority_and_rule() {
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/db", "--port", "5432", "-f", CLUSTER, "-f", POLICIES, "-o",
            "json",
        ],
        1,
    );
    let v = parse_json(&out);
    assert_eq!(v["allowed"], Value::Bool(false));
    assert!(v.get("undefined").is_none(), "absent when false: {v}");
    let step = &v["ingress"]["tiers"]["steps"][0];
    assert_eq!(step["tier"], "Admin");
    assert_eq!(step["kind"], "ClusterNetworkPolicy");
    assert_eq!(step["policy"], "deny-dev");
    assert_eq!(step["priority"], 20);
    assert_eq!(step["rule"], 1);
    assert_eq!(step["action"], "Deny");
    assert_eq!(step["ports"], serde_json::json!(["TCP/5432"]));
    assert_eq!(v["egress"]["tiers"]["steps"], serde_json::json!([]));
    // Without cluster policies the field is absent.
    let (out, _) = run(
        &["can", "dev/tool", "prod/db", "-f", CLUSTER, "-o", "json"],
        0,
    );
    assert!(parse_json(&out)["ingress"].get("tiers").is_none());
}

#[test]
fn equal_priority_conflict_is_undefined_not_picked() {
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", CONFLICT,
        ],
        4,
    );
    assert!(
        out.starts_with("UNKNOWN: dev/tool -> prod/web on TCP/8080"),
        "{out}"
    );
    assert!(out.contains("Admin accept-dev (priority 50) rule #1: Accept and Admin deny-web-http (priority 50) rule #1: Deny"), "{out}");
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", CONFLICT, "-o",
            "json",
        ],
        4,
    );
    let v = parse_json(&out);
    assert_eq!(v["allowed"], Value::Null);
    assert_eq!(v["undefined"], Value::Bool(true));
    assert_eq!(v["ingress"]["tiers"]["undefined"][0]["priority"], 50);
    // TCP/9000 is not a named port "http": only the Accept matches.
    run(
        &[
            "can", "dev/tool", "prod/web", "--port", "9000", "-f", CLUSTER, "-f", CONFLICT,
        ],
        0,
    );
}

#[test]
fn v1alpha1_policies_read_from_a_list() {
    let (out, _) = run(
        &["can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", V1ALPHA1],
        0,
    );
    assert!(
        out.starts_with("ALLOWED: dev/tool -> prod/web on TCP/8080\n"),
        "{out}"
    );
    assert!(
        out.contains("Admin web-from-dev (priority 5) rule #1 (http): Accept on TCP/8080"),
        "{out}"
    );
    assert!(
        out.contains("Baseline default rule #1: Deny on TCP/1-8079"),
        "{out}"
    );
    let (out, _) = run(&["list", "-f", CLUSTER, "-f", V1ALPHA1, "-o", "json"], 0);
    let v = parse_json(&out);
    let kinds: Vec<(&str, &str, Value)> = v["clusterPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["tier"].as_str().unwrap(),
                r["priority"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("AdminNetworkPolicy", "Admin", Value::from(5)),
            ("BaselineAdminNetworkPolicy", "Baseline", Value::Null),
        ]
    );
}

#[test]
fn list_shows_tiers_in_evaluation_order() {
    let (out, err) = run(&["list", "-f", CLUSTER, "-f", POLICIES], 0);
    assert_eq!(err, "");
    assert_eq!(
        row(&out, &["Admin", "10"]),
        vec![
            "Admin",
            "10",
            "ClusterNetworkPolicy",
            "pass-dev-web",
            "1",
            "admin tier, priority 10: passes pods [app=web] in namespaces [env=prod] from namespaces [env=dev] on TCP/8080"
        ]
    );
    assert_eq!(
        row(&out, &["Admin", "20"])[5],
        "admin tier, priority 20: denies all pods in namespaces [env=prod] from namespaces [env=dev]"
    );
    // Baseline after every Admin row, whatever its priority number.
    let admin = out.find("Admin   ").unwrap();
    let baseline = out.find("Baseline   ").unwrap();
    assert!(admin < baseline, "{out}");
    // The NetworkPolicy table is still there.
    assert_eq!(row(&out, &["prod", "allow-web"])[2], "1");
    let (names, _) = run(&["list", "-f", CLUSTER, "-f", POLICIES, "-o", "name"], 0);
    assert!(
        names.contains("clusternetworkpolicy.policy.networking.k8s.io/deny-dev\n"),
        "{names}"
    );
}

#[test]
fn invalid_cluster_policy_is_reported_and_its_answers_undecided() {
    let (out, err) = run(&["list", "-f", CLUSTER, "-f", INVALID], 1);
    let want = "spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000";
    assert!(out.contains(&format!("INVALID: {want}")), "{out}");
    assert!(
        err.contains("warning: ClusterNetworkPolicy \"too-high\" is invalid"),
        "{err}"
    );
    let (out, _) = run(&["lint", "-f", CLUSTER, "-f", INVALID, "-o", "json"], 5);
    let v = parse_json(&out);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "invalid-policy")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f["object"], "clusternetworkpolicy/too-high");
    assert_eq!(f["path"], "spec.priority");
    // prod pods are its subject: their ingress is undecided; dev's is not.
    let (out, _) = run(
        &["can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", INVALID],
        4,
    );
    assert!(
        out.contains("clusternetworkpolicy/too-high is invalid"),
        "{out}"
    );
    run(
        &["can", "prod/web", "dev/tool", "-f", CLUSTER, "-f", INVALID],
        0,
    );
}

#[test]
fn explain_lists_the_tiers_in_evaluation_order() {
    let (out, _) = run(
        &[
            "explain", "pod/web", "-n", "prod", "-f", CLUSTER, "-f", POLICIES,
        ],
        0,
    );
    let admin = out
        .find("Admin tier: ClusterNetworkPolicy pass-dev-web, priority 10")
        .expect(&out);
    let np = out.find("  prod/allow-web\n").expect(&out);
    let baseline = out
        .find("Baseline tier: ClusterNetworkPolicy baseline-isolate, priority 0")
        .expect(&out);
    assert!(admin < np && np < baseline, "{out}");
    assert!(
        out.contains(
            "=> First the admin tier (pass-dev-web (priority 10), deny-dev (priority 20))"
        ),
        "{out}"
    );
    assert!(
        out.contains("The baseline tier (baseline-isolate (priority 0)) is not reached"),
        "{out}"
    );
    let (out, _) = run(
        &[
            "explain", "pod/tool", "-n", "dev", "-f", CLUSTER, "-f", POLICIES, "-o", "json",
        ],
        0,
    );
    let v = parse_json(&out);
    assert_eq!(v["ingress"]["baseline"][0]["name"], "baseline-isolate");
    assert!(v["ingress"].get("admin").is_none());
}

#[test]
fn matrix_and_diff_evaluate_tiers() {
    let (out, _) = run(&["matrix", "-f", CLUSTER, "-f", POLICIES, "-o", "json"], 0);
    let v = parse_json(&out);
    let text = v.to_string();
    // dev/tool -> prod/web: only TCP/8080 (Pass to the NetworkPolicy).
    let conns = v["connections"].as_array().expect(&text);
    let pair = conns
        .iter()
        .find(|c| c["from"] == "dev/tool" && c["to"] == "prod/web")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(pair["ports"], serde_json::json!(["TCP/8080"]), "{pair}");
    assert!(
        !conns
            .iter()
            .any(|c| c["from"] == "dev/tool" && c["to"] == "prod/db"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.yaml");
    let new = dir.path().join("new.yaml");
    let cluster = std::fs::read_to_string(CLUSTER).unwrap();
    let policies = std::fs::read_to_string(POLICIES).unwrap();
    std::fs::write(&old, &cluster).unwrap();
    std::fs::write(&new, format!("{cluster}\n---\n{policies}")).unwrap();
    // diff evaluates the tiers on both sides: the Admin Deny closes
    // dev/tool -> prod/db, the Pass leaves TCP/8080 to the new
    // NetworkPolicy; the pairs with namespace `elsewhere` (labels unread)
    // are undecided (exit 2), never claimed.
    let (out, err) = run(&["diff", old.to_str().unwrap(), new.to_str().unwrap()], 2);
    assert!(err.contains("3 pairs may change (undecided)"), "{err}");
    assert!(
        out.contains("- dev/tool -> prod/db  all ports\n    ingress: cluster tiers now: Admin deny-dev (priority 20) rule #1: Deny on all ports"),
        "{out}"
    );
    assert!(
        out.contains("~ dev/tool -> prod/web  all ports => TCP/8080"),
        "{out}"
    );
    assert!(
        out.contains("Cluster policies that differ: clusternetworkpolicy/baseline-isolate (added), clusternetworkpolicy/deny-dev (added), clusternetworkpolicy/pass-dev-web (added)"),
        "{out}"
    );
    assert!(
        out.contains("? elsewhere/ghost -> prod/db  for certain: all ports => nothing\n    new: clusternetworkpolicy/deny-dev (added) ingress rule #1 (Deny) may decide it (all ports): the labels of namespace elsewhere were not read"),
        "{out}"
    );
    // The same with the cluster policies on both sides and only the
    // NetworkPolicy added: the Pass still hands TCP/8080 over, and
    // nothing is said of the cluster policies.
    std::fs::write(
        &old,
        format!("{cluster}\n---\n{}", without_network_policies(&policies)),
    )
    .unwrap();
    let (out, _) = run(
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "json",
        ],
        2,
    );
    let v = parse_json(&out);
    let notes = v["notes"].to_string();
    assert!(!notes.contains("Cluster policies that differ"), "{notes}");
    assert!(
        notes.contains("NetworkPolicies that differ: prod/allow-web (added)"),
        "{notes}"
    );
}

/// `policies` (a multi-document YAML) without its NetworkPolicies.
fn without_network_policies(policies: &str) -> String {
    policies
        .split("\n---")
        .filter(|d| !d.contains("kind: NetworkPolicy\n"))
        .collect::<Vec<_>>()
        .join("\n---")
}

/// `coverage` counts protection by any tier (a NetworkPolicy isolating the
/// pod, or an Admin/Baseline policy whose subject selects it with rules in
/// that direction) apart from NetworkPolicy isolation, and names the
/// cluster policies per pod in evaluation order; without cluster policies
/// its output has no such field.
#[test]
fn coverage_counts_protection_by_any_tier() {
    let (out, _) = run(
        &[
            "coverage", "-A", "-f", CLUSTER, "-f", POLICIES, "-o", "json",
        ],
        0,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    // prod/web and prod/db (Admin and Baseline subjects), dev/tool
    // (Baseline), elsewhere/ghost (Baseline; the Admin one only may
    // select it); dev/agent is host network: never a subject.
    assert_eq!(v["total"]["ingressIsolated"], 1, "{v:#}");
    assert_eq!(v["total"]["ingressProtected"], 4, "{v:#}");
    assert_eq!(v["total"]["egressProtected"], 0, "{v:#}");
    let pods: Vec<&Value> = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["podPolicies"].as_array().unwrap())
        .collect();
    let web = pods.iter().find(|p| p["pod"] == "prod/web").unwrap();
    assert_eq!(
        web["clusterIngress"],
        serde_json::json!([
            "Admin pass-dev-web (priority 10)",
            "Admin deny-dev (priority 20)",
            "Baseline baseline-isolate (priority 0)"
        ]),
        "{web:#}"
    );
    let ghost = pods.iter().find(|p| p["pod"] == "elsewhere/ghost").unwrap();
    assert_eq!(
        ghost["clusterIngress"][0], "Admin deny-dev (priority 20) (may select)",
        "{ghost:#}"
    );
    let agent = pods.iter().find(|p| p["pod"] == "dev/agent").unwrap();
    assert!(agent.get("clusterIngress").is_none(), "{agent:#}");
    // Text: the columns appear with cluster policies only.
    let (text, _) = run(&["coverage", "-A", "-f", CLUSTER, "-f", POLICIES], 0);
    assert!(text.contains("INGRESS ANY TIER"), "{text}");
    // (cluster.yaml alone: the pods, no policy of any kind.)
    let (text, _) = run(&["coverage", "-A", "-f", CLUSTER], 0);
    assert!(!text.contains("ANY TIER"), "{text}");
    let (out, _) = run(&["coverage", "-A", "-f", CLUSTER, "-o", "json"], 0);
    assert!(
        !out.contains("Protected") && !out.contains("clusterIngress"),
        "{out}"
    );
}

/// lint's tier checks: a Pass in the Baseline tier, domainNames in a Deny
/// rule, equal priorities applying to one pod, a Baseline policy that a
/// NetworkPolicy always decides before and whose rule an Admin Accept
/// decides first; and none of them on the fixtures that have no such
/// policy.
#[test]
fn lint_finds_what_the_tiers_accept_but_do_nothing_with() {
    const LINT: &str = "tests/fixtures/tiers/lint.yaml";
    let a = netpol()
        .args(["lint", "-f", CLUSTER, "-f", LINT, "-o", "json"])
        .assert();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    let found: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with("tier-"))
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want = |check: &str, object: &str, path: &str| {
        (check.to_string(), object.to_string(), path.to_string())
    };
    for w in [
        want(
            "tier-pass-in-baseline",
            "clusternetworkpolicy/bl-pass",
            "spec.ingress[0].action",
        ),
        want(
            "tier-domain-names-deny",
            "clusternetworkpolicy/dn-deny",
            "spec.egress[0].to[0].domainNames",
        ),
        want(
            "tier-equal-priority",
            "clusternetworkpolicy/eq-a",
            "spec.priority",
        ),
        want(
            "tier-baseline-never-applies",
            "clusternetworkpolicy/bl-web",
            "spec.ingress",
        ),
        // eq-b (Admin) accepts everything into prod/web first: bl-web's
        // Deny is never reached (a second reason it does nothing).
        want(
            "tier-shadowed-rule",
            "clusternetworkpolicy/bl-web",
            "spec.ingress[0]",
        ),
    ] {
        assert!(found.contains(&w), "{w:?} not in {found:#?}");
    }
    assert_eq!(found.len(), 5, "{found:#?}");
    // The other fixtures: no tier finding.
    let a = netpol()
        .args(["lint", "-f", CLUSTER, "-f", POLICIES, "-o", "json"])
        .assert();
    let out = stdout_of(&a);
    assert!(!out.contains("\"tier-"), "{out}");
}

/// The BaselineAdminNetworkPolicy and a Baseline ClusterNetworkPolicy that
/// decide a port differently are in no order the API defines: UNKNOWN
/// (exit 4, `undefined`), never one of them picked silently; when they
/// agree, the answer is theirs.
#[test]
fn banp_against_baseline_cnp_is_undefined_when_they_disagree() {
    const BANP: &str = "tests/fixtures/tiers/banp-order.yaml";
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/db", "--port", "5432", "-f", CLUSTER, "-f", BANP, "-o", "json",
        ],
        4,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["allowed"], Value::Null, "{v:#}");
    assert_eq!(v["undefined"], true, "{v:#}");
    // The same two agreeing (the CNP allows too): decided.
    let agree = std::fs::read_to_string(BANP)
        .unwrap()
        .replace("action: Deny", "action: Accept");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agree.yaml");
    std::fs::write(&path, agree).unwrap();
    let (out, _) = run(
        &[
            "can",
            "dev/tool",
            "prod/db",
            "--port",
            "5432",
            "-f",
            CLUSTER,
            "-f",
            path.to_str().unwrap(),
        ],
        0,
    );
    assert!(out.starts_with("ALLOWED"), "{out}");
}

/// An UNKNOWN that hangs on cluster policies (which may deny) does not say
/// "allowed only if they match", which holds for NetworkPolicy rules only.
#[test]
fn unknown_with_cluster_policies_does_not_say_allowed_only_if_they_match() {
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", INVALID,
        ],
        4,
    );
    assert!(!out.contains("allowed only if they match"), "{out}");
    assert!(out.contains("a denying one closes it"), "{out}");
}

/// `lint -f ... -n NS`: manifests are linted whole, cluster-scoped
/// policies included (they have no namespace for -n to leave out): the
/// same tier findings as without -n, in text and in JSON.
#[test]
fn lint_with_a_namespace_keeps_the_manifests_tier_findings() {
    const LINT: &str = "tests/fixtures/tiers/lint.yaml";
    let tier_findings = |extra: &[&str]| {
        let mut args = vec!["lint", "-f", CLUSTER, "-f", LINT, "-o", "json"];
        args.extend(extra);
        let (out, _) = run(&args, 0);
        let v: Value = serde_json::from_str(&out).unwrap();
        let mut found: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"].as_str().unwrap().starts_with("tier-"))
            .map(|f| format!("{} {} {}", f["check"], f["object"], f["path"]))
            .collect();
        found.sort();
        found
    };
    let all = tier_findings(&[]);
    assert_eq!(all.len(), 5, "{all:#?}");
    // web-np lives in prod: -n prod is its namespace.
    assert_eq!(tier_findings(&["-n", "prod"]), all);
    assert_eq!(tier_findings(&["-A"]), all);
    let (text, _) = run(&["lint", "-f", CLUSTER, "-f", LINT, "-n", "prod"], 0);
    assert!(
        text.contains("warning[tier-shadowed-rule]: clusternetworkpolicy/bl-web spec.ingress[0]: clusternetworkpolicy/bl-web ingress rule #1 is never reached: clusternetworkpolicy/eq-b ingress rule #1 (Accept), Admin tier, priority 40, is evaluated first for every pod this policy selects"),
        "{text}"
    );
    assert!(text.contains("0 errors, 5 warnings, 0 info"), "{text}");
}

/// A node's address and a host-network pod are matched by ipBlocks and,
/// when cluster policies exist, by their egress `networks` and `nodes`
/// peers too: the notes of `can`, `explain`, `matrix` and `coverage` say
/// so then, and say "only ipBlocks" without cluster policies.
#[test]
fn node_address_notes_name_cluster_policy_peers_when_there_are_some() {
    let peers = "ipBlocks and cluster policies' egress networks and nodes peers";
    let (out, _) = run(
        &[
            "can",
            "dev/agent",
            "prod/web",
            "-f",
            CLUSTER,
            "-f",
            POLICIES,
        ],
        1,
    );
    assert!(
        out.contains(&format!("do not match it ({peers} do;")),
        "{out}"
    );
    let (out, _) = run(
        &[
            "can",
            "172.16.0.2",
            "prod/web",
            "-f",
            CLUSTER,
            "-f",
            POLICIES,
        ],
        1,
    );
    assert!(
        out.contains(&format!(
            "outside the pod network, which only {peers} match"
        )),
        "{out}"
    );
    let (out, _) = run(&["explain", "dev/agent", "-f", CLUSTER, "-f", POLICIES], 0);
    assert!(
        out.contains(&format!("only {peers} that match the node's addresses do")),
        "{out}"
    );
    let (_, err) = run(&["matrix", "-A", "-f", CLUSTER, "-f", POLICIES], 0);
    assert!(err.contains(&format!("only {peers} match them")), "{err}");
    let (out, _) = run(&["coverage", "-A", "-f", CLUSTER, "-f", POLICIES], 0);
    assert!(out.contains(&format!("which only {peers} reach")), "{out}");
    // Without cluster policies: ipBlocks alone.
    let (out, _) = run(&["can", "172.16.0.2", "prod/web", "-f", CLUSTER], 0);
    assert!(
        out.contains("outside the pod network, which only ipBlocks match"),
        "{out}"
    );
    let (_, err) = run(&["matrix", "-A", "-f", CLUSTER], 0);
    assert!(err.contains("only ipBlocks match them"), "{err}");
    let (out, _) = run(&["coverage", "-A", "-f", CLUSTER], 0);
    assert!(out.contains("which only ipBlocks reach"), "{out}");
}

/// coverage's list of open pods agrees with its ANY TIER columns: a pod
/// an Admin or Baseline policy protects is not listed as open, whatever
/// NetworkPolicy says; a pod a cluster policy only may select is marked.
#[test]
fn coverage_lists_as_open_only_pods_no_tier_protects() {
    let (text, _) = run(&["coverage", "-A", "-f", CLUSTER, "-f", V1ALPHA1], 0);
    let open = text
        .split("Not protected by any tier")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    let open = open.split("\nHost network").next().unwrap();
    // prod/web and prod/db are protected for ingress by the Admin and
    // Baseline policies (no NetworkPolicy isolates them): not open then.
    assert!(!open.contains("ingress  prod/"), "{text}");
    assert!(open.contains("egress   prod/db, prod/web"), "{text}");
    assert!(open.contains("ingress  dev/tool"), "{text}");
    assert!(
        open.contains("ingress  elsewhere/ghost (a cluster policy may select it)"),
        "{text}"
    );
    assert!(!text.contains("Not isolated"), "{text}");
    let (out, _) = run(
        &[
            "coverage", "-A", "-f", CLUSTER, "-f", V1ALPHA1, "-o", "json",
        ],
        0,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let prod = v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == "prod")
        .unwrap();
    assert_eq!(prod["ingressProtected"], 2, "{prod:#}");
    assert_eq!(
        prod["notProtectedIngress"],
        serde_json::json!([]),
        "{prod:#}"
    );
    assert_eq!(
        prod["notIsolatedIngress"],
        serde_json::json!(["prod/db", "prod/web"]),
        "{prod:#}"
    );
    // Without cluster policies: as before.
    let (text, _) = run(&["coverage", "-A", "-f", CLUSTER], 0);
    assert!(text.contains("Not isolated (every connection"), "{text}");
    let (out, _) = run(&["coverage", "-A", "-f", CLUSTER, "-o", "json"], 0);
    assert!(!out.contains("notProtected"), "{out}");
}

/// Where cluster policies of equal priority decide a port differently, the
/// answer is said to be undefined by the API, not unknown for lack of
/// reading: in `can` without `--port` (a note naming the ports, even when
/// other ports are allowed) and in `matrix`'s legend and list.
#[test]
fn undefined_is_said_by_can_without_port_and_by_matrix() {
    let (out, _) = run(
        &["can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", CONFLICT],
        0,
    );
    assert!(
        out.contains("Note: on TCP/8080 the answer is undefined: cluster policies in no defined order (two of one tier at equal priority"),
        "{out}"
    );
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", CONFLICT, "-o", "json",
        ],
        0,
    );
    let v = parse_json(&out);
    assert!(
        v["notes"]
            .to_string()
            .contains("on TCP/8080 the answer is undefined"),
        "{v:#}"
    );
    // The BANP against a Baseline ClusterNetworkPolicy: undefined on
    // every port, so no port is allowed for certain.
    let banp = "tests/fixtures/tiers/banp-order.yaml";
    let (out, _) = run(
        &["can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", banp],
        4,
    );
    assert!(out.contains("so it is undefined"), "{out}");
    assert!(!out.contains("could not be known"), "{out}");
    // matrix: the pair's `?` is undefined, the unread namespace's unknown.
    let (grid, _) = run(&["matrix", "-A", "-f", CLUSTER, "-f", CONFLICT], 0);
    assert!(
        grid.lines().any(|l| l.contains("= undefined: every port may be allowed; on TCP/8080 cluster policies in no defined order")),
        "{grid}"
    );
    assert!(
        grid.lines()
            .any(|l| l
                .contains("= unknown: every port may be allowed, depending on what is not known")),
        "{grid}"
    );
    let (list, _) = run(
        &[
            "matrix",
            "-A",
            "-f",
            CLUSTER,
            "-f",
            CONFLICT,
            "--no-headers",
        ],
        0,
    );
    let line = list
        .lines()
        .find(|l| l.starts_with("dev/tool") && l.contains("prod/web"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains("(undefined on TCP/8080: every port may be allowed)"),
        "{line}"
    );
}

/// `can --port P -o json`: `ports` (and each side's) is the set the tiers
/// allow, the same with or without `--port`, and `allowed` says whether P
/// is in it: an Admin Accept opens ports an isolating NetworkPolicy does
/// not admit, a Pass leaves them to NetworkPolicy, a Deny closes them.
#[test]
fn can_port_json_ports_are_the_tiers_answer() {
    let accept = "tests/fixtures/tiers/accept-over-np.yaml";
    let ask = |policies: &str, port: Option<&str>, code: i32| {
        let mut args = vec![
            "can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", policies, "-o", "json",
        ];
        if let Some(p) = port {
            args.extend(["--port", p]);
        }
        parse_json(&run(&args, code).0)
    };
    for (port, code, allowed) in [
        (None, 0, true),
        (Some("8080"), 0, true),
        (Some("http"), 0, true),
        (Some("9000"), 1, false),
    ] {
        let v = ask(accept, port, code);
        assert_eq!(v["allowed"], allowed, "{port:?}: {v:#}");
        assert_eq!(
            v["ports"],
            serde_json::json!(["TCP/8080"]),
            "{port:?}: {v:#}"
        );
        assert_eq!(
            v["egress"]["ports"],
            serde_json::json!(["TCP/8000-9100"]),
            "{port:?}: {v:#}"
        );
        assert_eq!(
            v["ingress"]["ports"],
            serde_json::json!(["TCP/8080"]),
            "{port:?}: {v:#}"
        );
        // NetworkPolicy alone admits nothing: its rules are not the answer.
        assert_eq!(v["ingress"]["isolated"], true, "{v:#}");
        assert_eq!(v["ingress"]["allowedBy"], serde_json::json!([]), "{v:#}");
    }
    // Egress 9000 is accepted, ingress 9000 is not: the side says so.
    let v = ask(accept, Some("9000"), 1);
    assert_eq!(v["egress"]["allowed"], true, "{v:#}");
    assert_eq!(v["ingress"]["allowed"], false, "{v:#}");
    // policies.yaml: Pass on 8080 to NetworkPolicy (allows), Deny the rest.
    for (port, code) in [(Some("8080"), 0), (Some("9000"), 1), (None, 0)] {
        let v = ask(POLICIES, port, code);
        assert_eq!(
            v["ports"],
            serde_json::json!(["TCP/8080"]),
            "{port:?}: {v:#}"
        );
        assert_eq!(v["egress"]["ports"], "all", "{port:?}: {v:#}");
    }
    // v1alpha1: the Admin Allow on the named port, the Baseline Deny.
    for (port, code) in [(Some("http"), 0), (Some("9000"), 1)] {
        let v = ask(V1ALPHA1, port, code);
        assert_eq!(
            v["ports"],
            serde_json::json!(["TCP/8080"]),
            "{port:?}: {v:#}"
        );
    }
}

/// `diff` never claims what the API leaves undefined: a Baseline
/// ClusterNetworkPolicy added beside the BaselineAdminNetworkPolicy (no
/// order between them) makes the ports they decide differently undefined,
/// listed under "May change" (exit 2), as `can` calls them UNKNOWN; and an
/// equal-priority Deny added beside an Accept likewise, never a certain
/// change.
#[test]
fn diff_lists_undefined_orders_as_may_change() {
    let cluster = std::fs::read_to_string(CLUSTER).unwrap();
    let banp = "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {matchLabels: {env: prod}}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {matchLabels: {env: dev}}}]}\n";
    let accept = "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: bl-accept}\nspec:\n  tier: Baseline\n  priority: 3\n  subject: {namespaces: {matchLabels: {env: prod}}}\n  ingress:\n  - {action: Accept, from: [{namespaces: {matchLabels: {env: dev}}}], protocols: [{tcp: {destinationPort: {number: 443}}}]}\n";
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.yaml"), dir.path().join("new.yaml"));
    std::fs::write(&old, format!("{cluster}\n{banp}")).unwrap();
    std::fs::write(&new, format!("{cluster}\n{banp}{accept}")).unwrap();
    let (out, err) = run(
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "json",
        ],
        2,
    );
    let v = parse_json(&out);
    let maybe = v["undecided"].to_string();
    assert!(
        maybe.contains("\"dev/tool\"") && maybe.contains("\"prod/db\""),
        "{out}\n{err}"
    );
    assert!(
        !v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["from"] == "dev/tool" && c["to"] == "prod/db"),
        "{out}"
    );
    // can agrees: undefined on TCP/443 after.
    let (out, _) = run(
        &[
            "can",
            "dev/tool",
            "prod/db",
            "--port",
            "443",
            "-f",
            new.to_str().unwrap(),
        ],
        4,
    );
    assert!(out.contains("undefined"), "{out}");
}

/// `explain` says where the order of cluster policies is undefined (the
/// BaselineAdminNetworkPolicy beside a Baseline ClusterNetworkPolicy),
/// not that the tiers decide for good.
#[test]
fn explain_names_undefined_orders() {
    let (out, _) = run(
        &[
            "explain",
            "pod/db",
            "-n",
            "prod",
            "-f",
            CLUSTER,
            "-f",
            "tests/fixtures/tiers/banp-order.yaml",
        ],
        0,
    );
    assert!(
        out.contains("Undefined where they disagree: the BaselineAdminNetworkPolicy and baseline-deny-dev (no order between them)"),
        "{out}"
    );
}

#[test]
fn cluster_kinds_in_versions_no_crd_serves_are_left_out_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unserved.yaml");
    std::fs::write(
        &file,
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata: {name: old-cnp}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: AdminNetworkPolicy\nmetadata: {name: new-anp}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (_, err) = run(&["list", "-f", CLUSTER, "-f", f], 0);
    assert!(
        err.contains(&format!("warning: {f}: document 1: ClusterNetworkPolicy old-cnp: no matches for kind \"ClusterNetworkPolicy\" in version \"policy.networking.k8s.io/v1alpha1\" (network-policy-api's CRDs serve ClusterNetworkPolicy in policy.networking.k8s.io/v1alpha2 or v1beta1); the API server rejects such an object, so it is left out\n")),
        "{err}"
    );
    assert!(
        err.contains(&format!("warning: {f}: document 2: AdminNetworkPolicy new-anp: no matches for kind \"AdminNetworkPolicy\" in version \"policy.networking.k8s.io/v1alpha2\" (network-policy-api's CRDs serve AdminNetworkPolicy in policy.networking.k8s.io/v1alpha1)")),
        "{err}"
    );
    // can says so too (the answer is without them).
    let (out, err) = run(&["can", "dev/tool", "prod/web", "-f", CLUSTER, "-f", f], 0);
    assert!(out.starts_with("ALLOWED"), "{out}");
    assert!(
        err.contains("no matches for kind \"ClusterNetworkPolicy\""),
        "{err}"
    );
}

#[test]
fn an_unknown_field_under_spec_makes_both_directions_possible() {
    // `ingres`: the rules meant for ingress are in no field the API has;
    // the object is rejected (strict decoding), and which directions it
    // was meant for cannot be read from the known fields alone.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: typo}\nspec:\n  tier: Admin\n  priority: 5\n  subject: {namespaces: {matchLabels: {env: prod}}}\n  ingres: [{action: Deny, from: [{namespaces: {}}]}]\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (out, err) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", f,
        ],
        4,
    );
    assert!(out.starts_with("UNKNOWN: "), "{out}\n{err}");
    assert!(
        out.contains("clusternetworkpolicy/typo is invalid"),
        "{out}"
    );
    // Egress of prod/web too.
    let (out, _) = run(
        &[
            "can", "prod/web", "dev/tool", "--port", "80", "-f", CLUSTER, "-f", f,
        ],
        4,
    );
    assert!(out.starts_with("UNKNOWN: "), "{out}");
    // Pods it does not select are not concerned.
    run(
        &[
            "can",
            "dev/tool",
            "192.0.2.1",
            "--port",
            "80",
            "-f",
            CLUSTER,
            "-f",
            f,
        ],
        0,
    );
}

#[test]
fn a_cni_that_does_not_implement_a_cluster_policy_api_is_warned_about() {
    const CILIUM: &str = "tests/fixtures/cni/cilium-default.yaml";
    let want = "warning: Cilium does not implement ClusterNetworkPolicy (policy.networking.k8s.io): the answers below apply its cluster policies as if enforced; on this cluster they are not (see kubectl netpol check)\n";
    let base = ["-f", CLUSTER, "-f", POLICIES, "-f", CILIUM];
    for (args, code) in [
        (vec!["can", "dev/tool", "prod/db", "--port", "5432"], 1),
        (vec!["matrix"], 0),
        (vec!["explain", "prod/db"], 0),
        (vec!["list"], 0),
        (vec!["coverage"], 0),
    ] {
        let mut argv = args.clone();
        argv.extend(base);
        let (_, err) = run(&argv, code);
        assert_eq!(err.matches(want).count(), 1, "{args:?}: {err}");
        assert!(!err.contains("AdminNetworkPolicy"), "{args:?}: {err}");
    }
    // Calico v3.29 implements AdminNetworkPolicy, not yet the
    // BaselineAdminNetworkPolicy: the latter only.
    let (_, err) = run(
        &[
            "list",
            "-f",
            CLUSTER,
            "-f",
            V1ALPHA1,
            "-f",
            "tests/fixtures/cni/calico-operator.yaml",
        ],
        0,
    );
    assert!(
        err.contains("warning: Calico does not implement BaselineAdminNetworkPolicy (policy.networking.k8s.io): "),
        "{err}"
    );
    assert!(!err.contains("implement AdminNetworkPolicy"), "{err}");
    // Unknown (no CNI found): nothing new is said.
    let (_, err) = run(&["list", "-f", CLUSTER, "-f", POLICIES], 0);
    assert!(!err.contains("does not implement"), "{err}");
    // Without cluster policies: nothing either.
    let (_, err) = run(&["list", "-f", CLUSTER, "-f", CILIUM], 0);
    assert!(!err.contains("does not implement"), "{err}");
}

#[test]
fn json_answers_say_whether_cluster_policies_were_read() {
    // From manifests they are what the input holds: readable, no reason.
    for (args, code) in [
        (vec!["list", "-o", "json"], 0),
        (vec!["matrix", "-o", "json"], 0),
        (vec!["coverage", "-o", "json"], 0),
        (vec!["can", "dev/tool", "prod/db", "-o", "json"], 1),
        (vec!["explain", "prod/db", "-o", "json"], 0),
    ] {
        let mut argv = args.clone();
        argv.extend(["-f", CLUSTER, "-f", POLICIES]);
        let (out, _) = run(&argv, code);
        let v = parse_json(&out);
        assert_eq!(
            v["clusterPoliciesReadable"],
            Value::Bool(true),
            "{args:?}: {v}"
        );
        assert!(
            v.get("clusterPoliciesUnreadable").is_none(),
            "{args:?}: {v}"
        );
    }
}

/// The documents of tests/fixtures/tiers/unusable.yaml, one file each.
fn unusable_docs(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string("tests/fixtures/tiers/unusable.yaml").unwrap();
    text.split("\n---\n")
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.join(format!("doc{i}.yaml"));
            std::fs::write(&path, doc).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn what_the_crds_accept_but_no_implementation_can_use_is_undecided_not_invalid() {
    const UNUSABLE: &str = "tests/fixtures/tiers/unusable.yaml";
    // Accepted by the API server: not INVALID, no "would reject".
    let (out, err) = run(&["list", "-f", CLUSTER, "-f", UNUSABLE], 0);
    assert!(
        !out.contains("INVALID") && !err.contains("reject"),
        "{out}\n{err}"
    );
    let (out, _) = run(&["lint", "-f", CLUSTER, "-f", UNUSABLE, "-o", "json"], 0);
    let v = parse_json(&out);
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("tier-unusable-selector", "clusternetworkpolicy/no-values"),
        ("tier-unusable-selector", "clusternetworkpolicy/bad-key"),
        ("tier-reversed-port-range", "adminnetworkpolicy/reversed"),
    ] {
        assert!(
            found.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?}: {found:?}"
        );
    }
    assert!(
        !found.iter().any(|(c, _)| c == "invalid-policy"),
        "{found:?}"
    );
    // Whom an unusable subject selects is not counted as nobody.
    let (out, _) = run(&["list", "-f", CLUSTER, "-f", UNUSABLE, "-o", "json"], 0);
    let v = parse_json(&out);
    let row = v["clusterPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "no-values")
        .cloned()
        .unwrap();
    assert_eq!(row["valid"], true, "{row:#}");
    assert_eq!(row["pods"], Value::Null, "{row:#}");

    let dir = tempfile::tempdir().unwrap();
    let docs = unusable_docs(dir.path());
    let (no_values, bad_key, reversed) = (&docs[0], &docs[1], &docs[2]);
    // A subject no implementation can convert: whom it selects is unknown.
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8080", "-f", CLUSTER, "-f", no_values,
        ],
        4,
    );
    assert!(
        out.contains("if it matches (unknown: its subject's selector is accepted by the API server but no implementation can convert it)"),
        "{out}"
    );
    // A peer no implementation can convert: unknown for pods, not for an
    // address outside the cluster (a pods peer never matches one).
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/db", "--port", "5432", "-f", CLUSTER, "-f", bad_key,
        ],
        4,
    );
    assert!(
        out.contains("(unknown: a peer's selector is accepted by the API server but no implementation can convert it)"),
        "{out}"
    );
    run(
        &[
            "can",
            "192.0.2.1",
            "prod/db",
            "--port",
            "5432",
            "-f",
            CLUSTER,
            "-f",
            bad_key,
        ],
        0,
    );
    // A reversed portRange: the ports between its ends are unknown, the
    // others are not the rule's.
    let (out, _) = run(
        &[
            "can", "dev/tool", "prod/web", "--port", "8500", "-f", CLUSTER, "-f", reversed,
        ],
        4,
    );
    assert!(
        out.contains("(unknown: its portRange's start is above its end"),
        "{out}"
    );
    run(
        &[
            "can", "dev/tool", "prod/web", "--port", "80", "-f", CLUSTER, "-f", reversed,
        ],
        0,
    );
    // matrix marks the pair, never "nothing allowed".
    let (out, _) = run(&["matrix", "-f", CLUSTER, "-f", reversed, "-o", "json"], 0);
    let v = parse_json(&out);
    let pair = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"] == "dev/tool" && c["to"] == "prod/web")
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(pair.get("possible").is_some(), "{pair:#}");
}

/// `diff` with cluster policies whose selectors no implementation can use
/// (the API accepts them): the pairs they may decide are May change, with
/// why, never Closed or Opened.
#[test]
fn diff_with_unusable_selectors_claims_nothing() {
    let cluster = std::fs::read_to_string(CLUSTER).unwrap();
    let unusable = std::fs::read_to_string("tests/fixtures/tiers/unusable.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.yaml"), dir.path().join("new.yaml"));
    std::fs::write(&old, &cluster).unwrap();
    std::fs::write(&new, format!("{cluster}\n---\n{unusable}")).unwrap();
    let (out, _) = run(&["diff", old.to_str().unwrap(), new.to_str().unwrap()], 2);
    assert!(
        !out.contains("Closed:") && !out.contains("Opened:"),
        "{out}"
    );
    assert!(
        out.contains("? prod/web -> prod/db  for certain: all ports => nothing\n    new: clusternetworkpolicy/no-values (added) ingress rule #1 (Deny) may decide it (all ports): its subject: its selector cannot be converted"),
        "{out}"
    );
}

/// `coverage` counts a pod as protected by a cluster policy only when it
/// may be denied something: an Admin policy that only accepts (or passes)
/// restricts nothing, so its pods stay in the list of open pods; a Deny
/// rule protects them.
#[test]
fn coverage_counts_only_denying_cluster_policies_as_protection() {
    let cluster = std::fs::read_to_string(CLUSTER).unwrap();
    let policy = |action: &str| {
        format!(
            "{cluster}\n---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: dev-in}}\nspec:\n  tier: Admin\n  priority: 5\n  subject: {{namespaces: {{matchLabels: {{env: dev}}}}}}\n  ingress:\n  - {{action: {action}, from: [{{namespaces: {{}}}}]}}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.yaml");
    for (action, protected) in [("Accept", 0), ("Pass", 0), ("Deny", 1)] {
        std::fs::write(&file, policy(action)).unwrap();
        let (out, _) = run(&["coverage", "-f", file.to_str().unwrap(), "-o", "json"], 0);
        let v = parse_json(&out);
        let dev = v["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["namespace"] == "dev")
            .cloned()
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(dev["ingressProtected"], protected, "{action}: {dev}");
        let open = dev["notProtectedIngress"].to_string();
        assert_eq!(open.contains("dev/tool"), protected == 0, "{action}: {dev}");
    }
}

/// `coverage` says when an invalid cluster policy is left out of its
/// counts (as `can` says its answers are undecided), never silently.
#[test]
fn coverage_warns_about_invalid_cluster_policies() {
    let (_, err) = run(
        &[
            "coverage",
            "-f",
            CLUSTER,
            "-f",
            "tests/fixtures/tiers/invalid.yaml",
        ],
        0,
    );
    assert!(
        err.contains("warning: ClusterNetworkPolicy \"too-high\" is invalid (the API server would reject it): the pods it may select are counted as not protected by it"),
        "{err}"
    );
}

//! End-to-end: the cluster policy tiers read from a real kube-apiserver
//! serving the upstream CRDs (network-policy-api v0.3.0's
//! ClusterNetworkPolicy, v0.1.7's AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy, fetched by scripts/testbin), through
//! kubectl's plugin dispatch, as admin and as a namespace-scoped user.
//!
//! The CRDs are cluster-wide: the test installs them, selects only its own
//! namespace in every cluster policy, and removes policies and CRDs when it
//! ends (even on failure), so that the other end-to-end tests see a cluster
//! without them.

mod common;
use common::cluster::*;

const CRDS: [&str; 3] = [
    "policy.networking.k8s.io_clusternetworkpolicies.yaml",
    "policy.networking.k8s.io_adminnetworkpolicies.yaml",
    "policy.networking.k8s.io_baselineadminnetworkpolicies.yaml",
];

/// Removes the cluster policies and the CRDs when dropped.
struct Cleanup<'c> {
    c: &'c Cluster,
    objects: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for o in &self.objects {
            self.c
                .kubectl(&["delete", o, "--ignore-not-found", "--wait=false"], None);
        }
        for crd in CRDS {
            let path = self.c.bin.join("crds").join(crd);
            self.c.kubectl(
                &[
                    "delete",
                    "-f",
                    path.to_str().unwrap(),
                    "--ignore-not-found",
                    "--wait=true",
                ],
                None,
            );
        }
    }
}

#[test]
fn live_cluster_policies_decide_can_explain_list_and_check() {
    let Some(c) = cluster() else { return };
    let ns = c.create_namespace("tiers");
    c.pod(
        &ns,
        "client",
        "app: client",
        "{containerPort: 80}",
        "10.181.0.1",
    );
    c.pod(
        &ns,
        "server",
        "app: server",
        "{name: http, containerPort: 8080}",
        "10.181.0.2",
    );
    let (client, server) = (format!("{ns}/client"), format!("{ns}/server"));
    let ask = |user: &str| {
        c.as_user(
            user,
            &["can", &client, &server, "--port", "8080", "-o", "json"],
        )
    };

    // No CRDs: nothing is said about cluster policies, and the answer is
    // NetworkPolicy's (none: allowed).
    let before = ask("admin");
    assert_eq!(json(&before)["allowed"], true, "{}", stdout(&before));
    assert!(
        !stderr(&before).contains("cluster-scoped"),
        "{}",
        stderr(&before)
    );
    // (No CNI runs here: check's verdict is "cannot tell", exit 4.)
    let check = c.as_user("admin", &["check", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&code(&check, 4)).unwrap();
    let served = v["clusterPolicyApis"].clone();
    assert_eq!(served, serde_json::json!([]), "{}", stdout(&check));
    // One discovery request for the group (404 here), none per version.
    let verbose = c.as_user(
        "admin",
        &["can", &client, &server, "--port", "8080", "-v", "6"],
    );
    assert_eq!(
        discovery_requests(&stderr(&verbose)),
        ["/apis/policy.networking.k8s.io 404"],
        "{}",
        stderr(&verbose)
    );

    c.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: dana-user, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-namespace-user}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: dana}}\n"
    ));
    // dana on a cluster that does not serve the tiers: nothing said.
    let dana = c.as_user(
        "dana",
        &["can", &client, &server, "--port", "8080", "-n", &ns],
    );
    assert!(
        !stderr(&dana).contains("cluster-scoped"),
        "{}",
        stderr(&dana)
    );
    let deny = format!("deny-{ns}");
    let accept = format!("accept-{ns}");
    let late = format!("late-{ns}");
    let other_ns = c.create_namespace("tiers-other");
    let pass = format!("pass-{other_ns}");
    let _cleanup = Cleanup {
        c: &c,
        objects: vec![
            format!("adminnetworkpolicies.policy.networking.k8s.io/{deny}"),
            format!("clusternetworkpolicies.policy.networking.k8s.io/{accept}"),
            format!("clusternetworkpolicies.policy.networking.k8s.io/{late}"),
            format!("clusternetworkpolicies.policy.networking.k8s.io/{pass}"),
        ],
    };
    for crd in CRDS {
        let path = c.bin.join("crds").join(crd);
        let out = c.kubectl(
            &["apply", "--server-side", "-f", path.to_str().unwrap()],
            None,
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = c.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/clusternetworkpolicies.policy.networking.k8s.io",
            "crd/adminnetworkpolicies.policy.networking.k8s.io",
            "crd/baselineadminnetworkpolicies.policy.networking.k8s.io",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // An AdminNetworkPolicy (v1alpha1) denying the namespace to itself.
    c.apply(&format!(
        r#"apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {{name: {deny}}}
spec:
  priority: 20
  subject:
    namespaces: {{matchLabels: {{team: {ns}}}}}
  ingress:
  - name: no-neighbours
    action: Deny
    from:
    - namespaces: {{matchLabels: {{team: {ns}}}}}
"#
    ));
    let denied = ask("admin");
    let text = code(&denied, 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["allowed"], false, "{text}");
    assert!(text.contains(&deny), "the deciding policy is named: {text}");

    // A ClusterNetworkPolicy (v1alpha2) of the Admin tier at a lower
    // priority number accepts the client first.
    c.apply(&format!(
        r#"apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: {accept}}}
spec:
  tier: Admin
  priority: 5
  subject:
    pods:
      namespaceSelector: {{matchLabels: {{team: {ns}}}}}
      podSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - name: client-http
    action: Accept
    from:
    - pods:
        namespaceSelector: {{matchLabels: {{team: {ns}}}}}
        podSelector: {{matchLabels: {{app: client}}}}
    protocols:
    - tcp: {{destinationPort: {{number: 8080}}}}
"#
    ));
    let allowed = ask("admin");
    let text = code(&allowed, 0);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["allowed"], true, "{text}");
    assert!(text.contains(&accept), "{text}");
    // Another port still falls to the deny.
    let other = c.as_user("admin", &["can", &client, &server, "--port", "9090"]);
    let text = code(&other, 1);
    assert!(text.contains("DENIED") && text.contains(&deny), "{text}");

    // explain and list show them; check says which APIs are served.
    let explain = ok(&c.as_user("admin", &["explain", "pod/server", "-n", &ns]));
    assert!(
        explain.contains(&accept) && explain.contains(&deny),
        "{explain}"
    );
    let list = ok(&c.as_user("admin", &["list", "-A", "-o", "json"]));
    assert!(list.contains(&accept) && list.contains(&deny), "{list}");

    // coverage reads the namespaces (their labels select the subjects):
    // live says what the same objects say from manifests, both pods
    // protected for certain by the Admin tier, none "may select".
    let live_cov = ok(&c.as_user("admin", &["coverage", "-n", &ns, "-o", "json"]));
    let mut dump = String::new();
    for args in [
        vec!["get", "namespace", ns.as_str(), "-o", "yaml"],
        vec!["get", "pods", "-n", ns.as_str(), "-o", "yaml"],
        vec!["get", "adminnetworkpolicies", deny.as_str(), "-o", "yaml"],
        vec![
            "get",
            "clusternetworkpolicies",
            accept.as_str(),
            "-o",
            "yaml",
        ],
    ] {
        let out = c.kubectl(&args, None);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        dump.push_str("---\n");
        dump.push_str(&stdout(&out));
    }
    let objects = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(objects.path(), &dump).unwrap();
    let offline_cov = ok(&c.netpol(
        &[
            "coverage",
            "-f",
            objects.path().to_str().unwrap(),
            "-n",
            &ns,
            "-o",
            "json",
        ],
        &[],
    ));
    let (live_v, offline_v): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&live_cov).unwrap(),
        serde_json::from_str(&offline_cov).unwrap(),
    );
    assert_eq!(
        live_v["namespaces"], offline_v["namespaces"],
        "live:\n{live_cov}\noffline:\n{offline_cov}"
    );
    assert_eq!(live_v["namespaces"][0]["ingressProtected"], 2, "{live_cov}");
    assert!(!live_cov.contains("may select"), "{live_cov}");
    let check = c.as_user("admin", &["check", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&code(&check, 4)).unwrap();
    let served: Vec<String> = v["clusterPolicyApis"]
        .as_array()
        .expect("clusterPolicyApis")
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    // The CRD serves v1alpha2 and v1beta1, and the group prefers v1beta1:
    // that is the version named (and read).
    assert_eq!(
        served,
        [
            "ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1)",
            "AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1)",
            "BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1)",
        ],
        "{}",
        stdout(&check)
    );
    // Whether the CNI implements them: no CNI runs here, so unknown, said
    // per served API (never guessed).
    let support = v["clusterPolicySupport"]
        .as_array()
        .expect("clusterPolicySupport");
    assert_eq!(support.len(), 3, "{v:#}");
    for s in support {
        assert_eq!(s["implemented"], serde_json::Value::Null, "{s:#}");
        assert_eq!(s["by"], serde_json::json!([]), "{s:#}");
    }
    assert_eq!(
        support[0]["api"],
        "ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1)"
    );
    let text = code(&c.as_user("admin", &["check"]), 4);
    assert!(
        text.contains("Cluster tiers:  ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1): whether it is implemented is unknown: no known CNI was found\n"),
        "{text}"
    );
    assert!(
        text.contains("\n                AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1): whether it is implemented is unknown"),
        "{text}"
    );
    // Served: still one discovery request for the group, then the lists.
    let verbose = c.as_user(
        "admin",
        &["can", &client, &server, "--port", "8080", "-v", "6"],
    );
    assert_eq!(
        discovery_requests(&stderr(&verbose)),
        ["/apis/policy.networking.k8s.io 200"],
        "{}",
        stderr(&verbose)
    );

    // diff evaluates the tiers on both sides: a default deny for the
    // namespace changes nothing between its pods (the Admin tier decides
    // all of it: Accept on 8080 to the server, Deny on the rest), only
    // what comes from outside the cluster (NetworkPolicy's alone).
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        manifest.path(),
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: deny-all, namespace: {ns}}}\nspec: {{podSelector: {{}}}}\n"
        ),
    )
    .unwrap();
    let diff = c.as_user(
        "admin",
        &[
            "diff",
            "-f",
            manifest.path().to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    let text = stdout(&diff);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(&diff)));
    let changes = v["changes"].as_array().expect(&text);
    let pair = |from: &str, to: &str| {
        changes
            .iter()
            .find(|c| c["from"] == from && c["to"] == to)
            .cloned()
    };
    assert!(pair(&server, &client).is_none(), "{text}");
    assert!(pair(&client, &server).is_none(), "{text}");
    let external = v["external"].as_array().expect(&text);
    assert!(
        external
            .iter()
            .any(|e| e["to"] == client.as_str() && e["change"] == "removed"),
        "{text}"
    );

    // A cluster policy in NEW: checked by the server (a dry run), then
    // evaluated; an Admin Deny at priority 1 closes what the Accept at 5
    // opened. A v1alpha2 object the CRD's rules reject is the server's
    // error line, exit 2.
    let block = format!("{ns}-block");
    let cnp = |priority: &str| {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {block}}}\nspec:\n  tier: Admin\n  priority: {priority}\n  subject: {{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}\n  ingress:\n  - action: Deny\n    from: [{{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}]\n"
        )
    };
    std::fs::write(manifest.path(), cnp("1")).unwrap();
    let diff = c.as_user(
        "admin",
        &[
            "diff",
            "-f",
            manifest.path().to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    let text = stdout(&diff);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(&diff)));
    let changes = v["changes"].as_array().expect(&text);
    let closed = changes
        .iter()
        .find(|c| c["from"] == client.as_str() && c["to"] == server.as_str())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        closed["before"],
        serde_json::json!(["TCP/8080"]),
        "{closed}"
    );
    assert_eq!(closed["change"], "removed", "{closed}");
    assert!(
        closed["reasons"].to_string().contains(&block),
        "the new policy is named: {closed}"
    );
    assert!(
        v["notes"].to_string().contains(&format!(
            "Cluster policies that differ: clusternetworkpolicy/{block} (added)"
        )),
        "{text}"
    );
    std::fs::write(manifest.path(), cnp("1001")).unwrap();
    let diff = c.as_user("admin", &["diff", "-f", manifest.path().to_str().unwrap()]);
    let err = stderr(&diff);
    code(&diff, 2);
    assert!(
        err.starts_with("error: ") && err.contains(&block) && err.contains("priority"),
        "{err}"
    );
    // A field the CRD does not have: the server's strict decoding error
    // (kubectl apply asks for strict field validation), not dropped.
    std::fs::write(
        manifest.path(),
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {block}}}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}\n  ingres: [{{action: Deny, from: [{{namespaces: {{}}}}]}}]\n"
        ),
    )
    .unwrap();
    let diff = c.as_user("admin", &["diff", "-f", manifest.path().to_str().unwrap()]);
    let err = stderr(&diff);
    code(&diff, 2);
    assert!(
        err.starts_with("error: the API server rejects the apply of ClusterNetworkPolicy")
            && err.contains("strict decoding error: unknown field \"spec.ingres\""),
        "{err}"
    );
    // One kubectl cannot decode never reaches the server: not worded as
    // the server's rejection.
    std::fs::write(
        manifest.path(),
        cnp("1").replace("metadata: {name: ", "metadata: {labels: {a: true}, name: "),
    )
    .unwrap();
    let diff = c.as_user("admin", &["diff", "-f", manifest.path().to_str().unwrap()]);
    let err = stderr(&diff);
    code(&diff, 2);
    assert!(
        err.starts_with(&format!(
            "error: unable to decode ClusterNetworkPolicy {block:?}: invalid type: boolean"
        )) && !err.contains("rejects"),
        "{err}"
    );
    // Nothing was created by the dry runs.
    let get = c.kubectl(&["get", "clusternetworkpolicies", "-o", "name"], None);
    let names = String::from_utf8_lossy(&get.stdout).to_string();
    assert!(get.status.success() && !names.contains(&block), "{names}");

    // dana reads her namespace only: the cluster policies are served but
    // hidden from her, which she is told (never "none"); her answer is
    // NetworkPolicy's.
    let dana = c.as_user(
        "dana",
        &["can", &client, &server, "--port", "8080", "-n", &ns],
    );
    let err = stderr(&dana);
    assert!(
        err.contains("warning: answers may be incomplete: the cluster serves cluster-scoped network policies (Admin and Baseline tiers) that could not be read"),
        "{err}"
    );
    // ... in the answer itself too (JSON notes), and in coverage and lint.
    let dana = c.as_user(
        "dana",
        &[
            "can", &client, &server, "--port", "8080", "-n", &ns, "-o", "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&dana)).unwrap();
    assert!(
        v["notes"]
            .to_string()
            .contains("Admin and Baseline tier policies could not be read"),
        "{v:#}"
    );
    // dana's diff cannot be complete: the cluster policies she cannot
    // read may decide any pair, before and after.
    let np = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        np.path(),
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: dana-deny, namespace: {ns}}}\nspec: {{podSelector: {{}}}}\n"
        ),
    )
    .unwrap();
    let diff = c.as_user(
        "dana",
        &[
            "diff",
            "-f",
            np.path().to_str().unwrap(),
            "-n",
            &ns,
            "-o",
            "json",
        ],
    );
    let text = stdout(&diff);
    code(&diff, 2);
    let v: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(v["complete"], false, "{text}");
    assert!(
        v["notes"].to_string().contains("cluster-scoped policies"),
        "{text}"
    );
    // JSON says they were not read (never an answer that reads as "none"),
    // in every command's answer.
    for args in [
        vec!["list", "-n", &ns, "-o", "json"],
        vec!["matrix", "-n", &ns, "-o", "json"],
        vec!["coverage", "-n", &ns, "-o", "json"],
        vec![
            "can", &client, &server, "--port", "8080", "-n", &ns, "-o", "json",
        ],
        vec!["explain", "pod/server", "-n", &ns, "-o", "json"],
    ] {
        let out = c.as_user("dana", &args);
        let v: serde_json::Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&out)));
        assert_eq!(v["clusterPoliciesReadable"], false, "{args:?}: {v:#}");
        assert!(
            v["clusterPoliciesUnreadable"]
                .as_str()
                .is_some_and(|why| why.contains("could not be read") && why.contains("forbidden")),
            "{args:?}: {v:#}"
        );
    }
    // Text coverage: the pods no NetworkPolicy isolates may still be
    // protected by a cluster policy.
    let text = ok(&c.as_user("dana", &["coverage", "-n", &ns]));
    assert!(
        text.contains("the cluster policies (Admin and Baseline tiers) could not be read, and they may protect these pods"),
        "{text}"
    );
    for args in [["coverage", "-n", &ns], ["lint", "-n", &ns]] {
        let out = c.as_user("dana", &args);
        assert!(
            stderr(&out).contains("warning: answers may be incomplete"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // lint's tier findings on a live cluster: with -n, those of the
    // cluster policies whose subject may select the namespace's pods (a
    // cluster policy has no namespace of its own), not the others'; with
    // -A, all. late's Accept of the client is never reached: deny's Deny
    // of the namespace (priority 20) decides it first. pass's Pass in the
    // Baseline tier is about the other namespace only.
    c.apply(&format!(
        r#"apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: {late}}}
spec:
  tier: Admin
  priority: 30
  subject:
    namespaces: {{matchLabels: {{team: {ns}}}}}
  ingress:
  - name: client-too-late
    action: Accept
    from:
    - pods:
        namespaceSelector: {{matchLabels: {{team: {ns}}}}}
        podSelector: {{matchLabels: {{app: client}}}}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {{name: {pass}}}
spec:
  tier: Baseline
  priority: 30
  subject:
    namespaces: {{matchLabels: {{team: {other_ns}}}}}
  ingress:
  - {{action: Pass, from: [{{namespaces: {{}}}}]}}
"#
    ));
    let tier_findings = |args: &[&str]| -> Vec<(String, String)> {
        let mut argv = vec!["lint", "-o", "json"];
        argv.extend(args);
        // Exit 5 when some finding is an error: other tests' objects on a
        // shared cluster may hold some (-A sees them).
        let out = c.as_user("admin", &argv);
        let text = stdout(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 5)),
            "{argv:?}: {text}\n{}",
            stderr(&out)
        );
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON output");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["check"].as_str().unwrap().starts_with("tier-"))
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["object"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let shadowed = (
        "tier-shadowed-rule".to_string(),
        format!("clusternetworkpolicy/{late}"),
    );
    let passes = (
        "tier-pass-in-baseline".to_string(),
        format!("clusternetworkpolicy/{pass}"),
    );
    let mine = tier_findings(&["-n", &ns]);
    assert!(mine.contains(&shadowed), "{mine:?}");
    assert!(!mine.contains(&passes), "{mine:?}");
    let theirs = tier_findings(&["-n", &other_ns]);
    assert!(theirs.contains(&passes), "{theirs:?}");
    assert!(!theirs.contains(&shadowed), "{theirs:?}");
    let all = tier_findings(&["-A"]);
    assert!(all.contains(&shadowed) && all.contains(&passes), "{all:?}");

    // --against-cluster: a manifest's cluster policy is linted with the
    // cluster's (here one that shadows it), and only the manifest's is
    // reported.
    let (first, second) = (format!("{ns}-first"), format!("{ns}-second"));
    let cnp = |name: &str, priority: u32, action: &str, from: &str| {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  tier: Admin\n  priority: {priority}\n  subject: {{namespaces: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}\n  ingress:\n  - action: {action}\n    from: [{from}]\n"
        )
    };
    c.apply(&cnp(&first, 2, "Deny", "{namespaces: {}}"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        cnp(&second, 7, "Accept", "{namespaces: {matchLabels: {a: b}}}"),
    )
    .unwrap();
    let out = c.as_user(
        "admin",
        &[
            "lint",
            "--against-cluster",
            "-f",
            file.path().to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    let text = stdout(&out);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(&out)));
    let found: Vec<(String, String)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        found.contains(&(
            "tier-shadowed-rule".to_string(),
            format!("clusternetworkpolicy/{second}")
        )),
        "{text}"
    );
    assert!(
        found.iter().all(|(_, o)| o.contains(&second)),
        "only the manifest's policy is reported: {found:?}"
    );
    assert!(
        text.contains(&first),
        "the shadowing policy is named: {text}"
    );
}

/// The API discovery requests for policy.networking.k8s.io in `-v 6`'s
/// request log (`I: GET URL STATUS ...`): the group's (`/apis/GROUP`) and
/// its versions' (`/apis/GROUP/VERSION`), as `PATH STATUS`; lists
/// (`/apis/GROUP/VERSION/RESOURCE`) are not discovery.
fn discovery_requests(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("I: GET "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let url = words.next()?;
            let status = words.next()?;
            let path = url.split_once("://").map_or(url, |(_, rest)| rest);
            let path = &path[path.find('/')?..];
            let path = path.split('?').next()?;
            let rest = path.strip_prefix("/apis/policy.networking.k8s.io")?;
            (rest.matches('/').count() <= 1 && !rest.ends_with('/') || rest.is_empty())
                .then(|| format!("{path} {status}"))
        })
        .collect()
}

//! deploy/: the controller's manifests (controller.yaml, rbac.yaml and the
//! CRD) applied to a real kube-apiserver as the README says (`kubectl apply
//! -f deploy/`): accepted with no warning (its namespace warns and enforces
//! the "restricted" Pod Security Standard, and a pod of the Deployment's
//! template passes it), and the service account gets exactly the rights
//! the controller needs (`kubectl auth can-i`, allowed and denied, and the
//! whole `--list` compared with an unbound service account's). Everything
//! is deleted at the end, the namespace through the real namespace
//! controller. The Containerfile is checked against the Deployment and the
//! release archives without a container engine.

mod common;
use common::cluster::*;

use std::collections::BTreeSet;

use serde_json::{Value, json};

const NS: &str = "kubectl-netpol-system";
const SA: &str = "system:serviceaccount:kubectl-netpol-system:kubectl-netpol";

/// Deletes everything deploy/ made, waiting for it (the namespace through
/// the namespace controller), then lets kube-controller-manager go.
struct Cleanup<'c> {
    c: &'c Cluster,
    gc: Option<GarbageCollector<'c>>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let out = delete_all(self.c);
        if !out.status.success() {
            eprintln!("cleanup: {}", stderr(&out));
        }
    }
}

fn delete_all(c: &Cluster) -> std::process::Output {
    c.kubectl(
        &[
            "delete",
            "-f",
            "deploy/",
            "--ignore-not-found",
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    )
}

fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn deployment() -> Value {
    documents("deploy/controller.yaml")
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment in deploy/controller.yaml")
}

/// `kubectl auth can-i VERB RESOURCE` as the controller: `resource` may
/// end in `/NAME` or ` --subresource=S`; `where` is `-A`, or a namespace.
fn can(c: &Cluster, verb: &str, resource: &str, r#where: &str) -> bool {
    let mut args = vec!["auth", "can-i", verb];
    args.extend(resource.split_whitespace());
    args.extend(["--as", SA]);
    if r#where == "-A" {
        args.push("-A");
    } else {
        args.extend(["-n", r#where]);
    }
    let out = c.kubectl(&args, None);
    match stdout(&out).trim() {
        "yes" => true,
        "no" => false,
        other => panic!("can-i {args:?}: {other:?} {}", stderr(&out)),
    }
}

/// The resource rows of `kubectl auth can-i --list` in namespace `ns` as
/// `who`: (resource, resource names, sorted verbs).
fn rights(c: &Cluster, who: &str, ns: &str) -> BTreeSet<(String, String, String)> {
    let out = ok(&c.kubectl(&["auth", "can-i", "--list", "--as", who, "-n", ns], None));
    let brackets = |s: &str| -> Vec<String> {
        s.split('[')
            .skip(1)
            .map(|x| x.split(']').next().unwrap().to_string())
            .collect()
    };
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .map(|l| {
            let (resource, rest) = l.split_once(' ').unwrap();
            let b = brackets(rest);
            assert_eq!(b.len(), 3, "{l}");
            let mut verbs: Vec<&str> = b[2].split_whitespace().collect();
            verbs.sort();
            (resource.to_string(), b[1].clone(), verbs.join(" "))
        })
        .collect()
}

fn row(resource: &str, names: &str, verbs: &str) -> (String, String, String) {
    let mut v: Vec<&str> = verbs.split_whitespace().collect();
    v.sort();
    (resource.to_string(), names.to_string(), v.join(" "))
}

#[test]
fn the_deploy_manifests_are_accepted_and_grant_exactly_what_the_controller_needs() {
    let Some(c) = cluster() else { return };
    let mut cleanup = Cleanup { c: &c, gc: None };
    // For the namespace at the end (the garbage collector has nothing to
    // do here).
    cleanup.gc = Some(c.garbage_collector());
    // What an interrupted run may have left.
    ok(&delete_all(&c));

    // As the README says; no warning: strict field validation, Pod
    // Security (warn=restricted) on the Deployment's template.
    let out = c.kubectl(&["apply", "-f", "deploy/"], None);
    let applied = ok(&out);
    assert_eq!(stderr(&out), "", "{applied}");
    for object in [
        "namespace/kubectl-netpol-system created",
        "serviceaccount/kubectl-netpol created",
        "deployment.apps/kubectl-netpol created",
        "customresourcedefinition.apiextensions.k8s.io/servicegraphs.kubectl-netpol.github.io created",
        "clusterrole.rbac.authorization.k8s.io/kubectl-netpol created",
        "clusterrolebinding.rbac.authorization.k8s.io/kubectl-netpol created",
        "role.rbac.authorization.k8s.io/kubectl-netpol-leader-election created",
        "rolebinding.rbac.authorization.k8s.io/kubectl-netpol-leader-election created",
        "role.rbac.authorization.k8s.io/kubectl-netpol-dns created",
        "rolebinding.rbac.authorization.k8s.io/kubectl-netpol-dns created",
    ] {
        assert!(applied.lines().any(|l| l == object), "{object}:\n{applied}");
    }
    assert_eq!(applied.lines().count(), 10, "{applied}");
    // Applied again: nothing changes (no field the server rewrites).
    let again = ok(&c.kubectl(&["apply", "-f", "deploy/"], None));
    assert!(again.lines().all(|l| l.ends_with(" unchanged")), "{again}");
    // And through a server-side dry run, with kubectl's field manager.
    ok(&c.kubectl(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=kubectl-client-side-apply",
            "-f",
            "deploy/",
        ],
        None,
    ));

    // A pod of the Deployment's template, as the ReplicaSet would create
    // it: the namespace enforces "restricted" and lets it in.
    let stored = json(&c.kubectl(
        &[
            "get",
            "deployment",
            "kubectl-netpol",
            "-n",
            NS,
            "-o",
            "json",
        ],
        None,
    ));
    let pod = |spec: &Value| {
        serde_json::to_string(&json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "kubectl-netpol-template", "namespace": NS},
            "spec": spec,
        }))
        .unwrap()
    };
    let spec = stored["spec"]["template"]["spec"].clone();
    let out = c.kubectl(
        &["create", "--dry-run=server", "-f", "-"],
        Some(&pod(&spec)),
    );
    ok(&out);
    assert_eq!(stderr(&out), "");
    // (The enforcement is real: the same pod allowed to escalate is not.)
    let mut loose = spec.clone();
    loose["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    let out = c.kubectl(
        &["create", "--dry-run=server", "-f", "-"],
        Some(&pod(&loose)),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"
        ),
        "{}",
        stderr(&out)
    );
    // What the file says is what the server keeps.
    let file = deployment();
    assert_eq!(stored["spec"]["replicas"], json!(2));
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["args"],
        json!([
            "sync",
            "--watch",
            "--yes",
            "--health-probe-bind-address=:8081"
        ])
    );
    let container = &stored["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["ports"][0]["containerPort"], 8081);
    assert_eq!(spec["serviceAccountName"], json!("kubectl-netpol"));
    assert_eq!(
        spec["containers"][0]["securityContext"],
        file["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    );
    assert_eq!(
        spec["securityContext"],
        file["spec"]["template"]["spec"]["securityContext"]
    );

    // The rights, one by one. Allowed:
    let some_ns = "default";
    let allowed: &[(&str, &str, &str)] = &[
        ("get", "servicegraphs.kubectl-netpol.github.io", "-A"),
        ("list", "servicegraphs.kubectl-netpol.github.io", "-A"),
        ("watch", "servicegraphs.kubectl-netpol.github.io", "-A"),
        (
            "update",
            "servicegraphs.kubectl-netpol.github.io --subresource=status",
            "-A",
        ),
        (
            "patch",
            "servicegraphs.kubectl-netpol.github.io --subresource=status",
            "-A",
        ),
        ("list", "networkpolicies.networking.k8s.io", "-A"),
        ("watch", "networkpolicies.networking.k8s.io", "-A"),
        ("get", "networkpolicies.networking.k8s.io", some_ns),
        ("create", "networkpolicies.networking.k8s.io", some_ns),
        ("patch", "networkpolicies.networking.k8s.io", some_ns),
        ("update", "networkpolicies.networking.k8s.io", some_ns),
        ("delete", "networkpolicies.networking.k8s.io", some_ns),
        ("list", "pods", "-A"),
        ("watch", "pods", "-A"),
        ("get", "pods", some_ns),
        ("list", "namespaces", "-A"),
        ("watch", "namespaces", "-A"),
        ("list", "deployments.apps", "-A"),
        ("watch", "statefulsets.apps", "-A"),
        ("list", "daemonsets.apps", "-A"),
        ("get", "replicasets.apps", some_ns),
        ("list", "replicationcontrollers", "-A"),
        ("list", "jobs.batch", "-A"),
        ("watch", "cronjobs.batch", "-A"),
        ("create", "events.events.k8s.io", "default"),
        ("patch", "events.events.k8s.io", some_ns),
        ("create", "leases.coordination.k8s.io", NS),
        ("get", "leases.coordination.k8s.io/kubectl-netpol", NS),
        ("update", "leases.coordination.k8s.io/kubectl-netpol", NS),
        ("patch", "leases.coordination.k8s.io/kubectl-netpol", NS),
        ("list", "services", "kube-system"),
        ("watch", "services", "kube-system"),
        ("list", "nodes", "-A"),
        ("get", "configmaps/cilium-config", "kube-system"),
        ("get", "configmaps/amazon-vpc-cni", "kube-system"),
    ];
    // Denied: secrets and everything else not needed, other kinds of
    // network policy, writes to graphs and workloads, pods' insides,
    // other Leases, Services outside kube-system, RBAC and impersonation.
    let denied: &[(&str, &str, &str)] = &[
        ("get", "secrets", NS),
        ("list", "secrets", "-A"),
        ("get", "configmaps", "kube-system"),
        ("get", "serviceaccounts", NS),
        ("create", "serviceaccounts --subresource=token", NS),
        ("create", "servicegraphs.kubectl-netpol.github.io", "-A"),
        ("update", "servicegraphs.kubectl-netpol.github.io", "-A"),
        ("patch", "servicegraphs.kubectl-netpol.github.io", "-A"),
        ("delete", "servicegraphs.kubectl-netpol.github.io", "-A"),
        (
            "update",
            "servicegraphs.kubectl-netpol.github.io --subresource=finalizers",
            "-A",
        ),
        (
            "deletecollection",
            "networkpolicies.networking.k8s.io",
            some_ns,
        ),
        ("get", "networkpolicies.crd.projectcalico.org", some_ns),
        ("get", "globalnetworkpolicies.crd.projectcalico.org", "-A"),
        ("get", "ciliumnetworkpolicies.cilium.io", some_ns),
        ("get", "ciliumclusterwidenetworkpolicies.cilium.io", "-A"),
        ("get", "adminnetworkpolicies.policy.networking.k8s.io", "-A"),
        (
            "get",
            "clusternetworkpolicies.policy.networking.k8s.io",
            "-A",
        ),
        ("create", "pods", some_ns),
        ("delete", "pods", some_ns),
        ("create", "pods --subresource=exec", some_ns),
        ("get", "pods --subresource=log", some_ns),
        ("update", "deployments.apps", some_ns),
        ("delete", "namespaces", "-A"),
        ("patch", "namespaces", "-A"),
        ("watch", "nodes", "-A"),
        ("patch", "nodes", "-A"),
        ("list", "configmaps", "kube-system"),
        ("get", "configmaps/coredns", "kube-system"),
        ("list", "services", some_ns),
        ("get", "endpoints", "kube-system"),
        (
            "get",
            "leases.coordination.k8s.io/kube-controller-manager",
            "kube-system",
        ),
        ("create", "leases.coordination.k8s.io", "kube-system"),
        ("update", "leases.coordination.k8s.io/other", NS),
        ("delete", "leases.coordination.k8s.io/kubectl-netpol", NS),
        ("list", "leases.coordination.k8s.io", NS),
        ("get", "events.events.k8s.io", some_ns),
        ("delete", "events.events.k8s.io", some_ns),
        (
            "create",
            "clusterrolebindings.rbac.authorization.k8s.io",
            "-A",
        ),
        ("bind", "clusterroles.rbac.authorization.k8s.io", "-A"),
        ("escalate", "clusterroles.rbac.authorization.k8s.io", "-A"),
        ("impersonate", "users", "-A"),
        ("impersonate", "serviceaccounts", NS),
        (
            "create",
            "customresourcedefinitions.apiextensions.k8s.io",
            "-A",
        ),
        ("*", "*", "-A"),
    ];
    // (Asked from a few threads: one kubectl each, some 70 in all.)
    let questions: Vec<(&(&str, &str, &str), bool)> = allowed
        .iter()
        .map(|r| (r, true))
        .chain(denied.iter().map(|r| (r, false)))
        .collect();
    let c = &c;
    let wrong: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = questions
            .chunks(questions.len().div_ceil(6))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter(|((verb, resource, w), want)| can(c, verb, resource, w) != *want)
                        .map(|((verb, resource, w), want)| {
                            format!(
                                "{verb} {resource} {w}: {}",
                                if *want { "denied" } else { "allowed" }
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Exactly: what it may do beyond any service account (which may
    // discover the API and review itself), per namespace.
    let cluster_wide = [
        row(
            "servicegraphs.kubectl-netpol.github.io",
            "",
            "get list watch",
        ),
        row(
            "servicegraphs.kubectl-netpol.github.io/status",
            "",
            "update patch",
        ),
        row(
            "networkpolicies.networking.k8s.io",
            "",
            "get list watch create patch update delete",
        ),
        row("namespaces", "", "get list watch"),
        row("pods", "", "get list watch"),
        row("replicationcontrollers", "", "get list watch"),
        row("deployments.apps", "", "get list watch"),
        row("statefulsets.apps", "", "get list watch"),
        row("daemonsets.apps", "", "get list watch"),
        row("replicasets.apps", "", "get list watch"),
        row("jobs.batch", "", "get list watch"),
        row("cronjobs.batch", "", "get list watch"),
        row("events.events.k8s.io", "", "create patch"),
        row("nodes", "", "get list"),
        row("configmaps", "cilium-config", "get"),
        row("configmaps", "amazon-vpc-cni", "get"),
    ];
    let nobody = format!("system:serviceaccount:{NS}:nobody");
    for (ns, extra) in [
        ("default", vec![]),
        (
            NS,
            vec![
                row("leases.coordination.k8s.io", "", "create"),
                row(
                    "leases.coordination.k8s.io",
                    "kubectl-netpol",
                    "get update patch",
                ),
            ],
        ),
        ("kube-system", vec![row("services", "", "get list watch")]),
    ] {
        let base = rights(c, &nobody, ns);
        assert!(
            base.iter()
                .any(|r| r.0 == "selfsubjectaccessreviews.authorization.k8s.io"),
            "{base:?}"
        );
        let ours: BTreeSet<_> = rights(c, SA, ns).difference(&base).cloned().collect();
        let want: BTreeSet<_> = cluster_wide.iter().cloned().chain(extra).collect();
        assert_eq!(ours, want, "in namespace {ns}");
    }
}

/// The Containerfile makes the image the Deployment runs: from the
/// release archives scripts/release names, non-root as the Deployment
/// insists, running `sync --watch`.
#[test]
fn the_containerfile_agrees_with_the_deployment_and_the_release_archives() {
    let text = std::fs::read_to_string("deploy/Containerfile").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(lines[0], "FROM scratch");
    assert!(lines.contains(&"ADD kubectl-netpol_${VERSION}_linux_${TARGETARCH}.tar.gz /"));
    // scripts/release: kubectl-netpol_vX.Y.Z_<os>_<arch>.tar.gz, arch as
    // in Go (= TARGETARCH): amd64, arm64.
    let release = std::fs::read_to_string("scripts/release").unwrap();
    assert!(release.contains("DIST/kubectl-netpol_vX.Y.Z_<os>_<arch>.tar.gz"));
    assert!(release.contains("x86_64-unknown-linux-musl|x86_64-unknown-linux-gnu) echo \"linux amd64 tar.gz kubectl-netpol\""));
    assert!(
        release.contains("aarch64-unknown-linux-musl) echo \"linux arm64 tar.gz kubectl-netpol\"")
    );
    assert!(lines.contains(&"USER 65532:65532"));
    assert!(lines.contains(&"ENTRYPOINT [\"/kubectl-netpol\"]"));
    assert!(lines.contains(
        &"CMD [\"sync\", \"--watch\", \"--yes\", \"--health-probe-bind-address=:8081\"]"
    ));
    let d = deployment();
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], json!(65532));
    assert_eq!(pod["securityContext"]["runAsGroup"], json!(65532));
    assert_eq!(
        pod["containers"][0]["args"],
        json!([
            "sync",
            "--watch",
            "--yes",
            "--health-probe-bind-address=:8081"
        ])
    );
    assert_eq!(
        pod["containers"][0]["command"],
        Value::Null,
        "the image's ENTRYPOINT"
    );
}

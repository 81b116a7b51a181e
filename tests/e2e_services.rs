//! End-to-end: Services as endpoints against a real kube-apiserver + etcd
//! (scripts/e2e-cluster; NETPOL_E2E_DIR names its directory), through
//! kubectl's plugin dispatch. The apiserver assigns ClusterIPs; no
//! controller runs, so EndpointSlices are written by the tests.
//! Each test works in namespaces of its own.

use serde_json::Value;

mod common;
use common::cluster::*;

/// front/web; back/api-1 (http = 8080) and back/api-2 (http = 9090); a
/// policy admitting front/web on 8080 only; Service api (port 80 ->
/// targetPort http). Returns (front, back).
fn seed(c: &Cluster, net: u8) -> (String, String) {
    let front = c.create_namespace("svc-front");
    let back = c.create_namespace("svc-back");
    c.pod(
        &front,
        "web",
        "app: web",
        "{containerPort: 80}",
        &format!("10.{net}.0.10"),
    );
    c.pod(
        &back,
        "api-1",
        "app: api",
        "{name: http, containerPort: 8080}",
        &format!("10.{net}.1.1"),
    );
    c.pod(
        &back,
        "api-2",
        "app: api",
        "{name: http, containerPort: 9090}",
        &format!("10.{net}.1.2"),
    );
    c.apply(&format!(
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-web, namespace: {back}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: web}}}}
      namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {front}}}}}
    ports: [{{port: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: {back}}}
spec:
  selector: {{app: api}}
  ports: [{{name: web, port: 80, targetPort: http}}]
"#
    ));
    (front, back)
}

#[test]
fn live_service_answers_per_backing_pod_by_name_and_by_cluster_ip() {
    let Some(c) = cluster() else { return };
    let (front, back) = seed(&c, 171);
    let web = format!("{front}/web");
    let svc = format!("{back}/svc/api");
    let out = code(&c.as_user("admin", &["can", &web, &svc]), 1);
    assert!(
        out.starts_with(&format!(
            "PARTLY ALLOWED: {web} -> service {back}/api: 1 of 2 backing pods allowed"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ALLOWED: {web} -> {back}/api-1 on TCP/8080 via Service {back}/api (port 80/TCP -> TCP/8080)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "DENIED: {web} -> {back}/api-2 on TCP/9090 via Service {back}/api (port 80/TCP -> TCP/9090)"
        )),
        "{out}"
    );
    // The ClusterIP the apiserver assigned: the same backends.
    let ip = c.cluster_ip(&back, "api");
    assert!(!ip.is_empty());
    let v: Value = serde_json::from_str(&code(
        &c.as_user("admin", &["can", &web, &ip, "--port", "80", "-o", "json"]),
        1,
    ))
    .expect("JSON");
    assert_eq!(v["service"]["name"], "api");
    assert_eq!(v["service"]["clusterIPs"][0], ip.as_str());
    let got: Vec<(String, bool)> = v["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            (
                c["to"].as_str().unwrap_or_default().to_string(),
                c["allowed"] == true,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (format!("{back}/api-1"), true),
            (format!("{back}/api-2"), false)
        ]
    );
    // A ClusterIP is never a source.
    let o = c.as_user("admin", &["can", &ip, &web]);
    code(&o, 2);
    assert!(
        stderr(&o).contains("is never the source address of a packet"),
        "{}",
        stderr(&o)
    );
    // bob reads pods, namespaces and policies, not Services: an address
    // is answered, marked as not checked against ClusterIPs; a Service
    // by name is an RBAC error.
    // web's egress is not isolated: were the address a Service's (it is),
    // its backends' ingress would decide; UNKNOWN, with the answer for an
    // address outside the cluster.
    let o = c.as_user("bob", &["can", &web, &ip]);
    code(&o, 4);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.starts_with("UNKNOWN: "), "{out}");
    assert!(
        out.contains(&format!(
            "{ip} may be the address of a pod or Service that could not be read (Services' ClusterIPs: "
        )) && out.contains("if it is outside the cluster, the answer is ALLOWED"),
        "{out}"
    );
    let o = c.as_user("bob", &["can", &web, &svc]);
    code(&o, 2);
    assert!(stderr(&o).contains("cannot get services"), "{}", stderr(&o));
    assert!(stderr(&o).contains("forbidden"), "{}", stderr(&o));
    // explain svc/NAME, live.
    let out = code(&c.as_user("admin", &["explain", &svc]), 0);
    assert!(
        out.contains("80/TCP -> TCP/9090: denied, nothing admits it"),
        "{out}"
    );
}

#[test]
fn live_endpoint_slices_win_and_a_user_without_them_gets_the_selector_with_a_note() {
    let Some(c) = cluster() else { return };
    let (front, back) = seed(&c, 172);
    // The slice lists api-1 only (api-2 not ready).
    c.apply(&format!(
        r#"apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-x1
  namespace: {back}
  labels: {{kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{{name: web, port: 8080, protocol: TCP}}]
endpoints:
- addresses: [10.172.1.1]
  conditions: {{ready: true}}
  targetRef: {{kind: Pod, name: api-1, namespace: {back}}}
- addresses: [10.172.1.2]
  conditions: {{ready: false}}
  targetRef: {{kind: Pod, name: api-2, namespace: {back}}}
"#
    ));
    let web = format!("{front}/web");
    let out = code(
        &c.as_user("admin", &["can", &web, &format!("{back}/svc/api")]),
        0,
    );
    assert!(out.contains("1 of 1 backing pod allowed"), "{out}");
    assert!(
        out.contains("ready endpoints of its EndpointSlices"),
        "{out}"
    );
    assert!(out.contains(&format!("left out: {back}/api-2")), "{out}");

    // carol reads pods, Services and policies of `back` only, not
    // EndpointSlices: the selector answers, and says why.
    c.bind_carol(&back, "pods, services");
    // (api-2 -> api-1 is denied: allow-web admits front/web only.)
    let o = c.as_user(
        "carol",
        &["can", "svc/api", "api-1", "-n", &back, "-o", "json"],
    );
    let v: Value = serde_json::from_str(&code(&o, 1)).expect("JSON");
    assert_eq!(v["service"]["backendsFrom"], "selector");
    let notes = v["notes"].to_string();
    assert!(notes.contains("EndpointSlices of service"), "{notes}");
    assert!(notes.contains("could not be read"), "{notes}");
    assert!(notes.contains("forbidden"), "{notes}");
    // Her ClusterIP question is looked up in her namespace only.
    let ip = c.cluster_ip(&back, "api");
    // (api-2 reaches itself; api-1 admits front/web only.)
    let o = c.as_user("carol", &["can", "api-2", &ip, "-n", &back]);
    let out = code(&o, 1);
    assert!(
        out.starts_with(&format!(
            "PARTLY ALLOWED: {back}/api-2 -> service {back}/api: 1 of 2 backing pods allowed"
        )),
        "{out}"
    );
}

#[test]
fn live_headless_external_name_and_selectorless_services_are_explained() {
    let Some(c) = cluster() else { return };
    let (front, back) = seed(&c, 173);
    c.apply(&format!(
        r#"apiVersion: v1
kind: Service
metadata: {{name: api-headless, namespace: {back}}}
spec:
  clusterIP: None
  selector: {{app: api}}
  ports: [{{port: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: ext, namespace: {back}}}
spec: {{type: ExternalName, externalName: db.example.com}}
---
apiVersion: v1
kind: Service
metadata: {{name: manual, namespace: {back}}}
spec:
  ports: [{{port: 80}}]
"#
    ));
    let web = format!("{front}/web");
    let out = code(
        &c.as_user("admin", &["can", &web, &format!("{back}/svc/api-headless")]),
        0,
    );
    assert!(out.contains("is headless (clusterIP: None)"), "{out}");
    let out = code(
        &c.as_user(
            "admin",
            &["can", &web, &format!("{back}/svc/ext"), "--port", "5432"],
        ),
        0,
    );
    assert!(out.contains("not a cluster destination"), "{out}");
    let o = c.as_user("admin", &["can", &web, &format!("{back}/svc/manual")]);
    code(&o, 2);
    assert!(
        stderr(&o).contains("has no selector and no EndpointSlices"),
        "{}",
        stderr(&o)
    );
    // A missing Service: the nearest one is offered.
    let o = c.as_user("admin", &["can", &web, &format!("{back}/svc/apj")]);
    code(&o, 2);
    assert!(
        stderr(&o).contains("did you mean svc/api"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn live_word_that_is_a_namespace_and_a_kind() {
    let Some(c) = cluster() else { return };
    // Namespace `deploy` (shared by runs: names below are unique per run).
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: deploy}\n");
    // A name unique to this run (the namespace's name is not used).
    let name = c.namespace("builder");
    c.pod(
        "deploy",
        &name,
        "app: builder",
        "{containerPort: 80}",
        "10.174.0.1",
    );
    // Only the pod exists: `deploy/NAME` is it, resolved against the cluster.
    let out = code(
        &c.as_user("admin", &["explain", &format!("deploy/{name}")]),
        0,
    );
    assert!(out.contains(&format!("deploy/{name}")), "{out}");
    // A pod of a Deployment of the same name in `default`: now ambiguous.
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}-5d8f7-x2x2x\n  namespace: default\n  labels: {{app: {name}, pod-template-hash: 5d8f7}}\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: ReplicaSet, name: {name}-5d8f7, uid: 00000000-0000-0000-0000-000000000001, controller: true}}\nspec:\n  nodeName: node-1\n  containers: [{{name: c, image: x}}]\n"
    ));
    let o = c.as_user("admin", &["explain", &format!("deploy/{name}")]);
    code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("is ambiguous"), "{err}");
    assert!(
        err.contains(&format!("deploy/pod/{name}, or -n deploy {name}")),
        "{err}"
    );
    assert!(err.contains(&format!("deployment/{name}")), "{err}");
}

#[test]
fn live_a_reading_whose_namespace_is_refused_is_unknown_not_absent() {
    let Some(c) = cluster() else { return };
    let (_, back) = seed(&c, 175);
    c.bind_carol(&back, "pods, services");
    let unique = c.unique();
    // `jobs/NAME`: a Job in her namespace, or a pod of namespace `jobs`,
    // which she may not read.
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: jobs}\n");
    let worker = format!("worker-{unique}");
    c.pod(
        "jobs",
        &worker,
        "app: worker",
        "{containerPort: 9999}",
        "10.175.9.9",
    );
    let o = c.as_user(
        "carol",
        &[
            "can",
            "api-1",
            &format!("jobs/{worker}"),
            "--port",
            "9999",
            "-n",
            &back,
        ],
    );
    code(&o, 2);
    let err = stderr(&o);
    // Both readings are unknown to her: the first (a Job of her
    // namespace, whose get is refused) is reported, naming the other.
    assert!(
        err.starts_with(&format!(
            "error: cannot get jobs in namespace \"{back}\": forbidden for user \"carol\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "could not be looked up as job \"{worker}\" in namespace \"{back}\" (nor as pod \"{worker}\" in namespace \"jobs\": cannot list pods in namespace \"jobs\": forbidden for user \"carol\""
        )),
        "{err}"
    );
    // The admin gets the answer.
    let o = c.as_user(
        "admin",
        &[
            "can",
            "api-1",
            &format!("jobs/{worker}"),
            "--port",
            "9999",
            "-n",
            &back,
        ],
    );
    assert!(
        stdout(&o).contains(&format!("jobs/{worker}")),
        "{}",
        stderr(&o)
    );

    // `svc/NAME`: Service NAME of her namespace, and pod NAME of namespace
    // `svc`: ambiguous for the admin; for carol the Service, saying that
    // the other reading could not be checked.
    c.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: svc}\n");
    let name = format!("dual-{unique}");
    c.pod(
        "svc",
        &name,
        "app: dual",
        "{containerPort: 80}",
        "10.175.9.10",
    );
    c.apply(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {back}}}\nspec:\n  selector: {{app: api}}\n  ports: [{{name: web, port: 80, targetPort: http}}]\n"
    ));
    let o = c.as_user(
        "admin",
        &["can", "api-1", &format!("svc/{name}"), "-n", &back],
    );
    code(&o, 2);
    assert!(stderr(&o).contains("is ambiguous"), "{}", stderr(&o));
    let o = c.as_user(
        "carol",
        &["can", "api-1", &format!("svc/{name}"), "-n", &back],
    );
    let out = stdout(&o);
    assert!(
        out.contains(&format!("service {back}/{name}")),
        "{out}{}",
        stderr(&o)
    );
    assert!(
        out.contains(&format!(
            "may also name pod \"{name}\" in namespace \"svc\", which could not be checked"
        )),
        "{out}"
    );
}

#[test]
fn live_suggestions_know_services_as_offline_does() {
    let Some(c) = cluster() else { return };
    let (front, back) = seed(&c, 176);
    let unique = c.unique();
    let name = format!("shopfront-{unique}");
    c.apply(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {back}}}\nspec:\n  selector: {{app: api}}\n  ports: [{{name: web, port: 80, targetPort: http}}]\n"
    ));
    // A typo in a two-reading reference (`svc` may be a namespace).
    let typo = format!("svc/{}", &name[..name.len() - 1]);
    for cmd in [
        vec!["can", "api-1", typo.as_str(), "-n", back.as_str()],
        vec!["explain", typo.as_str(), "-n", back.as_str()],
    ] {
        let o = c.as_user("admin", &cmd);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("did you mean svc/{name} in namespace \"{back}\"")),
            "{cmd:?}: {err}"
        );
    }
    // A bare name that is only a Service's: write svc/NAME.
    let o = c.as_user("admin", &["can", "api-1", &name, "-n", &back]);
    code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("Service {back}/{name} exists: write svc/{name}")),
        "{err}"
    );
    // The right name in another namespace than the default one.
    let o = c.as_user(
        "admin",
        &["can", &format!("{front}/web"), &format!("svc/{name}")],
    );
    code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("found in namespace \"{back}\": use -n {back}")),
        "{err}"
    );
}

#[test]
fn live_backends_refused_are_unknown_not_none() {
    let Some(c) = cluster() else { return };
    let (_, back) = seed(&c, 177);
    c.bind_carol(&back, "pods, services");
    c.apply(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: manual, namespace: {back}}}\nspec:\n  ports: [{{name: web, port: 80, targetPort: 8080}}]\n"
    ));
    // carol may not read EndpointSlices: the backends of a Service without
    // selector are unknown, and said so.
    let out = code(
        &c.as_user("carol", &["explain", "svc/manual", "-n", &back]),
        0,
    );
    assert!(
        out.contains(
            "Backends:     unknown: it has no selector and its EndpointSlices could not be read"
        ),
        "{out}"
    );
    assert!(!out.contains("Backends:     <none>"), "{out}");
    let o = c.as_user(
        "carol",
        &["explain", "svc/manual", "-n", &back, "-o", "json"],
    );
    let v: Value = serde_json::from_str(&code(&o, 0)).expect("JSON");
    assert!(
        v["backendsUnknown"]
            .as_str()
            .unwrap_or_default()
            .contains("forbidden"),
        "{v}"
    );
}

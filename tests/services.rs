//! Services as endpoints (`can SRC svc/NAME`, ClusterIPs, `explain
//! svc/NAME`) and references whose first word is both a resource type and a
//! namespace (`jobs/worker`), on offline fixtures.

mod common;

use common::{netpol, one_error, parse_json, stdout_of};

const SHOP: &str = "tests/fixtures/services/shop.yaml";
const WORDS: &str = "tests/fixtures/services/words.yaml";
const DNS: &str = "tests/fixtures/services/dns.yaml";
const NAMESPACE_WORD: &str = "tests/fixtures/services/namespace-word.yaml";

/// Runs a command expected to exit with `code`; returns stdout.
fn run(args: &[&str], code: i32) -> String {
    let a = netpol().args(args).assert().code(code);
    stdout_of(&a)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// can: a Service as destination
// ---------------------------------------------------------------------------

#[test]
fn a_service_is_answered_per_backing_pod_on_its_target_port() {
    // targetPort `http` is 8080 on api-1 and 9090 on api-2; only 8080 is
    // admitted: one backend allowed, one denied, exit 1.
    let out = run(&["can", "front/web", "back/svc/api", "-f", SHOP], 1);
    assert_eq!(
        first_line(&out),
        "PARTLY ALLOWED: front/web -> service back/api: 1 of 2 backing pods allowed"
    );
    assert!(
        out.contains(
            "ALLOWED: front/web -> back/api-1 on TCP/8080 via Service back/api (port 80/TCP -> TCP/8080)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "DENIED: front/web -> back/api-2 on TCP/9090 via Service back/api (port 80/TCP -> TCP/9090)"
        ),
        "{out}"
    );
}

#[test]
fn every_backend_allowed_exits_0() {
    let out = run(
        &[
            "can",
            "front/web",
            "back/svc/api-direct",
            "--port",
            "80",
            "-f",
            SHOP,
        ],
        0,
    );
    assert_eq!(
        first_line(&out),
        "ALLOWED: front/web -> service back/api-direct on port 80: 2 of 2 backing pods allowed"
    );
}

#[test]
fn no_backend_allowed_says_denied() {
    let out = run(
        &["can", "front/locked", "back/svc/api-direct", "-f", SHOP],
        1,
    );
    assert!(
        first_line(&out).starts_with("DENIED: front/locked -> service back/api-direct: 0 of 2"),
        "{out}"
    );
}

#[test]
fn json_lists_each_backend_with_its_own_verdict() {
    let v = parse_json(&run(
        &[
            "can",
            "front/web",
            "back/svc/api",
            "--port",
            "80",
            "-o",
            "json",
            "-f",
            SHOP,
        ],
        1,
    ));
    assert_eq!(v["allowed"], false);
    assert_eq!(v["to"], "service back/api");
    assert_eq!(
        v["service"]["clusterIPs"],
        serde_json::json!(["10.96.0.5", "fd00::5"])
    );
    assert_eq!(v["service"]["backendsFrom"], "selector");
    let conns = v["connections"].as_array().expect("connections");
    let got: Vec<(&str, &str, bool)> = conns
        .iter()
        .map(|c| {
            (
                c["to"].as_str().unwrap(),
                c["port"].as_str().unwrap(),
                c["allowed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("back/api-1", "TCP/8080", true),
            ("back/api-2", "TCP/9090", false)
        ]
    );
    assert_eq!(
        conns[1]["via"],
        "via Service back/api (port 80/TCP -> TCP/9090)"
    );
}

#[test]
fn every_spelling_of_a_service_gives_the_same_answer() {
    let want = run(
        &["can", "front/web", "back/svc/api", "-o", "json", "-f", SHOP],
        1,
    );
    for spelling in [
        &["back/service/api"][..],
        &["back/services/api"],
        &["svc/api", "-n", "back"],
        &["service/api", "-n", "back"],
        &["services/api", "-n", "back"],
    ] {
        let mut args = vec!["can", "front/web"];
        args.extend_from_slice(spelling);
        args.extend(["-o", "json", "-f", SHOP]);
        // With -n back, front/web still names namespace front explicitly.
        assert_eq!(run(&args, 1), want, "{spelling:?}");
    }
}

#[test]
fn any_cluster_ip_of_a_service_stands_for_it() {
    for ip in ["10.96.0.5", "fd00::5"] {
        let out = run(&["can", "front/web", ip, "--port", "80", "-f", SHOP], 1);
        assert!(
            first_line(&out)
                .starts_with("PARTLY ALLOWED: front/web -> service back/api on port 80"),
            "{ip}: {out}"
        );
        assert!(
            out.contains(&format!("{ip} is the ClusterIP of Service back/api")),
            "{out}"
        );
    }
}

#[test]
fn port_on_a_service_is_the_service_port() {
    // 80 is the Service's port; 8080 is not one of its ports.
    run(
        &[
            "can",
            "front/web",
            "back/svc/api-direct",
            "--port",
            "80",
            "-f",
            SHOP,
        ],
        0,
    );
    let err = one_error(
        &[
            "can",
            "front/web",
            "back/svc/api-direct",
            "--port",
            "8080",
            "-f",
            SHOP,
        ],
        2,
    );
    assert!(
        err.contains("Service back/api-direct has no port 8080 (its ports: web 80/TCP)"),
        "{err}"
    );
    assert!(
        err.ends_with("8080 is the targetPort its pods listen on: ask with --port 80"),
        "{err}"
    );
    // A Service port's name works too.
    let out = run(
        &[
            "can",
            "front/web",
            "back/svc/api-direct",
            "--port",
            "web",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(out.contains("(port 80/TCP -> TCP/8080)"), "{out}");
}

#[test]
fn a_dns_service_is_decided_on_the_container_port() {
    // Egress admits 53; the resolver pods listen on 8053 behind Service port 53.
    let out = run(
        &[
            "can",
            "edge/proxy",
            "resolver/svc/resolver",
            "--port",
            "53/UDP",
            "-f",
            DNS,
        ],
        1,
    );
    assert!(first_line(&out).starts_with("DENIED: "), "{out}");
    assert!(
        out.contains("DENIED: edge/proxy -> resolver/resolver-0 on UDP/8053 via Service resolver/resolver (port 53/UDP -> UDP/8053)"),
        "{out}"
    );
    // `--port 53` without a protocol: both Service ports numbered 53.
    let out = run(
        &["can", "edge/proxy", "10.96.2.10", "--port", "53", "-f", DNS],
        1,
    );
    assert!(
        out.contains("on UDP/8053 via Service resolver/resolver (port 53/UDP -> UDP/8053)")
            && out.contains("on TCP/8053 via Service resolver/resolver (port 53/TCP -> TCP/8053)"),
        "{out}"
    );
    assert!(
        first_line(&out).ends_with(
            "port 53/UDP: 0 of 1 backing pod allowed; port 53/TCP: 0 of 1 backing pod allowed"
        ),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// can: Services that are not a set of pods behind a virtual IP
// ---------------------------------------------------------------------------

#[test]
fn a_headless_service_is_each_pod_directly() {
    let out = run(
        &["can", "front/web", "back/svc/api-headless", "-f", SHOP],
        0,
    );
    assert!(out.contains("is headless (clusterIP: None)"), "{out}");
    assert!(
        out.contains("back/api-2 on TCP/8080 via headless Service back/api-headless"),
        "{out}"
    );
    // A number on a headless Service is the pods' own port.
    let out = run(
        &[
            "can",
            "front/web",
            "back/svc/api-headless",
            "--port",
            "9090",
            "-f",
            SHOP,
        ],
        1,
    );
    assert!(
        out.contains("back/api-2 on TCP/9090 via headless Service"),
        "{out}"
    );
}

#[test]
fn an_external_name_is_decided_by_the_source_egress_only() {
    let out = run(
        &[
            "can",
            "front/web",
            "back/svc/warehouse",
            "--port",
            "443",
            "-f",
            SHOP,
        ],
        0,
    );
    assert!(
        first_line(&out).starts_with(
            "ALLOWED: front/web -> service back/warehouse (ExternalName warehouse.example.com)"
        ),
        "{out}"
    );
    assert!(out.contains("not a cluster destination"), "{out}");
    // Egress limited to an ipBlock: the address the name resolves to decides.
    let err = one_error(
        &[
            "can",
            "front/locked",
            "back/svc/warehouse",
            "--port",
            "5432",
            "-f",
            SHOP,
        ],
        2,
    );
    assert!(
        err.contains("depends on the address \"warehouse.example.com\" resolves to"),
        "{err}"
    );
    assert!(err.contains("192.168.50.0/24"), "{err}");
    // An ExternalName that names a Service of the cluster: ask about that one.
    let err = one_error(
        &["can", "front/web", "svc/alias", "-n", "front", "-f", SHOP],
        2,
    );
    assert!(
        err.contains(
            "names Service back/api of this cluster: ask about it directly (back/svc/api)"
        ),
        "{err}"
    );
    // Both ends outside the cluster.
    let err = one_error(&["can", "203.0.113.1", "back/svc/warehouse", "-f", SHOP], 2);
    assert!(err.contains("NetworkPolicy has nothing to say"), "{err}");
}

#[test]
fn a_service_without_selector_or_slices_is_not_guessed() {
    let err = one_error(&["can", "front/web", "back/svc/orphan", "-f", SHOP], 2);
    assert!(
        err.contains("Service back/orphan has no selector and no EndpointSlices"),
        "{err}"
    );
    // By its ClusterIP too: never "an address outside the cluster".
    let err = one_error(&["can", "front/web", "10.96.0.8", "-f", SHOP], 2);
    assert!(err.contains("Service back/orphan has no selector"), "{err}");
}

#[test]
fn endpoint_slices_name_the_backends_when_present() {
    // legacy has no selector; its hand-written slice points at an address
    // outside the pods, on 15432.
    let out = run(&["can", "front/locked", "back/svc/legacy", "-f", SHOP], 1);
    assert!(
        out.contains("DENIED: front/locked -> 192.168.50.7 on TCP/15432 via Service back/legacy (port 5432/TCP -> TCP/15432)"),
        "{out}"
    );
    // api-sliced: the slice lists api-1 ready and api-2 not ready.
    let out = run(&["can", "front/web", "back/svc/api-sliced", "-f", SHOP], 0);
    assert!(out.contains("1 of 1 backing pod allowed"), "{out}");
    assert!(out.contains("left out: back/api-2"), "{out}");
    let v = parse_json(&run(
        &[
            "can",
            "front/web",
            "back/svc/api-sliced",
            "-o",
            "json",
            "-f",
            SHOP,
        ],
        0,
    ));
    assert_eq!(v["service"]["backendsFrom"], "EndpointSlices");
}

#[test]
fn a_client_outside_through_a_load_balancer_is_told_about_its_address() {
    // 203.0.113.9 is not admitted by allow-web (pods of front only).
    let out = run(&["can", "203.0.113.9", "back/svc/public", "-f", SHOP], 1);
    assert!(
        first_line(&out).starts_with("DENIED: 203.0.113.9 -> service back/public: 0 of 2"),
        "{out}"
    );
    assert!(
        out.contains("has externalTrafficPolicy: Cluster: a client coming in through its node port or load balancer is usually seen by the pods with a node's address"),
        "{out}"
    );
}

#[test]
fn a_cluster_ip_reaches_the_pods_address_of_its_own_family() {
    // v6only may reach fd00:2::/64 only: through the IPv6 ClusterIP, yes;
    // through the IPv4 one the pod is reached on 10.2.0.3, outside it.
    let out = run(&["can", "front/v6only", "fd00::12", "-f", SHOP], 0);
    assert!(first_line(&out).starts_with("ALLOWED: "), "{out}");
    let out = run(&["can", "front/v6only", "10.96.0.12", "-f", SHOP], 1);
    assert!(first_line(&out).starts_with("DENIED: "), "{out}");
}

#[test]
fn a_target_port_name_no_pod_declares_reaches_nothing() {
    let err = one_error(&["can", "front/web", "back/svc/api-metrics", "-f", SHOP], 2);
    assert!(
        err.starts_with("error: no pod behind Service back/api-metrics serves its ports: the Service sends nothing there (back/api-1: no container port named \"metrics\" (TCP)"),
        "{err}"
    );
}

#[test]
fn a_pod_a_slice_names_but_the_input_lacks_is_left_out_not_taken_as_outside() {
    let out = run(&["can", "front/web", "back/svc/api-ghost", "-f", SHOP], 0);
    assert!(out.contains("1 of 1 backing pod allowed"), "{out}");
    assert!(
        out.contains("not among the pods read (finished or gone), so left out: back/api-9"),
        "{out}"
    );
    assert!(!out.contains("10.2.0.99"), "{out}");
}

// ---------------------------------------------------------------------------
// can: a Service as source
// ---------------------------------------------------------------------------

#[test]
fn a_service_as_source_means_the_pods_behind_it() {
    let v = parse_json(&run(
        &[
            "can",
            "svc/api",
            "front/web",
            "-n",
            "back",
            "-o",
            "json",
            "-f",
            SHOP,
        ],
        0,
    ));
    let from: Vec<&str> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["from"].as_str().unwrap())
        .collect();
    assert_eq!(from, vec!["back/api-1", "back/api-2"]);
    assert_eq!(v["from"], "service back/api");
}

#[test]
fn a_cluster_ip_is_never_a_source_address() {
    let err = one_error(&["can", "10.96.0.5", "front/web", "-f", SHOP], 2);
    assert!(
        err.contains("10.96.0.5 is the ClusterIP of Service back/api: a ClusterIP is never the source address of a packet"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// explain svc/NAME
// ---------------------------------------------------------------------------

#[test]
fn explain_a_service_groups_its_pods_by_what_reaches_each_target_port() {
    let out = run(&["explain", "back/svc/api", "-f", SHOP], 0);
    assert!(out.starts_with("Service:      back/api\n"), "{out}");
    assert!(
        out.contains("Backends:     back/api-1, back/api-2 (from its selector)"),
        "{out}"
    );
    assert!(
        out.contains(
            "  80/TCP -> TCP/8080: from web in namespaces [team=front] (back/allow-web rule #1)"
        ),
        "{out}"
    );
    assert!(
        out.contains("  80/TCP -> TCP/9090: denied, nothing admits it"),
        "{out}"
    );
    let v = parse_json(&run(
        &[
            "explain",
            "svc/api-direct",
            "-n",
            "back",
            "-o",
            "json",
            "-f",
            SHOP,
        ],
        0,
    ));
    // Same policies, same target port: one group of two pods.
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{v}");
    assert_eq!(
        groups[0]["pods"],
        serde_json::json!(["back/api-1", "back/api-2"])
    );
    assert_eq!(groups[0]["ports"][0]["targetPort"], "TCP/8080");
    assert_eq!(groups[0]["ports"][0]["allowed"], true);
}

#[test]
fn explain_says_what_an_external_name_or_unmanaged_service_is() {
    let v = parse_json(&run(
        &["explain", "back/svc/warehouse", "-o", "json", "-f", SHOP],
        0,
    ));
    assert_eq!(v["groups"], serde_json::json!([]));
    let notes = v["notes"].to_string();
    assert!(notes.contains("not a cluster destination"), "{notes}");
    let v = parse_json(&run(&["explain", "10.96.0.8", "-o", "json", "-f", SHOP], 0));
    assert_eq!(v["service"]["name"], "orphan");
    assert!(
        v["notes"]
            .to_string()
            .contains("no selector and no EndpointSlices"),
        "{v}"
    );
}

// ---------------------------------------------------------------------------
// References: WORD/NAME where WORD is a resource type and a namespace
// ---------------------------------------------------------------------------

#[test]
fn jobs_slash_worker_means_the_pod_when_no_job_has_that_name() {
    let out = run(
        &[
            "can",
            "jobs/worker",
            "store/shelf",
            "--port",
            "7000",
            "-f",
            NAMESPACE_WORD,
        ],
        0,
    );
    assert!(
        first_line(&out).starts_with("ALLOWED: jobs/worker -> store/shelf on TCP/7000"),
        "{out}"
    );
    let out = run(
        &["can", "store/shelf", "jobs/worker", "-f", NAMESPACE_WORD],
        0,
    );
    assert!(
        first_line(&out).starts_with("ALLOWED: store/shelf -> jobs/worker"),
        "{out}"
    );
    let out = run(&["explain", "jobs/worker", "-f", NAMESPACE_WORD], 0);
    assert!(out.contains("jobs/worker"), "{out}");
    // A Job named like that is missing: the error says so for both readings.
    let err = one_error(&["explain", "jobs/nobody", "-f", NAMESPACE_WORD], 1);
    assert!(
        err.starts_with(r#"error: no pods of job/nobody found in namespace "default", and namespace "jobs" has no pod or workload "nobody""#),
        "{err}"
    );
}

#[test]
fn a_reference_that_names_two_things_is_ambiguous_and_shows_both_spellings() {
    let err = one_error(&["explain", "jobs/worker", "-f", WORDS], 2);
    assert!(err.contains("\"jobs/worker\" is ambiguous"), "{err}");
    assert!(err.contains("jobs/pod/worker, or -n jobs worker"), "{err}");
    assert!(err.contains("job/worker"), "{err}");
    // Each spelling then works.
    let out = run(&["explain", "jobs/pod/worker", "-f", WORDS], 0);
    assert!(out.contains("jobs/worker"), "{out}");
    let out = run(&["explain", "job/worker", "-f", WORDS], 0);
    assert!(out.contains("Pod:         default/job/worker\n"), "{out}");
    // svc/cache: a Service cache in default and a pod cache in namespace svc.
    let err = one_error(&["can", "client", "svc/cache", "-f", WORDS], 2);
    assert!(err.contains("\"svc/cache\" is ambiguous"), "{err}");
    assert!(err.contains("svc/pod/cache, or -n svc cache"), "{err}");
    assert!(err.contains("service/cache"), "{err}");
}

#[test]
fn a_word_that_is_only_a_namespace_or_only_a_kind_resolves_to_what_exists() {
    // svc/store: the Service (no pod store in namespace svc).
    let out = run(&["can", "client", "svc/store", "-f", WORDS], 0);
    assert!(first_line(&out).contains("service default/store"), "{out}");
    // deploy/builder: the pod of namespace deploy (no Deployment builder).
    let out = run(&["explain", "deploy/builder", "-f", WORDS], 0);
    assert!(out.contains("deploy/builder"), "{out}");
}

#[test]
fn not_found_suggests_the_nearest_name_and_its_spellings() {
    let err = one_error(&["explain", "back/api-l", "-f", SHOP], 1);
    assert_eq!(
        err,
        r#"error: pods "api-l" not found in namespace "back"; did you mean pod/api-1 in namespace "back"? (back/pod/api-1, or -n back pod/api-1)"#
    );
    let err = one_error(&["explain", "jobs/wroker", "-f", NAMESPACE_WORD], 1);
    assert!(
        err.contains("did you mean pod/worker in namespace \"jobs\"? (jobs/pod/worker, or -n jobs pod/worker)"),
        "{err}"
    );
    // The same name in another namespace: both spellings, with the kind
    // of what is there (a workload for a bare name).
    let err = one_error(&["explain", "api", "-f", "examples/shop"], 1);
    assert_eq!(
        err,
        r#"error: pods "api" not found in namespace "default" (found in namespace "backend": use -n backend, or backend/deployment/api)"#
    );
    // A bare name that only a Service has.
    let err = one_error(&["can", "front/web", "back/api-direct", "-f", SHOP], 2);
    assert!(
        err.ends_with(
            "; Service back/api-direct exists: write svc/api-direct (or back/svc/api-direct)"
        ),
        "{err}"
    );
    let err = one_error(&["can", "front/web", "back/svc/apl", "-f", SHOP], 2);
    assert!(
        err.starts_with(
            r#"error: services "apl" not found in namespace "back"; did you mean svc/api"#
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// can SRC svc/NAME without --port: each Service port is its own question
// ---------------------------------------------------------------------------

const MULTIPORT: &str = "tests/fixtures/services/multiport.yaml";

#[test]
fn without_port_each_service_port_is_asked_about_and_counted_apart() {
    // Port 80 (-> http) is admitted on both pods serving it; port 81 (->
    // 1234) on none. The host-network pod has no `http` port: it is a
    // backend for port 81 only.
    let out = run(&["can", "web", "svc/app", "-n", "shop", "-f", MULTIPORT], 1);
    assert_eq!(
        first_line(&out),
        "PARTLY ALLOWED: shop/web -> service shop/app: port 80/TCP: 2 of 2 backing pods allowed; port 81/TCP: 0 of 3 backing pods allowed"
    );
    assert!(
        out.contains(
            "  ALLOWED: shop/web -> shop/app on TCP/8080 via Service shop/app (port 80/TCP -> TCP/8080)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "  DENIED: shop/web -> shop/app on TCP/1234 via Service shop/app (port 81/TCP -> TCP/1234)"
        ),
        "{out}"
    );
    assert!(!out.contains("TCP/1234, TCP/8080"), "{out}");
    // Every Service port allowed to every backend serving it: exit 0.
    let out = run(
        &["can", "web", "svc/app-web", "-n", "shop", "-f", MULTIPORT],
        0,
    );
    assert_eq!(
        first_line(&out),
        "ALLOWED: shop/web -> service shop/app-web: 2 of 2 backing pods allowed"
    );
}

#[test]
fn without_port_json_has_no_port_and_no_contradiction() {
    let v = parse_json(&run(
        &[
            "can", "web", "svc/app", "-n", "shop", "-o", "json", "-f", MULTIPORT,
        ],
        1,
    ));
    assert_eq!(v["port"], serde_json::Value::Null);
    assert_eq!(
        v["servicePorts"],
        serde_json::json!([
            {"servicePort": "80/TCP", "connections": 2, "allowed": 2},
            {"servicePort": "81/TCP", "connections": 3, "allowed": 0}
        ])
    );
    for c in v["connections"].as_array().expect("connections") {
        let port = c["port"].as_str().expect("one port per connection");
        assert!(!port.contains(','), "{c}");
        assert_eq!(
            c["allowed"].as_bool(),
            Some(c["egress"]["allowed"] == true && c["ingress"]["allowed"] == true),
            "{c}"
        );
        assert!(c["servicePort"].is_string(), "{c}");
    }
}

#[test]
fn explain_marks_host_network_backends_and_ports_they_do_not_serve() {
    let out = run(&["explain", "svc/app", "-n", "shop", "-f", MULTIPORT], 0);
    assert!(
        out.contains(
            "Backends:     shop/app, shop/app2, shop/hostagent (host network) (from its selector)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "Ingress of shop/hostagent (host network): its node's address: no policy applies"
        ),
        "{out}"
    );
    assert!(
        out.contains("  80/TCP -> not served here: no container port named \"http\" (TCP)"),
        "{out}"
    );
    assert!(!out.contains("no such port on these pods"), "{out}");
    let v = parse_json(&run(
        &[
            "explain", "svc/app", "-n", "shop", "-o", "json", "-f", MULTIPORT,
        ],
        0,
    ));
    assert_eq!(v["hostNetwork"], serde_json::json!(["shop/hostagent"]));
    let host = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["pods"] == serde_json::json!(["shop/hostagent"]))
        .expect("a group for the host-network pod");
    assert_eq!(host["hostNetwork"], true, "{host}");
    assert!(host["ports"][0]["notServed"].is_string(), "{host}");
    assert_eq!(v["backendsUnknown"], serde_json::Value::Null);
}

#[test]
fn addresses_behind_a_service_are_backends_not_backing_pods() {
    let out = run(
        &["explain", "svc/by-address", "-n", "shop", "-f", MULTIPORT],
        0,
    );
    assert!(
        out.contains("Backends:     172.18.0.4 (node node-b), 192.0.2.10 (not a pod)"),
        "{out}"
    );
    assert!(
        out.contains("172.18.0.4 is an address of node node-b, not a pod: NetworkPolicy does not apply to a node's address"),
        "{out}"
    );
    assert!(
        !out.contains("172.18.0.4 is an address no known pod has"),
        "{out}"
    );
    let out = run(
        &[
            "can",
            "web",
            "svc/by-address",
            "-n",
            "shop",
            "-f",
            MULTIPORT,
        ],
        1,
    );
    assert_eq!(
        first_line(&out),
        "PARTLY ALLOWED: shop/web -> service shop/by-address: 1 of 2 backends allowed"
    );
}

#[test]
fn wording_of_external_names_cidrs_bad_addresses_and_headless_ports() {
    // The source in the namespace/name form, as in every other answer.
    let out = run(&["can", "web", "svc/ext", "-n", "shop", "-f", MULTIPORT], 1);
    assert!(
        first_line(&out)
            .starts_with("DENIED: shop/web -> service shop/ext (ExternalName example.com)"),
        "{out}"
    );
    // A CIDR is not an endpoint; an invalid address is not a pod name.
    let err = one_error(
        &["can", "web", "10.0.0.50/32", "-n", "shop", "-f", MULTIPORT],
        2,
    );
    assert_eq!(
        err,
        "error: \"10.0.0.50/32\" is a CIDR (a range of addresses), not one endpoint: give an address, e.g. 10.0.0.50"
    );
    // A usage error: exit 2 (issue 12 item 13).
    let err = one_error(&["explain", "10.0.0.0/8", "-n", "shop", "-f", MULTIPORT], 2);
    assert!(err.contains("e.g. 10.0.0.1"), "{err}");
    let err = one_error(
        &["can", "web", "300.1.1.1", "-n", "shop", "-f", MULTIPORT],
        2,
    );
    assert_eq!(err, "error: \"300.1.1.1\" is not a valid IP address");
    // Headless: no translation to talk about.
    let err = one_error(
        &[
            "can",
            "front/web",
            "back/svc/api-headless",
            "--port",
            "http",
            "-f",
            SHOP,
        ],
        2,
    );
    assert!(err.contains("headless: there is no translation"), "{err}");
    assert!(
        !err.contains("translated to each pod's targetPort"),
        "{err}"
    );
}

#[test]
fn explain_leaves_out_a_pod_that_serves_none_of_the_service_ports() {
    let out = run(
        &["explain", "svc/app-web", "-n", "shop", "-f", MULTIPORT],
        0,
    );
    assert!(
        out.contains("Backends:     shop/app, shop/app2 (from its selector)"),
        "{out}"
    );
    assert!(
        out.contains("shop/hostagent is selected but serves none of the Service's ports, so it is not a backend"),
        "{out}"
    );
    assert!(!out.contains("Ingress of shop/hostagent"), "{out}");
}

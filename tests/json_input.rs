//! The JSON fast path of `-f` (issue 17) against the reference reading.
//!
//! JSON documents are read by serde_json when the YAML reading would read
//! them alike (`source::json`); the YAML reading stays the definition.
//! Seeded random inputs (every kind `-f` reads, wrongly typed fields,
//! floats where integers go, nulls, escapes and non-ASCII text, typed and
//! plain lists, several documents, comments, CRLF, malformed JSON) are read
//! both ways and must give the same snapshot and warnings, or the same
//! error; the same objects written as YAML must give what their JSON gives.
//! Deterministic: a failure names the seed, and `NETPOL_RANDOM_INPUTS=N`
//! runs more of them.

use netpol::source::files::{Parallel, Reading, read_str, read_str_with};
use serde_json::{Value, json};

/// xorshift64*, as in tests/random_clusters.rs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const NAMESPACES: &[&str] = &["a", "b", "kube-system", "shop"];

/// A string value: mostly plain names, sometimes text that exercises
/// escapes and non-ASCII characters.
fn text(rng: &mut Rng) -> Value {
    let plain = ["web", "api", "db", "x-1", "front.end", "v1.2", "8080"];
    if rng.chance(85) {
        return json!(rng.pick(&plain));
    }
    json!(rng.pick(&[
        "caf\u{e9}",
        "quote \" and \\ backslash",
        "slash / here",
        "\u{1f600} emoji",
        "line\nbreak",
        "tab\tinside",
        "nul \u{0} byte",
        "\u{7f} del",
        "\u{2028} separator",
        "",
        " spaced ",
        "# not a comment",
        "--- not a marker",
        "yes",
        "010",
    ]))
}

/// A number where an integer is expected: mostly an integer, sometimes a
/// whole float, a fraction, a string, a huge number or a boolean.
fn port_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => json!(80.0),
        1 => json!("http"),
        2 => json!(8080.5),
        3 => json!(true),
        4 => json!(1e3),
        5 => json!(70000),
        _ => json!(rng.pick(&[53, 80, 443, 8080, 9090])),
    }
}

fn labels(rng: &mut Rng) -> Value {
    let mut m = serde_json::Map::new();
    for _ in 0..rng.below(3) {
        let key = rng.pick(&["app", "role", "team", "tier", "k8s-app"]);
        let value = if rng.chance(5) {
            json!(7)
        } else if rng.chance(3) {
            Value::Null
        } else {
            json!(rng.pick(&["web", "api", "db", "red", "blue"]))
        };
        m.insert(key.to_string(), value);
    }
    Value::Object(m)
}

fn metadata(rng: &mut Rng, namespaced: bool) -> Value {
    let mut m = json!({"name": rng.pick(&["p", "q", "web", "api", "r1"])});
    if namespaced && rng.chance(80) {
        m["namespace"] = json!(rng.pick(NAMESPACES));
    }
    if rng.chance(70) {
        m["labels"] = labels(rng);
    }
    if rng.chance(20) {
        m["annotations"] = json!({"note": text(rng)});
    }
    if rng.chance(3) {
        m["name"] = json!(12);
    }
    m
}

fn container(rng: &mut Rng) -> Value {
    let mut ports = Vec::new();
    for _ in 0..rng.below(3) {
        let mut p = json!({"containerPort": port_number(rng)});
        if rng.chance(60) {
            p["name"] = json!(rng.pick(&["http", "metrics", "dns"]));
        }
        if rng.chance(30) {
            p["protocol"] = json!(rng.pick(&["TCP", "UDP", "SCTP"]));
        }
        ports.push(p);
    }
    let mut c = json!({"name": "c", "image": text(rng), "ports": ports});
    if rng.chance(10) {
        c["resources"] =
            json!({"requests": {"cpu": "100m", "memory": rng.pick(&[json!("1Gi"), json!(5)])}});
    }
    c
}

fn pod_spec(rng: &mut Rng) -> Value {
    let mut spec = json!({"containers": [container(rng)]});
    if rng.chance(20) {
        spec["initContainers"] = json!([{
            "name": "i", "image": "x",
            "restartPolicy": rng.pick(&["Always", "OnFailure"]),
            "ports": [{"name": "side", "containerPort": 7000}]
        }]);
    }
    if rng.chance(15) {
        spec["hostNetwork"] = json!(rng.chance(80));
    }
    if rng.chance(30) {
        spec["nodeName"] = json!(rng.pick(&["n1", "n2"]));
    }
    if rng.chance(5) {
        spec["hostNetwork"] = json!("yes");
    }
    spec
}

fn peer(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 => json!({"podSelector": {"matchLabels": labels(rng)}}),
        1 => json!({"namespaceSelector": {"matchExpressions": [
            {"key": "team", "operator": rng.pick(&["In", "NotIn", "Exists"]), "values": ["red"]}
        ]}}),
        2 => json!({"ipBlock": {"cidr": rng.pick(&["10.0.0.0/8", "0.0.0.0/0", "fd00::/64", "bad"]),
                                "except": ["10.1.0.0/16"]}}),
        3 => json!({"namespaceSelector": {}, "podSelector": {"matchLabels": labels(rng)}}),
        _ => json!({"podSelector": {}}),
    }
}

fn rules(rng: &mut Rng, field: &str) -> Value {
    let mut out = Vec::new();
    for _ in 0..rng.below(3) {
        let mut r = serde_json::Map::new();
        if rng.chance(70) {
            r.insert(field.into(), json!([peer(rng)]));
        }
        if rng.chance(60) {
            let mut p = json!({"port": port_number(rng)});
            if rng.chance(20) {
                p["endPort"] = json!(9000);
            }
            if rng.chance(30) {
                p["protocol"] = json!(rng.pick(&["TCP", "UDP"]));
            }
            r.insert("ports".into(), json!([p]));
        }
        if rng.chance(3) {
            r.insert("unknownField".into(), json!(1));
        }
        out.push(Value::Object(r));
    }
    Value::Array(out)
}

/// One random object of a kind `-f` reads (or one it does not).
fn object(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 | 1 => json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(rng, false)}),
        2..=5 => {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata(rng, true),
                                 "spec": pod_spec(rng)});
            if rng.chance(30) {
                pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                    "kind": "ReplicaSet", "name": "web-7d9f", "uid": "u", "controller": true}]);
            }
            if rng.chance(80) {
                pod["status"] = json!({"podIP": rng.pick(&["10.0.0.1", "10.0.0.2", "fd00::1"]),
                    "phase": rng.pick(&["Running", "Running", "Succeeded"]),
                    "hostIP": "192.168.0.1"});
            }
            pod
        }
        6..=8 => {
            let mut spec = json!({"podSelector": {"matchLabels": labels(rng)}});
            if rng.chance(40) {
                spec["policyTypes"] = json!(rng.pick(&[
                    json!(["Ingress"]),
                    json!(["Egress"]),
                    json!(["Ingress", "Egress"])
                ]));
            }
            spec["ingress"] = rules(rng, "from");
            if rng.chance(50) {
                spec["egress"] = rules(rng, "to");
            } else if rng.chance(10) {
                spec["egress"] = Value::Null;
            }
            json!({"apiVersion": rng.pick(&["networking.k8s.io/v1", "networking.k8s.io/v1", "extensions/v1beta1"]),
                   "kind": "NetworkPolicy", "metadata": metadata(rng, true), "spec": spec})
        }
        9 => {
            json!({"apiVersion": "apps/v1", "kind": rng.pick(&["Deployment", "DaemonSet", "StatefulSet"]),
                    "metadata": metadata(rng, true),
                    "spec": {"selector": {"matchLabels": {"app": "web"}},
                             "template": {"metadata": {"labels": labels(rng)}, "spec": pod_spec(rng)}}})
        }
        10 => json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata(rng, true),
                     "spec": {"selector": labels(rng), "clusterIP": "10.96.0.10",
                              "ports": [{"port": port_number(rng), "targetPort": rng.pick(&[json!(8080), json!("http")])}]}}),
        11 => {
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": rng.pick(&["n1", "n2"]),
                     "labels": {"kubernetes.io/os": "linux"}},
                     "spec": {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"]},
                     "status": {"addresses": [{"type": "InternalIP", "address": rng.pick(&["192.168.0.1", "192.168.0.2"])}]}})
        }
        12 => json!({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                     "metadata": metadata(rng, true), "spec": {"endpointSelector": {}}}),
        _ => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(rng, true),
                    "data": {"k": text(rng)}}),
    }
}

/// A document: one object, or a list of them (plain, or typed with items
/// that leave out their kind), now and then something that is no object.
fn document(rng: &mut Rng) -> Value {
    match rng.below(20) {
        0..=2 => {
            let items: Vec<Value> = (0..rng.below(5)).map(|_| object(rng)).collect();
            json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
        }
        3 => {
            let items: Vec<Value> = (0..1 + rng.below(3))
                .map(|_| {
                    let mut p = object(rng);
                    if rng.chance(70) && p.get("kind") == Some(&json!("Pod")) {
                        p.as_object_mut().map(|m| {
                            m.remove("kind");
                            m.remove("apiVersion")
                        });
                    }
                    p
                })
                .collect();
            json!({"apiVersion": "v1", "kind": "PodList", "items": items})
        }
        4 if rng.chance(20) => json!([1, 2]),
        4 if rng.chance(20) => json!({"kind": "Pod"}),
        _ => object(rng),
    }
}

/// The documents of one input, written as JSON in one of several ways.
fn as_json(rng: &mut Rng, docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 || rng.chance(20) {
            out.push_str("---\n");
        }
        if rng.chance(10) {
            out.push_str("# a comment\n");
        }
        let mut text = if rng.chance(50) {
            serde_json::to_string_pretty(d).unwrap()
        } else {
            serde_json::to_string(d).unwrap()
        };
        // Now and then: a float written with a fraction, a key on the
        // next line, trailing text, a bad token, a tab, CRLF.
        match rng.below(40) {
            0 => text = text.replace(": 80", ": 80.0"),
            1 => text = text.replacen("\"kind\":", "\"kind\"\n:", 1),
            2 => text.push_str(" # trailing comment"),
            3 => text = text.replacen(',', ",,", 1),
            4 => text = text.replacen(": ", ":\t", 1),
            5 => text = text.replace('\n', "\r\n"),
            6 => text = text.replacen('{', "{\"big\": 1e400, ", 1),
            7 => text = text.replacen('{', "{\"s\": \"\\ud83d\\ude00\", ", 1),
            _ => {}
        }
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// What reading `text` gives, as comparable text: the snapshot and the
/// warnings, or the error.
fn read(text: &str, reading: Reading) -> String {
    match read_str("in.json", text, "default", reading) {
        Ok((snapshot, warnings)) => format!("{snapshot:#?}\n{warnings:#?}"),
        Err(e) => format!("error: {e}"),
    }
}

fn runs() -> u64 {
    std::env::var("NETPOL_RANDOM_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

#[test]
fn json_fast_path_reads_what_the_yaml_reading_reads_on_random_inputs() {
    let (mut ok, mut errors) = (0, 0);
    for seed in 1..=runs() {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let docs: Vec<Value> = (0..1 + rng.below(6)).map(|_| document(&mut rng)).collect();
        let text = as_json(&mut rng, &docs);
        let fast = read(&text, Reading::Fast);
        let reference = read(&text, Reading::Reference);
        assert_eq!(fast, reference, "seed {seed}: input:\n{text}");
        if fast.starts_with("error: ") {
            errors += 1;
        } else {
            ok += 1;
        }
    }
    // Both outcomes are exercised.
    assert!(ok > 10 && errors > 10, "{ok} read, {errors} refused");
}

/// A large JSON list (past the size where lists are streamed item by
/// item) reads the same both ways, and so does a malformed one.
#[test]
fn a_large_json_list_reads_what_the_yaml_reading_reads() {
    let mut rng = Rng(7);
    let items: Vec<Value> = (0..6000).map(|_| object(&mut rng)).collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let text = format!("---\n{}\n", serde_json::to_string_pretty(&list).unwrap());
    assert!(text.len() > 1 << 20);
    assert_eq!(read(&text, Reading::Fast), read(&text, Reading::Reference));
    let broken = text.replacen("\"items\": [", "\"items\": [,", 1);
    let e = read(&broken, Reading::Fast);
    assert!(e.starts_with("error: in.json: document 1: "), "{e}");
    assert_eq!(e, read(&broken, Reading::Reference));
}

/// The same objects written as YAML (block style, by serde_yaml_ng) and
/// as JSON give the same snapshot and warnings.
#[test]
fn the_same_objects_as_yaml_and_as_json_read_the_same() {
    for seed in 1..=runs() {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let docs: Vec<Value> = (0..1 + rng.below(6))
            .map(|_| document(&mut rng))
            .filter(|d| d.get("kind").is_some() && d.get("apiVersion").is_some())
            .collect();
        if docs.is_empty() {
            continue;
        }
        let json_text: Vec<String> = docs
            .iter()
            .map(|d| serde_json::to_string_pretty(d).unwrap())
            .collect();
        let yaml_text: Vec<String> = docs
            .iter()
            .map(|d| serde_yaml_ng::to_string(d).unwrap())
            .collect();
        let json_text = json_text.join("\n---\n") + "\n";
        let yaml_text = yaml_text.join("---\n");
        // serde_yaml_ng writes YAML 1.2: `yes` and `010` unquoted, which
        // YAML 1.1 (kubectl's reading, and ours) reads as a boolean and a
        // number; serde_json writes DEL and U+2028 unescaped, which YAML
        // refuses and reads as a line break. Those inputs differ by design.
        if json_text.contains("\"yes\"")
            || json_text.contains("\"010\"")
            || json_text.contains(['\u{7f}', '\u{2028}'])
        {
            continue;
        }
        assert_eq!(
            read(&json_text, Reading::Fast),
            read(&yaml_text, Reading::Fast),
            "seed {seed}: JSON:\n{json_text}\nYAML:\n{yaml_text}"
        );
    }
}

/// What reading `text` on `parallel`'s threads gives (see [`read`]).
fn read_on(text: &str, reading: Reading, parallel: Parallel) -> String {
    match read_str_with("in.json", text, "default", reading, parallel) {
        Ok((snapshot, warnings)) => format!("{snapshot:#?}\n{warnings:#?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Issue 17, every core: documents parsed on several threads (batches of
/// a few documents, so that every input here is cut into many, and the
/// next batch is read while one is parsed) give what one thread gives:
/// the same snapshot, warnings in the same order, the same first error,
/// on the random inputs above written as JSON and as YAML, with both
/// readings.
#[test]
fn several_threads_read_what_one_thread_reads_on_random_inputs() {
    let (mut ok, mut errors) = (0, 0);
    for seed in 1..=runs() {
        let mut rng = Rng(seed.wrapping_mul(0x5851_f42d_4c95_7f2d) | 1);
        let docs: Vec<Value> = (0..1 + rng.below(24)).map(|_| document(&mut rng)).collect();
        let text = if rng.chance(50) {
            as_json(&mut rng, &docs)
        } else {
            docs.iter()
                .map(|d| serde_yaml_ng::to_string(d).unwrap())
                .collect::<Vec<_>>()
                .join("---\n")
        };
        let reading = if rng.chance(80) {
            Reading::Fast
        } else {
            Reading::Reference
        };
        let one = read_on(&text, reading, Parallel::SERIAL);
        for threads in [2, 3] {
            let parallel = Parallel {
                threads,
                batch_bytes: 1 + rng.below(text.len() / 2 + 1),
            };
            assert_eq!(
                read_on(&text, reading, parallel),
                one,
                "seed {seed}, {parallel:?}: input:\n{text}"
            );
        }
        if one.starts_with("error: ") {
            errors += 1;
        } else {
            ok += 1;
        }
    }
    assert!(ok > 10 && errors > 10, "{ok} read, {errors} refused");
}

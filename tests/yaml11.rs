//! YAML read as kubectl reads it: every case of
//! `tests/fixtures/input/yaml11.json` (a field of a Pod or NetworkPolicy
//! and a YAML value, with what `kubectl create --dry-run=client -o json`
//! made of it, recorded by `scripts/record-yaml11`) read with ours.
//!
//! kubectl's answer is one of: the field's JSON value (ours must be the
//! same); an error converting YAML to JSON (ours must refuse the document
//! with the same reason); or a JSON value kubectl then cannot decode
//! (`cannot unmarshal bool into ...`: ours must produce a value of that
//! JSON type there, which the decoding after us refuses as the API does).

use std::process::Command;

use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/input/yaml11.json"
    ))
    .expect("yaml11.json");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["cases"].as_array().expect("cases").clone()
}

fn ours(document: &str) -> Result<Value, String> {
    let doc = serde_yaml_ng::Deserializer::from_str(document)
        .next()
        .ok_or("no document")?;
    netpol::source::yaml::document_value(doc, document).map_err(|e| e.to_string())
}

fn at<'a>(mut v: &'a Value, path: &[Value]) -> Option<&'a Value> {
    for step in path {
        v = match step {
            Value::String(k) => v.get(k)?,
            Value::Number(i) => v.get(i.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Equal as JSON, numbers by value (kubectl prints integers beyond 2^53
/// as floats).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// Whether `v` is, or holds, a value of Go's JSON type name `kind`.
fn holds(v: &Value, kind: &str) -> bool {
    let here = match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    };
    here == kind
        || match v {
            Value::Array(items) => items.iter().any(|i| holds(i, kind)),
            Value::Object(m) => m.values().any(|i| holds(i, kind)),
            _ => false,
        }
}

#[test]
fn every_recorded_case_reads_as_kubectl_reads_it() {
    let cases = cases();
    assert!(cases.len() > 200, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let doc = c["document"].as_str().expect("document");
        let path = c["path"].as_array().expect("path");
        let label = format!("{} = {}", c["field"], c["yaml"]);
        let got = ours(doc);
        let kubectl = &c["kubectl"];
        if let Some(want) = kubectl.get("value") {
            match &got {
                Ok(v) if at(v, path).is_some_and(|g| same(g, want)) => {}
                Ok(v) => wrong.push(format!("{label}: kubectl {want}, ours {:?}", at(v, path))),
                Err(e) => wrong.push(format!("{label}: kubectl {want}, ours error {e}")),
            }
        } else if let Some(err) = kubectl["error"].as_str() {
            if let Some(reason) = err.split("error converting YAML to JSON: ").nth(1) {
                // kubectl's reason, without Go's formatting of the key.
                let reason = reason.split(" of type:").next().unwrap_or(reason);
                let reason = reason.trim_start_matches("yaml: ");
                match &got {
                    Err(e) if e.contains(reason) => {}
                    other => wrong.push(format!("{label}: kubectl {err}, ours {other:?}")),
                }
            } else if let Some(rest) = err.split("cannot unmarshal ").nth(1) {
                let kind = rest.split(' ').next().unwrap_or("");
                match &got {
                    Ok(v) if at(v, path).is_some_and(|g| holds(g, kind)) => {}
                    other => wrong.push(format!("{label}: kubectl {err}, ours {other:?}")),
                }
            } else {
                wrong.push(format!("{label}: unexpected kubectl answer {err}"));
            }
        } else {
            wrong.push(format!("{label}: unexpected record {kubectl}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ from kubectl:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// Through the binary: `port: .nan` is an error naming file and document
/// (it used to read as no port, i.e. every port); `port: yes` makes the
/// policy invalid; `port: 1_0` and `0x50` are ports 10 and 80.
#[test]
fn nan_port_is_an_error_and_yaml_11_numbers_are_ports() {
    let dir = tempfile::tempdir().unwrap();
    let policy = |port: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: shop}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - ports:\n    - port: {port}\n"
        )
    };
    let run = |port: &str| {
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, policy(port)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"))
            .args(["list", "-A", "-f"])
            .arg(&file)
            .env_clear()
            .env("HOME", dir.path())
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for nan in [".nan", ".inf", "-.Inf"] {
        let (code, stdout, stderr) = run(nan);
        assert_eq!(code, Some(1), "{nan}: {stderr}");
        assert_eq!(stdout, "", "{nan}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("p.yaml: document 1"),
            "{stderr}"
        );
        assert!(stderr.contains("json: unsupported value"), "{stderr}");
    }
    let (code, stdout, _) = run("yes");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("INVALID: spec.ingress[0].ports[0].port"),
        "{stdout}"
    );
    for (port, want) in [
        ("1_0", "TCP/10"),
        ("0x50", "TCP/80"),
        ("010", "TCP/8"),
        ("8e1", "TCP/80"),
    ] {
        let (code, stdout, stderr) = run(port);
        assert_eq!(code, Some(0), "{port}: {stderr}");
        assert!(stdout.contains(want), "{port}: {stdout}");
    }
}

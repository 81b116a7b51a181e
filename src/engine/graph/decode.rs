//! Strict decoding of a ServiceGraph object, as the API server decodes a
//! custom resource under its CRD's structural schema with strict field
//! validation (kubectl's default): a field the schema does not have is a
//! decoding error (`unknown field "spec.edges[0].too"`), reported alone;
//! otherwise values of the wrong JSON type and missing required fields are
//! validation errors, with the server's wording (`spec.edges: Invalid
//! value: "object": spec.edges in body must be of type array: "object"`).
//!
//! [`SCHEMA`] is the one table of the kind's fields and types; a test
//! checks `deploy/crd.yaml` against it, so the CRD and this decoder agree.

use serde_json::Value;

use super::{API_VERSION, GraphError, KIND, ServiceGraph};
use crate::engine::validate::{ErrorKind, FieldError};

/// The JSON type of a field.
#[derive(Debug)]
pub enum Ty {
    Str,
    Bool,
    Int,
    /// A number or a string (`x-kubernetes-int-or-string`).
    IntOrStr,
    /// An object of string values (`additionalProperties: {type: string}`).
    StrMap,
    List(&'static Ty),
    Obj(&'static [Field]),
    /// Not looked into here (`status`, most of `metadata`).
    Any,
}

/// One field: its JSON name, type, and whether it is required.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

static REQUIREMENT: [Field; 3] = [
    req("key", Ty::Str),
    req("operator", Ty::Str),
    opt("values", Ty::List(&Ty::Str)),
];
static SELECTOR: [Field; 2] = [
    opt("matchLabels", Ty::StrMap),
    opt("matchExpressions", Ty::List(&Ty::Obj(&REQUIREMENT))),
];
static PORT: [Field; 3] = [
    opt("protocol", Ty::Str),
    opt("port", Ty::IntOrStr),
    opt("endPort", Ty::Int),
];
static PEER: [Field; 4] = [
    opt("cidr", Ty::Str),
    opt("except", Ty::List(&Ty::Str)),
    opt("namespace", Ty::Str),
    opt("podSelector", Ty::Obj(&SELECTOR)),
];
static DNS: [Field; 4] = [
    opt("enabled", Ty::Bool),
    opt("namespace", Ty::Str),
    opt("podSelector", Ty::Obj(&SELECTOR)),
    opt("ports", Ty::List(&Ty::Obj(&PORT))),
];
static NAMESPACE: [Field; 2] = [req("name", Ty::Str), opt("defaultDeny", Ty::Bool)];
static SERVICE: [Field; 5] = [
    req("name", Ty::Str),
    req("namespace", Ty::Str),
    opt("podSelector", Ty::Obj(&SELECTOR)),
    opt("workload", Ty::Str),
    opt("dns", Ty::Bool),
];
static EDGE: [Field; 3] = [
    req("from", Ty::Str),
    req("to", Ty::Str),
    req("ports", Ty::List(&Ty::Obj(&PORT))),
];
static INGRESS: [Field; 3] = [
    req("to", Ty::Str),
    req("from", Ty::List(&Ty::Obj(&PEER))),
    req("ports", Ty::List(&Ty::Obj(&PORT))),
];
static EGRESS: [Field; 3] = [
    req("from", Ty::Str),
    req("to", Ty::List(&Ty::Obj(&PEER))),
    req("ports", Ty::List(&Ty::Obj(&PORT))),
];
static SPEC: [Field; 7] = [
    opt("policyTypes", Ty::List(&Ty::Str)),
    opt("dns", Ty::Obj(&DNS)),
    opt("namespaces", Ty::List(&Ty::Obj(&NAMESPACE))),
    req("services", Ty::List(&Ty::Obj(&SERVICE))),
    opt("edges", Ty::List(&Ty::Obj(&EDGE))),
    opt("ingress", Ty::List(&Ty::Obj(&INGRESS))),
    opt("egress", Ty::List(&Ty::Obj(&EGRESS))),
];
/// `metadata`: ObjectMeta's fields. Those a generated policy or a message
/// uses are typed; the others (set by the server on a stored object) are
/// taken as they come.
static METADATA: [Field; 16] = [
    opt("name", Ty::Str),
    opt("generateName", Ty::Str),
    opt("namespace", Ty::Str),
    opt("uid", Ty::Str),
    opt("resourceVersion", Ty::Str),
    opt("generation", Ty::Any),
    opt("labels", Ty::StrMap),
    opt("annotations", Ty::StrMap),
    opt("selfLink", Ty::Any),
    opt("creationTimestamp", Ty::Any),
    opt("deletionTimestamp", Ty::Any),
    opt("deletionGracePeriodSeconds", Ty::Any),
    opt("ownerReferences", Ty::Any),
    opt("finalizers", Ty::Any),
    opt("managedFields", Ty::Any),
    opt("clusterName", Ty::Any),
];

/// The kind's whole object.
pub static SCHEMA: [Field; 5] = [
    req("apiVersion", Ty::Str),
    req("kind", Ty::Str),
    opt("metadata", Ty::Obj(&METADATA)),
    req("spec", Ty::Obj(&SPEC)),
    opt("status", Ty::Any),
];

/// The JSON type's name as the API server's schema validation says it.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn wrong_type(path: &str, v: &Value, expected: &str) -> FieldError {
    let actual = json_type(v);
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::WrongType(format!("{actual:?}")),
        detail: format!("{path} in body must be of type {expected}: {actual:?}"),
    }
}

/// Walks `v` against `ty` at `path`: fields the schema lacks go to
/// `unknown`, type errors and missing required fields to `invalid`.
fn walk(
    v: &Value,
    ty: &Ty,
    path: &str,
    unknown: &mut Vec<FieldError>,
    invalid: &mut Vec<FieldError>,
) {
    match ty {
        Ty::Any => {}
        Ty::Str if !v.is_string() => invalid.push(wrong_type(path, v, "string")),
        Ty::Bool if !v.is_boolean() => invalid.push(wrong_type(path, v, "boolean")),
        Ty::Int if json_type(v) != "integer" => invalid.push(wrong_type(path, v, "integer")),
        Ty::IntOrStr if !(v.is_string() || json_type(v) == "integer") => {
            invalid.push(wrong_type(path, v, "integer,string"))
        }
        // Every number of the kind is an int32 (ports, generation aside).
        Ty::Int | Ty::IntOrStr
            if v.is_number() && v.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() =>
        {
            invalid.push(FieldError {
                path: path.to_string(),
                kind: ErrorKind::Invalid(v.to_string()),
                detail: "must be an int32 (ports: between 1 and 65535, inclusive)".into(),
            })
        }
        Ty::StrMap => match v.as_object() {
            None => invalid.push(wrong_type(path, v, "object")),
            Some(map) => {
                for (k, item) in map {
                    if !item.is_string() {
                        invalid.push(wrong_type(&join(path, k), item, "string"));
                    }
                }
            }
        },
        Ty::List(item) => match v.as_array() {
            None => invalid.push(wrong_type(path, v, "array")),
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, item, &format!("{path}[{i}]"), unknown, invalid);
                }
            }
        },
        Ty::Obj(fields) => match v.as_object() {
            None => invalid.push(wrong_type(path, v, "object")),
            Some(map) => {
                for k in map.keys() {
                    if !fields.iter().any(|f| f.name == k) {
                        unknown.push(FieldError {
                            path: join(path, k),
                            kind: ErrorKind::UnknownField,
                            detail: String::new(),
                        });
                    }
                }
                for f in fields.iter() {
                    match map.get(f.name) {
                        // null is an absent field, as the server decodes it.
                        None | Some(Value::Null) if f.required => invalid.push(FieldError {
                            path: join(path, f.name),
                            kind: ErrorKind::Required,
                            detail: String::new(),
                        }),
                        None | Some(Value::Null) => {}
                        Some(x) => walk(x, &f.ty, &join(path, f.name), unknown, invalid),
                    }
                }
            }
        },
        Ty::Str | Ty::Bool | Ty::Int | Ty::IntOrStr => {}
    }
}

/// `null` values taken out (an absent field, as the server reads them),
/// so that the typed decoding sees what the schema check saw.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Decodes `value` as a ServiceGraph: its kind and version first, then
/// unknown fields (a decoding error), then types and required fields
/// (validation errors). Values are not checked beyond their types: that is
/// [`super::validate::validate`]'s.
pub fn decode(value: &Value) -> Result<ServiceGraph, GraphError> {
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default();
    if text("apiVersion") != API_VERSION || text("kind") != KIND {
        return Err(GraphError::Kind {
            kind: text("kind").to_string(),
            api_version: text("apiVersion").to_string(),
        });
    }
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut unknown = Vec::new();
    let mut invalid = Vec::new();
    walk(value, &Ty::Obj(&SCHEMA), "", &mut unknown, &mut invalid);
    if !unknown.is_empty() {
        return Err(GraphError::Decode(unknown));
    }
    if !invalid.is_empty() {
        return Err(GraphError::Invalid {
            name,
            errors: invalid,
        });
    }
    // The schema held: what is left to fail is a value serde reads more
    // narrowly than the schema says (a timestamp in metadata).
    let value = without_nulls(value);
    let part = |key: &str| {
        value
            .get(key)
            .cloned()
            .unwrap_or(Value::Object(Default::default()))
    };
    let failed = |path: &str, e: serde_json::Error| GraphError::Invalid {
        name: name.clone(),
        errors: vec![FieldError {
            path: path.into(),
            kind: ErrorKind::Invalid("\"object\"".into()),
            detail: e.to_string(),
        }],
    };
    let metadata = serde_json::from_value(part("metadata")).map_err(|e| failed("metadata", e))?;
    let spec = serde_json::from_value(part("spec")).map_err(|e| failed("spec", e))?;
    Ok(ServiceGraph { metadata, spec })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph(spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "g"}, "spec": spec})
    }

    fn err(v: Value) -> String {
        decode(&v).unwrap_err().to_string()
    }

    #[test]
    fn unknown_fields_are_a_decoding_error_with_their_paths() {
        let v = graph(json!({
            "services": [{"name": "a", "namespace": "n", "podSelektor": {}}],
            "edgez": [],
        }));
        assert_eq!(
            err(v),
            "ServiceGraph in version \"v1alpha1\" cannot be handled as a ServiceGraph: strict decoding error: unknown field \"spec.edgez\", unknown field \"spec.services[0].podSelektor\""
        );
        let v = graph(json!({"services": [{"name": "a", "namespace": "n",
            "podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "value": ["x"]}]}}]}));
        assert!(
            err(v).ends_with(
                "unknown field \"spec.services[0].podSelector.matchExpressions[0].value\""
            )
        );
        let mut v = graph(json!({"services": []}));
        v["metadata"]["nmae"] = json!("x");
        assert!(err(v).ends_with("unknown field \"metadata.nmae\""));
    }

    #[test]
    fn types_and_required_fields_as_the_schema_says() {
        let cases = [
            (
                json!({"services": {"a": {}}}),
                "ServiceGraph \"g\" is invalid: spec.services: Invalid value: \"object\": spec.services in body must be of type array: \"object\"",
            ),
            (
                json!({}),
                "ServiceGraph \"g\" is invalid: spec.services: Required value",
            ),
            (
                json!({"services": [{"name": "a", "namespace": "n"}],
                       "edges": [{"from": "a", "to": "a", "ports": [{"port": true}]}]}),
                "ServiceGraph \"g\" is invalid: spec.edges[0].ports[0].port: Invalid value: \"boolean\": spec.edges[0].ports[0].port in body must be of type integer,string: \"boolean\"",
            ),
            (
                json!({"services": [{"name": 1, "podSelector": {"matchLabels": {"app": 2}}}]}),
                "ServiceGraph \"g\" is invalid: [spec.services[0].name: Invalid value: \"integer\": spec.services[0].name in body must be of type string: \"integer\", spec.services[0].namespace: Required value, spec.services[0].podSelector.matchLabels.app: Invalid value: \"integer\": spec.services[0].podSelector.matchLabels.app in body must be of type string: \"integer\"]",
            ),
            (
                json!({"services": [{"name": "a", "namespace": "n"}],
                       "edges": [{"from": "a", "to": "a", "ports": [{"port": 80, "endPort": 90.5}]}]}),
                "ServiceGraph \"g\" is invalid: spec.edges[0].ports[0].endPort: Invalid value: \"number\": spec.edges[0].ports[0].endPort in body must be of type integer: \"number\"",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(err(graph(spec)), want);
        }
    }

    /// deploy/crd.yaml's schema has the fields, types and required fields
    /// of [`SCHEMA`] (metadata and status are the CRD's business).
    #[test]
    fn the_crd_says_what_the_decoder_reads() {
        fn same(crd: &Value, ty: &Ty, path: &str) {
            let t = crd.get("type").and_then(Value::as_str);
            match ty {
                Ty::Any => {}
                Ty::Str => assert_eq!(t, Some("string"), "{path}"),
                Ty::Bool => assert_eq!(t, Some("boolean"), "{path}"),
                Ty::Int => assert_eq!(t, Some("integer"), "{path}"),
                Ty::IntOrStr => assert_eq!(
                    crd.get("x-kubernetes-int-or-string"),
                    Some(&Value::Bool(true)),
                    "{path}"
                ),
                Ty::StrMap => {
                    assert_eq!(t, Some("object"), "{path}");
                    assert_eq!(
                        crd.pointer("/additionalProperties/type"),
                        Some(&json!("string")),
                        "{path}"
                    );
                }
                Ty::List(item) => {
                    assert_eq!(t, Some("array"), "{path}");
                    same(&crd["items"], item, &format!("{path}[]"));
                }
                Ty::Obj(fields) => {
                    assert_eq!(t, Some("object"), "{path}");
                    let props = crd["properties"].as_object().expect("properties");
                    let mut have: Vec<&str> = props.keys().map(String::as_str).collect();
                    let mut want: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    have.sort();
                    want.sort();
                    assert_eq!(have, want, "{path}");
                    let mut required: Vec<&str> = crd["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let mut want: Vec<&str> = fields
                        .iter()
                        .filter(|f| f.required)
                        .map(|f| f.name)
                        .collect();
                    required.sort();
                    want.sort();
                    // The CRD cannot require apiVersion and kind itself.
                    want.retain(|f| !path.is_empty() || !["apiVersion", "kind"].contains(f));
                    assert_eq!(required, want, "{path}: required");
                    for f in fields.iter() {
                        if path.is_empty() && f.name == "metadata" {
                            continue;
                        }
                        same(&props[f.name], &f.ty, &join(path, f.name));
                    }
                }
            }
        }
        let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/crd.yaml"));
        let crd: Value = serde_yaml_ng::from_str(text).expect("deploy/crd.yaml is YAML");
        assert_eq!(crd["spec"]["group"], json!(super::super::GROUP));
        assert_eq!(crd["spec"]["names"]["kind"], json!(KIND));
        assert_eq!(crd["spec"]["names"]["plural"], json!(super::super::PLURAL));
        assert_eq!(crd["spec"]["scope"], json!("Cluster"));
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], json!(super::super::VERSION));
        assert_eq!(version["subresources"]["status"], json!({}));
        same(&version["schema"]["openAPIV3Schema"], &Ty::Obj(&SCHEMA), "");
    }

    #[test]
    fn kind_and_version_must_be_the_served_ones() {
        let mut v = graph(json!({"services": []}));
        v["apiVersion"] = json!("kubectl-netpol.github.io/v1");
        assert!(err(v).starts_with(
            "no matches for kind \"ServiceGraph\" in version \"kubectl-netpol.github.io/v1\""
        ));
    }

    #[test]
    fn nulls_are_absent_fields_and_stored_metadata_is_accepted() {
        let v = json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "g", "uid": "u-1", "generation": 3,
                         "managedFields": [{"manager": "kubectl"}],
                         "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"dns": null, "services": [{"name": "a", "namespace": "n", "dns": null}]},
            "status": {"conditions": []},
        });
        let g = decode(&v).expect("decodes");
        assert_eq!(g.metadata.uid.as_deref(), Some("u-1"));
        assert_eq!(g.spec.dns, None);
        assert_eq!(g.spec.services[0].dns, None);
    }
}

//! The API server's NetworkPolicy validation, client-side.
//!
//! Errors carry the server's field paths and wording
//! (`spec.ingress[0].ports[0].endPort: Invalid value: 10: must be greater
//! than or equal to `port``), so what we report is what `kubectl apply`
//! would say. Rules implemented: object names (DNS-1123 subdomain),
//! namespace names (DNS-1123 label), label selectors (keys, values,
//! operators), protocols, port numbers and names, endPort, ipBlock CIDRs and
//! their `except`s, peers (at least one selector or ipBlock; ipBlock alone),
//! and policyTypes.
//!
//! Before validation comes decoding: a field of the wrong JSON type (an
//! object for `egress`, a string for `ports`, a number for a label value) is
//! reported with the decoder's own words ([`take_wrong_types`]), and then,
//! as on the server, nothing is validated.

use std::fmt;

use ipnet::IpNet;
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// One validation error, as the API server words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub kind: ErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// `Invalid value: <value>`; the value is already rendered (strings
    /// quoted, numbers bare).
    Invalid(String),
    Required,
    Forbidden,
    /// `Unsupported value: <value>`.
    NotSupported(String),
    /// A field the API does not have: strict decoding rejects the object.
    UnknownField,
    /// A value of the wrong JSON type (`Invalid value: "object"`, the JSON
    /// kind): the API server cannot decode the object, so it never gets to
    /// validate it (see [`take_wrong_types`]).
    WrongType(String),
    /// `Too many: <count>: must have at most <max> item(s)` (a list's
    /// maxItems, an object's maxProperties).
    TooMany {
        count: usize,
        max: usize,
    },
    /// `Too long: may not be more than <max> bytes`.
    TooLong(usize),
    /// `Duplicate value: <value>` (a list that is a set).
    Duplicate(String),
    /// A CRD validation rule (CEL) that failed on an object: the server
    /// shows its message without the value (`Invalid value: <message>`).
    Rule,
    /// `Not found: <value>`: a reference to something that does not exist
    /// (a ServiceGraph edge naming a service the graph does not declare).
    NotFound(String),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Invalid(v) | ErrorKind::WrongType(v) => {
                write!(f, "{}: Invalid value: {}: {}", self.path, v, self.detail)
            }
            ErrorKind::Required if self.detail.is_empty() => {
                write!(f, "{}: Required value", self.path)
            }
            ErrorKind::Required => write!(f, "{}: Required value: {}", self.path, self.detail),
            ErrorKind::Forbidden => write!(f, "{}: Forbidden: {}", self.path, self.detail),
            ErrorKind::UnknownField => {
                write!(f, "strict decoding error: unknown field {:?}", self.path)
            }
            ErrorKind::TooMany { count, max } => write!(
                f,
                "{}: Too many: {count}: must have at most {max} {}",
                self.path,
                if *max == 1 { "item" } else { "items" }
            ),
            ErrorKind::TooLong(max) => write!(
                f,
                "{}: Too long: may not be more than {max} bytes",
                self.path
            ),
            ErrorKind::Duplicate(v) => write!(f, "{}: Duplicate value: {v}", self.path),
            ErrorKind::Rule => write!(f, "{}: Invalid value: {}", self.path, self.detail),
            ErrorKind::NotFound(v) if self.detail.is_empty() => {
                write!(f, "{}: Not found: {v}", self.path)
            }
            ErrorKind::NotFound(v) => write!(f, "{}: Not found: {v}: {}", self.path, self.detail),
            ErrorKind::NotSupported(v) => {
                write!(
                    f,
                    "{}: Unsupported value: {}: {}",
                    self.path, v, self.detail
                )
            }
        }
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn invalid(path: &str, value: String, detail: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::Invalid(value),
        detail: detail.into(),
    }
}

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// DNS-1123 label: at most 63 characters of `[a-z0-9-]`, alphanumeric at
/// both ends. Returns the problems, empty when valid.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok {
        errs.push(DNS1123_LABEL_MSG.to_string());
    }
    errs
}

/// DNS-1123 subdomain: at most 253 characters, dot-separated labels.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    let ok = !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && part
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && part
                    .bytes()
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        });
    if !ok {
        errs.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    errs
}

fn is_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// A label key: `[prefix/]name` (a qualified name).
pub fn label_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            for e in dns1123_subdomain(p) {
                errs.push(format!("prefix part {e}"));
            }
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    } else if !is_name_part(name) || name.contains('/') {
        errs.push(QUALIFIED_NAME_MSG.to_string());
    }
    errs
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9-_.]`,
/// alphanumeric at both ends.
pub fn label_value(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let shape_ok = v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !v.is_empty() && !shape_ok {
        errs.push(LABEL_VALUE_MSG.to_string());
    }
    errs
}

/// A container port name (IANA service name rules).
pub fn port_name(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters".to_string());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// Parses a CIDR the way the API server accepts it (an address and a prefix
/// length, IPv4 or IPv6). An IPv4-mapped IPv6 CIDR (`::ffff:10.0.0.5/128`)
/// is read as the IPv4 network it maps (`10.0.0.5/32`), as the API server
/// does (it accepts the value with a warning) and as Go's `net.IPNet`, which
/// the data planes use, matches it.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    if !s.contains('/') {
        return None;
    }
    s.parse::<IpNet>()
        .ok()
        .map(|n| ipv4_mapped(&n).unwrap_or(n))
}

/// The IPv4 network an IPv4-mapped IPv6 CIDR stands for (`::ffff:a.b.c.d/N`
/// with N >= 96 is `a.b.c.d/(N-96)`), or `None` for any other CIDR.
pub fn ipv4_mapped(net: &IpNet) -> Option<IpNet> {
    let IpNet::V6(v6) = net else { return None };
    let v4 = v6.addr().to_ipv4_mapped()?;
    let len = v6.prefix_len().checked_sub(96)?;
    ipnet::Ipv4Net::new(v4, len).ok().map(IpNet::V4)
}

/// Validates a label selector at `path`.
pub fn label_selector(sel: &LabelSelector, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        for e in label_key(k) {
            errs.push(invalid(&format!("{path}.matchLabels"), quoted(k), e));
        }
        for e in label_value(v) {
            errs.push(invalid(&format!("{path}.matchLabels"), quoted(v), e));
        }
    }
    for (i, req) in sel.match_expressions.iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError {
                        path: format!("{p}.values"),
                        kind: ErrorKind::Required,
                        detail: "must be specified when `operator` is 'In' or 'NotIn'".into(),
                    });
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError {
                        path: format!("{p}.values"),
                        kind: ErrorKind::Forbidden,
                        detail:
                            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                                .into(),
                    });
                }
            }
            other => errs.push(invalid(
                &format!("{p}.operator"),
                quoted(other),
                "not a valid selector operator",
            )),
        }
        for e in label_key(&req.key) {
            errs.push(invalid(&format!("{p}.key"), quoted(&req.key), e));
        }
        for (j, v) in values.iter().enumerate() {
            for e in label_value(v) {
                errs.push(invalid(&format!("{p}.values[{j}]"), quoted(v), e));
            }
        }
    }
    errs
}

/// Validates a NetworkPolicyPort at `path` (protocol, port number or
/// name, endPort), as the API server does; errors are pushed to `errs`.
pub fn validate_port(port: &NetworkPolicyPort, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(proto) = &port.protocol
        && !matches!(proto.as_str(), "TCP" | "UDP" | "SCTP")
    {
        errs.push(FieldError {
            path: format!("{path}.protocol"),
            kind: ErrorKind::NotSupported(quoted(proto)),
            detail: "supported values: \"TCP\", \"UDP\", \"SCTP\"".into(),
        });
    }
    match &port.port {
        Some(IntOrString::Int(n)) if !(1..=65535).contains(n) => {
            errs.push(invalid(
                &format!("{path}.port"),
                n.to_string(),
                "must be between 1 and 65535, inclusive",
            ));
        }
        Some(IntOrString::Int(_)) => {}
        Some(IntOrString::String(name)) => {
            for e in port_name(name) {
                errs.push(invalid(&format!("{path}.port"), quoted(name), e));
            }
        }
        None => {}
    }
    if let Some(end) = port.end_port {
        match &port.port {
            None => errs.push(invalid(
                &format!("{path}.endPort"),
                end.to_string(),
                "may not be specified when `port` is not specified",
            )),
            Some(IntOrString::String(_)) => errs.push(invalid(
                &format!("{path}.endPort"),
                end.to_string(),
                "may not be specified when `port` is non-numeric",
            )),
            Some(IntOrString::Int(p)) => {
                if end < *p {
                    // The API server reports the port, not the endPort, as
                    // the value.
                    errs.push(invalid(
                        &format!("{path}.endPort"),
                        p.to_string(),
                        "must be greater than or equal to `port`",
                    ));
                }
                if !(1..=65535).contains(&end) {
                    errs.push(invalid(
                        &format!("{path}.endPort"),
                        end.to_string(),
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
        }
    }
}

fn validate_peer(peer: &NetworkPolicyPeer, path: &str, errs: &mut Vec<FieldError>) {
    let mut count = 0;
    if let Some(s) = &peer.pod_selector {
        count += 1;
        errs.extend(label_selector(s, &format!("{path}.podSelector")));
    }
    if let Some(s) = &peer.namespace_selector {
        count += 1;
        errs.extend(label_selector(s, &format!("{path}.namespaceSelector")));
    }
    if let Some(block) = &peer.ip_block {
        count += 1;
        errs.extend(ip_block(
            &block.cidr,
            block.except.as_deref().unwrap_or_default(),
            &format!("{path}.ipBlock"),
        ));
    }
    if count == 0 {
        errs.push(FieldError {
            path: path.to_string(),
            kind: ErrorKind::Required,
            detail: "must specify a peer".into(),
        });
    } else if count > 1 && peer.ip_block.is_some() {
        errs.push(FieldError {
            path: path.to_string(),
            kind: ErrorKind::Forbidden,
            detail: "may not specify both ipBlock and another peer".into(),
        });
    }
}

/// Validates an ipBlock's `cidr` and `except` (each a strict subset of
/// `cidr`), with the API server's wording; `path` is the object holding
/// them (`spec.ingress[0].from[0].ipBlock`).
pub fn ip_block(cidr_text: &str, except: &[String], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match parse_cidr(cidr_text) {
        _ if cidr_text.is_empty() => errs.push(FieldError {
            path: format!("{path}.cidr"),
            kind: ErrorKind::Required,
            detail: String::new(),
        }),
        None => errs.push(invalid(
            &format!("{path}.cidr"),
            quoted(cidr_text),
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        )),
        Some(cidr) => {
            for (i, ex) in except.iter().enumerate() {
                let epath = format!("{path}.except[{i}]");
                match parse_cidr(ex) {
                    None => errs.push(invalid(
                        &epath,
                        quoted(ex),
                        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                    )),
                    Some(e) => {
                        if !cidr.contains(&e.network()) || cidr.prefix_len() >= e.prefix_len() {
                            errs.push(invalid(
                                &epath,
                                quoted(ex),
                                "must be a strict subset of `cidr`",
                            ));
                        }
                    }
                }
            }
        }
    }
    errs
}

/// All validation errors of a NetworkPolicy, in the server's order.
pub fn network_policy(np: &NetworkPolicy) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match np.metadata.name.as_deref() {
        None | Some("") => errs.push(FieldError {
            path: "metadata.name".into(),
            kind: ErrorKind::Required,
            detail: "name or generateName is required".into(),
        }),
        Some(name) => {
            for e in dns1123_subdomain(name) {
                errs.push(invalid("metadata.name", quoted(name), e));
            }
        }
    }
    if let Some(ns) = np.metadata.namespace.as_deref() {
        for e in dns1123_label(ns) {
            errs.push(invalid("metadata.namespace", quoted(ns), e));
        }
    }
    for (k, v) in np.metadata.labels.iter().flatten() {
        for e in label_key(k) {
            errs.push(invalid("metadata.labels", quoted(k), e));
        }
        for e in label_value(v) {
            errs.push(invalid("metadata.labels", quoted(v), e));
        }
    }
    let Some(spec) = &np.spec else {
        return errs;
    };
    if let Some(sel) = &spec.pod_selector {
        errs.extend(label_selector(sel, "spec.podSelector"));
    }
    for (i, rule) in spec.ingress.iter().flatten().enumerate() {
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            validate_port(port, &format!("spec.ingress[{i}].ports[{j}]"), &mut errs);
        }
        for (j, peer) in rule.from.iter().flatten().enumerate() {
            validate_peer(peer, &format!("spec.ingress[{i}].from[{j}]"), &mut errs);
        }
    }
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        for (j, port) in rule.ports.iter().flatten().enumerate() {
            validate_port(port, &format!("spec.egress[{i}].ports[{j}]"), &mut errs);
        }
        for (j, peer) in rule.to.iter().flatten().enumerate() {
            validate_peer(peer, &format!("spec.egress[{i}].to[{j}]"), &mut errs);
        }
    }
    if let Some(types) = &spec.policy_types {
        if types.len() > 2 {
            errs.push(invalid(
                "spec.policyTypes",
                format!("{types:?}"),
                "may not specify more than two policyTypes",
            ));
        } else {
            for (i, t) in types.iter().enumerate() {
                if t != "Ingress" && t != "Egress" {
                    errs.push(FieldError {
                        path: format!("spec.policyTypes[{i}]"),
                        kind: ErrorKind::NotSupported(quoted(t)),
                        detail: "supported values: \"Ingress\", \"Egress\"".into(),
                    });
                }
            }
        }
    }
    errs
}

/// Fields a NetworkPolicy manifest has that the API does not know. The API
/// server decodes strictly (kubectl's default `--validate=strict`) and
/// rejects such an object; without this a typo such as `matchlabels` would
/// silently widen a selector to everything.
pub fn unknown_fields(policy: &serde_json::Value) -> Vec<FieldError> {
    use serde_json::Value;
    const TOP: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
    const SPEC: &[&str] = &["podSelector", "ingress", "egress", "policyTypes"];
    const INGRESS: &[&str] = &["from", "ports"];
    const EGRESS: &[&str] = &["to", "ports"];
    const PEER: &[&str] = &["podSelector", "namespaceSelector", "ipBlock"];
    const IPBLOCK: &[&str] = &["cidr", "except"];
    const PORT: &[&str] = &["protocol", "port", "endPort"];
    const SELECTOR: &[&str] = &["matchLabels", "matchExpressions"];
    const REQUIREMENT: &[&str] = &["key", "operator", "values"];

    fn check(v: &Value, known: &[&str], path: &str, out: &mut Vec<FieldError>) {
        if let Value::Object(map) = v {
            for k in map.keys() {
                if !known.contains(&k.as_str()) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push(FieldError {
                        path: p,
                        kind: ErrorKind::UnknownField,
                        detail: String::new(),
                    });
                }
            }
        }
    }
    fn items(v: Option<&Value>) -> impl Iterator<Item = (usize, &Value)> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().enumerate())
            .into_iter()
            .flatten()
    }
    fn selector(v: Option<&Value>, path: &str, out: &mut Vec<FieldError>) {
        let Some(v) = v else { return };
        check(v, SELECTOR, path, out);
        for (i, r) in items(v.get("matchExpressions")) {
            check(
                r,
                REQUIREMENT,
                &format!("{path}.matchExpressions[{i}]"),
                out,
            );
        }
    }

    let mut out = Vec::new();
    check(policy, TOP, "", &mut out);
    let Some(spec) = policy.get("spec") else {
        return out;
    };
    check(spec, SPEC, "spec", &mut out);
    selector(spec.get("podSelector"), "spec.podSelector", &mut out);
    for (field, rule_keys, peers) in [("ingress", INGRESS, "from"), ("egress", EGRESS, "to")] {
        for (i, rule) in items(spec.get(field)) {
            let rpath = format!("spec.{field}[{i}]");
            check(rule, rule_keys, &rpath, &mut out);
            for (j, port) in items(rule.get("ports")) {
                check(port, PORT, &format!("{rpath}.ports[{j}]"), &mut out);
            }
            for (j, peer) in items(rule.get(peers)) {
                let ppath = format!("{rpath}.{peers}[{j}]");
                check(peer, PEER, &ppath, &mut out);
                selector(
                    peer.get("podSelector"),
                    &format!("{ppath}.podSelector"),
                    &mut out,
                );
                selector(
                    peer.get("namespaceSelector"),
                    &format!("{ppath}.namespaceSelector"),
                    &mut out,
                );
                if let Some(b) = peer.get("ipBlock") {
                    check(b, IPBLOCK, &format!("{ppath}.ipBlock"), &mut out);
                }
            }
        }
    }
    out
}

/// The Go type a JSON value must decode into, as far as a NetworkPolicy's
/// fields go (`k8s.io/api/networking/v1` and `meta/v1`).
enum GoType {
    /// A string type: `string`, `v1.Protocol`, `v1.PolicyType`, ...
    Str(&'static str),
    /// `int32`.
    Int32,
    /// `intstr.IntOrString`: a string, or a number decoded as `int32`.
    IntOrString,
    /// `map[string]string`.
    StrMap,
    /// `[]T`: the list's Go name and its element type.
    List(&'static str, &'static GoType),
    /// A struct: its Go name (`v1.NetworkPolicySpec`) and fields.
    Struct(&'static GoStruct),
}

struct GoStruct {
    /// Without the package: `NetworkPolicySpec`.
    name: &'static str,
    fields: &'static [(&'static str, GoType)],
}

const STRING: GoType = GoType::Str("string");
static OBJECT_META: GoStruct = GoStruct {
    name: "ObjectMeta",
    fields: &[
        ("name", STRING),
        ("namespace", STRING),
        ("labels", GoType::StrMap),
        ("annotations", GoType::StrMap),
    ],
};
static REQUIREMENT: GoStruct = GoStruct {
    name: "LabelSelectorRequirement",
    fields: &[
        ("key", STRING),
        ("operator", GoType::Str("v1.LabelSelectorOperator")),
        ("values", GoType::List("[]string", &STRING)),
    ],
};
static SELECTOR: GoStruct = GoStruct {
    name: "LabelSelector",
    fields: &[
        ("matchLabels", GoType::StrMap),
        (
            "matchExpressions",
            GoType::List(
                "[]v1.LabelSelectorRequirement",
                &GoType::Struct(&REQUIREMENT),
            ),
        ),
    ],
};
static IP_BLOCK: GoStruct = GoStruct {
    name: "IPBlock",
    fields: &[
        ("cidr", STRING),
        ("except", GoType::List("[]string", &STRING)),
    ],
};
static PEER: GoStruct = GoStruct {
    name: "NetworkPolicyPeer",
    fields: &[
        ("podSelector", GoType::Struct(&SELECTOR)),
        ("namespaceSelector", GoType::Struct(&SELECTOR)),
        ("ipBlock", GoType::Struct(&IP_BLOCK)),
    ],
};
static PORT: GoStruct = GoStruct {
    name: "NetworkPolicyPort",
    fields: &[
        ("protocol", GoType::Str("v1.Protocol")),
        ("port", GoType::IntOrString),
        ("endPort", GoType::Int32),
    ],
};
const PORTS: GoType = GoType::List("[]v1.NetworkPolicyPort", &GoType::Struct(&PORT));
const PEERS: GoType = GoType::List("[]v1.NetworkPolicyPeer", &GoType::Struct(&PEER));
static INGRESS_RULE: GoStruct = GoStruct {
    name: "NetworkPolicyIngressRule",
    fields: &[("ports", PORTS), ("from", PEERS)],
};
static EGRESS_RULE: GoStruct = GoStruct {
    name: "NetworkPolicyEgressRule",
    fields: &[("ports", PORTS), ("to", PEERS)],
};
static SPEC: GoStruct = GoStruct {
    name: "NetworkPolicySpec",
    fields: &[
        ("podSelector", GoType::Struct(&SELECTOR)),
        (
            "ingress",
            GoType::List(
                "[]v1.NetworkPolicyIngressRule",
                &GoType::Struct(&INGRESS_RULE),
            ),
        ),
        (
            "egress",
            GoType::List(
                "[]v1.NetworkPolicyEgressRule",
                &GoType::Struct(&EGRESS_RULE),
            ),
        ),
        (
            "policyTypes",
            GoType::List("[]v1.PolicyType", &GoType::Str("v1.PolicyType")),
        ),
    ],
};
static NETWORK_POLICY: GoStruct = GoStruct {
    name: "NetworkPolicy",
    fields: &[
        ("metadata", GoType::Struct(&OBJECT_META)),
        ("spec", GoType::Struct(&SPEC)),
    ],
};

impl GoType {
    /// The type's name in Go's messages (`int32` for IntOrString, as its
    /// decoder reports a non-string).
    fn go_name(&self) -> String {
        match self {
            GoType::Str(name) => name.to_string(),
            GoType::Int32 | GoType::IntOrString => "int32".to_string(),
            GoType::StrMap => "map[string]string".to_string(),
            GoType::List(name, _) => name.to_string(),
            GoType::Struct(s) => format!("v1.{}", s.name),
        }
    }
}

/// What Go's JSON decoder calls a value it cannot store: `object`,
/// `array`, `string`, `bool`, `number`, or `number 1.5` when a number does
/// not fit an integer type.
fn json_kind(v: &serde_json::Value, integer: bool) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if integer => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// A number that Go decodes into an `int32`, made an integer in `v`
/// (`80.0` is `80`, as kubectl's YAML-to-JSON conversion writes it).
/// False for anything else.
fn take_int32(v: &mut serde_json::Value) -> bool {
    let Some(n) = v.as_number() else {
        return false;
    };
    let int = match n.as_i64() {
        Some(i) => Some(i),
        None => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e12)
            .map(|f| f as i64),
    };
    match int.and_then(|i| i32::try_from(i).ok()) {
        Some(i) => {
            *v = serde_json::Value::from(i);
            true
        }
        None => false,
    }
}

/// Where a walk is: the field path with indices and keys (ours, and the
/// API's validation paths), the path without them (Go's decoder's), and
/// the struct whose field is being decoded.
struct At<'a> {
    path: &'a str,
    go_path: &'a str,
    owner: &'static str,
}

/// Fields of a NetworkPolicy manifest whose JSON type the API server
/// cannot decode (`egress: {}` where a list is expected, a string for
/// `ports`, a number for a label value, ...), in the order of the API's
/// fields.
///
/// The API server rejects such an object as a whole with Go's decoding
/// error, e.g. `NetworkPolicy in version "v1" cannot be handled as a
/// NetworkPolicy: json: cannot unmarshal object into Go struct field
/// NetworkPolicySpec.spec.egress of type []v1.NetworkPolicyEgressRule`
/// (kubectl itself refuses such `metadata` with the same wording). Each
/// error here carries that wording as its detail, the field path with
/// indices (`spec.egress`, `spec.ingress[0].ports[1].port`,
/// `spec.podSelector.matchLabels[app]`) and the value's JSON kind as the
/// invalid value. Where the server stops at the first error, all are
/// reported.
///
/// `policy` is changed so that it decodes: each offending value is removed
/// (a list element is dropped), and what Go's decoder accepts is written
/// the way it reads it: `null` list elements and map values become the zero
/// value (`ingress: [null]` is the rule `{}`, a label value `null` is
/// `""`), and integral numbers (`80.0`) become integers.
pub fn take_wrong_types(policy: &mut serde_json::Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk_struct(
        policy,
        &NETWORK_POLICY,
        &At {
            path: "",
            go_path: "",
            owner: NETWORK_POLICY.name,
        },
        &mut out,
    );
    out
}

/// Like [`take_wrong_types`], for the `metadata` of any object (name,
/// namespace, labels, annotations): kubectl refuses to send an object whose
/// metadata does not decode (`error: unable to decode "FILE": json: cannot
/// unmarshal number into Go struct field ObjectMeta.metadata.labels of type
/// string`). Null label and annotation values become `""`, as Go reads them.
pub fn take_wrong_metadata_types(object: &mut serde_json::Value) -> Vec<FieldError> {
    static ANY_OBJECT: GoStruct = GoStruct {
        name: "ObjectMeta",
        fields: &[("metadata", GoType::Struct(&OBJECT_META))],
    };
    let mut out = Vec::new();
    walk_struct(
        object,
        &ANY_OBJECT,
        &At {
            path: "",
            go_path: "",
            owner: ANY_OBJECT.name,
        },
        &mut out,
    );
    out
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn walk_struct(
    v: &mut serde_json::Value,
    s: &'static GoStruct,
    at: &At<'_>,
    out: &mut Vec<FieldError>,
) {
    let Some(map) = v.as_object_mut() else {
        return;
    };
    for (field, ty) in s.fields {
        let Some(value) = map.get_mut(*field) else {
            continue;
        };
        let path = join(at.path, field);
        let go_path = join(at.go_path, field);
        let here = At {
            path: &path,
            go_path: &go_path,
            owner: s.name,
        };
        if !walk(value, ty, &here, out) {
            map.remove(*field);
        }
    }
}

/// Checks `v` against `ty` at `at` (whose `owner` is the struct holding
/// the field); returns false when `v` must be removed.
fn walk(v: &mut serde_json::Value, ty: &GoType, at: &At<'_>, out: &mut Vec<FieldError>) -> bool {
    use serde_json::Value;
    // A null field is left at its zero value by Go's decoder.
    if v.is_null() {
        return true;
    }
    let ok = match (ty, &*v) {
        (GoType::Str(_), Value::String(_)) => true,
        (GoType::Int32, _) => take_int32(v),
        (GoType::IntOrString, Value::String(_)) => true,
        (GoType::IntOrString, _) => take_int32(v),
        (GoType::StrMap, Value::Object(_)) => {
            if let Value::Object(map) = v {
                let mut bad = Vec::new();
                for (k, value) in map.iter_mut() {
                    match value {
                        Value::String(_) => {}
                        Value::Null => *value = Value::String(String::new()),
                        other => {
                            out.push(wrong_type(
                                &format!("{}[{k}]", at.path),
                                at,
                                other,
                                false,
                                "string",
                            ));
                            bad.push(k.clone());
                        }
                    }
                }
                for k in bad {
                    map.remove(&k);
                }
            }
            true
        }
        (GoType::List(_, elem), Value::Array(_)) => {
            if let Value::Array(items) = v {
                let mut keep = Vec::with_capacity(items.len());
                for (i, item) in items.iter_mut().enumerate() {
                    let path = format!("{}[{i}]", at.path);
                    let here = At {
                        path: &path,
                        go_path: at.go_path,
                        owner: at.owner,
                    };
                    keep.push(walk_element(item, elem, &here, out));
                }
                let mut flags = keep.into_iter();
                items.retain(|_| flags.next().unwrap_or(true));
            }
            true
        }
        (GoType::Struct(s), Value::Object(_)) => {
            walk_struct(
                v,
                s,
                &At {
                    path: at.path,
                    go_path: at.go_path,
                    owner: s.name,
                },
                out,
            );
            true
        }
        _ => false,
    };
    if !ok {
        let integer = matches!(ty, GoType::Int32 | GoType::IntOrString);
        out.push(wrong_type(at.path, at, v, integer, &ty.go_name()));
    }
    ok
}

/// A list element: `null` is the element type's zero value.
fn walk_element(
    v: &mut serde_json::Value,
    ty: &GoType,
    at: &At<'_>,
    out: &mut Vec<FieldError>,
) -> bool {
    use serde_json::Value;
    if v.is_null() {
        *v = match ty {
            GoType::Str(_) => Value::String(String::new()),
            GoType::Int32 | GoType::IntOrString => Value::from(0),
            GoType::StrMap | GoType::Struct(_) => Value::Object(Default::default()),
            GoType::List(..) => Value::Array(Vec::new()),
        };
        return true;
    }
    walk(v, ty, at, out)
}

fn wrong_type(
    path: &str,
    at: &At<'_>,
    v: &serde_json::Value,
    integer: bool,
    go_type: &str,
) -> FieldError {
    let kind = json_kind(v, integer);
    FieldError {
        path: path.to_string(),
        kind: ErrorKind::WrongType(quoted(kind.split(' ').next().unwrap_or_default())),
        detail: format!(
            "json: cannot unmarshal {kind} into Go struct field {}.{} of type {go_type}",
            at.owner, at.go_path
        ),
    }
}

#[cfg(test)]
mod cidr_tests {
    use super::*;

    #[test]
    fn an_ipv4_mapped_cidr_is_read_as_the_ipv4_network_it_maps() {
        let got = |s: &str| parse_cidr(s).map(|n| n.to_string());
        assert_eq!(
            got("::ffff:10.244.1.5/128").as_deref(),
            Some("10.244.1.5/32")
        );
        assert_eq!(got("::ffff:10.0.0.0/104").as_deref(), Some("10.0.0.0/8"));
        // Below /96 the prefix does not keep the mapping: IPv6 as written.
        assert_eq!(got("::ffff:0:0/80").as_deref(), Some("::ffff:0.0.0.0/80"));
        assert_eq!(got("fd00::/64").as_deref(), Some("fd00::/64"));
        assert_eq!(got("10.0.0.0/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(got("10.0.0.5"), None);
    }
}

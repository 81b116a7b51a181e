//! The API server's validation of the cluster-scoped policy kinds, from
//! their CRDs' schemas (types, required fields, enums, bounds, list sizes,
//! sets, patterns, one-of objects) and rules (CEL), with the server's field
//! paths and wording: `spec.priority: Invalid value: 1001: spec.priority in
//! body should be less than or equal to 1000`.
//!
//! The schemas are those of the experimental channel (network-policy-api
//! v0.3.0 for ClusterNetworkPolicy, v0.1.7 for AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy): egress `nodes` and `domainNames` and named
//! ports are accepted, with the rule that keeps named ports away from
//! `networks`/`nodes`/`domainNames` peers. The standard channel's CRDs drop
//! those fields. Fields a schema does not have are reported as a strict
//! decoding error (what `kubectl apply` asks for by default).
//!
//! What the CRDs accept but implementations cannot use is no validation
//! error ([`unusable`]): a label selector with a bad key, value or
//! operator (checked as NetworkPolicy's are,
//! [`crate::engine::validate::label_selector`]: the CRDs take any string,
//! but an implementation cannot convert such a selector), and a v1alpha1
//! `portRange` whose start is above its end (the CRD documents end >
//! start without a rule). `lint` reports them; the engine leaves what they
//! decide undecided.

use serde_json::{Map, Value};

use crate::engine::validate::{
    ErrorKind, FieldError, dns1123_subdomain, label_selector, parse_cidr,
};

/// Which API (and so which schema) an object is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `ClusterNetworkPolicy`, v1alpha2 or v1beta1 (one schema).
    Cluster,
    /// `AdminNetworkPolicy` v1alpha1.
    Admin,
    /// `BaselineAdminNetworkPolicy` v1alpha1.
    Baseline,
}

impl Api {
    /// The API of a kind at a version; `None` for anything else.
    pub fn of(kind: &str, api_version: &str) -> Option<Api> {
        match (kind, api_version) {
            (
                "ClusterNetworkPolicy",
                "policy.networking.k8s.io/v1alpha2" | "policy.networking.k8s.io/v1beta1",
            ) => Some(Api::Cluster),
            ("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1") => Some(Api::Admin),
            ("BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1") => {
                Some(Api::Baseline)
            }
            _ => None,
        }
    }

    /// maxItems of rules, peers and ports (networks and domainNames: 25).
    fn max_items(self) -> usize {
        match self {
            Api::Cluster => 25,
            Api::Admin | Api::Baseline => 100,
        }
    }

    fn actions(self) -> &'static [&'static str] {
        match self {
            Api::Cluster => &["Accept", "Deny", "Pass"],
            Api::Admin => &["Allow", "Deny", "Pass"],
            Api::Baseline => &["Allow", "Deny"],
        }
    }
}

const DOMAIN_PATTERN: &str = r"^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$";
const NAMED_PORT_RULE: &str = "networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames";
const NAMED_PORT_RULE_BANP: &str = "networks/nodes peer cannot be set with namedPorts since there are no namedPorts for networks/nodes";
const BANP_NAME_RULE: &str = "Only one baseline admin network policy with metadata.name=\"default\" can be created in the cluster";

/// Every validation error of one object (the whole object, as read).
pub fn validate(api: Api, object: &Value) -> Vec<FieldError> {
    run(api, object).errs
}

/// What the API server accepts in one object but implementations cannot
/// use (see the module's documentation), with the paths: selectors
/// that cannot be converted, reversed v1alpha1 port ranges.
pub fn unusable(api: Api, object: &Value) -> Vec<FieldError> {
    run(api, object).unusable
}

fn run(api: Api, object: &Value) -> Validator {
    let mut v = Validator {
        errs: Vec::new(),
        unusable: Vec::new(),
    };
    let Some(top) = v.object(object, "") else {
        return v;
    };
    v.top(api, top);
    v
}

impl Validator {
    fn top(&mut self, api: Api, top: &Map<String, Value>) {
        let v = self;
        v.known(
            top,
            "",
            &["apiVersion", "kind", "metadata", "spec", "status"],
        );
        let name = top
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str);
        match name {
            None | Some("") => v.push(
                "metadata.name",
                ErrorKind::Required,
                "name or generateName is required",
            ),
            Some(n) => {
                for e in dns1123_subdomain(n) {
                    v.push("metadata.name", ErrorKind::Invalid(format!("{n:?}")), e);
                }
                if api == Api::Baseline && n != "default" {
                    v.push("<nil>", ErrorKind::Rule, BANP_NAME_RULE);
                }
            }
        }
        match top.get("spec") {
            None | Some(Value::Null) => v.push("spec", ErrorKind::Required, ""),
            Some(spec) => v.spec(api, spec),
        }
    }
}

/// Whether `e` says the object's shape is not the schema's: a field the
/// schema does not have (strict decoding), or a value of the wrong type.
/// What such an object was meant to say cannot be read from its known
/// fields alone.
pub fn is_shape_error(e: &FieldError) -> bool {
    match &e.kind {
        ErrorKind::UnknownField | ErrorKind::WrongType(_) => true,
        ErrorKind::Invalid(_) => e.detail.contains(" must be of type "),
        _ => false,
    }
}

struct Validator {
    errs: Vec<FieldError>,
    /// Accepted by the server, unusable by implementations.
    unusable: Vec<FieldError>,
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The JSON kind of a value, as the schema validator names it.
fn json_kind(v: &Value) -> &'static str {
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

impl Validator {
    fn push(&mut self, path: &str, kind: ErrorKind, detail: impl Into<String>) {
        self.errs.push(FieldError {
            path: path.to_string(),
            kind,
            detail: detail.into(),
        });
    }

    fn wrong_type(&mut self, v: &Value, path: &str, want: &str) {
        let kind = json_kind(v);
        self.push(
            path,
            ErrorKind::Invalid(format!("{kind:?}")),
            format!("{path} in body must be of type {want}: {kind:?}"),
        );
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            _ => {
                self.wrong_type(v, path, "object");
                None
            }
        }
    }

    fn array<'v>(&mut self, v: &'v Value, path: &str, min: usize, max: usize) -> &'v [Value] {
        let Value::Array(items) = v else {
            self.wrong_type(v, path, "array");
            return &[];
        };
        if items.len() < min {
            self.push(
                path,
                ErrorKind::Invalid(items.len().to_string()),
                format!("{path} in body should have at least {min} items"),
            );
        }
        if items.len() > max {
            self.push(
                path,
                ErrorKind::TooMany {
                    count: items.len(),
                    max,
                },
                "",
            );
        }
        items
    }

    fn string<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.wrong_type(v, path, "string");
                None
            }
        }
    }

    fn integer(&mut self, v: &Value, path: &str, min: i64, max: i64) -> Option<i64> {
        let Some(n) = v.as_i64() else {
            self.wrong_type(v, path, "integer");
            return None;
        };
        if n < min {
            self.push(
                path,
                ErrorKind::Invalid(n.to_string()),
                format!("{path} in body should be greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                path,
                ErrorKind::Invalid(n.to_string()),
                format!("{path} in body should be less than or equal to {max}"),
            );
        }
        Some(n)
    }

    /// minProperties 1, maxProperties 1, counted over the schema's
    /// `fields` (unknown fields are pruned before the count).
    fn one_of(&mut self, m: &Map<String, Value>, path: &str, fields: &[&str]) {
        let n = m
            .iter()
            .filter(|(k, v)| !v.is_null() && fields.contains(&k.as_str()))
            .count();
        if n == 0 {
            self.push(
                path,
                ErrorKind::Invalid("0".into()),
                format!("{path} in body should have at least 1 properties"),
            );
        } else if n > 1 {
            self.push(path, ErrorKind::TooMany { count: n, max: 1 }, "");
        }
    }

    /// Fields of `m` the schema does not have.
    fn known(&mut self, m: &Map<String, Value>, path: &str, fields: &[&str]) {
        for k in m.keys() {
            if !fields.contains(&k.as_str()) {
                self.push(&join(path, k), ErrorKind::UnknownField, "");
            }
        }
    }

    /// `m[field]`, unless absent or null; `Required` when `required`.
    fn field<'v>(
        &mut self,
        m: &'v Map<String, Value>,
        path: &str,
        field: &str,
        required: bool,
    ) -> Option<&'v Value> {
        match m.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.push(&join(path, field), ErrorKind::Required, "");
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn selector(&mut self, v: &Value, path: &str) {
        match serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(
            v.clone(),
        ) {
            // The CRDs do not check selector contents: the server
            // accepts what an implementation cannot convert.
            Ok(sel) => self.unusable.extend(label_selector(&sel, path)),
            Err(e) => self.push(
                path,
                ErrorKind::WrongType(format!("{:?}", json_kind(v))),
                e.to_string(),
            ),
        }
    }

    fn spec(&mut self, api: Api, spec: &Value) {
        let Some(m) = self.object(spec, "spec") else {
            return;
        };
        let fields: &[&str] = match api {
            Api::Cluster => &["tier", "priority", "subject", "ingress", "egress"],
            Api::Admin => &["priority", "subject", "ingress", "egress"],
            Api::Baseline => &["subject", "ingress", "egress"],
        };
        self.known(m, "spec", fields);
        if api == Api::Cluster
            && let Some(t) = self.field(m, "spec", "tier", true)
            && let Some(t) = self.string(t, "spec.tier")
            && !matches!(t, "Admin" | "Baseline")
        {
            self.push(
                "spec.tier",
                ErrorKind::NotSupported(format!("{t:?}")),
                "supported values: \"Admin\", \"Baseline\"",
            );
        }
        if api != Api::Baseline
            && let Some(p) = self.field(m, "spec", "priority", true)
        {
            self.integer(p, "spec.priority", 0, 1000);
        }
        if let Some(s) = self.field(m, "spec", "subject", true)
            && let Some(sm) = self.object(s, "spec.subject")
        {
            self.known(sm, "spec.subject", &["namespaces", "pods"]);
            self.one_of(sm, "spec.subject", &["namespaces", "pods"]);
            if let Some(ns) = self.field(sm, "spec.subject", "namespaces", false) {
                self.selector(ns, "spec.subject.namespaces");
            }
            if let Some(pods) = self.field(sm, "spec.subject", "pods", false) {
                self.namespaced_pod(api, pods, "spec.subject.pods");
            }
        }
        for egress in [false, true] {
            let field = if egress { "egress" } else { "ingress" };
            let path = join("spec", field);
            if let Some(rules) = self.field(m, "spec", field, false) {
                for (i, rule) in self
                    .array(rules, &path, 0, api.max_items())
                    .iter()
                    .enumerate()
                {
                    self.rule(api, egress, rule, &format!("{path}[{i}]"));
                }
            }
        }
    }

    fn namespaced_pod(&mut self, api: Api, v: &Value, path: &str) {
        let Some(m) = self.object(v, path) else {
            return;
        };
        self.known(m, path, &["namespaceSelector", "podSelector"]);
        let ns_required = api != Api::Cluster;
        if let Some(ns) = self.field(m, path, "namespaceSelector", ns_required) {
            self.selector(ns, &join(path, "namespaceSelector"));
        }
        if let Some(pods) = self.field(m, path, "podSelector", true) {
            self.selector(pods, &join(path, "podSelector"));
        }
    }

    fn rule(&mut self, api: Api, egress: bool, v: &Value, path: &str) {
        let Some(m) = self.object(v, path) else {
            return;
        };
        let peers_field = if egress { "to" } else { "from" };
        let ports_field = if api == Api::Cluster {
            "protocols"
        } else {
            "ports"
        };
        self.known(m, path, &["name", "action", peers_field, ports_field]);
        if let Some(name) = self.field(m, path, "name", false)
            && let Some(name) = self.string(name, &join(path, "name"))
            && name.len() > 100
        {
            self.push(&join(path, "name"), ErrorKind::TooLong(100), "");
        }
        if let Some(action) = self.field(m, path, "action", true)
            && let Some(a) = self.string(action, &join(path, "action"))
            && !api.actions().contains(&a)
        {
            let supported: Vec<String> = api.actions().iter().map(|s| format!("{s:?}")).collect();
            self.push(
                &join(path, "action"),
                ErrorKind::NotSupported(format!("{a:?}")),
                format!("supported values: {}", supported.join(", ")),
            );
        }
        let mut address_peer = false;
        if let Some(peers) = self.field(m, path, peers_field, true) {
            let ppath = join(path, peers_field);
            for (i, peer) in self
                .array(peers, &ppath, 1, api.max_items())
                .iter()
                .enumerate()
            {
                address_peer |= self.peer(api, egress, peer, &format!("{ppath}[{i}]"));
            }
        }
        let mut named = false;
        if let Some(ports) = self.field(m, path, ports_field, false) {
            let ppath = join(path, ports_field);
            for (i, port) in self
                .array(ports, &ppath, 1, api.max_items())
                .iter()
                .enumerate()
            {
                named |= self.port(api, port, &format!("{ppath}[{i}]"));
            }
        }
        if egress && address_peer && named {
            let message = if api == Api::Baseline {
                NAMED_PORT_RULE_BANP
            } else {
                NAMED_PORT_RULE
            };
            self.push(path, ErrorKind::Rule, message);
        }
    }

    /// Validates one peer; true when it is a `networks`, `nodes` or
    /// `domainNames` peer (with which named ports are refused).
    fn peer(&mut self, api: Api, egress: bool, v: &Value, path: &str) -> bool {
        let Some(m) = self.object(v, path) else {
            return false;
        };
        let fields: &[&str] = match (egress, api) {
            (false, _) => &["namespaces", "pods"],
            (true, Api::Baseline) => &["namespaces", "pods", "networks", "nodes"],
            (true, _) => &["namespaces", "pods", "networks", "nodes", "domainNames"],
        };
        self.known(m, path, fields);
        self.one_of(m, path, fields);
        if let Some(ns) = self.field(m, path, "namespaces", false) {
            self.selector(ns, &join(path, "namespaces"));
        }
        if let Some(pods) = self.field(m, path, "pods", false) {
            self.namespaced_pod(api, pods, &join(path, "pods"));
        }
        if !egress {
            return false;
        }
        let mut address = false;
        if let Some(nets) = self.field(m, path, "networks", false) {
            address = true;
            let npath = join(path, "networks");
            let items = self.array(nets, &npath, 1, 25);
            let mut seen: Vec<&str> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = format!("{npath}[{i}]");
                let Some(s) = self.string(item, &ipath) else {
                    continue;
                };
                if s.len() > 43 {
                    self.push(&ipath, ErrorKind::TooLong(43), "");
                }
                if seen.contains(&s) {
                    self.push(&ipath, ErrorKind::Duplicate(format!("{s:?}")), "");
                    continue;
                }
                seen.push(s);
                // v1alpha2 wants the network address itself (host bits
                // clear); v1alpha1 takes any address in it.
                let ok = parse_cidr(s).is_some_and(|n| api != Api::Cluster || n == n.trunc());
                if !ok {
                    self.push(
                        &ipath,
                        ErrorKind::Invalid(format!("{s:?}")),
                        "Invalid CIDR format provided",
                    );
                }
            }
        }
        if let Some(nodes) = self.field(m, path, "nodes", false) {
            address = true;
            self.selector(nodes, &join(path, "nodes"));
        }
        if let Some(names) = self.field(m, path, "domainNames", false) {
            address = true;
            let npath = join(path, "domainNames");
            let items = self.array(names, &npath, 1, 25);
            let mut seen: Vec<&str> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = format!("{npath}[{i}]");
                let Some(s) = self.string(item, &ipath) else {
                    continue;
                };
                if seen.contains(&s) {
                    self.push(&ipath, ErrorKind::Duplicate(format!("{s:?}")), "");
                    continue;
                }
                seen.push(s);
                if !domain_name(s) {
                    self.push(
                        &ipath,
                        ErrorKind::Invalid(format!("{s:?}")),
                        format!("{ipath} in body should match '{DOMAIN_PATTERN}'"),
                    );
                }
            }
        }
        address
    }

    /// Validates one `protocols[]` (v1alpha2) or `ports[]` (v1alpha1)
    /// entry; true when it is a named port.
    fn port(&mut self, api: Api, v: &Value, path: &str) -> bool {
        let Some(m) = self.object(v, path) else {
            return false;
        };
        if api == Api::Cluster {
            let fields = ["tcp", "udp", "sctp", "destinationNamedPort"];
            self.known(m, path, &fields);
            self.one_of(m, path, &fields);
            for proto in ["tcp", "udp", "sctp"] {
                let Some(p) = self.field(m, path, proto, false) else {
                    continue;
                };
                let ppath = join(path, proto);
                let Some(pm) = self.object(p, &ppath) else {
                    continue;
                };
                self.known(pm, &ppath, &["destinationPort"]);
                self.one_of(pm, &ppath, &["destinationPort"]);
                let Some(dp) = self.field(pm, &ppath, "destinationPort", false) else {
                    continue;
                };
                let dpath = join(&ppath, "destinationPort");
                let Some(dm) = self.object(dp, &dpath) else {
                    continue;
                };
                self.known(dm, &dpath, &["number", "range"]);
                self.one_of(dm, &dpath, &["number", "range"]);
                if let Some(n) = self.field(dm, &dpath, "number", false) {
                    self.integer(n, &join(&dpath, "number"), 1, 65535);
                }
                if let Some(r) = self.field(dm, &dpath, "range", false) {
                    let rpath = join(&dpath, "range");
                    if let Some((start, end)) = self.range(r, &rpath, &["start", "end"])
                        && start >= end
                    {
                        self.push(
                            &rpath,
                            ErrorKind::Rule,
                            "Start port must be less than End port",
                        );
                    }
                }
            }
            if let Some(n) = self.field(m, path, "destinationNamedPort", false) {
                self.string(n, &join(path, "destinationNamedPort"));
                return true;
            }
            false
        } else {
            let fields = ["portNumber", "namedPort", "portRange"];
            self.known(m, path, &fields);
            self.one_of(m, path, &fields);
            if let Some(p) = self.field(m, path, "portNumber", false) {
                let ppath = join(path, "portNumber");
                if let Some(pm) = self.object(p, &ppath) {
                    self.known(pm, &ppath, &["protocol", "port"]);
                    if let Some(proto) = self.field(pm, &ppath, "protocol", false) {
                        self.string(proto, &join(&ppath, "protocol"));
                    }
                    if let Some(n) = self.field(pm, &ppath, "port", true) {
                        self.integer(n, &join(&ppath, "port"), 1, 65535);
                    }
                }
            }
            if let Some(r) = self.field(m, path, "portRange", false) {
                // No start < end rule in v1alpha1: a reversed range is
                // accepted, and what an implementation makes of it is
                // not known.
                let rpath = join(path, "portRange");
                if let Some((start, end)) = self.range(r, &rpath, &["protocol", "start", "end"])
                    && start > end
                {
                    self.unusable.push(FieldError {
                        path: rpath,
                        kind: ErrorKind::Invalid(format!("{start}-{end}")),
                        detail: format!(
                            "start {start} is greater than end {end} (the CRD's documentation says end must be greater than start, without a rule that enforces it)"
                        ),
                    });
                }
            }
            if let Some(n) = self.field(m, path, "namedPort", false) {
                self.string(n, &join(path, "namedPort"));
                return true;
            }
            false
        }
    }

    /// A `{start, end}` object (v1alpha1: with `protocol`).
    fn range(&mut self, v: &Value, path: &str, fields: &[&str]) -> Option<(i64, i64)> {
        let m = self.object(v, path)?;
        self.known(m, path, fields);
        if fields.contains(&"protocol")
            && let Some(p) = self.field(m, path, "protocol", false)
        {
            self.string(p, &join(path, "protocol"));
        }
        let start = self
            .field(m, path, "start", true)
            .and_then(|s| self.integer(s, &join(path, "start"), 1, 65535));
        let end = self
            .field(m, path, "end", true)
            .and_then(|e| self.integer(e, &join(path, "end"), 1, 65535));
        Some((start?, end?))
    }
}

/// The CRD's DomainName pattern: an optional `*.` prefix, then at least
/// two dot-separated labels of letters, digits, `-` and `_` (not at either
/// end of a label), an optional final dot.
fn domain_name(s: &str) -> bool {
    let s = s.strip_prefix("*.").unwrap_or(s);
    let s = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(api: Api, yaml: &str) -> Vec<String> {
        let value: Value = serde_yaml_ng::from_str(yaml).expect("test YAML");
        validate(api, &value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn what_the_crds_accept_is_unusable_not_invalid() {
        let yaml = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: m}\nspec:\n  priority: 3\n  subject: {namespaces: {matchExpressions: [{key: a, operator: In}]}}\n  ingress: [{action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {'bad key!': x}}}}], ports: [{portRange: {start: 9, end: 1}}]}]\n";
        assert_eq!(errors(Api::Admin, yaml), Vec::<String>::new());
        let value: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let paths: Vec<String> = unusable(Api::Admin, &value)
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "spec.subject.namespaces.matchExpressions[0].values",
                "spec.ingress[0].from[0].pods.podSelector.matchLabels",
                "spec.ingress[0].ports[0].portRange",
            ]
        );
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    // Each wording below was checked against the API server's CRD
    // validation (network-policy-api v0.3.0 / v0.1.7 experimental CRDs).
    #[test]
    fn cluster_network_policy_spec_errors() {
        let got = errors(
            Api::Cluster,
            "metadata: {name: a}\nspec: {tier: Foo, priority: 1001, subject: {namespaces: {}, pods: {podSelector: {}}}}",
        );
        assert_eq!(
            sorted(got),
            vec![
                "spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000",
                "spec.subject: Too many: 2: must have at most 1 item",
                "spec.tier: Unsupported value: \"Foo\": supported values: \"Admin\", \"Baseline\"",
            ]
        );
        let got = errors(
            Api::Cluster,
            "metadata: {name: b}\nspec: {priority: x, subject: {}}",
        );
        assert_eq!(
            sorted(got),
            vec![
                "spec.priority: Invalid value: \"string\": spec.priority in body must be of type integer: \"string\"",
                "spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties",
                "spec.tier: Required value",
            ]
        );
    }

    #[test]
    fn cluster_network_policy_rule_errors() {
        let yaml = r#"
metadata: {name: c}
spec:
  tier: Admin
  priority: -1
  subject: {pods: {namespaceSelector: {}}}
  ingress:
  - {action: Allow, from: []}
  - {from: [{namespaces: {}, pods: {podSelector: {}}}], protocols: []}
  - {action: Deny, from: [{}], protocols: [{tcp: {}}, {tcp: {destinationPort: {number: 0}}, udp: {destinationPort: {number: 70000}}}, {sctp: {destinationPort: {range: {start: 80, end: 80}}}}]}
  egress:
  - {action: Deny, to: [{networks: ["10.1.2.3/8", "10.0.0.0/8", "10.0.0.0/8", "x"]}], protocols: [{destinationNamedPort: http}]}
  - {action: Deny, to: [{domainNames: ["localhost", "*.a.b"]}]}
  - {action: Deny, to: [{networks: ["10.0.0.0/8"]}], ports: [1]}
"#;
        let got = sorted(errors(Api::Cluster, yaml));
        let want = sorted(
            [
                "spec.priority: Invalid value: -1: spec.priority in body should be greater than or equal to 0",
                "spec.subject.pods.podSelector: Required value",
                "spec.ingress[0].action: Unsupported value: \"Allow\": supported values: \"Accept\", \"Deny\", \"Pass\"",
                "spec.ingress[0].from: Invalid value: 0: spec.ingress[0].from in body should have at least 1 items",
                "spec.ingress[1].action: Required value",
                "spec.ingress[1].from[0]: Too many: 2: must have at most 1 item",
                "spec.ingress[1].protocols: Invalid value: 0: spec.ingress[1].protocols in body should have at least 1 items",
                "spec.ingress[2].from[0]: Invalid value: 0: spec.ingress[2].from[0] in body should have at least 1 properties",
                "spec.ingress[2].protocols[0].tcp: Invalid value: 0: spec.ingress[2].protocols[0].tcp in body should have at least 1 properties",
                "spec.ingress[2].protocols[1]: Too many: 2: must have at most 1 item",
                "spec.ingress[2].protocols[1].tcp.destinationPort.number: Invalid value: 0: spec.ingress[2].protocols[1].tcp.destinationPort.number in body should be greater than or equal to 1",
                "spec.ingress[2].protocols[1].udp.destinationPort.number: Invalid value: 70000: spec.ingress[2].protocols[1].udp.destinationPort.number in body should be less than or equal to 65535",
                "spec.ingress[2].protocols[2].sctp.destinationPort.range: Invalid value: Start port must be less than End port",
                "spec.egress[0]: Invalid value: networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames",
                "spec.egress[0].to[0].networks[0]: Invalid value: \"10.1.2.3/8\": Invalid CIDR format provided",
                "spec.egress[0].to[0].networks[2]: Duplicate value: \"10.0.0.0/8\"",
                "spec.egress[0].to[0].networks[3]: Invalid value: \"x\": Invalid CIDR format provided",
                "spec.egress[1].to[0].domainNames[0]: Invalid value: \"localhost\": spec.egress[1].to[0].domainNames[0] in body should match '^(\\*\\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.?$'",
                "strict decoding error: unknown field \"spec.egress[2].ports\"",
            ]
            .map(String::from)
            .to_vec(),
        );
        assert_eq!(got, want);
    }

    #[test]
    fn list_sizes_differ_between_versions() {
        let rules: Vec<String> = (0..26)
            .map(|_| "{action: Deny, from: [{namespaces: {}}]}".to_string())
            .collect();
        let cnp = format!(
            "metadata: {{name: many}}\nspec: {{tier: Admin, priority: 1, subject: {{namespaces: {{}}}}, ingress: [{}], egress: x}}",
            rules.join(", ")
        );
        assert_eq!(
            sorted(errors(Api::Cluster, &cnp)),
            vec![
                "spec.egress: Invalid value: \"string\": spec.egress in body must be of type array: \"string\"",
                "spec.ingress: Too many: 26: must have at most 25 items",
            ]
        );
        let anp = format!(
            "metadata: {{name: many}}\nspec: {{priority: 1, subject: {{namespaces: {{}}}}, ingress: [{}]}}",
            rules.join(", ").replace("Deny", "Allow")
        );
        assert!(errors(Api::Admin, &anp).is_empty());
    }

    #[test]
    fn v1alpha1_rules() {
        let anp = r#"
metadata: {name: a}
spec:
  priority: 5
  subject: {pods: {podSelector: {}}}
  ingress:
  - {action: Accept, from: [{namespaces: {}}], ports: [{portNumber: {port: 0}}, {portRange: {start: 9, end: 1}}, {portNumber: {port: 80, protocol: ICMP}}, {namedPort: x, portNumber: {port: 1}}]}
  egress:
  - {action: Allow, to: [{networks: ["10.1.2.3/8", "1.2.3.4"]}], ports: [{namedPort: http}]}
"#;
        assert_eq!(
            sorted(errors(Api::Admin, anp)),
            sorted(vec![
                "spec.egress[0]: Invalid value: networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames",
                "spec.egress[0].to[0].networks[1]: Invalid value: \"1.2.3.4\": Invalid CIDR format provided",
                "spec.ingress[0].action: Unsupported value: \"Accept\": supported values: \"Allow\", \"Deny\", \"Pass\"",
                "spec.ingress[0].ports[0].portNumber.port: Invalid value: 0: spec.ingress[0].ports[0].portNumber.port in body should be greater than or equal to 1",
                "spec.ingress[0].ports[3]: Too many: 2: must have at most 1 item",
                "spec.subject.pods.namespaceSelector: Required value",
            ].into_iter().map(String::from).collect())
        );
        let banp = "metadata: {name: other}\nspec: {priority: 3, subject: {namespaces: {}}, ingress: [{action: Pass, from: [{namespaces: {}}]}]}";
        assert_eq!(
            sorted(errors(Api::Baseline, banp)),
            vec![
                "<nil>: Invalid value: Only one baseline admin network policy with metadata.name=\"default\" can be created in the cluster",
                "spec.ingress[0].action: Unsupported value: \"Pass\": supported values: \"Allow\", \"Deny\"",
                "strict decoding error: unknown field \"spec.priority\"",
            ]
        );
    }

    #[test]
    fn accepted_shapes() {
        for (api, yaml) in [
            (
                Api::Cluster,
                "metadata: {name: m}\nspec: {tier: Admin, priority: 0, subject: {namespaces: {}}}",
            ),
            (
                Api::Cluster,
                "metadata: {name: m}\nspec: {tier: Baseline, priority: 1000, subject: {pods: {podSelector: {}}}, egress: [{action: Deny, to: [{domainNames: ['*.example.com', 'kubernetes.io.']}, {nodes: {}}, {networks: ['::/0', '10.0.0.0/8']}]}]}",
            ),
            (
                Api::Admin,
                "metadata: {name: m}\nspec: {priority: 3, subject: {namespaces: {}}, egress: [{action: Allow, to: [{networks: ['10.1.2.3/8']}], ports: [{portRange: {start: 9, end: 1}}, {portNumber: {protocol: ICMP, port: 1}}]}]}",
            ),
            (
                Api::Baseline,
                "metadata: {name: default}\nspec: {subject: {namespaces: {}}}",
            ),
        ] {
            assert_eq!(errors(api, yaml), Vec::<String>::new(), "{yaml}");
        }
    }
}

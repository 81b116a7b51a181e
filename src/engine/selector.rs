//! Label selectors: `matchLabels` and `matchExpressions` compiled into a
//! matcher once, then evaluated many times.
//!
//! Semantics follow the Kubernetes API: all requirements are ANDed; an empty
//! selector matches everything; `In`/`NotIn`/`Exists`/`DoesNotExist` behave
//! as in `k8s.io/apimachinery/pkg/labels` (`NotIn` and `DoesNotExist` match
//! objects that lack the key).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::snapshot::Labels;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match &self.op {
            Op::In(values) => value.is_some_and(|v| values.contains(v)),
            Op::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
        }
    }
}

/// A compiled label selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector {
    /// Sorted by key, then by kubectl's rendering, for stable output.
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// Splits the selector into its requirements on `key` and the others:
    /// `(on key, others)`. Both together match what the whole does.
    pub fn split_on_key(&self, key: &str) -> (Selector, Selector) {
        let (on, others): (Vec<_>, Vec<_>) = self
            .requirements
            .iter()
            .cloned()
            .partition(|r| r.key == key);
        (
            Selector { requirements: on },
            Selector {
                requirements: others,
            },
        )
    }

    /// The selector `{}`: matches everything.
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Compiles an API selector. Fails on an unknown operator; other
    /// syntax problems are the validator's business (see `validate`).
    pub fn compile(sel: &LabelSelector) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement {
                key: k.clone(),
                op: Op::In(vec![v.clone()]),
            });
        }
        for e in sel.match_expressions.iter().flatten() {
            let mut values = e.values.clone().unwrap_or_default();
            values.sort();
            values.dedup();
            let op = match e.operator.as_str() {
                "In" => Op::In(values),
                "NotIn" => Op::NotIn(values),
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => return Err(format!("{other:?} is not a valid selector operator")),
            };
            requirements.push(Requirement {
                key: e.key.clone(),
                op,
            });
        }
        requirements.sort_by_key(|r| (r.key.clone(), render_requirement(r)));
        requirements.dedup();
        Ok(Selector { requirements })
    }

    /// Parses kubectl's selector syntax (`app=web,tier!=db,env in (a,b),!x`).
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(Selector::everything());
        }
        for part in split_top_level(text) {
            let part = part.trim();
            // kubectl: "found '', expected: identifier after ','".
            if part.is_empty() {
                return Err(format!(
                    "invalid label selector {text:?}: an empty requirement (a stray comma)"
                ));
            }
            requirements.push(parse_requirement(part)?);
        }
        requirements.sort_by_key(|r| (r.key.clone(), render_requirement(r)));
        requirements.dedup();
        Ok(Selector { requirements })
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// When the selector is exactly `key=value`, that pair.
    pub fn single_label(&self) -> Option<(&str, &str)> {
        match self.requirements.as_slice() {
            [
                Requirement {
                    key,
                    op: Op::In(values),
                },
            ] if values.len() == 1 => Some((key.as_str(), values[0].as_str())),
            _ => None,
        }
    }

    /// The value of `key` when the selector pins it to exactly one value
    /// (and says nothing else), e.g. `kubernetes.io/metadata.name=frontend`.
    pub fn only_equals(&self, key: &str) -> Option<&str> {
        self.single_label()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// kubectl's syntax: `app=web,env in (a,b),!legacy`; empty for `{}`.
    pub fn render(&self) -> String {
        self.requirements
            .iter()
            .map(render_requirement)
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn render_requirement(r: &Requirement) -> String {
    match &r.op {
        Op::In(v) if v.len() == 1 => format!("{}={}", r.key, v[0]),
        Op::In(v) => format!("{} in ({})", r.key, v.join(",")),
        Op::NotIn(v) if v.len() == 1 => format!("{}!={}", r.key, v[0]),
        Op::NotIn(v) => format!("{} notin ({})", r.key, v.join(",")),
        Op::Exists => r.key.clone(),
        Op::DoesNotExist => format!("!{}", r.key),
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    // kubectl's lexer ends a word at `(`: `env in(a,b)` is `env in (a,b)`.
    let spaced = part.replace(" in(", " in (").replace(" notin(", " notin (");
    let written = part;
    let part = spaced.as_str();
    let bad = || format!("invalid label selector {written:?}");
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement {
            key: checked_key(key.trim(), part)?,
            op: Op::DoesNotExist,
        });
    }
    for (word, notin) in [(" notin ", true), (" in ", false)] {
        if let Some(pos) = part.find(word) {
            let key = checked_key(part[..pos].trim(), part)?;
            let rest = part[pos + word.len()..].trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(bad)?;
            let mut values: Vec<String> = inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(format!("{}: values must not be empty", bad()));
            }
            for v in &values {
                checked_value(v, part)?;
            }
            values.sort();
            values.dedup();
            let op = if notin {
                Op::NotIn(values)
            } else {
                Op::In(values)
            };
            return Ok(Requirement { key, op });
        }
    }
    for (sep, negate) in [("!=", true), ("==", false), ("=", false)] {
        if let Some(pos) = part.find(sep) {
            let key = checked_key(part[..pos].trim(), part)?;
            let value = part[pos + sep.len()..].trim().to_string();
            if value.contains(['=', '!', '(', ')', ' ']) {
                return Err(bad());
            }
            checked_value(&value, part)?;
            let op = if negate {
                Op::NotIn(vec![value])
            } else {
                Op::In(vec![value])
            };
            return Ok(Requirement { key, op });
        }
    }
    Ok(Requirement {
        key: checked_key(part, part)?,
        op: Op::Exists,
    })
}

/// A label key as the API takes it (`[prefix/]name`, see
/// `validate::label_key`); the error names the requirement it is in.
fn checked_key(key: &str, part: &str) -> Result<String, String> {
    if key.is_empty() || key.contains([' ', '(', ')', '=', '!']) {
        return Err(format!("invalid label selector {part:?}"));
    }
    let errors = crate::engine::validate::label_key(key);
    if errors.is_empty() {
        Ok(key.to_string())
    } else {
        Err(format!(
            "invalid label selector {part:?}: label key {key:?}: {}",
            errors.join("; ")
        ))
    }
}

/// A label value as the API takes it (63 characters at most, alphanumeric
/// at both ends, `-_.` inside; empty is valid), see `validate::label_value`.
fn checked_value(value: &str, part: &str) -> Result<(), String> {
    let errors = crate::engine::validate::label_value(value);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid label selector {part:?}: label value {value:?}: {}",
            errors.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: if values.is_empty() {
                None
            } else {
                Some(values.iter().map(|v| v.to_string()).collect())
            },
        }
    }

    fn sel(match_labels: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> Selector {
        Selector::compile(&LabelSelector {
            match_labels: Some(labels(match_labels)),
            match_expressions: Some(exprs),
        })
        .unwrap()
    }

    #[test]
    fn operators_follow_the_api_reference() {
        let web = labels(&[("app", "web"), ("tier", "front")]);
        let bare = labels(&[]);
        // (selector, matches web, matches a pod without labels)
        let table = [
            (sel(&[], vec![]), true, true),
            (sel(&[("app", "web")], vec![]), true, false),
            (sel(&[("app", "api")], vec![]), false, false),
            (
                sel(&[], vec![expr("app", "In", &["web", "api"])]),
                true,
                false,
            ),
            (sel(&[], vec![expr("app", "In", &["api"])]), false, false),
            (sel(&[], vec![expr("app", "NotIn", &["api"])]), true, true),
            (sel(&[], vec![expr("app", "NotIn", &["web"])]), false, true),
            (sel(&[], vec![expr("tier", "Exists", &[])]), true, false),
            (
                sel(&[], vec![expr("tier", "DoesNotExist", &[])]),
                false,
                true,
            ),
            (
                sel(&[], vec![expr("track", "DoesNotExist", &[])]),
                true,
                true,
            ),
            // matchLabels and matchExpressions are ANDed.
            (
                sel(&[("app", "web")], vec![expr("tier", "In", &["back"])]),
                false,
                false,
            ),
        ];
        for (i, (s, on_web, on_bare)) in table.iter().enumerate() {
            assert_eq!(s.matches(&web), *on_web, "row {i}: {}", s.render());
            assert_eq!(s.matches(&bare), *on_bare, "row {i}: {}", s.render());
        }
    }

    #[test]
    fn unknown_operator_is_an_error() {
        let s = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![expr("a", "Equals", &["b"])]),
        };
        assert!(Selector::compile(&s).is_err());
    }

    #[test]
    fn renders_and_parses_kubectl_syntax() {
        let s = sel(
            &[("app", "web")],
            vec![
                expr("env", "In", &["prod", "dev"]),
                expr("legacy", "DoesNotExist", &[]),
                expr("zone", "NotIn", &["a"]),
                expr("team", "Exists", &[]),
            ],
        );
        let text = s.render();
        assert_eq!(text, "app=web,env in (dev,prod),!legacy,team,zone!=a");
        assert_eq!(Selector::parse(&text).unwrap(), s);
        assert!(Selector::parse("app in prod").is_err());
        assert!(Selector::parse("=x").is_err());
        assert!(Selector::parse("").unwrap().is_everything());
    }

    #[test]
    fn single_label_is_only_for_one_equality() {
        assert_eq!(
            sel(&[("app", "api")], vec![]).single_label(),
            Some(("app", "api"))
        );
        assert_eq!(
            sel(&[], vec![expr("app", "In", &["api"])]).single_label(),
            Some(("app", "api"))
        );
        assert_eq!(
            sel(&[("app", "api"), ("x", "y")], vec![]).single_label(),
            None
        );
        assert_eq!(
            sel(&[], vec![expr("app", "NotIn", &["api"])]).single_label(),
            None
        );
    }

    #[test]
    fn parse_checks_keys_and_values_as_the_api_does() {
        assert_eq!(
            Selector::parse("env in(a,b)"),
            Selector::parse("env in (a,b)")
        );
        assert_eq!(
            Selector::parse("env notin(a)"),
            Selector::parse("env notin (a)")
        );
        for bad in [
            "%%",
            "app=a|b",
            "app=-x",
            "a/b/c",
            "app in (x y)",
            "-app",
            "app=web,",
            "a=b,,c=d",
        ] {
            let e = Selector::parse(bad).unwrap_err();
            assert!(e.starts_with("invalid label selector"), "{bad}: {e}");
        }
        // An empty value is the API's too (kubectl takes `app=`).
        assert!(Selector::parse("app=").is_ok());
        assert!(Selector::parse("example.com/tier in (front),!canary").is_ok());
    }
}

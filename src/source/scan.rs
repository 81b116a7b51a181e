//! A glance at one document without reading it: whether it is a Pod whose
//! reading can be left for later, and its namespace and name.
//!
//! `can` and `explain` need the Pods of a few namespaces only; the other
//! Pods of a large manifest can be skipped (see `files::Narrow`). Skipping
//! must not change anything the full reading would say, so a document is
//! skipped only when its full reading would certainly give a Pod of that
//! namespace and name and no error: [`pod_head`] walks the document's
//! events through libyaml, the same parser (the same crate and version as
//! serde_yaml_ng's, so a syntax error is found alike), without building a
//! value, and gives up (`None`: read the document in full) on anything
//! that could make the full reading refuse the document or read these
//! fields otherwise.

use std::mem::MaybeUninit;

/// The namespace and name of a Pod document that [`pod_head`] found safe
/// to skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodHead {
    /// `metadata.namespace`; `None` when the document has none (the
    /// default namespace then applies).
    pub namespace: Option<String>,
    /// `metadata.name`, never empty.
    pub name: String,
    /// `spec.nodeName`, when it names a node.
    pub node: Option<String>,
    /// The nodes (scalars, mappings, sequences; keys included) the full
    /// reading builds from the document, which it counts towards the
    /// input-wide alias bound (see `super::yaml`).
    pub nodes: u64,
}

/// The deepest nesting a skipped document may have: far below
/// serde_yaml_ng's recursion limit (128), which would refuse it.
const MAX_DEPTH: usize = 64;

/// `text`'s namespace and name when it holds exactly one document that is
/// a `v1` Pod, read by the YAML reading without error and with these
/// fields as written here; `None` otherwise (including any syntax error:
/// the full reading then reports it, with its position).
///
/// Gives up on what the full reading resolves beyond plain text: anchors,
/// aliases, tags, `%` directives, merge keys (`<<`), keys that are
/// collections or null, plain scalars starting with `.` (`.inf`, `.nan`:
/// refused as JSON), nesting deeper than [`MAX_DEPTH`], and `apiVersion`,
/// `kind`, `metadata`, `name` or `namespace` given twice or as something
/// YAML 1.1 reads as another type than a string (`namespace: 123`).
pub fn pod_head(text: &str) -> Option<PodHead> {
    pod_head_unless(text, &|_| false)
}

/// [`pod_head`], giving up as soon as `metadata.namespace` is read and
/// `unless` says it is wanted (a Pod to read in full anyway: the rest of
/// its document need not be walked).
pub fn pod_head_unless(text: &str, unless: &dyn Fn(&str) -> bool) -> Option<PodHead> {
    let mut events = Events::new(text.as_bytes());
    // Where each open collection is: a mapping expecting a key or a
    // value, or a sequence.
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        Key,
        Value,
        Item,
    }
    // Which field of interest the next value is, by its path.
    #[derive(Clone, Copy, PartialEq)]
    enum Field {
        ApiVersion,
        Kind,
        Metadata,
        Spec,
        Name,
        Namespace,
        NodeName,
        Other,
    }
    let mut stack: Vec<Open> = Vec::with_capacity(16);
    let mut field = Field::Other;
    let (mut api, mut kind, mut name, mut namespace, mut node) = (None, None, None, None, None);
    let (mut seen_metadata, mut seen_spec) = (false, false);
    // Whether the mapping at depth 2 is `metadata`, or `spec`.
    let (mut in_metadata, mut in_spec) = (false, false);
    let mut documents = 0;
    let mut nodes = 0;
    loop {
        let event = events.next()?;
        nodes += u64::from(matches!(
            event,
            Event::Scalar { .. } | Event::MappingStart | Event::SequenceStart
        ));
        // A value (or item) just read: the mapping above now wants a key.
        let value_done = |stack: &mut Vec<Open>| {
            if let Some(top @ Open::Value) = stack.last_mut() {
                *top = Open::Key;
            }
        };
        match event {
            Event::StreamStart => {}
            Event::DocumentStart { plain } => {
                documents += 1;
                if documents > 1 || !plain {
                    return None;
                }
            }
            Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::Decorated => return None,
            Event::MappingStart | Event::SequenceStart => {
                if stack.last() == Some(&Open::Key) || stack.len() >= MAX_DEPTH {
                    return None;
                }
                let is_map = matches!(event, Event::MappingStart);
                match stack.len() {
                    0 if !is_map => return None,
                    1 if matches!(field, Field::Metadata | Field::Spec) => {
                        if !is_map {
                            return None;
                        }
                        in_metadata = field == Field::Metadata;
                        in_spec = field == Field::Spec;
                    }
                    1 | 2 if field != Field::Other => return None,
                    _ => {}
                }
                stack.push(if is_map { Open::Key } else { Open::Item });
                field = Field::Other;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                if stack.len() == 1 {
                    (in_metadata, in_spec) = (false, false);
                }
                value_done(&mut stack);
            }
            Event::Scalar { plain } => match stack.last().copied() {
                None => return None,
                Some(Open::Key) => {
                    let value = events.value();
                    if plain && (value.is_empty() || value == "<<" || is_null(value)) {
                        return None;
                    }
                    field = match (stack.len(), in_metadata, in_spec, value) {
                        (1, _, _, "apiVersion") => Field::ApiVersion,
                        (1, _, _, "kind") => Field::Kind,
                        (1, _, _, "metadata") => Field::Metadata,
                        (1, _, _, "spec") => Field::Spec,
                        (2, true, _, "name") => Field::Name,
                        (2, true, _, "namespace") => Field::Namespace,
                        (2, _, true, "nodeName") => Field::NodeName,
                        _ => Field::Other,
                    };
                    let seen = match field {
                        Field::Metadata => Some(&mut seen_metadata),
                        Field::Spec => Some(&mut seen_spec),
                        _ => None,
                    };
                    if let Some(seen) = seen {
                        if *seen {
                            return None;
                        }
                        *seen = true;
                    }
                    *stack.last_mut()? = Open::Value;
                }
                Some(_) => {
                    let value = events.value();
                    // `.inf`, `-.inf`, `.nan`: numbers JSON cannot carry.
                    if plain && ["+.", "-.", "."].iter().any(|p| value.starts_with(p)) {
                        return None;
                    }
                    let slot = match field {
                        Field::ApiVersion => Some(&mut api),
                        Field::Kind => Some(&mut kind),
                        Field::Name => Some(&mut name),
                        Field::Namespace => Some(&mut namespace),
                        Field::NodeName => Some(&mut node),
                        // `metadata: null` or a scalar: not a Pod to skip.
                        Field::Metadata | Field::Spec => return None,
                        Field::Other => None,
                    };
                    if let Some(slot) = slot {
                        if slot.is_some() || plain && !reads_as_string(value) {
                            return None;
                        }
                        *slot = Some(value.to_string());
                    }
                    if field == Field::Namespace && unless(value) {
                        return None;
                    }
                    // Another kind (or version) is read in full anyway.
                    if matches!(field, Field::ApiVersion | Field::Kind)
                        && !matches!(value, "v1" | "Pod")
                    {
                        return None;
                    }
                    field = Field::Other;
                    value_done(&mut stack);
                }
            },
        }
    }
    let name = name.filter(|n: &String| !n.is_empty())?;
    if api.as_deref() != Some("v1") || kind.as_deref() != Some("Pod") {
        return None;
    }
    if namespace.as_deref() == Some("") {
        return None;
    }
    let node = node.filter(|n: &String| !n.is_empty());
    Some(PodHead {
        namespace,
        name,
        node,
        nodes,
    })
}

/// YAML's null spellings, which make a null key (refused).
fn is_null(s: &str) -> bool {
    matches!(s, "~" | "null" | "Null" | "NULL")
}

/// Whether a plain scalar is a string to both YAML readings: not null, not
/// a boolean of YAML 1.1 or 1.2, not a number of either (Go's or Rust's
/// number syntax, infinities and NaN included).
fn reads_as_string(s: &str) -> bool {
    if s.is_empty() || is_null(s) {
        return false;
    }
    let word = s.to_ascii_lowercase();
    if matches!(
        word.as_str(),
        "true" | "false" | "y" | "n" | "yes" | "no" | "on" | "off"
    ) {
        return false;
    }
    let unsigned = s.trim_start_matches(['+', '-']);
    let numeric_start = unsigned
        .bytes()
        .next()
        .is_none_or(|b| b.is_ascii_digit() || b == b'.');
    !numeric_start && s.parse::<f64>().is_err()
}

/// One parser event, as much of it as [`pod_head`] looks at.
enum Event {
    StreamStart,
    StreamEnd,
    /// `plain`: no `%YAML` or `%TAG` directive.
    DocumentStart {
        plain: bool,
    },
    DocumentEnd,
    MappingStart,
    MappingEnd,
    SequenceStart,
    SequenceEnd,
    /// `plain`: written without quotes (YAML 1.1 resolves it); its text
    /// is [`Events::value`].
    Scalar {
        plain: bool,
    },
    /// An alias, or a node with an anchor or a tag.
    Decorated,
}

/// libyaml's parser over one text.
struct Events<'t> {
    parser: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    /// The parser reads this text through a pointer: it must outlive it.
    _text: &'t [u8],
    /// Whether `parser` was initialised (and so must be deleted).
    initialised: bool,
    /// Set once the parser failed or the stream ended.
    done: bool,
    /// The last scalar's text (one buffer, reused).
    scalar: String,
}

impl<'t> Events<'t> {
    fn new(text: &'t [u8]) -> Events<'t> {
        let mut parser = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        // SAFETY: initialize fills the parser (it only fails when malloc
        // does, then `done` keeps it from being used); the input pointer
        // and length are `text`'s, which outlives the parser (`_text`).
        let ok = unsafe {
            let p = parser.as_mut_ptr();
            if unsafe_libyaml::yaml_parser_initialize(p).fail {
                false
            } else {
                unsafe_libyaml::yaml_parser_set_encoding(p, unsafe_libyaml::YAML_UTF8_ENCODING);
                unsafe_libyaml::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
                true
            }
        };
        Events {
            parser,
            _text: text,
            initialised: ok,
            done: !ok,
            scalar: String::new(),
        }
    }

    /// The text of the last [`Event::Scalar`].
    fn value(&self) -> &str {
        &self.scalar
    }

    /// The next event; `None` after a syntax error or the stream's end.
    fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        let mut raw = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised (`done` is false); a
        // successful parse fills `raw`, which is read according to its
        // type (the union field of that type) and then deleted once.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(self.parser.as_mut_ptr(), raw.as_mut_ptr()).fail {
                self.done = true;
                return None;
            }
            let e = raw.as_mut_ptr();
            let d = &(*e).data;
            let event = match (*e).type_ {
                unsafe_libyaml::YAML_STREAM_START_EVENT => Event::StreamStart,
                unsafe_libyaml::YAML_STREAM_END_EVENT => {
                    self.done = true;
                    Event::StreamEnd
                }
                unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart {
                    plain: d.document_start.version_directive.is_null()
                        && d.document_start.tag_directives.start
                            == d.document_start.tag_directives.end,
                },
                unsafe_libyaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                unsafe_libyaml::YAML_ALIAS_EVENT => Event::Decorated,
                unsafe_libyaml::YAML_SCALAR_EVENT => {
                    let s = d.scalar;
                    if !s.anchor.is_null() || !s.tag.is_null() {
                        Event::Decorated
                    } else {
                        let bytes = std::slice::from_raw_parts(s.value, s.length as usize);
                        match std::str::from_utf8(bytes) {
                            Ok(text) => {
                                self.scalar.clear();
                                self.scalar.push_str(text);
                                Event::Scalar {
                                    plain: s.style == unsafe_libyaml::YAML_PLAIN_SCALAR_STYLE,
                                }
                            }
                            Err(_) => Event::Decorated,
                        }
                    }
                }
                unsafe_libyaml::YAML_SEQUENCE_START_EVENT => {
                    let s = d.sequence_start;
                    if !s.anchor.is_null() || !s.tag.is_null() {
                        Event::Decorated
                    } else {
                        Event::SequenceStart
                    }
                }
                unsafe_libyaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
                unsafe_libyaml::YAML_MAPPING_START_EVENT => {
                    let m = d.mapping_start;
                    if !m.anchor.is_null() || !m.tag.is_null() {
                        Event::Decorated
                    } else {
                        Event::MappingStart
                    }
                }
                unsafe_libyaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
                _ => Event::Decorated,
            };
            unsafe_libyaml::yaml_event_delete(e);
            Some(event)
        }
    }
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        // SAFETY: a parser that initialize filled is deleted once; one
        // whose initialisation failed was freed by initialize itself.
        if self.initialised {
            unsafe { unsafe_libyaml::yaml_parser_delete(self.parser.as_mut_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(ns: Option<&str>, name: &str) -> Option<PodHead> {
        Some(PodHead {
            namespace: ns.map(str::to_string),
            name: name.to_string(),
            node: None,
            nodes: 0,
        })
    }

    fn names(head: Option<PodHead>) -> Option<(Option<String>, String, Option<String>)> {
        head.map(|h| (h.namespace, h.name, h.node))
    }

    #[test]
    fn a_plain_pod_is_glanced_at() {
        let pod = "# a comment\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\n  labels: {app: web}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 80}]\n  nodeName: n-1\n";
        let on_node = Some((Some("shop".into()), "web-1".into(), Some("n-1".into())));
        assert_eq!(names(pod_head(pod)), on_node);
        let crlf = pod.replace('\n', "\r\n");
        assert_eq!(names(pod_head(&crlf)), on_node);
        let flow = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "1"}}}"#;
        assert_eq!(names(pod_head(flow)), names(head(None, "a")));
        let quoted = "kind: 'Pod'\napiVersion: \"v1\"\nmetadata: {name: \"007\", namespace: '1'}\n";
        assert_eq!(names(pod_head(quoted)), names(head(Some("1"), "007")));
        // The nodes the full reading counts towards the input-wide bound.
        for text in [pod, &crlf, flow, quoted] {
            let mark = crate::source::yaml::TotalMark::take();
            let doc = serde_yaml_ng::Deserializer::from_str(text).next().unwrap();
            crate::source::yaml::document_value(doc, text).unwrap();
            let (nodes, bytes) = mark.since();
            assert_eq!(
                (pod_head(text).unwrap().nodes, bytes),
                (nodes, text.len() as u64),
                "{text}"
            );
        }
    }

    #[test]
    fn a_wanted_namespace_stops_the_walk() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec: {x: [\n";
        // Read in full either way (whether the walk stopped at the
        // namespace or at the error is not visible here: only its cost).
        assert_eq!(pod_head_unless(pod, &|ns| ns == "shop"), None);
        assert_eq!(pod_head_unless(pod, &|ns| ns == "other"), None);
        let fine = pod.replace("[\n", "[]}\n");
        assert_eq!(pod_head_unless(&fine, &|ns| ns == "shop"), None);
        assert_eq!(
            names(pod_head_unless(&fine, &|ns| ns == "other")),
            names(head(Some("shop"), "a"))
        );
    }

    #[test]
    fn anything_the_full_reading_could_read_otherwise_is_read_in_full() {
        let base = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n";
        assert!(pod_head(base).is_some());
        for (what, text) in [
            ("another kind", base.replace("Pod", "Service")),
            ("another version", base.replace("v1", "v2")),
            ("two documents", format!("{base}---\n{base}")),
            ("an anchor", format!("{base}spec: &s {{}}\n")),
            ("an alias", format!("x: &a 1\n{base}y: *a\n")),
            ("a tag", format!("{base}spec: !!map {{}}\n")),
            ("a merge key", format!("{base}spec:\n  <<: {{a: 1}}\n")),
            ("a null key", format!("{base}spec:\n  ~: 1\n")),
            ("an empty key", format!("{base}spec: {{: 1}}\n")),
            ("a collection key", format!("{base}spec:\n  ? [a]\n  : 1\n")),
            ("an infinity", format!("{base}spec: {{x: .inf}}\n")),
            ("a negative infinity", format!("{base}spec: {{x: -.Inf}}\n")),
            ("a directive", format!("%YAML 1.1\n---\n{base}")),
            ("a number namespace", base.replace("shop", "123")),
            ("a boolean namespace", base.replace("shop", "yes")),
            ("a null name", base.replace("web", "~")),
            ("an empty namespace", base.replace("shop", "''")),
            ("no name", base.replace("  name: web\n", "")),
            ("a second name", format!("{base}  name: other\n")),
            ("a second metadata", format!("{base}metadata: {{}}\n")),
            ("a second spec", format!("{base}spec: {{}}\nspec: {{}}\n")),
            (
                "a second node name",
                format!("{base}spec: {{nodeName: a, nodeName: b}}\n"),
            ),
            (
                "a list as node name",
                format!("{base}spec: {{nodeName: [a]}}\n"),
            ),
            (
                "a number as node name",
                format!("{base}spec: {{nodeName: 12}}\n"),
            ),
            (
                "a list as metadata",
                base.replace(
                    "metadata:\n  name: web\n  namespace: shop\n",
                    "metadata: []\n",
                ),
            ),
            ("a syntax error", format!("{base}spec: [\n")),
            ("a tab", format!("{base}spec:\n\tx: 1\n")),
            ("a list", "- a\n- b\n".to_string()),
            (
                "deep nesting",
                format!("{base}spec: {}{}\n", "[".repeat(70), "]".repeat(70)),
            ),
        ] {
            assert_eq!(pod_head(&text), None, "{what}: {text}");
        }
    }
}

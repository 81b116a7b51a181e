//! One YAML document into a JSON value, the way kubectl reads it, within
//! bounds a hostile document cannot get past.
//!
//! kubectl reads manifests with sigs.k8s.io/yaml, which parses YAML 1.1
//! (go-yaml v2) and converts the result to JSON before decoding the object.
//! serde_yaml_ng parses the same syntax with YAML 1.2's scalars, so this
//! module resolves plain scalars as go-yaml v2 does where the two differ
//! (`yes`/`no`/`on`/`off`/`y`/`n` are booleans, `010` is octal, `1_000`
//! is a number, `<<` merges mappings), turns whole floats into integers as
//! a JSON round trip does (`1e3` is `1000`), and refuses what JSON cannot
//! carry (`.nan`, `.inf`), as kubectl does.
//!
//! Bounds: serde_yaml_ng refuses nesting deeper than 128 and more alias
//! jumps than 100 per event; on top of that every value built is counted,
//! and a document whose expanded size outgrows its text by more than
//! go-yaml's alias ratio allows is refused with go-yaml's words ("document
//! contains excessive aliasing") before the expansion is built. go-yaml
//! compares the nodes decoded through aliases with all nodes decoded; the
//! nodes written out in the text are not known here, so the text's length
//! in bytes (at least one byte per node) stands in for them: whatever
//! go-yaml accepts is accepted, and the expansion stays within a fixed
//! multiple of the text.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The message of a document refused for its aliases (go-yaml's words).
pub const EXCESSIVE_ALIASING: &str = "document contains excessive aliasing";

/// Reads one document of `text` (the string serde_yaml_ng parses, so that
/// plain scalars can be told from quoted ones) into a JSON value.
pub fn document_value(
    doc: serde_yaml_ng::Deserializer<'_>,
    text: &str,
) -> Result<Value, serde_yaml_ng::Error> {
    let counter = Counter::new(text);
    let value = de::Deserializer::deserialize_any(doc, ValueVisitor { counter: &counter })
        .map_err(|e| {
            if e.to_string().contains("repetition limit exceeded") {
                de::Error::custom(EXCESSIVE_ALIASING)
            } else {
                e
            }
        })?;
    Ok(value)
}

/// Reads one JSON document (`body`, a slice of `text`, the chunk of the
/// stream it was cut from) into the value [`document_value`] gives for
/// the same text, through serde_json instead of the YAML parser: the same
/// visitor, so numbers are normalised alike (whole floats are integers)
/// and every node is counted against the same bounds. `text`'s length is
/// what the document adds to the input's byte count, as in
/// [`document_value`]. Errors are serde_json's; the caller falls back to
/// the YAML reading on any (see [`TotalMark`]).
pub fn json_document_value(body: &str, text: &str) -> Result<Value, serde_json::Error> {
    let counter = Counter::new(text);
    let mut de = serde_json::Deserializer::from_str(body);
    let value = de::Deserializer::deserialize_any(&mut de, ValueVisitor { counter: &counter })?;
    de.end()?;
    Ok(value)
}

/// The input's running node and byte counts (the bound on alias
/// expansion across documents), taken before a reading that may be
/// abandoned and done again another way: [`TotalMark::restore`] puts
/// them back, so the document is counted once.
#[derive(Debug, Clone, Copy)]
pub struct TotalMark((u64, u64));

impl TotalMark {
    /// The counts now.
    pub fn take() -> TotalMark {
        let t = TOTAL.with(Cell::get);
        TotalMark((t.nodes, t.bytes))
    }

    /// Puts the counts back to what they were at [`TotalMark::take`].
    pub fn restore(self) {
        TOTAL.with(|t| {
            let (nodes, bytes) = self.0;
            t.set(Total {
                nodes,
                bytes,
                ..t.get()
            });
        });
    }

    /// The nodes and bytes counted on this thread since the mark.
    pub fn since(self) -> (u64, u64) {
        let now = TotalMark::take().0;
        (now.0 - self.0.0, now.1 - self.0.1)
    }
}

/// Adds `nodes` and `bytes` of text without aliases to this thread's
/// input-wide counts, as reading it here would have (it was read on
/// another thread, or skipped by the narrow reading): such text only
/// widens the bound's margin (at most one node per two bytes), so no
/// check is needed.
pub fn count_read_elsewhere(nodes: u64, bytes: u64) {
    TOTAL.with(|t| {
        let total = t.get();
        t.set(Total {
            nodes: total.nodes + nodes,
            bytes: total.bytes + bytes,
            ..total
        });
    });
}

/// What reading some text away from the input's order (on another
/// thread, see [`tallied`]) added to the input-wide counts, and how close
/// it came to the input-wide bound: whether the bound holds for it can
/// only be told once everything before it is known ([`Tally::commit`]).
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    nodes: u64,
    bytes: u64,
    /// The highest `nodes + 1 - 2 * bytes` of the reading's own counts at
    /// any node it counted ([`Counter::node`]'s check with the counts
    /// before it left out).
    peak: i128,
    /// The reading stopped when its expansion outgrew the shared budget:
    /// its outcome is not known (see [`tallied`]).
    stopped: bool,
}

/// Nodes beyond two per byte of text that a reading [`tallied`] takes
/// from its shared budget at a time.
const BUDGET_STEP: i64 = 4096;

/// Runs `read` with this thread's input-wide counts set aside: it counts
/// from zero, and instead of refusing what crosses the input-wide bound
/// it records how close it came ([`Tally`]); the counts are put back
/// after. The per-document alias ratio and every other check apply as
/// usual. Memory stays bounded all the same: nodes beyond two per byte of
/// text (only aliases make those) are taken from `budget`, shared by the
/// readings done together, and once it runs out the reading stops with
/// an error that means nothing ([`Tally::commit`] is then `false`, and
/// the text must be read again in order). `read` must not hand work to
/// other threads.
pub fn tallied<R>(budget: &Arc<AtomicI64>, read: impl FnOnce() -> R) -> (R, Tally) {
    let saved = TOTAL.with(|t| {
        t.replace(Total {
            nodes: 0,
            bytes: 0,
            peak: Some(i128::MIN),
            reserved: 0,
            stopped: false,
        })
    });
    let saved_budget = BUDGET.with(|b| b.replace(Some(Arc::clone(budget))));
    let out = read();
    BUDGET.with(|b| b.replace(saved_budget));
    let t = TOTAL.with(|t| t.replace(saved));
    let tally = Tally {
        nodes: t.nodes,
        bytes: t.bytes,
        peak: t.peak.unwrap_or(i128::MIN),
        stopped: t.stopped,
    };
    (out, tally)
}

impl Tally {
    /// Whether the reading tallied stays within the input-wide bound at
    /// every node when it comes after what this thread has counted so
    /// far (as it does in the input), and ran to its end: then its counts
    /// are added and `true`; otherwise nothing changes and `false` (the
    /// text must be read again here, in order, for the reading's exact
    /// outcome).
    pub fn commit(self) -> bool {
        if self.stopped {
            return false;
        }
        TOTAL.with(|c| {
            let t = c.get();
            if t.nodes as i128 + self.peak > 2 * t.bytes as i128 + TOTAL_SLACK as i128 {
                return false;
            }
            c.set(Total {
                nodes: t.nodes + self.nodes,
                bytes: t.bytes + self.bytes,
                ..t
            });
            true
        })
    }
}

/// A document's top-level `apiVersion` and `kind` (when they are
/// strings), and whether it has `items`, read without building the rest
/// (each node is still counted against the alias ratio).
pub fn top_level_kind<'de, D: de::Deserializer<'de>>(
    doc: D,
    text: &str,
) -> Result<(String, String, bool), D::Error> {
    let counter = Counter::new(text);
    de::Deserializer::deserialize_any(doc, TopKind { counter: &counter })
}

/// Reads a list document handing each element of its top-level `items`
/// to `item` as soon as it is read (its position, from 0, and its value),
/// so that the items are never held together; returns the rest of the
/// document without `items`. An error from `item` stops the reading and
/// is returned as is.
pub fn stream_items<'de, D: de::Deserializer<'de>, E>(
    doc: D,
    text: &str,
    item: &mut dyn FnMut(usize, Value) -> Result<(), E>,
) -> Result<Result<Value, E>, D::Error> {
    let counter = Counter::new(text);
    let failed: Cell<Option<E>> = Cell::new(None);
    let mut item = |i: usize, v: Value| -> Result<(), String> {
        item(i, v).map_err(|e| {
            failed.set(Some(e));
            "stopped".to_string()
        })
    };
    let visitor = TopItems {
        counter: &counter,
        item: &mut item,
    };
    match de::Deserializer::deserialize_any(doc, visitor) {
        Ok(rest) => Ok(Ok(rest)),
        Err(e) => match failed.take() {
            Some(stopped) => Ok(Err(stopped)),
            None => Err(e),
        },
    }
}

struct TopKind<'c, 't> {
    counter: &'c Counter<'t>,
}

impl<'de> Visitor<'de> for TopKind<'_, '_> {
    type Value = (String, String, bool);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut api, mut kind, mut items) = (String::new(), String::new(), false);
        while let Some(key) = map.next_key_seed(KeySeed {
            counter: self.counter,
        })? {
            let value = map.next_value_seed(Skim {
                counter: self.counter,
                keep: true,
            })?;
            match (key.name.as_str(), value) {
                ("apiVersion", Some(v)) => api = v,
                ("kind", Some(v)) => kind = v,
                ("items", _) => items = true,
                _ => {}
            }
        }
        Ok((api, kind, items))
    }
}

/// Walks a value without keeping it, counting its nodes; a string scalar
/// is kept when `keep` says so (the top level's values; nested ones are
/// never looked at, so never copied).
struct Skim<'c, 't> {
    counter: &'c Counter<'t>,
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for Skim<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skim<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(self.keep.then(|| v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.counter.node().map(|_| None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.counter.node()?;
        while seq
            .next_element_seed(Skim {
                counter: self.counter,
                keep: false,
            })?
            .is_some()
        {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.counter.node()?;
        while map
            .next_key_seed(Skim {
                counter: self.counter,
                keep: false,
            })?
            .is_some()
        {
            map.next_value_seed(Skim {
                counter: self.counter,
                keep: false,
            })?;
        }
        Ok(None)
    }
}

struct TopItems<'c, 't, 'f> {
    counter: &'c Counter<'t>,
    item: &'f mut dyn FnMut(usize, Value) -> Result<(), String>,
}

impl<'de> Visitor<'de> for TopItems<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            counter: self.counter,
        })? {
            if key.name == "items" && !key.merge {
                let value = map.next_value_seed(Items {
                    counter: self.counter,
                    item: &mut *self.item,
                })?;
                if let Some(not_a_list) = value {
                    out.insert(key.name, not_a_list);
                }
                continue;
            }
            let value = map.next_value_seed(ValueVisitor {
                counter: self.counter,
            })?;
            out.insert(key.name, value);
        }
        Ok(Value::Object(out))
    }
}

/// `items`: a sequence is streamed (and `None` returned); anything else is
/// returned whole for the caller to refuse.
struct Items<'c, 't, 'f> {
    counter: &'c Counter<'t>,
    item: &'f mut dyn FnMut(usize, Value) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.counter.node()?;
        let mut i = 0;
        while let Some(v) = seq.next_element_seed(ValueVisitor {
            counter: self.counter,
        })? {
            (self.item)(i, v).map_err(de::Error::custom)?;
            i += 1;
        }
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.counter.node()?;
        Ok(Some(Value::String(v.to_string())))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ValueVisitor {
            counter: self.counter,
        }
        .visit_map(map)
        .map(Some)
    }
}

/// go-yaml's limit on nesting, which kubectl's reader enforces too.
pub const MAX_DEPTH: usize = 10_000;

/// Refuses text whose flow collections (`[`, `{`) open more than
/// [`MAX_DEPTH`] levels deep, by one pass over its bytes, before the
/// parser sees it (the parser would read every level before its own
/// depth limit applies). Brackets inside strings count too: only text
/// with thousands of them unclosed is refused.
pub fn check_depth(text: &str) -> Result<(), String> {
    // Fewer openings than the limit cannot nest past it: one counting
    // pass (which the compiler vectorises) settles most text.
    let openings = text.bytes().filter(|&b| b == b'[' || b == b'{').count();
    if openings <= MAX_DEPTH {
        return Ok(());
    }
    let mut depth: usize = 0;
    let mut line = 1;
    let mut line_start = 0;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let column = i - line_start + 1;
                    return Err(format!(
                        "exceeded max depth of {MAX_DEPTH} at line {line} column {column}"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
    }
    Ok(())
}

/// go-yaml v2's `allowedAliasRatio`: the share of decoded nodes that may
/// come from aliases, 0.99 up to 400,000 nodes, falling to 0.10 at
/// 4,000,000.
fn allowed_alias_ratio(decoded: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

struct Counter<'t> {
    nodes: Cell<u64>,
    /// An upper bound on the nodes written out in the text.
    written: u64,
    text_start: usize,
    text: &'t [u8],
}

/// Nodes built and text bytes read so far by every document of this run
/// (see [`Counter::node`]); `peak` is `Some` while a reading is
/// [`tallied`] (the bound is then recorded, not checked), `reserved` the
/// expansion it took from its budget and `stopped` whether the budget ran
/// out.
#[derive(Debug, Clone, Copy)]
struct Total {
    nodes: u64,
    bytes: u64,
    peak: Option<i128>,
    reserved: i128,
    stopped: bool,
}

thread_local! {
    static TOTAL: Cell<Total> = const {
        Cell::new(Total {
            nodes: 0,
            bytes: 0,
            peak: None,
            reserved: 0,
            stopped: false,
        })
    };
    /// The budget of the reading [`tallied`] on this thread.
    static BUDGET: RefCell<Option<Arc<AtomicI64>>> = const { RefCell::new(None) };
}

/// Takes [`BUDGET_STEP`] nodes from this thread's budget: `false` when
/// it has run out.
fn reserve() -> bool {
    BUDGET.with(|b| {
        b.borrow()
            .as_ref()
            .is_some_and(|b| b.fetch_sub(BUDGET_STEP, Ordering::Relaxed) >= BUDGET_STEP)
    })
}

/// The message of a reading [`tallied`] that ran out of budget: never
/// shown (the text is read again in order).
const OUT_OF_BUDGET: &str = "read again in order";

/// Nodes the whole input may expand to beyond twice its bytes: a document
/// without aliases holds at most one node per two bytes, so only alias
/// expansion reaches this, however it is spread over documents.
const TOTAL_SLACK: u64 = 1_000_000;

/// The message of an input refused for its aliases across documents.
pub const EXCESSIVE_ALIASING_TOTAL: &str =
    "the documents' aliases together expand the input beyond twice its size";

impl<'t> Counter<'t> {
    fn new(text: &'t str) -> Counter<'t> {
        TOTAL.with(|t| {
            let total = t.get();
            t.set(Total {
                bytes: total.bytes + text.len() as u64,
                ..total
            });
        });
        Counter {
            nodes: Cell::new(0),
            written: text.len() as u64 + 1,
            text_start: text.as_ptr() as usize,
            text: text.as_bytes(),
        }
    }

    /// Counts one more node; refuses the document once the nodes beyond
    /// those the text can hold outgrow go-yaml's alias ratio, and the
    /// input once all its documents together expand beyond twice their
    /// bytes (plus [`TOTAL_SLACK`]).
    fn node<E: de::Error>(&self) -> Result<(), E> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        // Across documents: each may stay within its own ratio while all
        // together hold gigabytes of expansion.
        let over = TOTAL.with(|t| {
            let total = t.get();
            let (nodes, bytes) = (total.nodes + 1, total.bytes);
            match total.peak {
                None => {
                    t.set(Total { nodes, ..total });
                    (nodes > 2 * bytes + TOTAL_SLACK).then_some(EXCESSIVE_ALIASING_TOTAL)
                }
                // Away from the input's order: recorded, checked when
                // merged (`Tally::commit`); expansion beyond two nodes a
                // byte is taken from the budget.
                Some(peak) => {
                    let excess = nodes as i128 - 2 * bytes as i128;
                    let mut next = Total {
                        nodes,
                        peak: Some(peak.max(excess)),
                        ..total
                    };
                    if excess > next.reserved {
                        if reserve() {
                            next.reserved += i128::from(BUDGET_STEP);
                        } else {
                            next.stopped = true;
                        }
                    }
                    t.set(next);
                    next.stopped.then_some(OUT_OF_BUDGET)
                }
            }
        });
        if let Some(message) = over {
            return Err(E::custom(message));
        }
        let aliased = n.saturating_sub(self.written);
        if aliased > 100 && n > 1000 && aliased as f64 / n as f64 > allowed_alias_ratio(n) {
            return Err(E::custom(EXCESSIVE_ALIASING));
        }
        Ok(())
    }

    /// Whether `s`, as handed out by the parser, is a plain scalar of the
    /// text: it lies in the text and is not between quotes nor tagged
    /// `!!str` (quoted scalars with escapes and block scalars are copies,
    /// never in the text).
    fn is_plain(&self, s: &str) -> bool {
        let start = (s.as_ptr() as usize).wrapping_sub(self.text_start);
        let end = start.wrapping_add(s.len());
        if start > self.text.len() || end > self.text.len() {
            return false;
        }
        let before = &self.text[..start];
        if let (Some(&q @ (b'"' | b'\'')), Some(&after)) = (before.last(), self.text.get(end))
            && after == q
        {
            return false;
        }
        let before = before.trim_ascii_end();
        !(before.ends_with(b"!!str") || before.ends_with(b"!<tag:yaml.org,2002:str>"))
    }
}

struct ValueVisitor<'c, 't> {
    counter: &'c Counter<'t>,
}

impl<'de> DeserializeSeed<'de> for ValueVisitor<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A float as JSON carries it after Go's encoder: whole numbers print
/// without a fraction (and so decode as integers); NaN and infinities are
/// refused (`json: unsupported value`).
fn float_value<E: de::Error>(f: f64) -> Result<Value, E> {
    if !f.is_finite() {
        let shown = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(E::custom(format!(
            "error converting YAML to JSON: json: unsupported value: {shown}"
        )));
    }
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= 0.0 && f <= u64::MAX as f64 {
            return Ok(Value::Number(Number::from(f as u64)));
        }
        if f < 0.0 && f >= i64::MIN as f64 {
            return Ok(Value::Number(Number::from(f as i64)));
        }
    }
    Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
}

/// go-yaml v2's resolution of a plain scalar that YAML 1.2 (and so
/// serde_yaml_ng) reads as a string, or `None` when go-yaml reads it as
/// a string too.
fn resolve_yaml11<E: de::Error>(s: &str) -> Result<Option<Value>, E> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Ok(Some(Value::Bool(true)));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Ok(Some(Value::Bool(false)));
        }
        "+.inf" | "+.Inf" | "+.INF" => return float_value(f64::INFINITY).map(Some),
        _ => {}
    }
    if !s
        .as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.'))
    {
        return Ok(None);
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(n) = go_parse_int(&plain) {
        return Ok(Some(n));
    }
    // Go's ParseFloat fails on overflow (`1e400`): a string then.
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return float_value(f).map(Some);
    }
    Ok(None)
}

/// A plain mapping key as sigs.k8s.io/yaml makes it a JSON key: booleans
/// and numbers (YAML 1.1's) are written out (`yes` is `"true"`, `010` is
/// `"8"`); a null key is an error, as in kubectl.
fn plain_key<E: de::Error>(s: &str) -> Result<String, E> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => {
            return Err(E::custom(
                "error converting YAML to JSON: unsupported map key of type: null",
            ));
        }
        "true" | "True" | "TRUE" => return Ok("true".into()),
        "false" | "False" | "FALSE" => return Ok("false".into()),
        _ => {}
    }
    Ok(match resolve_yaml11::<E>(s) {
        Ok(Some(Value::Bool(b))) => b.to_string(),
        Ok(Some(Value::Number(n))) => n.to_string(),
        // `.inf` as a key, or anything else: as written.
        _ => match parse_plain_float(s) {
            Some(f) => match float_value::<E>(f) {
                Ok(Value::Number(n)) => n.to_string(),
                _ => s.to_string(),
            },
            None => s.to_string(),
        },
    })
}

/// A plain scalar YAML 1.2 reads as a float (`1.5`, `1e3`), finite.
fn parse_plain_float(s: &str) -> Option<f64> {
    if !is_yaml_style_float(s) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: an optional sign,
/// then `0x`, `0o`, `0b` or a leading `0` (octal) or decimal digits.
fn go_parse_int(s: &str) -> Option<Value> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let v = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Value::Number(Number::from(v)))
    } else {
        Some(Value::Number(Number::from(magnitude)))
    }
}

/// go-yaml v2's `yamlStyleFloat`:
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl<'de> Visitor<'de> for ValueVisitor<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.counter.node()?;
        float_value(v)
    }

    /// Integers beyond 64 bits: a float, as in Go.
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.counter.node()?;
        float_value(v as f64)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.counter.node()?;
        float_value(v as f64)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value, E> {
        self.counter.node()?;
        if self.counter.is_plain(v)
            && let Some(resolved) = resolve_yaml11(v)?
        {
            return Ok(resolved);
        }
        Ok(Value::String(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.counter.node()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.counter.node()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueVisitor {
            counter: self.counter,
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.counter.node()?;
        let mut out = Map::new();
        // `<<: *base` (or a list of them): the merged keys, taken where the
        // mapping does not set them itself; earlier ones win.
        let mut merged: Vec<Map<String, Value>> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            counter: self.counter,
        })? {
            let value = map.next_value_seed(ValueVisitor {
                counter: self.counter,
            })?;
            if key.merge {
                match value {
                    Value::Object(m) => merged.push(m),
                    Value::Array(items) => {
                        for item in items {
                            match item {
                                Value::Object(m) => merged.push(m),
                                _ => {
                                    return Err(de::Error::custom(
                                        "map merge requires map or sequence of maps as the value",
                                    ));
                                }
                            }
                        }
                    }
                    _ => {
                        return Err(de::Error::custom(
                            "map merge requires map or sequence of maps as the value",
                        ));
                    }
                }
            } else {
                out.insert(key.name, value);
            }
        }
        for m in merged {
            for (k, v) in m {
                out.entry(k).or_insert(v);
            }
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key as JSON holds it (a string), and whether it is the
/// plain merge key `<<`.
struct Key {
    name: String,
    merge: bool,
}

struct KeySeed<'c, 't> {
    counter: &'c Counter<'t>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key, E> {
        self.counter.node()?;
        if !self.counter.is_plain(v) {
            return Ok(Key {
                name: v.to_string(),
                merge: false,
            });
        }
        Ok(Key {
            merge: v == "<<",
            name: plain_key(v)?,
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        self.counter.node()?;
        Ok(Key {
            name: v.to_string(),
            merge: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Result<Value, String> {
        let doc = serde_yaml_ng::Deserializer::from_str(text)
            .next()
            .ok_or("no document")?;
        document_value(doc, text).map_err(|e| e.to_string())
    }

    #[test]
    fn yaml_11_scalars_as_go_yaml_v2_reads_them() {
        for (text, want) in [
            ("a: yes", json!({"a": true})),
            ("a: Off", json!({"a": false})),
            ("a: 'yes'", json!({"a": "yes"})),
            ("a: \"on\"", json!({"a": "on"})),
            ("a: !!str yes", json!({"a": "yes"})),
            ("a: 010", json!({"a": 8})),
            ("a: '010'", json!({"a": "010"})),
            ("a: 1_000", json!({"a": 1000})),
            ("a: 0x1F", json!({"a": 31})),
            ("a: 1e3", json!({"a": 1000})),
            ("a: 80.0", json!({"a": 80})),
            ("a: 80.5", json!({"a": 80.5})),
            ("a: 12abc", json!({"a": "12abc"})),
            ("a: yesterday", json!({"a": "yesterday"})),
            ("[yes, 'no', n]", json!([true, "no", false])),
        ] {
            assert_eq!(read(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn nan_and_infinity_are_errors() {
        for text in ["a: .nan", "a: .inf", "a: -.Inf", "a: +.inf"] {
            let e = read(text).unwrap_err();
            assert!(e.contains("json: unsupported value"), "{text}: {e}");
        }
    }

    #[test]
    fn merge_keys_merge_and_explicit_keys_win() {
        // (`y` would be a key `true` in YAML 1.1, as kubectl reads it.)
        let text = "base: &b {p: 1, q: 2}\nother: &o {q: 3, r: 4}\nm:\n  <<: [*b, *o]\n  p: 9\n";
        assert_eq!(
            read(text).unwrap()["m"],
            json!({"p": 9, "q": 2, "r": 4}),
            "{text}"
        );
        assert_eq!(
            read("{y: 1, n: 2}").unwrap(),
            json!({"true": 1, "false": 2})
        );
        assert_eq!(
            read("m: {'<<': {a: 1}}").unwrap(),
            json!({"m": {"<<": {"a": 1}}})
        );
    }

    #[test]
    fn alias_bombs_are_refused_before_they_grow() {
        // Nine levels of ten aliases each: 10^9 leaves from ~300 bytes.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(read(&text).unwrap_err().contains(EXCESSIVE_ALIASING));
        // One wide anchor aliased many times: jumps stay under the
        // parser's own limit, the expansion does not.
        let wide: Vec<String> = (0..2000).map(|i| format!("k{i}: v")).collect();
        let mut text = format!("base: &b {{{}}}\nlist:\n", wide.join(", "));
        for _ in 0..2000 {
            text.push_str("- *b\n");
        }
        assert!(read(&text).unwrap_err().contains(EXCESSIVE_ALIASING));
    }

    #[test]
    fn modest_aliasing_is_read() {
        let text = "d: &d {a: 1, b: 2}\nx: [*d, *d, *d, *d]\n";
        assert_eq!(read(text).unwrap()["x"][3], json!({"a": 1, "b": 2}));
    }

    #[test]
    fn depth_is_checked_before_parsing() {
        assert!(check_depth(&"[".repeat(MAX_DEPTH)).is_ok());
        let e = check_depth(&format!("a: 1\n{}", "{a: [".repeat(MAX_DEPTH))).unwrap_err();
        assert_eq!(e, "exceeded max depth of 10000 at line 2 column 25001");
    }

    #[test]
    fn go_yaml_alias_ratio() {
        assert_eq!(allowed_alias_ratio(1000), 0.99);
        assert_eq!(allowed_alias_ratio(4_000_000), 0.10);
        assert!((allowed_alias_ratio(2_200_000) - 0.545).abs() < 1e-9);
    }
}

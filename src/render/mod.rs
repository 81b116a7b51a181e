//! Turning answers into text for people and JSON/YAML for scripts.
//!
//! Renderers are pure functions that return `String`; only `main` and the
//! commands print. Colour is decided once ([`Palette`]) and passed in.

use std::io::IsTerminal;

use owo_colors::OwoColorize;
use serde::Serialize;

use crate::cli::ColorChoice;

/// Colours for text output; every method is the identity when colour is
/// off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    pub fn new(enabled: bool) -> Palette {
        Palette { enabled }
    }

    /// Decides colour for stdout from `--color` and `NO_COLOR` (honoured
    /// only when non-empty).
    pub fn from_choice(choice: ColorChoice) -> Palette {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Palette { enabled }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn good(&self, s: &str) -> String {
        if self.enabled {
            s.green().bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn bad(&self, s: &str) -> String {
        if self.enabled {
            s.red().bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn warn(&self, s: &str) -> String {
        if self.enabled {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn head(&self, s: &str) -> String {
        if self.enabled {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.enabled {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
}

/// Removes terminal control characters from strings that come from other
/// people (object names, labels), so they cannot move the cursor or change
/// colours.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// How many characters of a quoted value an `error:` or `warning:` line
/// shows before `...` (the whole value with `-v` 1 and above).
pub const QUOTED_MAX: usize = 64;

/// Shortens every value between double quotes or backticks longer than
/// `max` characters to its first `max` characters and `...`, so that a
/// message quoting a huge value stays one readable line. Escaped quotes
/// (`\"`, as `{:?}` writes them) stay inside their value; a quote that is
/// never closed is left as it is.
pub fn cap_quoted(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len().min(4096));
    let mut i = 0;
    while i < chars.len() {
        let q = chars[i];
        out.push(q);
        i += 1;
        if q != '"' && q != '`' {
            continue;
        }
        // Find the closing quote.
        let mut j = i;
        while j < chars.len() && chars[j] != q {
            j += if chars[j] == '\\' && q == '"' { 2 } else { 1 };
        }
        if j >= chars.len() {
            continue;
        }
        let value = &chars[i..j];
        if value.len() > max {
            let mut keep = max;
            // Never cut an escape in two.
            if value[..keep]
                .iter()
                .rev()
                .take_while(|&&c| c == '\\')
                .count()
                % 2
                == 1
            {
                keep -= 1;
            }
            out.extend(&value[..keep]);
            out.push_str("...");
        } else {
            out.extend(value);
        }
        out.push(q);
        i = j + 1;
    }
    out
}

/// Invisible characters that reorder or hide text on a terminal.
fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Whether JSON output spells `c` as `\uXXXX` although JSON allows it raw:
/// C1 controls, DEL and the bidirectional overrides and isolates, which a
/// terminal showing the JSON would obey.
pub fn json_escaped(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// kubectl's JSON layout (4-space indentation) with [`json_escaped`]
/// characters written as `\uXXXX`; for any `serde_json::Serializer`,
/// streaming ones included.
pub struct JsonFormatter<'a> {
    inner: serde_json::ser::PrettyFormatter<'a>,
}

impl Default for JsonFormatter<'_> {
    fn default() -> Self {
        JsonFormatter {
            inner: serde_json::ser::PrettyFormatter::with_indent(b"    "),
        }
    }
}

impl serde_json::ser::Formatter for JsonFormatter<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_object_value(w)
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|(_, c)| json_escaped(*c)) {
            w.write_all(&rest.as_bytes()[..i])?;
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
}

/// JSON with 4-space indentation and a trailing newline, as kubectl prints
/// (see [`JsonFormatter`]).
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let fmt = JsonFormatter::default();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serialising plain data structs into memory cannot fail.
    if value.serialize(&mut ser).is_err() {
        return "{}\n".to_string();
    }
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `value` as [`to_json`] would return it, to `w` as it is
/// serialised (a large document is never held in memory).
pub fn write_json<T: Serialize>(w: &mut dyn std::io::Write, value: &T) -> std::io::Result<()> {
    let mut w = KeepError::new(w);
    let mut ser = serde_json::Serializer::with_formatter(&mut w, JsonFormatter::default());
    let done = value.serialize(&mut ser);
    w.result(done)?;
    w.inner.write_all(b"\n")
}

/// Writes `value` as [`to_yaml`] would return it, to `w` as it is
/// serialised.
pub fn write_yaml<T: Serialize>(w: &mut dyn std::io::Write, value: &T) -> std::io::Result<()> {
    let mut w = KeepError::new(w);
    let done = serde_yaml_ng::to_writer(&mut w, value);
    w.result(done)
}

/// A writer that keeps the first I/O error it met, so that a serialiser's
/// failure can be told apart: a closed pipe stays a closed pipe.
struct KeepError<'w> {
    inner: &'w mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl<'w> KeepError<'w> {
    fn new(inner: &'w mut dyn std::io::Write) -> Self {
        KeepError { inner, error: None }
    }

    /// The serialiser's result as an I/O result: the writer's own error
    /// when there was one.
    fn result<E: std::fmt::Display>(&mut self, done: Result<(), E>) -> std::io::Result<()> {
        match (done, self.error.take()) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(std::io::Error::other(e.to_string())),
        }
    }

    fn keep(&mut self, e: std::io::Error) -> std::io::Error {
        let again = std::io::Error::new(e.kind(), e.to_string());
        self.error.get_or_insert(e);
        again
    }
}

impl std::io::Write for KeepError<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.keep(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().map_err(|e| self.keep(e))
    }
}

/// The same document as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// `{"items": [...]}` of documents each rendered by [`to_json`], keeping
/// their field order and 4-space indent (for one answer per object).
pub fn json_items(items: &[String]) -> String {
    if items.is_empty() {
        return "{\n    \"items\": []\n}\n".to_string();
    }
    let indented: Vec<String> = items
        .iter()
        .map(|doc| {
            doc.trim_end()
                .lines()
                .map(|l| format!("        {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    format!(
        "{{\n    \"items\": [\n{}\n    ]\n}}\n",
        indented.join(",\n")
    )
}

/// `items:` holding documents each rendered by [`to_yaml`] (a block
/// mapping indented as a list item keeps its meaning).
pub fn yaml_items(items: &[String]) -> String {
    if items.is_empty() {
        return "items: []\n".to_string();
    }
    let mut out = String::from("items:\n");
    for doc in items {
        for (i, line) in doc.trim_end().lines().enumerate() {
            let lead = if i == 0 {
                "- "
            } else if line.is_empty() {
                ""
            } else {
                "  "
            };
            out.push_str(lead);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The width of `s` on a terminal: characters, not counting ANSI colour
/// sequences.
pub fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `ESC [ ... final-byte`.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// A borderless table with UPPERCASE headers, columns separated by three
/// spaces, as `kubectl get` prints.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table_with(headers, rows, true)
}

/// [`table`], with the header line only when `headers_shown` (kubectl's
/// `--no-headers`: the columns are then as wide as the rows need).
pub fn table_with(headers: &[&str], rows: &[Vec<String>], headers_shown: bool) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|h| if headers_shown { visible_width(h) } else { 0 })
        .collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(visible_width(cell));
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - visible_width(cell) + 3;
                out.push_str(&" ".repeat(pad));
            }
        }
        // An empty last cell must not leave padding behind.
        let kept = out.trim_end_matches(' ').len();
        out.truncate(kept);
        out.push('\n');
    };
    if headers_shown {
        line(headers.to_vec(), &mut out);
    }
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// `app=web,tier=front`, or `<none>`.
pub fn labels_text(labels: &crate::snapshot::Labels) -> String {
    if labels.is_empty() {
        "<none>".to_string()
    } else {
        labels
            .iter()
            .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_would_obey() {
        let hostile =
            "a\u{1b}[31m\u{7f}\u{80}\u{85}\u{9b}2J\u{9f}\u{202a}\u{202e}\u{2066}\u{2069}z\u{a0}é";
        let out = to_json(&serde_json::json!({ "k\u{202e}": hostile }));
        assert_eq!(
            out,
            "{\n    \"k\\u202e\": \"a\\u001b[31m\\u007f\\u0080\\u0085\\u009b2J\\u009f\\u202a\\u202e\\u2066\\u2069z\u{a0}é\"\n}\n"
        );
        // The same text back.
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["k\u{202e}"], hostile);
        for c in out.chars() {
            assert!(!json_escaped(c), "{c:?} raw in {out:?}");
        }
    }

    #[test]
    fn long_quoted_values_are_capped() {
        let long = "a".repeat(100);
        assert_eq!(
            cap_quoted(&format!("pods {long:?} not found in `{long}`"), 5),
            "pods \"aaaaa...\" not found in `aaaaa...`"
        );
        assert_eq!(
            cap_quoted("short \"ok\" and `ok`", 5),
            "short \"ok\" and `ok`"
        );
        // Escaped quotes stay inside the value; escapes are not cut.
        assert_eq!(cap_quoted(r#"v "a\"b\"cdefgh" x"#, 4), r#"v "a\"b..." x"#);
        assert_eq!(
            cap_quoted(r#""abc\"def""#, 4),
            r#""abc..."#.to_string() + "\""
        );
        // An unclosed quote is left alone; multibyte characters are whole.
        assert_eq!(cap_quoted("say \"hello", 2), "say \"hello");
        assert_eq!(cap_quoted("\"ééééé\"", 2), "\"éé...\"");
    }
}

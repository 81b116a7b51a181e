//! The JSON fast path of `-f`: a document written in JSON (`kubectl get
//! -o json`, one object or a `kind: List`) is read by serde_json instead
//! of the YAML parser, giving the same objects, warnings and errors.
//!
//! JSON is YAML (flow style, double-quoted strings), and the YAML reading
//! of JSON text is what kubectl's reading gives. serde_json reads the same
//! text many times faster, to the same value, except where YAML 1.1 reads
//! some JSON differently or refuses it. [`json_body`] admits only text
//! where the two cannot differ, by one pass over its bytes: no tab (YAML
//! refuses tabs in some places JSON allows them), no character libyaml
//! refuses or reads as a line break (DEL, C1 controls, NEL, LINE and
//! PARAGRAPH SEPARATOR, U+FFFE/FFFF, a byte order mark), no `\u` escape of
//! a surrogate (YAML refuses them; JSON pairs them), every mapping key on
//! the line of its `:` and within YAML's 1,024 characters for a simple key.
//! What serde_json then refuses (bad JSON, nesting beyond 128, numbers
//! beyond f64) is read again by the YAML reading, whose result (value or
//! error) is the one given: the fast path never answers differently, it
//! only answers sooner.

/// The JSON text of `chunk` (one document of the stream, as cut at `---`
/// lines) when it is one JSON object or array that the YAML reading would
/// read as serde_json does, else `None` (see the module's doc). Leading
/// blank lines, comment lines and a `---` marker line are skipped; what
/// follows must start with `{` or `[`. Whether the JSON is well formed is
/// not checked here: serde_json says so, and the YAML reading takes over
/// when it does not.
pub fn json_body(chunk: &str) -> Option<&str> {
    let mut rest = chunk;
    loop {
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = &rest[..line_end];
        let content = line.trim_start_matches(' ');
        if content.trim_end_matches(['\n', '\r', ' ']).is_empty() || content.starts_with('#') {
            rest = &rest[line_end..];
        } else if let Some(after) = line.strip_prefix("---")
            && after.trim_end_matches(['\n', '\r', ' ']).is_empty()
        {
            rest = &rest[line_end..];
        } else {
            break;
        }
        if rest.is_empty() {
            return None;
        }
    }
    let body = rest.trim_start_matches(' ');
    if !(body.starts_with('{') || body.starts_with('[')) {
        return None;
    }
    same_in_yaml(body.as_bytes()).then_some(body)
}

/// The longest a mapping key may be, from its opening quote to its `:`,
/// for libyaml to read it as a simple key (it allows 1,024 characters;
/// bytes are at least as many as characters).
const MAX_KEY: usize = 1000;

/// Whether JSON text, if well formed, reads the same in YAML 1.1 as in
/// JSON (see the module's doc).
fn same_in_yaml(b: &[u8]) -> bool {
    let mut i = 0;
    let mut in_string = false;
    let mut string_start = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\t' | 0x7f => return false,
            // C1 controls and NEL (U+0080-U+009F).
            0xc2 if b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)) => return false,
            // LINE and PARAGRAPH SEPARATOR.
            0xe2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) => {
                return false;
            }
            // A byte order mark, U+FFFE, U+FFFF.
            0xef if b.get(i + 1) == Some(&0xbb) && b.get(i + 2) == Some(&0xbf) => return false,
            0xef if b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)) => {
                return false;
            }
            _ => {}
        }
        if in_string {
            match c {
                b'\\' => {
                    if b.get(i + 1) == Some(&b'u') {
                        // \uD800-\uDFFF: a surrogate.
                        let hex = b.get(i + 2..i + 6).unwrap_or_default();
                        if hex.len() == 4
                            && hex[0].eq_ignore_ascii_case(&b'd')
                            && matches!(hex[1].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
                        {
                            return false;
                        }
                    }
                    i += 2;
                    continue;
                }
                b'"' => {
                    in_string = false;
                    // A key: its `:` on the same line, within a simple
                    // key's length.
                    let mut j = i + 1;
                    while j < b.len() && matches!(b[j], b' ' | b'\n' | b'\r') {
                        j += 1;
                    }
                    if b.get(j) == Some(&b':')
                        && (j - string_start > MAX_KEY
                            || b[i + 1..j].iter().any(|&c| c == b'\n' || c == b'\r'))
                    {
                        return false;
                    }
                }
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
            string_start = i;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_documents_are_recognised_after_markers_and_comments() {
        assert_eq!(json_body("{\"a\": 1}\n"), Some("{\"a\": 1}\n"));
        assert_eq!(json_body("---\n# c\n\n  [1]\n"), Some("[1]\n"));
        assert_eq!(json_body("--- \r\n{}"), Some("{}"));
        assert_eq!(json_body("a: 1\n"), None);
        assert_eq!(json_body("--- {}\n"), None);
        assert_eq!(json_body("%YAML 1.1\n---\n{}\n"), None);
        assert_eq!(json_body("# only\n"), None);
    }

    #[test]
    fn text_yaml_reads_otherwise_is_left_to_yaml() {
        for text in [
            "{\"a\":\t1}",
            "{\"a\": \"\u{7f}\"}",
            "{\"a\": \"\u{85}\"}",
            "{\"a\": \"\u{2028}\"}",
            "{\"a\": \"\u{feff}\"}",
            "{\"a\": \"\u{ffff}\"}",
            "{\"a\": \"\\ud83d\\ude00\"}",
            "{\"a\": \"\\uDC00\"}",
            "{\"a\"\n: 1}",
        ] {
            assert_eq!(json_body(text), None, "{text:?}");
        }
        let long = format!("{{\"{}\": 1}}", "k".repeat(MAX_KEY));
        assert_eq!(json_body(&long), None);
        // A long value is no key.
        let long = format!("{{\"k\": \"{}\"}}", "v".repeat(5000));
        assert!(json_body(&long).is_some());
        assert!(json_body("{\"a\": \"\\u00e9 \\\" \\\\\", \"b\": [1, 2.5, null]}").is_some());
    }
}

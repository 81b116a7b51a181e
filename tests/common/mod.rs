//! Helpers shared by the tests that run the binary (tests/cli.rs,
//! tests/lint.rs, tests/wizard.rs): a hermetic command and readers for
//! what it prints.

#![allow(dead_code)] // each test crate uses its own subset

pub mod cluster;

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use serde_json::Value;
use tempfile::TempDir;

/// A command for the binary with a scrubbed environment: empty but for
/// `PATH` and a fresh `HOME` (so no kubeconfig), the package root as working
/// directory, stdin empty, stdout a pipe. It owns the temporary HOME, which
/// lives as long as the command.
pub struct Netpol {
    cmd: Command,
    _home: TempDir,
}

impl Deref for Netpol {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for Netpol {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

pub fn netpol() -> Netpol {
    let home = tempfile::tempdir().expect("create a temporary HOME");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-netpol"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .timeout(Duration::from_secs(60));
    Netpol { cmd, _home: home }
}

pub fn stdout_of(a: &Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr_of(a: &Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).expect("stderr is UTF-8")
}

/// Runs a command that must fail with `code`, print nothing on stdout and
/// exactly one `error: ` line on stderr; returns that line.
pub fn one_error(args: &[&str], code: i32) -> String {
    let a = netpol().args(args).assert().code(code).stdout("");
    let err = stderr_of(&a);
    assert!(err.starts_with("error: "), "{args:?}: stderr: {err:?}");
    assert!(err.ends_with('\n'), "{args:?}: stderr: {err:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got: {err:?}");
    err.trim_end().to_string()
}

pub fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
}

/// Cells of a kubectl-style table line (columns are separated by at least
/// three spaces; cells never contain more than one space in a row).
pub fn cells(line: &str) -> Vec<&str> {
    line.split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The table row whose first cells are `key`.
pub fn row<'a>(table: &'a str, key: &[&str]) -> Vec<&'a str> {
    table
        .lines()
        .map(cells)
        .find(|c| c.len() >= key.len() && c[..key.len()] == *key)
        .unwrap_or_else(|| panic!("no row starting with {key:?} in:\n{table}"))
}

pub fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

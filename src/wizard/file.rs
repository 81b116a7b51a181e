//! Writing the wizard's policy to a file without losing anything: an input
//! (`-f`) is never written over, whatever path or symlink names it; an
//! existing file is replaced only when the caller says so (after a yes, or
//! `--overwrite`); and the text goes to a temporary file in the same
//! directory that is then renamed into place, so the file holds either its
//! old content or the whole new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where a write would go, checked before anything is written.
#[derive(Debug)]
pub struct Target {
    /// The path as the user typed it, for messages.
    pub shown: String,
    /// The file actually written: a symlink's final target.
    pub real: PathBuf,
    /// Whether a file is there now (it would be replaced).
    pub exists: bool,
}

/// The files `-f` read: each path given (`-` is standard input), and for a
/// directory, the `.yaml`/`.yml`/`.json` files in it (all levels with
/// `recursive`).
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub paths: Vec<String>,
    pub recursive: bool,
}

fn manifest_extension(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

impl Inputs {
    /// The `-f` argument that `real` (a canonical path that exists) was
    /// read through, if any.
    fn reads(&self, real: &Path) -> Option<&str> {
        let meta = std::fs::metadata(real).ok()?;
        for input in &self.paths {
            if input == "-" {
                // Standard input redirected from this very file.
                if let Ok(stdin) = std::fs::metadata("/dev/stdin")
                    && stdin.is_file()
                    && same_file(&stdin, &meta)
                {
                    return Some(input);
                }
                continue;
            }
            let Ok(m) = std::fs::metadata(input) else {
                continue;
            };
            if m.is_file() && same_file(&m, &meta) {
                return Some(input);
            }
            if m.is_dir()
                && manifest_extension(real)
                && let Ok(dir) = std::fs::canonicalize(input)
                && let Some(parent) = real.parent()
                && (parent == dir || (self.recursive && parent.starts_with(&dir)))
            {
                return Some(input);
            }
        }
        None
    }
}

/// Checks where `path` would be written: never over an input, never over
/// a directory. Writes nothing.
pub fn target(path: &str, inputs: &Inputs) -> Result<Target, Error> {
    let io = |source: std::io::Error| Error::Io {
        path: path.to_string(),
        source,
    };
    let given = Path::new(path);
    let real = match std::fs::symlink_metadata(given) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => given.to_path_buf(),
        Err(e) => return Err(io(e)),
        // A symlink is followed: its target is what gets replaced (a
        // dangling one is refused rather than guessed at).
        Ok(_) => std::fs::canonicalize(given).map_err(io)?,
    };
    let exists = real.exists();
    if exists {
        if real.is_dir() {
            return Err(io(std::io::Error::other("is a directory")));
        }
        if let Some(input) = inputs.reads(&real) {
            let through = if input == path {
                String::new()
            } else {
                format!(" (-f {input})")
            };
            return Err(io(std::io::Error::other(format!(
                "refusing to write over an input file{through}; choose another file"
            ))));
        }
    }
    Ok(Target {
        shown: path.to_string(),
        real,
        exists,
    })
}

/// Writes `text` to `target` through a temporary file in the same
/// directory, renamed into place. `replace` allows replacing a file that
/// exists; without it, a file that appeared since [`target`] looked is
/// left alone and the write fails.
pub fn write(target: &Target, text: &str, replace: bool) -> Result<(), Error> {
    let io = |source: std::io::Error| Error::Io {
        path: target.shown.clone(),
        source,
    };
    let dir = match target.real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = target
        .real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "policy".into());
    let (tmp, mut file) = temporary(&dir, &base).map_err(io)?;
    let cleanup = |e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    };
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(cleanup)?;
    if let Ok(old) = std::fs::metadata(&target.real) {
        // Keep the replaced file's permissions.
        let _ = std::fs::set_permissions(&tmp, old.permissions());
    }
    drop(file);
    if replace {
        std::fs::rename(&tmp, &target.real).map_err(cleanup)?;
    } else {
        // A hard link fails when the name exists: no race can make this
        // replace a file nobody agreed to replace.
        match std::fs::hard_link(&tmp, &target.real) {
            Ok(()) => {
                let _ = std::fs::remove_file(&tmp);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
                return Err(exists_error(&target.shown));
            }
            // File systems without hard links: check, then rename.
            Err(_) if !target.real.exists() => {
                std::fs::rename(&tmp, &target.real).map_err(cleanup)?
            }
            Err(_) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(exists_error(&target.shown));
            }
        }
    }
    Ok(())
}

/// The error an unattended run gets for a file that exists.
pub fn exists_error(path: &str) -> Error {
    Error::Io {
        path: path.to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the file exists: refusing to replace it without --overwrite",
        ),
    }
}

fn temporary(dir: &Path, base: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let pid = std::process::id();
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{base}.{pid}.{n}.tmp"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(paths: &[&Path], recursive: bool) -> Inputs {
        Inputs {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            recursive,
        }
    }

    #[test]
    fn inputs_are_refused_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.yaml");
        std::fs::write(&input, "x").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.yaml");
        std::fs::hard_link(&input, &hard).unwrap();
        let dotted = format!("{}/./in.yaml", dir.path().display());
        let ins = inputs(&[&input], false);
        for p in [&input, &link, &hard, Path::new(&dotted)] {
            let e = target(&p.display().to_string(), &ins).unwrap_err();
            assert!(e.to_string().contains("input"), "{p:?}: {e}");
        }
        // A directory input covers its manifests.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.yaml"), "x").unwrap();
        std::fs::write(sub.join("notes.txt"), "x").unwrap();
        let ins = inputs(&[dir.path()], false);
        assert!(target(&input.display().to_string(), &ins).is_err());
        let nested = sub.join("a.yaml").display().to_string();
        assert!(target(&nested, &ins).unwrap().exists, "not read without -R");
        assert!(target(&nested, &inputs(&[dir.path()], true)).is_err());
        assert!(target(&sub.join("notes.txt").display().to_string(), &ins).is_ok());
        assert!(
            target(&sub.display().to_string(), &ins).is_err(),
            "a directory"
        );
    }

    #[test]
    fn writes_replace_only_when_allowed_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        let t = target(&p.display().to_string(), &Inputs::default()).unwrap();
        assert!(!t.exists);
        write(&t, "one\n", false).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
        // It exists now: without replace, refused and untouched.
        let e = write(&t, "two\n", false).unwrap_err();
        assert!(e.to_string().contains("--overwrite"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\n");
        write(&t, "two\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("p.yaml")]);
        // Through a symlink, the file it points to is replaced and the
        // link stays.
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let t = target(&link.display().to_string(), &Inputs::default()).unwrap();
        assert!(t.exists);
        write(&t, "three\n", true).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "three\n");
    }
}

//! Files that appear complete or not at all: written under a temporary name, synced, then renamed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The folder a file will live in ("." for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file beside `path` whose name keeps `path`'s extension (libtorch picks formats by it).
pub fn temporary_beside(path: &Path) -> Result<NamedTempFile> {
    let folder = parent_of(path);
    let suffix = path.extension().map(|ext| format!(".{}", ext.to_string_lossy())).unwrap_or_default();
    let mut builder = tempfile::Builder::new();
    // Finished files get the usual permissions (0666 less the umask), not a temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.prefix(".innfer-partial-").suffix(&suffix).tempfile_in(&folder).map_err(|source| {
        // tempfile's message repeats the temporary file's path; the folder and the reason suffice.
        let reason = match folder.is_dir() {
            true => source.kind().to_string(),
            false => "no such folder".to_string(),
        };
        Error::io(&folder, std::io::Error::new(source.kind(), reason))
    })
}

/// Checks, before any long work, that a file can be written at `path` (its folder exists and is
/// writable), by creating and removing a temporary file beside it.
pub fn ensure_writable(path: &Path) -> Result<()> {
    temporary_beside(path).map(drop)
}

/// Bytes free for an unprivileged user in the file system that `path` would be written to, when
/// the system says.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let folder = std::ffi::CString::new(parent_of(path).as_os_str().as_encoded_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: statvfs fills `stats` when it returns 0; the path is a valid C string.
    let status = unsafe { libc::statvfs(folder.as_ptr(), stats.as_mut_ptr()) };
    // SAFETY: initialised by the successful call.
    (status == 0).then(|| unsafe { stats.assume_init() }).map(|stats| stats.f_bavail * stats.f_frsize)
}

/// Syncs a finished temporary file and moves it to `path`, replacing any file there.
pub fn commit(temporary: NamedTempFile, path: &Path) -> Result<()> {
    File::open(temporary.path()).and_then(|file| file.sync_all()).map_err(|source| Error::io(path, source))?;
    temporary.persist(path).map_err(|error| Error::io(path, error.error))?;
    Ok(())
}

/// Writes `path` atomically with `write`, which gets a buffered writer.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let temporary = temporary_beside(path)?;
    {
        let mut writer = BufWriter::new(temporary.as_file());
        write(&mut writer)?;
        writer.flush().map_err(|source| Error::io(path, source))?;
    }
    commit(temporary, path)
}

/// Writes `text` to `path` atomically.
pub fn write_text_atomically(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |writer| writer.write_all(text.as_bytes()).map_err(|source| Error::io(path, source)))
}

/// Writes `value` to `path` atomically as pretty-printed JSON.
pub fn write_json_atomically(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    write_atomically(path, |writer| serde_json::to_writer_pretty(writer, value).map_err(|error| Error::json(path, error.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_and_success_replaces() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.csv");
        let failed = write_atomically(&path, |_| Err(Error::invalid("boom")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "no partial file is left behind");
        write_atomically(&path, |w| w.write_all(b"a").map_err(|e| Error::io(&path, e))).unwrap();
        write_atomically(&path, |w| w.write_all(b"b").map_err(|e| Error::io(&path, e))).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_ne!(mode & 0o044, 0, "others may read a finished file (mode {mode:o})");
        }
    }

    #[test]
    fn missing_folder_is_named() {
        let error = write_atomically(Path::new("/nonexistent-folder/x.csv"), |_| Ok(())).unwrap_err();
        assert!(error.to_string().contains("/nonexistent-folder"), "{error}");
    }
}

//! Directories only their owner can enter: where Unix sockets and FIFOs live.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use consumer::{Error, ErrorKind};

/// A fresh directory that only this user can enter (mode `0700`), removed with
/// everything in it when dropped: the place for a Unix socket or a FIFO, so that no
/// other user can connect to it or open it.
///
/// ```
/// let dir = consumer_process::PrivateDir::new("demo")?;
/// let socket = dir.join("items.sock");
/// assert!(socket.starts_with(dir.path()));
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `PREFIX-PID-N` under the system's temporary directory.
    pub fn new(prefix: &str) -> Result<PrivateDir, Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::from(e).with_message(format!("creating {}", path.display())))?;
        Ok(PrivateDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // Already gone, or in use by a process we cannot stop: leave it.
        let _ = fs::remove_dir_all(&self.path);
    }
}

impl PrivateDir {
    /// Checks that the directory holding `path` (a socket's, a FIFO's) belongs to
    /// this user and that no one else may enter it.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) when others may enter it; [`Io`](ErrorKind::Io)
    /// when it cannot be looked at.
    ///
    /// ```
    /// use consumer_process::PrivateDir;
    ///
    /// let dir = PrivateDir::new("check")?;
    /// PrivateDir::check_parent(&dir.join("sock"))?;
    /// assert!(PrivateDir::check_parent(std::path::Path::new("/tmp/sock")).is_err());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn check_parent(path: &Path) -> Result<(), Error> {
        check_private_parent(path)
    }
}

/// Checks that `socket`'s directory belongs to us and that no one else may enter it.
fn check_private_parent(socket: &Path) -> Result<(), Error> {
    let dir = match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let meta = fs::metadata(dir).map_err(|e| {
        let message = format!("{}: {e}", dir.display());
        Error::from(e).with_message(message)
    })?;
    let me = rustix::process::geteuid().as_raw();
    let mode = meta.mode() & 0o777;
    if meta.uid() != me || mode & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "{} (owner uid {}, mode {mode:o}) can be entered by other users: put Unix \
                 sockets in a directory only you can enter (mode 700), e.g. a PrivateDir",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    Ok(())
}

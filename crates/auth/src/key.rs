//! The shared secret.

use std::fmt;
use std::path::Path;

use consumer::{Error, ErrorKind};

/// The shortest key we accept, in bytes: below this a key can be guessed.
///
/// ```
/// use consumer_auth::{AuthKey, MIN_KEY_LEN};
///
/// assert!(AuthKey::new(vec![7; MIN_KEY_LEN]).is_ok());
/// assert!(AuthKey::new(vec![7; MIN_KEY_LEN - 1]).is_err());
/// ```
pub const MIN_KEY_LEN: usize = 16;

/// A shared secret both ends hold. Its `Debug` never shows the bytes.
///
/// # Examples
///
/// ```
/// use consumer_auth::AuthKey;
///
/// let key = AuthKey::new(b"correct horse battery staple".to_vec())?;
/// assert_eq!(format!("{key:?}"), "AuthKey(28 bytes)");
/// assert!(AuthKey::new(b"short".to_vec()).is_err());
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey(Vec<u8>);

impl AuthKey {
    /// A key from raw bytes; at least [`MIN_KEY_LEN`] of them.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_auth::AuthKey;
    ///
    /// let key = AuthKey::new(b"0123456789abcdef".to_vec())?;
    /// assert_eq!(format!("{key:?}"), "AuthKey(16 bytes)");
    /// assert_eq!(AuthKey::new(b"too short".to_vec()).unwrap_err().kind(), ErrorKind::Usage);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn new(bytes: Vec<u8>) -> Result<AuthKey, Error> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "an auth key needs at least {MIN_KEY_LEN} bytes, this one has {}",
                    bytes.len()
                ),
            ));
        }
        Ok(AuthKey(bytes))
    }

    /// 32 random bytes from the operating system.
    ///
    /// ```
    /// let a = consumer_auth::AuthKey::generate()?;
    /// let b = consumer_auth::AuthKey::generate()?;
    /// assert_ne!(a, b);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn generate() -> Result<AuthKey, Error> {
        let mut bytes = vec![0; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::new(ErrorKind::Io, format!("no randomness: {e}")))?;
        Ok(AuthKey(bytes))
    }

    /// The key in the environment variable `var` (its UTF-8 bytes); a clear error if it
    /// is unset or too short.
    ///
    /// ```
    /// let e = consumer_auth::AuthKey::from_env("CONSUMER_TEST_SURELY_UNSET").unwrap_err();
    /// assert!(e.to_string().contains("CONSUMER_TEST_SURELY_UNSET is not set"));
    /// ```
    pub fn from_env(var: &str) -> Result<AuthKey, Error> {
        match std::env::var_os(var) {
            None => Err(Error::new(
                ErrorKind::Usage,
                format!("no auth key: {var} is not set"),
            )),
            Some(v) => AuthKey::new(v.into_encoded_bytes()).map_err(|e| prefixed(e, var)),
        }
    }

    /// The key in a file (its bytes, without one trailing newline).
    ///
    /// ```
    /// use consumer_auth::AuthKey;
    ///
    /// let path = std::env::temp_dir().join(format!("doc-key-{}", std::process::id()));
    /// std::fs::write(&path, "0123456789abcdef\n")?;
    /// let key = AuthKey::from_file(&path);
    /// std::fs::remove_file(&path)?;
    /// assert_eq!(key?, AuthKey::new(b"0123456789abcdef".to_vec())?); // newline dropped
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: &Path) -> Result<AuthKey, Error> {
        let mut bytes = std::fs::read(path).map_err(|e| {
            Error::from(e).with_message(format!("cannot read key file {}", path.display()))
        })?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        AuthKey::new(bytes).map_err(|e| prefixed(e, &path.display().to_string()))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Says where a bad key came from.
fn prefixed(e: Error, origin: &str) -> Error {
    let message = format!("{origin}: {}", e.message().unwrap_or("bad key"));
    e.with_message(message)
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({} bytes)", self.0.len())
    }
}

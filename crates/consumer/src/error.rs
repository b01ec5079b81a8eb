//! Typed errors: [`Error`] says what went wrong, [`SendError`] also hands the item back.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// The kind of an [`Error`].
///
/// New kinds may be added, so a `match` needs a wildcard arm.
///
/// ```
/// use consumer::{Error, ErrorKind};
///
/// let e = Error::from(ErrorKind::Timeout);
/// let retry = match e.kind() {
///     ErrorKind::Timeout | ErrorKind::Full => true,
///     _ => false, // kinds may be added: keep a wildcard arm
/// };
/// assert!(retry);
/// assert_eq!(ErrorKind::Timeout.to_string(), "timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The consumer was closed; it takes no more items.
    Closed,
    /// The consumer panicked; it is not called again, not even its `close`.
    Panicked,
    /// The other end is gone: a runner's thread ended, a process exited, a pipe broke.
    Disconnected,
    /// The operation did not finish in the time it was given.
    Timeout,
    /// A bounded mailbox is full (only from non-blocking sends).
    Full,
    /// An I/O operation failed; [`Error::source`](std::error::Error::source) has the cause.
    Io,
    /// A peer sent bytes that break the protocol (a bad frame, a wrong handshake).
    Protocol,
    /// A child process ended unsuccessfully.
    Exit,
    /// A peer failed authentication (a wrong or missing key), or we did.
    Auth,
    /// The caller used the API in a way it does not allow (e.g. a blocking call from
    /// inside an async runtime).
    Usage,
    /// The consumer's own failure, reported by its `send` or `close`.
    Other,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Closed => "consumer is closed",
            ErrorKind::Panicked => "consumer panicked",
            ErrorKind::Disconnected => "consumer is disconnected",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Full => "mailbox is full",
            ErrorKind::Io => "i/o error",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Exit => "process exited unsuccessfully",
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Usage => "invalid use",
            ErrorKind::Other => "consumer failed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a consumer or a runner could not do what was asked.
///
/// An opaque value with a [`kind`](Error::kind), an optional message, an optional
/// source error and, for a runner that stopped early, the number of items it had
/// accepted but never delivered ([`undelivered`](Error::undelivered)).
///
/// `Error` is cheap to clone, so a runner can report one failure to every producer.
///
/// # Examples
///
/// ```
/// use consumer::{Error, ErrorKind};
///
/// let e = Error::new(ErrorKind::Other, "disk full");
/// assert_eq!(e.kind(), ErrorKind::Other);
/// assert_eq!(e.to_string(), "consumer failed: disk full");
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: Option<Arc<str>>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
    undelivered: Option<u64>,
}

impl Error {
    /// An error of `kind` with a message.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// let e = Error::new(ErrorKind::Protocol, "bad frame");
    /// assert_eq!(e.kind(), ErrorKind::Protocol);
    /// assert_eq!(e.message(), Some("bad frame"));
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::from(kind).with_message(message)
    }

    /// The consumer's own failure, wrapping any error type as the source.
    ///
    /// ```
    /// let e = consumer::Error::other(std::io::Error::other("no space"));
    /// assert_eq!(e.kind(), consumer::ErrorKind::Other);
    /// ```
    pub fn other(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error::from(ErrorKind::Other).with_source(source)
    }

    /// A panic, with the panic's message and the number of accepted items that were
    /// never delivered because of it.
    ///
    /// ```
    /// let e = consumer::Error::panicked("boom", 3);
    /// assert_eq!(e.undelivered(), Some(3));
    /// assert_eq!(e.to_string(), "consumer panicked: boom (3 items undelivered)");
    /// ```
    pub fn panicked(message: impl Into<String>, undelivered: u64) -> Error {
        Error::new(ErrorKind::Panicked, message).with_undelivered(undelivered)
    }

    /// Turns a payload caught by [`std::panic::catch_unwind`] into a
    /// [`Panicked`](ErrorKind::Panicked) error.
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| panic!("at item {}", 7)).unwrap_err();
    /// let e = consumer::Error::from_panic(payload.as_ref(), 0);
    /// assert_eq!(e.message(), Some("at item 7"));
    /// ```
    pub fn from_panic(payload: &(dyn std::any::Any + Send), undelivered: u64) -> Error {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_owned()
        };
        Error::panicked(message, undelivered)
    }

    /// Replaces the message.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// let e = Error::new(ErrorKind::Io, "first").with_message("second");
    /// assert_eq!(e.to_string(), "i/o error: second");
    /// ```
    pub fn with_message(mut self, message: impl Into<String>) -> Error {
        self.message = Some(Arc::from(message.into()));
        self
    }

    /// Replaces the source error.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use consumer::{Error, ErrorKind};
    ///
    /// let e = Error::from(ErrorKind::Io).with_source(std::io::Error::other("disk gone"));
    /// assert_eq!(e.source().unwrap().to_string(), "disk gone");
    /// assert_eq!(e.to_string(), "i/o error: disk gone"); // no message: the source is shown
    /// ```
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        self.source = Some(Arc::from(source.into()));
        self
    }

    /// Records how many accepted items were never delivered.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// let e = Error::from(ErrorKind::Disconnected).with_undelivered(1);
    /// assert_eq!(e.undelivered(), Some(1));
    /// assert_eq!(e.to_string(), "consumer is disconnected (1 item undelivered)");
    /// ```
    pub fn with_undelivered(mut self, undelivered: u64) -> Error {
        self.undelivered = Some(undelivered);
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::from(ErrorKind::Full).kind(), ErrorKind::Full);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, if any.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::new(ErrorKind::Other, "oops").message(), Some("oops"));
    /// assert_eq!(Error::from(ErrorKind::Other).message(), None);
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// How many items the runner had accepted (their `send` returned `Ok`) but never
    /// delivered, when it stopped early; `None` when that is not known or not relevant.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::panicked("boom", 2).undelivered(), Some(2));
    /// assert_eq!(Error::from(ErrorKind::Closed).undelivered(), None);
    /// ```
    pub fn undelivered(&self) -> Option<u64> {
        self.undelivered
    }

    /// Is this [`ErrorKind::Closed`]?
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::new());
    /// c.close()?;
    /// assert!(c.send(1).unwrap_err().error().is_closed());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.kind == ErrorKind::Closed
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error {
            kind,
            message: None,
            source: None,
            undelivered: None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        let kind = match e.kind() {
            std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof => ErrorKind::Disconnected,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            _ => ErrorKind::Io,
        };
        Error::from(kind).with_source(e)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(m) = &self.message {
            d.field("message", m);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        if let Some(u) = self.undelivered {
            d.field("undelivered", &u);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        } else if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        if let Some(u) = self.undelivered {
            let s = if u == 1 { "" } else { "s" };
            write!(f, " ({u} item{s} undelivered)")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// A failed [`send`](crate::Consumer::send): the [`Error`], and the item itself
/// whenever it still exists.
///
/// The item is missing only when the consumer had already taken it (it panicked or
/// failed while handling it) or an adapter had transformed it.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, Inline};
///
/// let mut c = Inline::new(Vec::new());
/// c.close().unwrap();
/// let err = c.send("late").unwrap_err();
/// assert!(err.error().is_closed());
/// assert_eq!(err.into_item(), Some("late"));
/// ```
pub struct SendError<T> {
    item: Option<T>,
    error: Error,
}

impl<T> SendError<T> {
    /// An error that hands `item` back.
    ///
    /// ```
    /// use consumer::{ErrorKind, SendError};
    ///
    /// let e = SendError::new("item", ErrorKind::Full);
    /// assert_eq!(e.kind(), ErrorKind::Full);
    /// assert_eq!(e.into_item(), Some("item"));
    /// ```
    pub fn new(item: T, error: impl Into<Error>) -> SendError<T> {
        SendError {
            item: Some(item),
            error: error.into(),
        }
    }

    /// An error for an item that no longer exists.
    ///
    /// ```
    /// use consumer::{ErrorKind, SendError};
    ///
    /// let e = SendError::<u32>::lost(ErrorKind::Panicked);
    /// assert_eq!(e.kind(), ErrorKind::Panicked);
    /// assert!(e.item().is_none());
    /// ```
    pub fn lost(error: impl Into<Error>) -> SendError<T> {
        SendError {
            item: None,
            error: error.into(),
        }
    }

    /// The consumer is closed; here is your item.
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// let e = SendError::closed(7);
    /// assert!(e.error().is_closed());
    /// assert_eq!(e.item(), Some(&7));
    /// ```
    pub fn closed(item: T) -> SendError<T> {
        SendError::new(item, ErrorKind::Closed)
    }

    /// The item, if it still exists.
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// assert_eq!(SendError::closed("x").item(), Some(&"x"));
    /// ```
    pub fn item(&self) -> Option<&T> {
        self.item.as_ref()
    }

    /// Takes the item back, if it still exists.
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// let retry = SendError::closed(String::from("payload")).into_item();
    /// assert_eq!(retry.as_deref(), Some("payload"));
    /// ```
    pub fn into_item(self) -> Option<T> {
        self.item
    }

    /// What went wrong.
    ///
    /// ```
    /// use consumer::{ErrorKind, SendError};
    ///
    /// let e = SendError::new(1, ErrorKind::Timeout);
    /// assert_eq!(e.error().kind(), ErrorKind::Timeout);
    /// ```
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Shorthand for `self.error().kind()`.
    ///
    /// ```
    /// use consumer::{ErrorKind, SendError};
    ///
    /// assert_eq!(SendError::closed(1).kind(), ErrorKind::Closed);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// Drops the item and keeps the error.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind, SendError};
    ///
    /// let e: Error = SendError::new(1, ErrorKind::Disconnected).into_error();
    /// assert_eq!(e.kind(), ErrorKind::Disconnected);
    /// ```
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The item (if it still exists) and the error.
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// let (item, error) = SendError::closed('a').into_parts();
    /// assert_eq!(item, Some('a'));
    /// assert!(error.is_closed());
    /// ```
    pub fn into_parts(self) -> (Option<T>, Error) {
        (self.item, self.error)
    }

    /// Transforms the item, keeping the error.
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// let e = SendError::closed(21).map_item(|n| n * 2);
    /// assert_eq!(e.into_item(), Some(42));
    /// ```
    pub fn map_item<U>(self, f: impl FnOnce(T) -> U) -> SendError<U> {
        SendError {
            item: self.item.map(f),
            error: self.error,
        }
    }

    /// Forgets the item (for adapters that cannot give the caller's item back).
    ///
    /// ```
    /// use consumer::SendError;
    ///
    /// let e: SendError<&str> = SendError::closed(5_u32).without_item();
    /// assert!(e.item().is_none());
    /// assert!(e.error().is_closed());
    /// ```
    pub fn without_item<U>(self) -> SendError<U> {
        SendError {
            item: None,
            error: self.error,
        }
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        e.error
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field(
                "item",
                &if self.item.is_some() {
                    "Some(..)"
                } else {
                    "None"
                },
            )
            .field("error", &self.error)
            .finish()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send failed: {}", self.error)
    }
}

impl<T> StdError for SendError<T> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

/// `?` inside [`send`](crate::Consumer::send): turns any failure into a
/// [`SendError`] that hands the item back.
///
/// A consumer whose `send` does I/O cannot write `?` on an `io::Result`: a
/// `SendError<T>` must carry the item, and an `io::Error` does not have it.
/// [`or_item`](ResultExt::or_item) attaches it. Format arguments such as `{line}`
/// only borrow the item, so it is still yours to hand over:
///
/// ```
/// use consumer::{Consumer, ResultExt as _, SendError};
/// use std::io::Write;
///
/// struct Lines<W>(W);
///
/// impl<W: Write> Consumer<String> for Lines<W> {
///     fn send(&mut self, line: String) -> Result<(), SendError<String>> {
///         writeln!(self.0, "{line}").or_item(line)?;
///         Ok(())
///     }
/// }
///
/// let mut out = Lines(Vec::new());
/// out.send("hello".to_string())?;
/// assert_eq!(out.0, b"hello\n");
///
/// // A writer that fails: the line comes back with the error.
/// let mut buf = [0u8; 2];
/// let mut full = Lines(&mut buf[..]);
/// let err = full.send("too long".to_string()).unwrap_err();
/// assert_eq!(err.kind(), consumer::ErrorKind::Io);
/// assert_eq!(err.into_item().as_deref(), Some("too long"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The error is converted as [`Error::from`] does: an `io::Error`'s kind maps to
/// [`Disconnected`](ErrorKind::Disconnected) for a broken pipe or reset,
/// [`Timeout`](ErrorKind::Timeout) for a timeout, [`Io`](ErrorKind::Io) otherwise, and
/// keeps the `io::Error` as its source.
pub trait ResultExt<R> {
    /// On `Err(e)`, a [`SendError`] that hands `item` back with `e` as its error; on
    /// `Ok(r)`, `Ok(r)` (and `item` is dropped: the consumer has used it).
    ///
    /// ```
    /// use consumer::{ErrorKind, ResultExt as _};
    ///
    /// let failed: Result<(), _> = Err(ErrorKind::Full);
    /// let err = failed.or_item(7).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Full);
    /// assert_eq!(err.into_item(), Some(7));
    ///
    /// let fine: Result<u8, ErrorKind> = Ok(1);
    /// assert_eq!(fine.or_item("unused").ok(), Some(1));
    /// ```
    fn or_item<T>(self, item: T) -> Result<R, SendError<T>>;
}

impl<R, E: Into<Error>> ResultExt<R> for Result<R, E> {
    fn or_item<T>(self, item: T) -> Result<R, SendError<T>> {
        self.map_err(|e| SendError::new(item, e))
    }
}

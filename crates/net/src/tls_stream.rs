//! A blocking TLS connection that can be read on one handle while written on
//! another, as every blocking driver here does (a sender's report, a `Remote`'s
//! reader thread).
//!
//! rustls's `StreamOwned` is one handle, read or written by one thread at a time:
//! a reader blocked in it would hold the writer up. Here the rustls state sits
//! behind a lock that no one holds across a blocking call: a reader waits for the
//! socket with only the reading side locked, then feeds what came to rustls; a
//! writer encrypts under the lock, then writes the records with only the writing
//! side locked. The socket's order of records is the order of encryption (the
//! writing side's lock is taken first, and held until its records are out).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::tls::flush_queued;

/// A handle on one TLS connection over TCP; clones share it.
#[derive(Debug, Clone)]
pub(crate) struct TlsStream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tls: Mutex<rustls::Connection>,
    read: Mutex<ReadSide>,
    write: Mutex<WriteSide>,
    /// For timeouts and shutdown, which need no lock.
    sock: TcpStream,
}

#[derive(Debug)]
struct ReadSide {
    sock: TcpStream,
    /// Bytes read from the socket and not yet given to rustls: `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
}

#[derive(Debug)]
struct WriteSide {
    sock: TcpStream,
    /// Records encrypted and not yet written (kept to reuse the allocation).
    out: Vec<u8>,
}

/// How much is read from the socket at once: a full TLS record and its overhead.
const READ_CHUNK: usize = 16 * 1024 + 256;

/// A poisoned lock means a thread panicked mid-read or mid-write: the stream is
/// unusable, and says so.
fn lock<T>(m: &Mutex<T>) -> io::Result<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| io::Error::other("TLS: a thread panicked using this connection"))
}

impl TlsStream {
    /// The connection after its handshake, over `sock`.
    pub(crate) fn new(tls: rustls::Connection, sock: TcpStream) -> io::Result<TlsStream> {
        Ok(TlsStream {
            inner: Arc::new(Inner {
                read: Mutex::new(ReadSide {
                    sock: sock.try_clone()?,
                    buf: vec![0; READ_CHUNK].into_boxed_slice(),
                    start: 0,
                    end: 0,
                    eof: false,
                }),
                write: Mutex::new(WriteSide {
                    sock: sock.try_clone()?,
                    out: Vec::new(),
                }),
                tls: Mutex::new(tls),
                sock,
            }),
        })
    }

    pub(crate) fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.sock.set_read_timeout(timeout)?;
        self.inner.sock.set_write_timeout(timeout)
    }

    /// Says goodbye (close_notify) if no writer is busy, then shuts the socket down
    /// both ways: a read blocked on any handle returns.
    pub(crate) fn shutdown(&self) {
        if let Ok(mut w) = self.inner.write.try_lock() {
            if let Ok(mut tls) = self.inner.tls.try_lock() {
                tls.send_close_notify();
                let _ = flush_queued(&mut tls, &mut w.out);
            }
            let out = std::mem::take(&mut w.out);
            // A write timeout keeps a peer that reads nothing from holding us here.
            let _ = w.sock.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = w.sock.write_all(&out);
        }
        let _ = self.inner.sock.shutdown(Shutdown::Both);
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut r = lock(&self.inner.read)?;
        let r = &mut *r;
        loop {
            let mut fed = false;
            let mut queued = false;
            {
                let mut tls = lock(&self.inner.tls)?;
                match tls.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The peer closed without a close_notify. The wire frames its own
                    // end, so a cut stream is seen there; read it as the end, as on a
                    // plain socket (see docs/decisions/0014-tls.md).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if r.start < r.end || r.eof {
                    fed = true;
                    let mut rest = &r.buf[r.start..r.end];
                    tls.read_tls(&mut rest)?;
                    r.start = r.end - rest.len();
                    let processed = tls.process_new_packets();
                    queued = tls.wants_write();
                    if let Err(e) = processed {
                        drop(tls);
                        self.send_queued();
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            crate::tls::tls_error(&e),
                        ));
                    }
                }
            }
            if queued {
                self.send_queued();
            }
            // What was fed may have made plaintext: look before waiting for more.
            if !fed {
                let n = r.sock.read(&mut r.buf)?;
                (r.start, r.end, r.eof) = (0, n, n == 0);
            }
        }
    }

    /// Sends what rustls queued while reading (an alert, a key update), unless a
    /// writer is busy: it sends it with its own records.
    fn send_queued(&self) {
        if let Ok(mut w) = self.inner.write.try_lock() {
            let _ = self.send(&mut w);
        }
    }

    /// Encrypts what rustls holds and writes it, until nothing is left (a reader may
    /// queue more while we write).
    fn send(&self, w: &mut WriteSide) -> io::Result<()> {
        loop {
            {
                let mut tls = lock(&self.inner.tls)?;
                if !tls.wants_write() {
                    return Ok(());
                }
                flush_queued(&mut tls, &mut w.out)?;
            }
            let WriteSide { sock, out } = w;
            let written = sock.write_all(out);
            out.clear();
            written?;
        }
    }

    fn write_with(
        &self,
        put: impl FnOnce(&mut rustls::Writer<'_>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let mut w = lock(&self.inner.write)?;
        let n = put(&mut lock(&self.inner.tls)?.writer())?;
        self.send(&mut w)?;
        Ok(n)
    }
}

impl Read for &TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        TlsStream::read(self, buf)
    }
}

impl Write for &TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|w| w.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.write_with(|w| w.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every write is out on the socket when it returns.
        Ok(())
    }
}

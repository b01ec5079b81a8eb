//! Request/reply as two item streams: requests `(id, body)` one way, answers
//! `(id, reply or error)` the other. Sans I/O: [`Feed`] turns the requests a receiver
//! decodes into [`Request`]s for any service, and hands each answer to a function
//! that sends it back however the transport does.

use std::marker::PhantomData;

use consumer::{Consumer, Error, Request, SendError};

/// An answer as it crosses the wire: the reply, or an error's kind code and message.
///
/// ```
/// let answer: consumer_wire::WireAnswer<u64> = Err((1, "closed".to_owned()));
/// # drop(answer);
/// ```
pub type WireAnswer<R> = Result<R, (u8, String)>;

/// Turns each `(id, body)` from the wire into a [`Request`] whose answer goes to
/// `reply(id, answer)`: for the blocking and the async server alike.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use consumer::{Consumer, serve};
/// use consumer_wire::Feed;
///
/// let answers = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&answers);
/// let mut feed = Feed::new(serve(|n: u64| n + 1), move |id, answer| sink.lock().unwrap().push((id, answer)));
/// feed.send((7, 41))?;
/// feed.close()?;
/// assert_eq!(*answers.lock().unwrap(), [(7, Ok(42))]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Feed<S, P, R> {
    service: S,
    reply: P,
    _answer: PhantomData<fn(R)>,
}

impl<S, P, R> Feed<S, P, R> {
    /// Feeds `service`; answers go to `reply(id, answer)`.
    pub fn new(service: S, reply: P) -> Feed<S, P, R> {
        Feed {
            service,
            reply,
            _answer: PhantomData,
        }
    }
}

impl<Q, R, S, P> Consumer<(u64, Q)> for Feed<S, P, R>
where
    R: Send + 'static,
    S: Consumer<Request<Q, R>>,
    P: Fn(u64, WireAnswer<R>) + Clone + Send + 'static,
{
    fn send(&mut self, (id, body): (u64, Q)) -> Result<(), SendError<(u64, Q)>> {
        let reply = self.reply.clone();
        let request = Request::with_callback(body, move |answer: Result<R, Error>| {
            reply(id, answer.map_err(|e| crate::error_to_wire(&e)));
        });
        self.service
            .send(request)
            .map_err(|e| e.map_item(|r| (id, r.into_parts().0)))
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.service.flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.service.close()
    }

    fn name(&self) -> &str {
        self.service.name()
    }
}

impl<S, P, R> std::fmt::Debug for Feed<S, P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

/// The answer a server sends in place of one it could not send (too large for a
/// frame, say): that call fails with `why`, and the connection lives on.
///
/// ```
/// use consumer::{Error, ErrorKind};
///
/// let why = Error::new(ErrorKind::Protocol, "the item takes 9 bytes, more than the frame limit of 8");
/// let answer: consumer_wire::WireAnswer<Vec<u8>> = consumer_wire::unsendable(&why);
/// let (code, message) = answer.unwrap_err();
/// let back = consumer_wire::error_from_wire(code, &message).unwrap();
/// assert_eq!(back.kind(), ErrorKind::Protocol);
/// assert!(back.to_string().contains("the reply could not be sent"));
/// ```
pub fn unsendable<R>(why: &Error) -> WireAnswer<R> {
    let e = Error::new(why.kind(), format!("the reply could not be sent: {why}"));
    Err(crate::error_to_wire(&e))
}

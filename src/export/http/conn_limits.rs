//! The endpoint's connection management: a bounded set of open connections
//! that makes room for a new one by closing the connection that matters
//! least, and a socket wrapper bounding how long a response may take to
//! write.
//!
//! Each connection is in one of two phases, read from what it does:
//!
//! - **waiting**: its request head has not arrived yet (a new connection,
//!   or a keep-alive connection between requests);
//! - **busy**: a response is being produced (from the request head parsed
//!   until the response body is handed to the writer) or a write to the
//!   socket is blocked (the client does not read).
//!
//! When a connection arrives and [`Connections`] is full, the waiting
//! connection that has waited longest is closed; if none is waiting, the
//! connection busy for the longest time, if longer than [`BUSY_GRACE`];
//! otherwise the newcomer is closed. A client holding connections without
//! finishing a request (idle, slowloris) therefore cannot keep a scrape
//! out, and neither can one that stops reading ([`Tracked`] fails its
//! writes after the write timeout).
#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// A busy connection is closed to make room only once it has been busy
/// this long: a scrape being answered is not cut for a newcomer.
pub(super) const BUSY_GRACE: Duration = Duration::from_secs(1);

/// One open connection, as seen by [`Connections`].
#[derive(Debug)]
pub(super) struct Slot {
    id: u64,
    /// When the connection last changed phase (accepted, a response
    /// started, a response handed to the writer).
    since: Cell<Instant>,
    /// A response is being produced (its body not yet dropped).
    responding: Cell<bool>,
    /// The last write to the socket could not proceed.
    write_blocked: Cell<bool>,
    /// Requests answered on this connection.
    requests: Cell<u64>,
    /// Notified when the connection is chosen to make room.
    evict: Notify,
}

impl Slot {
    fn busy(&self) -> bool {
        self.responding.get() || self.write_blocked.get()
    }

    /// Marks a response as being produced until the returned guard drops
    /// (with the response body); returns the guard and the number of
    /// requests this connection has now received, this one included.
    pub(super) fn start_response(self: &Rc<Slot>) -> (Responding, u64) {
        self.responding.set(true);
        self.since.set(Instant::now());
        let n = self.requests.get() + 1;
        self.requests.set(n);
        (Responding(self.clone()), n)
    }

    /// Completes when the connection has been chosen to make room.
    pub(super) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// Holds a connection busy while a response is being produced; dropped
/// with the response body.
#[derive(Debug)]
pub(super) struct Responding(Rc<Slot>);

impl Drop for Responding {
    fn drop(&mut self) {
        self.0.responding.set(false);
        self.0.since.set(Instant::now());
    }
}

/// A response body that holds its connection busy until dropped (once
/// hyper has taken all of it).
#[derive(Debug)]
pub(super) struct Guarded<B> {
    body: B,
    _busy: Responding,
}

impl<B> Guarded<B> {
    pub(super) fn new(body: B, busy: Responding) -> Guarded<B> {
        Guarded { body, _busy: busy }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The open connections of one server (all on its one thread).
#[derive(Debug)]
pub(super) struct Connections {
    max: usize,
    open: RefCell<Vec<Rc<Slot>>>,
    next_id: Cell<u64>,
}

impl Connections {
    pub(super) fn new(max: usize) -> Rc<Connections> {
        Rc::new(Connections {
            max: max.max(1),
            open: RefCell::new(Vec::with_capacity(max.min(1024))),
            next_id: Cell::new(0),
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.open.borrow().len()
    }

    /// Admits a new connection, closing another to make room if the set
    /// is full (see the module's documentation); `None` if there is no
    /// room, and the newcomer should be closed.
    pub(super) fn admit(self: &Rc<Connections>) -> Option<Member> {
        let now = Instant::now();
        let mut open = self.open.borrow_mut();
        if open.len() >= self.max {
            let victim = victim(&open, now)?;
            let slot = open.swap_remove(victim);
            slot.evict.notify_one();
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let slot = Rc::new(Slot {
            id,
            since: Cell::new(now),
            responding: Cell::new(false),
            write_blocked: Cell::new(false),
            requests: Cell::new(0),
            evict: Notify::new(),
        });
        open.push(slot.clone());
        Some(Member {
            set: self.clone(),
            slot,
        })
    }
}

/// The index of the connection to close to make room: the longest
/// waiting, else the longest busy if busy for [`BUSY_GRACE`].
fn victim(open: &[Rc<Slot>], now: Instant) -> Option<usize> {
    let oldest = |busy: bool| {
        open.iter()
            .enumerate()
            .filter(|(_, s)| s.busy() == busy)
            .min_by_key(|(_, s)| s.since.get())
            .map(|(i, s)| (i, s.since.get()))
    };
    if let Some((i, _)) = oldest(false) {
        return Some(i);
    }
    oldest(true)
        .filter(|&(_, since)| now.saturating_duration_since(since) >= BUSY_GRACE)
        .map(|(i, _)| i)
}

/// A connection's place in [`Connections`], given up on drop, however the
/// connection ends.
#[derive(Debug)]
pub(super) struct Member {
    set: Rc<Connections>,
    slot: Rc<Slot>,
}

impl Member {
    pub(super) fn slot(&self) -> &Rc<Slot> {
        &self.slot
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut open = self.set.open.borrow_mut();
        // Absent when it was evicted.
        if let Some(i) = open.iter().position(|s| s.id == self.slot.id) {
            open.swap_remove(i);
        }
    }
}

/// A connection's socket: reports blocked writes to its [`Slot`] and fails
/// a response's writes once they have taken longer than the write timeout
/// (measured from the response's first write to its flush).
#[derive(Debug)]
pub(super) struct Tracked<S> {
    inner: S,
    slot: Rc<Slot>,
    write_timeout: Duration,
    /// The current response's write deadline, when one is being written.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, slot: Rc<Slot>, write_timeout: Duration) -> Tracked<S> {
        Tracked {
            inner,
            slot,
            write_timeout,
            deadline: None,
        }
    }

    /// Starts the write deadline if no response is being written.
    fn arm(&mut self) {
        if self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep(self.write_timeout)));
        }
    }

    /// After a write or flush: `Pending` marks the connection blocked and
    /// becomes an error once the deadline has passed.
    fn after<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.slot.write_blocked.set(false);
            return r;
        }
        self.slot.write_blocked.set(true);
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "response not written within the write timeout",
                )));
            }
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.arm();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.arm();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        let r = this.after(cx, r);
        if r.is_ready() {
            // The response is out: the next one gets a deadline of its own.
            this.deadline = None;
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn a_full_set_closes_the_longest_waiting_then_an_old_busy_one() {
        rt().block_on(async {
            let set = Connections::new(3);
            let a = set.admit().unwrap();
            tokio::time::advance(Duration::from_millis(10)).await;
            let b = set.admit().unwrap();
            tokio::time::advance(Duration::from_millis(10)).await;
            let c = set.admit().unwrap();
            // `a` is busy: `b`, the longest waiting, makes room.
            let (busy_a, _) = a.slot().start_response();
            let _d = set.admit().unwrap();
            assert_eq!(set.len(), 3);
            tokio::time::timeout(Duration::from_millis(1), b.slot().evicted())
                .await
                .expect("b evicted");
            // `c` and `d` busy too, all for less than the grace: no room.
            tokio::time::advance(Duration::from_millis(10)).await;
            let (_busy_c, _) = c.slot().start_response();
            let (_busy_d, _) = _d.slot().start_response();
            assert!(set.admit().is_none());
            // After the grace the longest busy (`a`) goes.
            tokio::time::advance(BUSY_GRACE).await;
            let _e = set.admit().unwrap();
            tokio::time::timeout(Duration::from_millis(1), a.slot().evicted())
                .await
                .expect("a evicted");
            drop(busy_a);
            // Members leave on drop, evicted or not.
            drop((a, b, c));
            assert_eq!(set.len(), 2);
        });
    }

    #[test]
    fn a_response_not_read_fails_after_the_write_timeout_and_holds_busy() {
        use tokio::io::AsyncWriteExt;
        rt().block_on(async {
            let set = Connections::new(1);
            let member = set.admit().unwrap();
            let slot = member.slot().clone();
            // A pipe with room for 64 bytes that nobody reads.
            let (server, _client) = tokio::io::duplex(64);
            let mut io = Tracked::new(server, slot.clone(), Duration::from_secs(10));
            let t0 = Instant::now();
            let mut write = std::pin::pin!(io.write_all(&[b'x'; 1024]));
            tokio::select! {
                biased;
                r = &mut write => panic!("written to a full pipe: {r:?}"),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            assert!(slot.busy(), "a blocked write holds the connection busy");
            let err = write.await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert_eq!(t0.elapsed(), Duration::from_secs(10));

            // A response that fits is written and flushed; the slot waits.
            let (server, mut client) = tokio::io::duplex(4096);
            let mut io = Tracked::new(server, slot.clone(), Duration::from_secs(10));
            io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
            io.flush().await.unwrap();
            assert!(!slot.busy());
            assert!(io.deadline.is_none());
            let mut buf = [0u8; 19];
            tokio::io::AsyncReadExt::read_exact(&mut client, &mut buf)
                .await
                .unwrap();
        });
    }
}

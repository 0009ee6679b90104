//! The API's connections: how many may be open, and how long one may sit without a request.
//!
//! A client that connects and then sends nothing, or half a request head, or keeps an HTTP/2
//! connection open with no request, or stops reading a response, would otherwise hold a file
//! descriptor for ever: eight such clients once exhausted a node's 20,000. So:
//! - at most `max_connections` are open at once; the listener does not even accept past it (the
//!   next connection waits in the kernel's backlog, holding none of our descriptors);
//! - a connection with no request in flight is closed `header_timeout_secs` after it was
//!   accepted or after its last response ended, whatever it sends meanwhile (a byte a second
//!   does not keep it open). This sits under TLS and under both HTTP versions, so it bounds the
//!   handshake, HTTP/1 heads, hyper's protocol detection and idle HTTP/2 alike;
//! - a write that makes no progress for `send_timeout_secs` (the client reads nothing) ends the
//!   connection.
//!
//! A request is in flight from when it reaches the router until its response body is done or
//! dropped, so a long upload, a slow answer or an open event stream is never cut.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::http::{Request, Response};
use futures::future::BoxFuture;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// A client's address as the server sees it; what `ConnectInfo<SocketAddr>` is made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiAddr(pub SocketAddr);

impl axum_server::Address for ApiAddr {
    type Stream = ApiStream;
    type Listener = Listener;
}

impl Connected<ApiAddr> for SocketAddr {
    fn connect_info(a: ApiAddr) -> SocketAddr {
        a.0
    }
}

/// The server's handle (shutdown, bound address).
pub type ServerHandle = axum_server::Handle<ApiAddr>;

/// How long a connection may go without a request, or a write without progress.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// No request in flight for this long: closed.
    pub idle: Duration,
    /// A write that makes no progress for this long: closed.
    pub send: Duration,
}

/// The TCP listener, with its cap on open connections.
pub struct Listener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    timeouts: Timeouts,
    /// When the cap was last logged (ms since `started`), so a flood logs once a minute.
    warned_at: AtomicU64,
    started: Instant,
}

impl Listener {
    /// Binds `addr`; at most `max` connections will be open at once.
    pub async fn bind(addr: SocketAddr, max: u32, timeouts: Timeouts) -> io::Result<Listener> {
        Ok(Listener {
            inner: TcpListener::bind(addr).await?,
            slots: Arc::new(Semaphore::new(max as usize)),
            timeouts,
            warned_at: AtomicU64::new(u64::MAX),
            started: Instant::now(),
        })
    }

    async fn slot(&self) -> OwnedSemaphorePermit {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return p;
        }
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.warned_at.load(Ordering::Relaxed);
        if (last == u64::MAX || now.saturating_sub(last) >= 60_000)
            && self.warned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!("the API has as many connections open as limits.api.max_connections allows; new ones wait");
        }
        // The semaphore is never closed, so this cannot fail; were it closed, the next accept
        // would simply try again.
        loop {
            if let Ok(p) = self.slots.clone().acquire_owned().await {
                return p;
            }
        }
    }
}

impl axum_server::AddrListener<ApiStream, ApiAddr> for Listener {
    async fn bind_to(_: ApiAddr) -> io::Result<Self> {
        // The cap and time-outs are not in an address: `api::serve` binds with `Listener::bind`.
        Err(io::Error::other("bind the API's listener with Listener::bind"))
    }

    async fn accept_stream(&self) -> io::Result<(ApiStream, ApiAddr)> {
        // The slot first: past the cap the connection stays in the kernel's backlog.
        let permit = self.slot().await;
        let (tcp, addr) = self.inner.accept().await?;
        // An answer written as several small TLS records must not wait out the client's
        // delayed ACK (Nagle), which added 40 ms to about half of all requests.
        tcp.set_nodelay(true)?;
        Ok((ApiStream::new(tcp, self.timeouts, permit), ApiAddr(addr)))
    }

    fn get_local_addr(&self) -> io::Result<ApiAddr> {
        self.inner.local_addr().map(ApiAddr)
    }
}

/// Requests in flight on one connection, and since when it has had none.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity { in_flight: AtomicUsize::new(0), idle_since: Mutex::new(Instant::now()) })
    }

    /// When the connection may be closed for idleness; `None` while a request is in flight.
    fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        let since = self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        (self.in_flight.load(Ordering::SeqCst) == 0).then(|| *since + idle)
    }
}

/// Marks a request in flight until dropped (with its response body).
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: Arc<Activity>) -> Busy {
        a.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(a)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // The clock restarts under the lock, so `idle_deadline` never sees zero in flight with
        // the previous idle start.
        let mut since = self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = Instant::now();
        }
    }
}

/// One accepted connection: the TCP stream, its slot under the cap, and its two clocks.
pub struct ApiStream<T = TcpStream> {
    // Declared first so that the descriptor is closed before the slot is given back.
    inner: T,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    idle_timer: Pin<Box<Sleep>>,
    send_timer: Pin<Box<Sleep>>,
    /// Whether a write is pending and `send_timer` counts its stall.
    stalled: bool,
    _slot: Option<OwnedSemaphorePermit>,
}

impl<T> ApiStream<T> {
    fn new(inner: T, timeouts: Timeouts, slot: impl Into<Option<OwnedSemaphorePermit>>) -> ApiStream<T> {
        let deadline = tokio::time::Instant::now() + timeouts.idle;
        ApiStream {
            inner,
            activity: Activity::new(),
            timeouts,
            idle_timer: Box::pin(tokio::time::sleep_until(deadline)),
            send_timer: Box::pin(tokio::time::sleep(timeouts.send)),
            stalled: false,
            _slot: slot.into(),
        }
    }

    /// Whether the connection has been idle too long; moves the idle timer on when it is not.
    /// It only reads the clock, so that a busy stream does not spend the task's poll budget on
    /// its timer at every read.
    fn idle_expired(&mut self) -> bool {
        let now = Instant::now();
        if now < self.idle_timer.deadline().into_std() {
            return false;
        }
        match self.activity.idle_deadline(self.timeouts.idle) {
            Some(d) if d <= now => true,
            next => {
                let next = next.unwrap_or(now + self.timeouts.idle);
                self.idle_timer.as_mut().reset(tokio::time::Instant::from_std(next));
                false
            }
        }
    }

    /// On a read that is pending: the time-out, or the timer armed to wake the task when the
    /// connection may be due.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.idle_expired() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "no request in time")));
            }
            if self.idle_timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// On a write that is pending: the time-out once the stall has lasted too long. The timer
    /// is set when a stall begins, not at every write.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.stalled {
            self.stalled = true;
            let deadline = tokio::time::Instant::now() + self.timeouts.send;
            self.send_timer.as_mut().reset(deadline);
        }
        match self.send_timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client reads nothing"))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote<R>(&mut self, r: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => match self.poll_stalled(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
            done => {
                self.stalled = false;
                done
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ApiStream<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => this.poll_idle(cx),
            // Bytes read do not reset the idle clock (only a request's end does), and the
            // time-out holds for a client that sends without pause too.
            _ if this.idle_expired() => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "no request in time"))),
            ready => ready,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ApiStream<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.wrote(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.wrote(r, cx)
    }
}

/// The acceptor under TLS: gives each connection's service the connection's [`Activity`], so
/// that requests count as in flight.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counting;

impl<S> axum_server::accept::Accept<ApiStream, S> for Counting {
    type Stream = ApiStream;
    type Service = Counted<S>;
    type Future = std::future::Ready<io::Result<(ApiStream, Counted<S>)>>;

    fn accept(&self, stream: ApiStream, service: S) -> Self::Future {
        let activity = stream.activity.clone();
        std::future::ready(Ok((stream, Counted { inner: service, activity })))
    }
}

/// A connection's service, counting its requests in flight.
#[derive(Clone, Debug)]
pub struct Counted<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, B, RB> tower_service::Service<Request<B>> for Counted<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = Response<Tracked<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let busy = Busy::new(self.activity.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|body| Tracked { inner: body, _busy: busy }))
        })
    }
}

/// A response body that keeps its request in flight until it is done or dropped.
#[derive(Debug)]
pub struct Tracked<B> {
    inner: B,
    _busy: Busy,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SHORT: Duration = Duration::from_millis(300);

    fn stream(io: tokio::io::DuplexStream) -> ApiStream<tokio::io::DuplexStream> {
        ApiStream::new(io, Timeouts { idle: SHORT, send: SHORT }, None)
    }

    async fn read_err(s: &mut ApiStream<tokio::io::DuplexStream>) -> (io::Error, Duration) {
        let t = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf).await {
                Ok(0) => panic!("end of stream, not a time-out"),
                Ok(_) => continue,
                Err(e) => return (e, t.elapsed()),
            }
        }
    }

    #[tokio::test]
    async fn a_connection_without_a_request_is_closed_even_if_it_trickles_bytes() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut s = stream(server);
        let trickle = tokio::spawn(async move {
            for _ in 0..40 {
                if client.write_all(b"G").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let (e, took) = read_err(&mut s).await;
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(took >= SHORT - Duration::from_millis(50) && took < 3 * SHORT, "{took:?}");
        trickle.abort();
    }

    #[tokio::test]
    async fn a_request_in_flight_keeps_it_open_and_its_end_restarts_the_clock() {
        let (_client, server) = tokio::io::duplex(1024);
        let mut s = stream(server);
        let busy = Busy::new(s.activity.clone());
        // Four idle periods with a request in flight: still open.
        let mut buf = [0u8; 8];
        assert!(tokio::time::timeout(4 * SHORT, s.read(&mut buf)).await.is_err(), "closed while busy");
        drop(busy);
        let (e, took) = read_err(&mut s).await;
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(took >= SHORT - Duration::from_millis(50) && took < 3 * SHORT, "{took:?}");
    }

    #[tokio::test]
    async fn a_client_that_reads_nothing_ends_a_stalled_write() {
        let (_client, server) = tokio::io::duplex(64);
        let mut s = stream(server);
        // A request in flight, so only the write clock can end it.
        let _busy = Busy::new(s.activity.clone());
        let t = Instant::now();
        let e = s.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(t.elapsed() < 3 * SHORT, "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn past_the_cap_the_listener_accepts_nothing_until_a_connection_ends() {
        use axum_server::AddrListener;
        let l = Listener::bind("127.0.0.1:0".parse().unwrap(), 2, Timeouts { idle: SHORT * 100, send: SHORT })
            .await
            .unwrap();
        let addr = l.get_local_addr().unwrap().0;
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        let (a, _) = l.accept_stream().await.unwrap();
        let (_b, _) = l.accept_stream().await.unwrap();
        // The third waits in the backlog: no slot.
        assert!(tokio::time::timeout(SHORT, l.accept_stream()).await.is_err(), "accepted past the cap");
        drop(a);
        assert!(tokio::time::timeout(10 * SHORT, l.accept_stream()).await.is_ok(), "a freed slot was not reused");
    }
}

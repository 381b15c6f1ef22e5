//! The shutdown signal of a server run from `main`, and [`Drain`]: the moment it
//! fires, visible to the rest of the program.

use std::{
    future::{pending, Future},
    pin::Pin,
    task::{Context, Poll},
};

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM. Pass it to
/// [`Server::serve_with_shutdown`](crate::Server::serve_with_shutdown), through
/// [`Drain::on`] when a health check must know.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

// === impl Drain ===

/// Whether a graceful shutdown has begun, shared by every clone: from the moment
/// the shutdown signal fires until the process ends.
///
/// A server learns that it must shut down from the future given to
/// `serve_with_shutdown`; with a [drain delay](crate::Server::drain_delay) it keeps
/// serving for a while before its listeners close. Balancers should stop sending it work during that time, so a
/// health check must fail from the moment the signal fires. The program creates a
/// `Drain`, passes [`on(signal)`](Self::on) to `serve_with_shutdown` in place of the
/// signal, and gives clones to whatever must say that the instance is going away (a
/// health check answering 503).
///
/// ```
/// use std::time::Duration;
///
/// use frontdoor_serve::{Drain, Server};
/// # use std::convert::Infallible;
/// # use frontdoor_core::Body;
/// # use http::{Request, Response};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), frontdoor_core::BoxError> {
/// # let svc = tower::service_fn(|_req: Request<Body>| async {
/// #     Ok::<_, Infallible>(Response::new(Body::empty()))
/// # });
/// let drain = Drain::new();
/// let health = drain.clone(); // a health check answers 503 once `is_draining`
/// let server = Server::bind(&["127.0.0.1:0".parse()?])
///     .await?
///     .drain_delay(Duration::from_millis(10));
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // In `main`: `drain.on(shutdown_signal())`.
/// let serving = tokio::spawn(server.serve_with_shutdown(svc, drain.on(async {
///     let _ = stopped.await;
/// })));
/// assert!(!health.is_draining());
/// let _ = stop.send(());
/// serving.await??;
/// assert!(health.is_draining());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Drain {
    started: CancellationToken,
}

impl Drain {
    /// A drain not started.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the drain now (again is a no-op): every clone is draining, and every
    /// [`on`](Self::on) future completes.
    pub fn start(&self) {
        self.started.cancel();
    }

    /// Whether the drain has started.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.started.is_cancelled()
    }

    /// `signal`, starting the drain when it completes; it also completes when the
    /// drain was started otherwise ([`start`](Self::start), another `on`). Pass it to
    /// `serve_with_shutdown` as the shutdown signal.
    pub fn on<F: Future<Output = ()>>(&self, signal: F) -> DrainOn<F> {
        DrainOn {
            signal,
            started: self.started.clone().cancelled_owned(),
            drain: self.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Drain::on`]: its signal, starting the drain when it completes.
    #[must_use = "futures do nothing unless polled"]
    pub struct DrainOn<F> {
        #[pin]
        signal: F,
        #[pin]
        started: WaitForCancellationFutureOwned,
        drain: Drain,
    }
}

impl<F: Future<Output = ()>> Future for DrainOn<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.started.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if this.signal.poll(cx).is_ready() {
            this.drain.start();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<F> std::fmt::Debug for DrainOn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrainOn")
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;

    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn drain_and_its_future_are_send_and_sync() {
        assert_send_sync::<Drain>();
        assert_send_sync::<DrainOn<std::future::Ready<()>>>();
    }

    #[tokio::test]
    async fn the_signal_starts_the_drain_for_every_clone() {
        let drain = Drain::new();
        let seen = drain.clone();
        assert!(!seen.is_draining());
        let (fire, fired) = tokio::sync::oneshot::channel::<()>();
        let mut waiting = Box::pin(drain.on(async {
            let _ = fired.await;
        }));
        assert!(futures_poll_once(waiting.as_mut()).await.is_pending());
        assert!(!seen.is_draining());
        fire.send(()).unwrap();
        waiting.await;
        assert!(seen.is_draining());
    }

    #[tokio::test]
    async fn a_started_drain_completes_its_futures_without_their_signal() {
        let drain = Drain::new();
        let waiting = drain.on(pending());
        drain.clone().start();
        waiting.await;
        // Started already: a later `on` completes at once, its signal never polled.
        drain.on(async { unreachable!("not polled") }).await;
        drain.on(ready(())).await;
        assert!(drain.is_draining());
    }

    /// Polls `fut` once.
    async fn futures_poll_once<F: Future + Unpin>(mut fut: F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
    }
}

//! The service's own HTTP server: an axum router with the service's routes
//! (`/healthz` here) and `/metrics` mounted from hotmetrics' scrape handler
//! ([`hotmetrics::export::axum::metrics_route`]), which answers as
//! `hotmetrics::export::http::serve` would: Prometheus text or OpenMetrics
//! by `Accept`, gzip by `Accept-Encoding`, a collection on each scrape.

use axum::routing::get;
use axum::Router;
use hotmetrics::export::axum::metrics_route;
use hotmetrics::Registry;
use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The routes: the service's own, and `/metrics`.
pub fn router(registry: &Registry) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", metrics_route(registry))
}

/// The router served from a thread of its own (a one-thread tokio
/// runtime); stops on [`Web::shutdown`] or drop.
pub struct Web {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Web {
    /// Binds `addr` (the error names it) and serves [`router`] on it.
    pub fn start(registry: &Registry, addr: &str) -> io::Result<Web> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app = router(registry);
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("service-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Until told to stop; dropping the runtime then closes
                    // the open connections.
                    tokio::select! {
                        _ = stopped => {}
                        _ = async { axum::serve(listener, app).await } => {}
                    }
                });
            })?;
        Ok(Web {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address bound (with the port chosen when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving and waits for the server's thread to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

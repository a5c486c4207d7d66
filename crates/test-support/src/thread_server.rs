//! [`ThreadServer`]: an axum router served on a free loopback port from a thread and runtime of
//! its own, so that synchronous tests can run a fake next to the binary they drive.

/// A router served until dropped.
pub struct ThreadServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadServer {
    /// Serves `app` on a free port of 127.0.0.1.
    pub fn start(app: axum::Router) -> ThreadServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        ThreadServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ThreadServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! Argon2id password hashing on a small pool of dedicated threads. Each hash
//! takes ~19 MiB and a core for a while; on the blocking thread pool a burst
//! of sign-ins spread those blocks over many threads' allocator arenas, which
//! kept them (hundreds of MiB after a login storm). A fixed pool of a few
//! threads bounds both the CPU and the memory hashing can take; a burst
//! queues here instead. By default the pool leaves one core to everything
//! else (one thread on a 2-core machine): a sign-in storm then slows sign-ins,
//! not every signed-in read beside it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::error::DomainError;

/// Hashing threads set by `configure` (0: not set).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The default number of hashing threads: one core fewer than the machine
/// has (at least 1, at most 4).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).clamp(1, 4))
}

/// Sets how many hashing threads start (at least 1); only before the first
/// hash or verification, which starts them.
pub fn configure(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

fn workers() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The job queue of the hashing threads, started on first use.
fn queue() -> &'static mpsc::Sender<Job> {
    static QUEUE: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..workers() {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        tx
    })
}

/// Runs `f` on a hashing thread and waits for it without blocking the executor.
async fn on_pool<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(f());
    });
    queue()
        .send(job)
        .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
    result
        .await
        .map_err(|_| DomainError::Internal(anyhow::anyhow!("a password hashing job was dropped")))
}

/// A hash of a throw-away password: verifying against it when an email is
/// unknown makes a failed login take as long whether or not the account exists.
fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            Argon2::default()
                .hash_password(b"not-a-real-password")
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

pub async fn hash(password: String) -> Result<String, DomainError> {
    on_pool(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
    })
    .await?
    .map_err(DomainError::from)
}

/// True when `password` matches `stored`; `None` runs a dummy verification.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, DomainError> {
    on_pool(move || {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(dummy_hash);
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && real
    })
    .await
}

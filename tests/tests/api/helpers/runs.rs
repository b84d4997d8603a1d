//! Waiting on the app's background loops by what they report on `/metrics`
//! (`kartel_job_sweeps_total`, `kartel_mailer_polls_total`,
//! `kartel_webhook_worker_polls_total`): a test that
//! asserts what a job did *not* do first proves that the job ran.

use std::time::{Duration, Instant};

use super::TestApp;

/// Which loop to wait for.
#[derive(Clone, Copy, Debug)]
pub enum Loop {
    Jobs,
    Mailer,
    /// The webhook delivery worker's looks for due deliveries.
    Webhooks,
    /// Not rounds: the highest event position the instance's sequencer has
    /// seen (`kartel_events_position`), so `until_rounds(Events, n)` waits
    /// until the first `n` events have their places.
    Events,
}

impl Loop {
    fn metric(self) -> &'static str {
        match self {
            Loop::Jobs => "kartel_job_sweeps_total",
            Loop::Mailer => "kartel_mailer_polls_total",
            Loop::Webhooks => "kartel_webhook_worker_polls_total",
            Loop::Events => "kartel_events_position",
        }
    }
}

impl TestApp {
    /// How many rounds `which` has completed on this instance.
    pub async fn rounds(&self, which: Loop) -> u64 {
        let text = self
            .get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics");
        let name = which.metric();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    /// Waits (at most 60 s) until `which` has completed `n` more whole
    /// rounds than it had when called: whatever was in place before this
    /// call has been seen by at least `n - 1` complete rounds.
    pub async fn after_rounds(&self, which: Loop, n: u64) {
        let start = self.rounds(which).await;
        self.until_rounds(which, start + n).await;
    }

    /// Waits (at most 60 s) until `which` has completed `total` rounds since
    /// the app started.
    pub async fn until_rounds(&self, which: Loop, total: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = self.rounds(which).await;
            if now >= total {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{which:?}: {now} rounds, waited for {total}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

//! The request thread: performs the exporter's HTTP requests, one at a
//! time, so that the exporter thread never blocks on the network.
//!
//! The exporter hands a request over ([`Sender::send`]) and waits for its
//! answer in short naps, during which it keeps the self-metrics current
//! and watches the shutdown deadline. When the deadline passes first, it
//! stops waiting: the request is abandoned (the exporter counts its batch
//! as dropped at shutdown) and finishes on the request thread on its own,
//! its answer discarded. So the exporter's own end, and with it
//! `Client::shutdown`, never waits for a request past the deadline.
#![forbid(unsafe_code)]

use crate::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant, SystemTime};

/// The request thread's stack: an HTTP client, nothing recursive; with
/// `telemetry-tls`, a TLS handshake too, whose frames in an unoptimised
/// build overflow 128 KiB. (Reserved address space: only the pages a
/// request touches are resident.)
const STACK_SIZE: usize = if cfg!(feature = "telemetry-tls") {
    512 * 1024
} else {
    128 * 1024
};

/// How a request went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    Ok,
    /// The server refused the content (4xx other than 408 and 429):
    /// retrying would not help, but the endpoint is up.
    Refused,
    /// Transport error, timeout, 5xx, 408 or 429: worth a retry, not
    /// before the server's `Retry-After` (on 429 and 503) if it sent one.
    Failed(Option<Duration>),
}

/// One request.
pub(crate) struct Job {
    pub(crate) url: Arc<str>,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: &'static [(&'static str, &'static str)],
    /// Headers configured at run time (OTLP's), sent after `headers`.
    pub(crate) extra_headers: Option<Arc<[(String, String)]>>,
    /// OTLP's rules: only 429, 502, 503 and 504 are worth a retry, and a
    /// 2xx reply's body is kept (it may report a partial success).
    pub(crate) otlp: bool,
    pub(crate) timeout: Duration,
}

#[derive(Default)]
struct Slot {
    job: Option<Job>,
    /// The answer, the body's buffer handed back for reuse, and the reply's
    /// body (kept for OTLP jobs only).
    done: Option<(Sent, Vec<u8>, Vec<u8>)>,
    /// The thread waiting for `done`.
    waiter: Option<Thread>,
    closed: bool,
}

/// The exporter's side of the request thread (started on first use).
pub(crate) struct Sender {
    agent: ureq::Agent,
    slot: Arc<Mutex<Slot>>,
    thread: Option<JoinHandle<()>>,
    /// A request was handed over and its answer not yet taken.
    busy: bool,
    /// The last answered request's reply body (OTLP jobs).
    reply: Vec<u8>,
}

/// What a wait for an answer ended with.
pub(crate) enum Outcome {
    Answered(Sent),
    /// The stop deadline passed first: the request goes on without us.
    Abandoned,
}

impl Sender {
    pub(crate) fn new(agent: ureq::Agent) -> Sender {
        Sender {
            agent,
            slot: Arc::new(Mutex::new(Slot::default())),
            thread: None,
            busy: false,
            reply: Vec::new(),
        }
    }

    /// Whether a request abandoned earlier is still under way.
    pub(crate) fn busy(&mut self) -> bool {
        if self.busy && crate::sync::lock(&self.slot).done.take().is_some() {
            self.busy = false;
        }
        self.busy
    }

    /// Sends `job` and waits for its answer, calling `tick` every `nap`
    /// meanwhile; gives up once `stop()` returns an instant that has
    /// passed. The body's buffer comes back in `body` when answered.
    pub(crate) fn send(
        &mut self,
        job: Job,
        body: &mut Vec<u8>,
        nap: Duration,
        stop: impl Fn() -> Option<Instant>,
        mut tick: impl FnMut(),
    ) -> Outcome {
        if self.busy() || self.start().is_err() {
            return Outcome::Answered(Sent::Failed(None));
        }
        {
            let mut slot = crate::sync::lock(&self.slot);
            slot.job = Some(job);
            slot.waiter = Some(std::thread::current());
        }
        self.busy = true;
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
        loop {
            if let Some((sent, buf, reply)) = crate::sync::lock(&self.slot).done.take() {
                self.busy = false;
                *body = buf;
                self.reply = reply;
                return Outcome::Answered(sent);
            }
            let now = Instant::now();
            let until = stop();
            if until.is_some_and(|d| now >= d) {
                return Outcome::Abandoned;
            }
            tick();
            let left = until.map_or(nap, |d| d.saturating_duration_since(now));
            std::thread::park_timeout(nap.min(left));
        }
    }

    /// The body of the last answered request's reply (empty unless it
    /// was an OTLP job answered with 2xx).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) fn take_reply(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.reply)
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.thread.is_some() {
            return Ok(());
        }
        let (agent, slot) = (self.agent.clone(), self.slot.clone());
        self.thread = Some(
            std::thread::Builder::new()
                .name("hotmetrics-telemetry-http".into())
                .stack_size(STACK_SIZE)
                .spawn(move || serve(&agent, &slot))?,
        );
        Ok(())
    }

    /// Ends the request thread: joined if idle, left to finish an
    /// abandoned request on its own otherwise.
    pub(crate) fn close(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        crate::sync::lock(&self.slot).closed = true;
        thread.thread().unpark();
        if !self.busy() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.close();
    }
}

/// The request thread's loop.
fn serve(agent: &ureq::Agent, slot: &Mutex<Slot>) {
    loop {
        let job = {
            let mut s = crate::sync::lock(slot);
            if s.closed && s.job.is_none() {
                return;
            }
            s.job.take()
        };
        let Some(job) = job else {
            std::thread::park();
            continue;
        };
        let (sent, reply) = post(agent, &job);
        let mut s = crate::sync::lock(slot);
        s.done = Some((sent, job.body, reply));
        if let Some(w) = &s.waiter {
            w.unpark();
        }
    }
}

/// POSTs the job's body with its headers and timeout; the reply's body
/// too for a 2xx answer to an OTLP job.
fn post(agent: &ureq::Agent, job: &Job) -> (Sent, Vec<u8>) {
    let mut req = agent
        .post(&*job.url)
        .config()
        .timeout_global(Some(job.timeout))
        .build();
    for (k, v) in job.headers {
        req = req.header(*k, *v);
    }
    for (k, v) in job.extra_headers.iter().flat_map(|h| h.iter()) {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send(&job.body[..]) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let retry_after = match status {
                429 | 503 => resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, SystemTime::now())),
                _ => None,
            };
            // Read (a bounded amount of) the reply so the connection can be
            // reused.
            let reply = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
            let sent = match (status, job.otlp) {
                (200..=299, _) => Sent::Ok,
                (429 | 502 | 503 | 504, true) => Sent::Failed(retry_after),
                (_, true) => Sent::Refused,
                (408 | 429, false) => Sent::Failed(retry_after),
                (400..=499, false) => Sent::Refused,
                _ => Sent::Failed(retry_after),
            };
            let reply = match (sent, job.otlp) {
                (Sent::Ok, true) => reply.unwrap_or_default(),
                _ => Vec::new(),
            };
            (sent, reply)
        }
        Err(_) => (Sent::Failed(None), Vec::new()),
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): a number of seconds, or an
/// HTTP-date (a date in the past is zero). `None` if malformed.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: seconds (an absurd count saturates; callers cap).
        return Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        let date = |s| retry_after(s, now);
        assert_eq!(
            date("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        // The obsolete forms RFC 9110 still asks recipients to accept.
        assert_eq!(
            date("Sunday, 06-Nov-94 08:49:47 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            date("Sun Nov  6 08:49:57 1994"),
            Some(Duration::from_secs(20))
        );
        assert_eq!(date("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        for bad in ["", "-1", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(date(bad), None, "{bad:?}");
        }
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }
}

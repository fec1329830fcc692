//! Stopping one call: a [`CancelToken`] the app passes to a call (or the
//! coroutine or task that awaits the call being cancelled), and the call's
//! deadline. A stopped call returns at once, also from inside a request
//! that is still waiting for the network: the request goes on its own
//! thread and its answer, if it ever comes, is dropped. What a call
//! finished before it stopped is kept (every step is persisted as it
//! happens), so stopping is always safe.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::JishiError;

/// Why a call stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The app (or the awaiting coroutine) cancelled it.
    Cancelled,
    /// The call's deadline passed.
    Deadline,
}

impl From<Stop> for JishiError {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Cancelled => JishiError::Cancelled,
            Stop::Deadline => JishiError::DeadlineReached,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    cancelled: bool,
    /// Bumped when a waited-for result arrives, so a waiter wakes.
    arrivals: u64,
}

/// One call's stop signal: cancelled by the app, or past its deadline.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    state: Mutex<State>,
    wake: Condvar,
    deadline: Mutex<Option<Instant>>,
}

impl Cancel {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn cancel(&self) {
        self.lock().cancelled = true;
        self.wake.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// Stop the call at `at` (the earlier of two deadlines wins).
    pub fn set_deadline(&self, at: Instant) {
        let mut d = self.deadline.lock().unwrap_or_else(|p| p.into_inner());
        *d = Some(d.map_or(at, |old| old.min(at)));
        drop(d);
        self.wake.notify_all();
    }

    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopped(&self, state: &State) -> Option<Stop> {
        if state.cancelled {
            Some(Stop::Cancelled)
        } else if self.deadline().is_some_and(|d| Instant::now() >= d) {
            Some(Stop::Deadline)
        } else {
            None
        }
    }

    /// `Err` if the call should stop now.
    pub fn check(&self) -> Result<(), Stop> {
        match self.stopped(&self.lock()) {
            Some(s) => Err(s),
            None => Ok(()),
        }
    }

    /// Wait `pause`, or less if the call is stopped meanwhile.
    pub fn sleep(&self, pause: Duration) -> Result<(), Stop> {
        let until = Instant::now() + pause;
        let mut state = self.lock();
        loop {
            if let Some(s) = self.stopped(&state) {
                return Err(s);
            }
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let wake_at = self.deadline().map_or(until, |d| d.min(until));
            let wait = wake_at.saturating_duration_since(now);
            state = self
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Wake a [`Self::wait_for`] to look again.
    pub fn poke(&self) {
        self.lock().arrivals += 1;
        self.wake.notify_all();
    }

    /// Wait until `take` yields something, looking again at each
    /// [`Self::poke`], or until the call stops.
    pub fn wait_for<T>(&self, mut take: impl FnMut() -> Option<T>) -> Result<T, Stop> {
        let mut state = self.lock();
        loop {
            if let Some(v) = take() {
                return Ok(v);
            }
            if let Some(s) = self.stopped(&state) {
                return Err(s);
            }
            let wait = self
                .deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(3600));
            state = self
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Run `work` (a network request) on its own thread and wait for its
    /// answer or for the call to stop, whichever comes first.
    pub fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Stop> {
        self.check()?;
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let (to_fill, me) = (slot.clone(), self.clone());
        let spawned = std::thread::Builder::new()
            .name("jishi-request".into())
            .spawn(move || {
                let answer = work();
                *to_fill.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
                // Under the state's lock, so a waiter between its look at
                // the slot and its wait cannot miss this.
                me.poke();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a request thread");
            return Err(Stop::Cancelled);
        }
        self.wait_for(|| slot.lock().unwrap_or_else(|p| p.into_inner()).take())
    }
}

/// Stops the call it is given to: `cancel()` from any thread, at any time;
/// the call returns `Cancelled` at once and keeps what it finished. One
/// token may be given to several calls (a screen's calls, cancelled when
/// the screen closes). In Kotlin and Swift, cancelling the coroutine or
/// task that awaits a call does the same without a token.
#[derive(Debug, uniffi::Object)]
pub struct CancelToken {
    pub(crate) inner: Arc<Cancel>,
}

#[uniffi::export]
impl CancelToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Cancel::new(),
        })
    }

    pub fn cancel(&self) {
        self.inner.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// Cancels its call when dropped before [`Self::disarm`]: the future of an
/// async export is dropped when the coroutine or task awaiting it is
/// cancelled.
pub(crate) struct CancelOnDrop(Option<Arc<Cancel>>);

impl CancelOnDrop {
    pub fn new(cancel: Arc<Cancel>) -> Self {
        Self(Some(cancel))
    }
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

/// Run a call's blocking body on its own thread; the returned future ends
/// with it. Dropping the future cancels `cancel`, which the body watches.
pub(crate) async fn off_thread<T: Send + 'static>(
    cancel: Arc<Cancel>,
    body: impl FnOnce() -> Result<T, JishiError> + Send + 'static,
) -> Result<T, JishiError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let armed = CancelOnDrop::new(cancel);
    std::thread::Builder::new()
        .name("jishi-call".into())
        .spawn(move || {
            let _ = tx.send(crate::error::guard(body));
        })
        .map_err(|e| JishiError::other(format!("cannot start the call's thread: {e}")))?;
    let answer = rx
        .await
        .unwrap_or_else(|_| Err(JishiError::other("the call ended without an answer")));
    armed.disarm();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[test]
    fn a_cancel_ends_a_request_that_never_answers() {
        let cancel = Cancel::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (_never_tx, never_rx) = std::sync::mpsc::channel::<()>();
        let c = cancel.clone();
        let waiter = std::thread::spawn(move || {
            c.run(move || {
                started_tx.send(()).unwrap();
                let _ = never_rx.recv();
            })
        });
        started_rx.recv().unwrap();
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), Err(Stop::Cancelled));
    }

    #[test]
    fn an_answer_comes_back_and_a_deadline_stops_a_wait() {
        let cancel = Cancel::new();
        assert_eq!(cancel.run(|| 7), Ok(7));
        cancel.set_deadline(Instant::now());
        assert_eq!(cancel.sleep(Duration::from_secs(3600)), Err(Stop::Deadline));
        assert_eq!(cancel.run(|| 8), Err(Stop::Deadline));
    }

    #[test]
    fn dropping_an_awaited_call_cancels_it() {
        let cancel = Cancel::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let c = cancel.clone();
        let call = off_thread(cancel.clone(), move || {
            started_tx.send(()).unwrap();
            // Watches its token as a sync does.
            c.sleep(Duration::from_secs(3600))?;
            Ok(())
        });
        let mut call = Box::pin(call);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(call.as_mut().poll(&mut cx).is_pending());
        started_rx.recv().unwrap();
        drop(call);
        assert!(cancel.is_cancelled());
    }
}

//! The async exports awaited from a plain test thread, as an app's
//! coroutine would await them.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::future::Future;
use std::sync::Arc;

use jishi_ffi::*;

/// Await `f` on this thread.
pub fn wait<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test")
        .block_on(f)
}

/// The async calls, awaited.
pub trait Awaited {
    fn sign_in(&self, login: &str, password: &str, device: &str) -> Result<Account, JishiError>;
    fn sign_out(&self) -> Result<(), JishiError>;
    fn sync_with(&self, observer: Arc<dyn SyncObserver>) -> Result<SyncSummary, JishiError>;
    fn attach(&self, doc: String, item: String, file: String) -> Result<PhotoView, JishiError>;
}

impl Awaited for Arc<JishiClient> {
    fn sign_in(&self, login: &str, password: &str, device: &str) -> Result<Account, JishiError> {
        wait(
            self.clone()
                .login(login.into(), password.into(), device.into(), None),
        )
    }
    fn sign_out(&self) -> Result<(), JishiError> {
        wait(self.clone().logout())
    }
    fn sync_with(&self, observer: Arc<dyn SyncObserver>) -> Result<SyncSummary, JishiError> {
        wait(
            self.clone()
                .sync(Some(SyncOptions::default()), Some(observer), None),
        )
    }
    fn attach(&self, doc: String, item: String, file: String) -> Result<PhotoView, JishiError> {
        wait(self.clone().attach_photo(doc, item, file))
    }
}

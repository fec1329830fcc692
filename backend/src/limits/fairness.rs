//! One sync at a time per device: a device's requests queue behind each
//! other instead of running side by side. A phone never needs two at once
//! (a retry after a cut waits for the cut request to finish), and a device
//! sending documents built to be costly holds at most one of the server's
//! Automerge slots, so everyone else keeps being served.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Default, Clone)]
pub struct DeviceGate {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// Held while a device's request runs; the next one of the device waits.
pub struct DeviceTurn {
    gate: DeviceGate,
    device: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl DeviceGate {
    pub async fn turn(&self, device: &str) -> DeviceTurn {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(device.to_owned()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        DeviceTurn {
            gate: self.clone(),
            device: device.to_owned(),
            guard: Some(guard),
        }
    }

    /// Devices with a request running or waiting (tests, metrics).
    pub fn busy(&self) -> usize {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for DeviceTurn {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.gate.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Nobody else holds or waits for it: forget the device.
        if locks
            .get(&self.device)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_device_waits_for_its_own_turn_only() {
        let gate = DeviceGate::default();
        let first = gate.turn("phone-a").await;
        // Another device goes at once.
        let other = gate.turn("phone-b").await;
        drop(other);
        // The same device waits until the first is done.
        let g = gate.clone();
        let second = tokio::spawn(async move {
            let _t = g.turn("phone-a").await;
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        drop(first);
        second.await.unwrap();
        assert_eq!(gate.busy(), 0, "finished devices are forgotten");
    }
}

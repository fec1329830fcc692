//! A budget of bytes held in memory at once (sync request bodies): each
//! request reserves what it declares before reading it and gives it back
//! when it is answered; past the budget, requests wait their turn.

use std::sync::Arc;

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

const UNIT: usize = 1024;

#[derive(Debug, Clone)]
pub struct ByteBudget {
    units: Arc<Semaphore>,
    capacity: u32,
}

impl ByteBudget {
    pub fn new(bytes: usize) -> Self {
        let capacity = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX >> 3);
        let capacity = capacity.min(Semaphore::MAX_PERMITS as u32);
        Self {
            units: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
        }
    }

    /// Wait until `bytes` fit (a request larger than the whole budget takes
    /// all of it).
    pub async fn reserve(&self, bytes: usize) -> Result<OwnedSemaphorePermit, AcquireError> {
        let units = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.capacity);
        self.units.clone().acquire_many_owned(units).await
    }

    /// Bytes free now (metrics, tests).
    pub fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_for_room_and_give_it_back() {
        let b = ByteBudget::new(10 * UNIT);
        let first = b.reserve(6 * UNIT).await.unwrap();
        assert_eq!(b.available(), 4 * UNIT);
        // Seven more do not fit until the first is dropped.
        let b2 = b.clone();
        let waiting = tokio::spawn(async move { b2.reserve(7 * UNIT).await.map(|_| ()) });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap().unwrap();
        assert_eq!(b.available(), 10 * UNIT);
        // Larger than everything: takes everything, does not wait forever.
        let all = b.reserve(1 << 40).await.unwrap();
        assert_eq!(b.available(), 0);
        drop(all);
        // Zero bytes still count as one unit.
        let _one = b.reserve(0).await.unwrap();
        assert_eq!(b.available(), 9 * UNIT);
    }
}

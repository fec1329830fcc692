//! Image work on the server, bounded by a budget of bytes: the check and
//! cleaning of a photo (the code is `sync_core::photo_check`, sans I/O and
//! fuzzed with the other decoders of outside bytes) runs on a blocking
//! thread only once the memory it needs is held.
//!
//! A photo's turn comes in two steps. First the room for the file itself is
//! held and the file read; then `photo_check::plan` tells from its headers
//! (nothing decoded) how much the whole check takes, and the rest is held.
//! Only one photo at a time is between the two steps (a gate), so photos
//! that hold part of what they need can never wait for each other; a photo
//! whose check would need more than the whole budget is refused. Whatever
//! runs at once, the image work holds at most the budget.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit};

pub use sync_core::photo_check::{
    check_and_clean, plan, Checked, Cleaning, PhotoCheckError, PhotoLimits, Plan, THUMB_EDGE,
};

use crate::limits::budget::ByteBudget;

/// Bytes of image work in memory at once, by default: a photo from the app
/// (at most 1,600 px, about 9 MiB to check) has plenty of company; the
/// largest upload accepted without turning (40 megapixels) fits alone.
pub const IMAGE_BYTES_IN_MEMORY: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ImageWorkError {
    #[error(transparent)]
    Refused(#[from] PhotoCheckError),
    #[error("the image budget is closed")]
    Closed,
    #[error("the image check stopped: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The budget; see the module docs.
#[derive(Debug, Clone)]
pub struct ImageBudget {
    bytes: ByteBudget,
    capacity: usize,
    gate: Arc<Mutex<()>>,
}

/// A photo's first step: room for its file is held; nobody else is
/// between the two steps.
pub struct FileTurn {
    file: OwnedSemaphorePermit,
    budget: ImageBudget,
    _gate: OwnedMutexGuard<()>,
}

/// Everything a photo's check needs is held, until this is dropped.
pub struct Turn {
    _file: OwnedSemaphorePermit,
    _rest: Option<OwnedSemaphorePermit>,
    pub plan: Plan,
}

impl ImageBudget {
    pub fn new(bytes: usize) -> Self {
        Self {
            bytes: ByteBudget::new(bytes),
            capacity: bytes,
            gate: Arc::new(Mutex::new(())),
        }
    }

    /// Bytes free now (tests, metrics).
    pub fn available(&self) -> usize {
        self.bytes.available()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Hold `bytes` as other image work would (tests, probes).
    pub async fn hold(&self, bytes: usize) -> Result<OwnedSemaphorePermit, ImageWorkError> {
        self.bytes
            .reserve(bytes)
            .await
            .map_err(|_| ImageWorkError::Closed)
    }

    /// Wait for the gate and room for a file of `len` bytes.
    pub async fn file_turn(&self, len: u64) -> Result<FileTurn, ImageWorkError> {
        let gate = self.gate.clone().lock_owned().await;
        let file = self
            .bytes
            .reserve(usize::try_from(len).unwrap_or(usize::MAX))
            .await
            .map_err(|_| ImageWorkError::Closed)?;
        Ok(FileTurn {
            file,
            budget: self.clone(),
            _gate: gate,
        })
    }
}

impl FileTurn {
    /// Plan the check of `bytes` (the file this turn was for) and wait for
    /// the rest of the room it needs; the gate opens for the next photo.
    pub async fn plan(
        self,
        bytes: Vec<u8>,
        limits: PhotoLimits,
    ) -> Result<(Vec<u8>, Turn), ImageWorkError> {
        let (bytes, plan) = tokio::task::spawn_blocking(move || {
            let plan = plan(&bytes, &limits);
            (bytes, plan)
        })
        .await?;
        let plan = plan?;
        let needed = usize::try_from(plan.memory).unwrap_or(usize::MAX);
        if needed > self.budget.capacity {
            return Err(PhotoCheckError::TooLarge(format!(
                "checking this {}x{} image takes about {} MiB, more than the server's {} MiB for image work",
                plan.width,
                plan.height,
                needed >> 20,
                self.budget.capacity >> 20
            ))
            .into());
        }
        let rest = match needed.saturating_sub(bytes.len()) {
            0 => None,
            more => Some(
                self.budget
                    .bytes
                    .reserve(more)
                    .await
                    .map_err(|_| ImageWorkError::Closed)?,
            ),
        };
        Ok((
            bytes,
            Turn {
                _file: self.file,
                _rest: rest,
                plan,
            },
        ))
    }
}

impl Turn {
    /// Check and clean on a blocking thread; the room is given back when
    /// the work is done.
    pub async fn check(
        self,
        bytes: Vec<u8>,
        limits: PhotoLimits,
    ) -> Result<Checked, ImageWorkError> {
        Ok(tokio::task::spawn_blocking(move || {
            let _held = self;
            check_and_clean(bytes, &limits)
        })
        .await??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[tokio::test]
    async fn a_photo_holds_what_its_check_needs_and_gives_it_back() {
        let budget = ImageBudget::new(64 << 20);
        let photo = jpeg(1000, 800);
        let turn = budget.file_turn(photo.len() as u64).await.unwrap();
        let (photo, turn) = turn.plan(photo, PhotoLimits::default()).await.unwrap();
        let held = (64 << 20) - budget.available();
        assert!(held as u64 >= turn.plan.memory, "{held}");
        assert!(held > 1000 * 800 * 3);
        // The gate is open again: another photo can take its first step.
        let other = budget.file_turn(10).await.unwrap();
        drop(other);
        let checked = turn.check(photo, PhotoLimits::default()).await.unwrap();
        assert_eq!((checked.width, checked.height), (1000, 800));
        assert_eq!(budget.available(), 64 << 20);
    }

    #[tokio::test]
    async fn a_check_larger_than_the_budget_is_refused() {
        let budget = ImageBudget::new(4 << 20);
        let photo = jpeg(2000, 1500);
        let turn = budget.file_turn(photo.len() as u64).await.unwrap();
        let refused = turn.plan(photo, PhotoLimits::default()).await;
        assert!(matches!(
            refused,
            Err(ImageWorkError::Refused(PhotoCheckError::TooLarge(_)))
        ));
        assert_eq!(budget.available(), 4 << 20);
    }
}
